"""Issue 13 defect 5: the model manager offers "Use this model" only for an installed model, and its
layout stays put when a download fails."""
from __future__ import annotations

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
    dlg.useRequested.connect(lambda m, d: seen.append((m, d)))
    assert dlg.selected_model() == "mobile_sam" and dlg.state_text("mobile_sam") == "not installed"
    assert not dlg.use_button.isEnabled()
    dlg.use_button.click()
    assert seen == []
    _install_placeholder("mobile_sam")
    dlg.refresh()
    assert dlg.use_button.isEnabled()
    dlg.use_button.click()
    assert seen == [("mobile_sam", "cpu")]


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
