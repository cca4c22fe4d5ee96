"""Issue 13 defect 5: the model manager offers "Use this model" only for an installed model, and its
layout stays put when a download fails."""
from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.dialogs.model_manager import ModelManagerDialog


def _install_placeholder(model_id: str) -> None:
    """A file where the model cache keeps `model_id` (present, not verified)."""
    from sam_backend.paths import models_dir
    from sam_backend.registry import MODELS

    (models_dir() / MODELS[model_id].filename).write_bytes(b"x" * 1000)


def test_use_is_offered_only_for_an_installed_model(qtbot) -> None:
    dlg = ModelManagerDialog("mobile_sam", "cpu")
    qtbot.addWidget(dlg)
    seen: list[tuple[str, str]] = []
    dlg.useRequested.connect(lambda m, d, p: seen.append((m, d, p)))
    assert dlg.selected_model() == "mobile_sam" and dlg.state_text("mobile_sam") == "not installed"
    assert not dlg.use_button.isEnabled()
    dlg.use_button.click()
    assert seen == []
    _install_placeholder("mobile_sam")
    dlg.refresh()
    assert dlg.use_button.isEnabled()
    dlg.use_button.click()
    assert seen == [("mobile_sam", "cpu", "fp32")]


def test_selecting_another_row_follows_its_install_state(qtbot) -> None:
    _install_placeholder("mobile_sam")
    dlg = ModelManagerDialog("mobile_sam", "cpu")
    qtbot.addWidget(dlg)
    assert dlg.use_button.isEnabled()
    dlg.table.selectRow(dlg._ids.index("sam_vit_h"))
    assert dlg.selected_model() == "sam_vit_h" and not dlg.use_button.isEnabled()


def test_a_failed_download_does_not_move_the_table(qtbot, monkeypatch) -> None:
    import sam_backend.download as dl

    def failing(model_id, progress=None, cancel=None, **_kw):  # type: ignore[no-untyped-def]
        if progress is not None:
            progress(1000, 40_000_000)
        raise OSError("the download of " + model_id + " failed: the server closed the connection after "
                      "1000 bytes; check the network or the mirror setting and try again later, "
                      "a later download resumes where this one stopped")

    monkeypatch.setattr(dl, "download", failing)
    dlg = ModelManagerDialog("mobile_sam", "cpu")
    qtbot.addWidget(dlg)
    dlg.resize(820, 560)
    dlg.show()
    qtbot.waitExposed(dlg)
    qtbot.waitUntil(lambda: dlg.report.toPlainText() != "", timeout=15000)  # the device report is in
    before = (dlg.table.geometry(), [dlg.table.columnWidth(c) for c in range(dlg.table.columnCount())])
    dlg.download_selected()
    qtbot.waitUntil(lambda: dlg.job is not None and not dlg.job.is_running() and not dlg.progress.isVisible(),
                    timeout=10000)
    qtbot.wait(50)  # the layout settles
    assert "failed" in dlg.status.text()
    after = (dlg.table.geometry(), [dlg.table.columnWidth(c) for c in range(dlg.table.columnCount())])
    assert after == before


def test_speed_modes_are_shown_with_their_figures_and_chosen_knowingly(qtbot) -> None:
    """Issue 16: the fast encoder modes are listed with their measured speed-up and mask IoU; a mode
    that does not work on the device is disabled; the chosen one goes with "Use this model"."""
    from sam_backend.modes import encoder_modes

    _install_placeholder("mobile_sam")
    dlg = ModelManagerDialog("mobile_sam", "cpu")
    qtbot.addWidget(dlg)
    box = dlg.mode_box
    qtbot.waitUntil(lambda: box.count() == 4, timeout=30000)
    facts = {m.precision: m for m in encoder_modes("mobile_sam", "cpu")}
    texts = {str(box.itemData(i)): box.itemText(i) for i in range(box.count())}
    assert box.precision() == "fp32" and texts["fp32"] == "Exact (float32)"
    int8 = facts["int8"]
    assert int8.speedup is not None and int8.mask_iou is not None  # shipped figures for mobile_sam
    assert f"{int8.speedup:.1f}x faster" in texts["int8"] and f"{int8.mask_iou * 100:.1f}% IoU" in texts["int8"]
    assert int8.iou_weights == "random" and "with random weights" in texts["int8"]  # the figures say how they were got
    assert "randomly initialised weights" in str(box.itemData(box.findData("int8"), Qt.ItemDataRole.ToolTipRole))
    enabled = {str(box.itemData(i)): box.model().item(i).isEnabled() for i in range(box.count())}
    assert enabled["fp16"] is False and "CUDA only" in texts["fp16"]  # float16 needs a GPU
    assert enabled["int8"] is True
    seen: list[tuple[str, str, str]] = []
    dlg.useRequested.connect(lambda m, d, p: seen.append((m, d, p)))
    box.setCurrentIndex(box.findData("int8"))
    dlg.use_button.click()
    assert seen == [("mobile_sam", "cpu", "int8")]


def test_the_saved_mode_is_preselected_and_a_mode_that_cannot_run_falls_back_to_exact(qtbot) -> None:
    _install_placeholder("mobile_sam")
    dlg = ModelManagerDialog("mobile_sam", "cpu", None, "int8")
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.mode_box.count() == 4, timeout=30000)
    assert dlg.mode_box.precision() == "int8"
    with qtbot.waitSignal(dlg.mode_box.modesShown, timeout=30000):
        dlg.device_box.setCurrentText("mps")  # int8 is CPU only
    assert dlg.mode_box.precision() == "fp32"


def test_the_saved_mode_goes_with_the_saved_model_only(qtbot, tmp_path) -> None:
    """A fast mode chosen for mobile_sam is not asked of another model given on the command line
    (SAM 2.1 has no int8: loading it so would fail)."""
    from tests.ui.window_support import make_images, open_window
    from app.services.fake_predictor import FakePredictor

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), FakePredictor())
    calls: list[tuple] = []
    win.inference.load_model = lambda *a: calls.append(a)  # type: ignore[method-assign]
    win.settings.model_id, win.settings.precision = "mobile_sam", "int8"
    win.start_model(None, "some.pth", "cpu")
    win.start_model("sam2.1_hiera_tiny", "some_dir", "cpu")
    assert calls == [("mobile_sam", "some.pth", "cpu", "int8"), ("sam2.1_hiera_tiny", "some_dir", "cpu", "fp32")]
    win.close()
