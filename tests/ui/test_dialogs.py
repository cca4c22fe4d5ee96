"""Dialogs and small widgets of the window: settings (shortcut conflicts), cheat sheet, model manager,
export defaults, candidate strip, mask_input geometry."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox, QWidget

from app.services.actions import ActionRegistry
from app.services.settings import Settings
from app.ui.candidate_strip import CandidateStrip, mask_thumbnail
from app.ui.dialogs.cheatsheet import CheatSheetDialog, shortcut_rows
from app.ui.dialogs.export_dialog import ExportDialog, default_destination
from app.ui.dialogs.model_manager import ModelManagerDialog, human_size
from app.ui.dialogs.settings_dialog import SettingsDialog, parse_keys
from app.ui.mask_input import low_res_frame, mask_to_logits


@pytest.fixture
def registry(qtbot) -> Iterator[ActionRegistry]:  # type: ignore[no-untyped-def]
    host = QWidget()
    qtbot.addWidget(host)
    yield ActionRegistry(host, Settings.load())
    host.close()


def test_settings_dialog_detects_conflicts_and_refuses_ok(qtbot, registry: ActionRegistry) -> None:
    dlg = SettingsDialog(registry, Settings.load())
    qtbot.addWidget(dlg)
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dlg.check() and ok.isEnabled()
    dlg.set_keys("label_1", "D")  # D is "next image"
    assert not dlg.check() and not ok.isEnabled()
    assert "D is used by" in dlg.conflicts_label.text() and "Next image" in dlg.conflicts_label.text()
    dlg.set_keys("label_1", "Ctrl+Shift+K; Alt+1")
    assert dlg.check() and ok.isEnabled() and dlg.conflicts_label.text() == ""
    assert dlg.mapping()["label_1"] == ("Ctrl+Shift+K", "Alt+1")
    dlg.set_keys("label_2", "Ctrl+Bogus")
    assert not dlg.check() and "Bogus" in dlg.conflicts_label.text()
    dlg.restore_defaults()
    assert dlg.check() and dlg.mapping()["redo"] == ("Ctrl+Shift+Z", "Ctrl+Y")


def test_parse_keys_normalises_and_rejects() -> None:
    assert parse_keys("ctrl+shift+z ; ctrl+y") == ("Ctrl+Shift+Z", "Ctrl+Y")
    assert parse_keys("") == ()
    with pytest.raises(ValueError, match="Ctrl\\+Nope"):
        parse_keys("Ctrl+Nope")


def test_remap_is_applied_persisted_and_shown_in_cheatsheet(qtbot, tmp_path: Path) -> None:
    from tests.ui.window_support import make_images, open_window

    win = open_window(qtbot, make_images(tmp_path / "imgs", n=2), None)
    assert not win.apply_settings({"label_1": ("D",)}, {})  # conflict refused with a message
    assert "would be used by both" in win.status.message.text()
    assert win.apply_settings({"next_image": ("N",)}, {"prefetch_count": 3})
    assert win.registry.action("next_image").shortcut().toString() == "N"
    reloaded = Settings.load()
    assert reloaded.shortcuts["next_image"] == ("N",) and reloaded.prefetch_count == 3
    rows = {text: keys for _g, text, keys in shortcut_rows(win.registry)}
    assert rows["Next image"] == "N"
    sheet = CheatSheetDialog(win.registry, win)
    assert "Next image" in sheet.browser.toPlainText() and "Space tap" in sheet.browser.toPlainText()
    QTest.keyClick(win.canvas, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: win.controller.image.path == "img_001.png")
    QTest.keyClick(win.canvas, Qt.Key.Key_F1)
    assert win.cheatsheet is not None and win.cheatsheet.isVisible()
    assert "Next image" in win.cheatsheet.browser.toPlainText()
    win.close()


def test_model_manager_lists_models_and_reports_import_failure(qtbot, tmp_path: Path) -> None:
    from sam_backend.registry import MODELS

    dlg = ModelManagerDialog("mobile_sam", "cpu")
    qtbot.addWidget(dlg)
    assert dlg.table.rowCount() == len(MODELS) == 16  # 8 checkpoint files + 8 hub snapshot models
    assert dlg.selected_model() == "mobile_sam"
    assert dlg.state_text("mobile_sam") == "not installed"
    row = list(MODELS).index("sam_vit_h")
    assert dlg.table.item(row, 2).text() == human_size(MODELS["sam_vit_h"].size_bytes) == "2.56 GB"
    bogus = tmp_path / "not_a_model.pt"
    bogus.write_bytes(b"definitely not a checkpoint" * 100)
    dlg.import_selected(str(bogus))
    qtbot.waitUntil(lambda: dlg.job is not None and not dlg.job.is_running() and not dlg.progress.isVisible(),
                    timeout=10000)
    assert dlg.status.text() and "Installed" not in dlg.status.text()
    assert dlg.state_text("mobile_sam") == "not installed"
    qtbot.waitUntil(lambda: "torch" in dlg.report.toPlainText().lower(), timeout=15000)
    seen: list[tuple[str, str]] = []
    dlg.useRequested.connect(lambda m, d, p: seen.append((m, d, p)))
    dlg.device_box.setCurrentText("cpu")
    dlg.use_button.click()
    assert seen == []  # not installed: nothing to use (tests/ui/test_model_manager.py)


def test_export_dialog_lists_the_registry_with_the_cli_defaults(qtbot, tmp_path: Path) -> None:
    from app.core.project import Project
    from app.extensions import formats

    (tmp_path / "site").mkdir()
    with Project.create(tmp_path / "site" / "site.samlabel") as proj:
        # the CLI and the dialog take the defaults from the same place: the format's exporter
        assert default_destination("coco", proj) == tmp_path / "site" / "site.coco.json"
        assert default_destination("labelme", proj) == tmp_path / "site"  # beside the images
        dlg = ExportDialog(proj, "")
        qtbot.addWidget(dlg)
        ids = [dlg.format_box.itemData(i) for i in range(dlg.format_box.count())]
        assert ids == [f.id for f in formats() if f.exporter is not None]
        dlg.set_format("coco")
        assert dlg.choice().format == "coco" and dlg.choice().destination.name == "site.coco.json"
        assert "A new COCO file" in dlg.note.text()
        dlg.set_format("labelme")
        assert dlg.choice().destination == tmp_path / "site" and dlg.choice().masks == "auto"
        assert [dlg.masks_box.itemData(i) for i in range(dlg.masks_box.count())] == ["auto", "polygon", "outline", "mask"]


def test_candidate_strip_shows_scores_and_emits_clicks(qtbot) -> None:
    strip = CandidateStrip()
    qtbot.addWidget(strip)
    masks = np.zeros((3, 50, 80), dtype=bool)
    masks[1, 10:20, 10:30] = True
    strip.set_candidates(masks, np.array([0.91, 0.55, 0.123], dtype=np.float32), "#ff0000", 1)
    assert [strip.caption(k) for k in range(3)] == ["IoU 0.91", "IoU 0.55", "IoU 0.12"]
    assert strip.current() == 1
    clicked: list[int] = []
    strip.candidateClicked.connect(clicked.append)
    strip._buttons[2].click()  # noqa: SLF001
    assert clicked == [2]
    strip.set_candidates(None, None, "#ff0000", 0)
    assert strip.count() == 0 and strip.current() == -1 and strip.caption(0) == "–"


def test_mask_thumbnail_pixels() -> None:
    mask = np.zeros((100, 200), dtype=bool)
    mask[:, :100] = True
    img = mask_thumbnail(mask, "#00ff00", size=20)
    assert img.width() == img.height() == 20
    # 200 px wide -> 20 px; left half green, right half grey; rows 5..14 hold the image
    assert img.pixelColor(2, 10).name() == "#00ff00"
    assert img.pixelColor(17, 10).name() == "#303030"
    assert img.pixelColor(10, 1).name() == "#181818"


def test_mask_to_logits_uses_sam_padded_frame() -> None:
    assert low_res_frame(120, 160) == (192, 256)
    assert low_res_frame(1000, 10) == (256, 3)
    mask = np.zeros((120, 160), dtype=bool)
    mask[:, 80:] = True
    logits = mask_to_logits(mask)
    assert logits.shape == (256, 256) and logits.dtype == np.float32
    assert logits[100, 200] > 0 and logits[100, 50] < 0
    assert (logits[192:, :] < 0).all()  # padding is background
    assert set(np.unique(logits).tolist()) == {-10.0, 10.0}
    with pytest.raises(ValueError):
        mask_to_logits(np.zeros((0, 5), dtype=bool))


def test_key_sequence_text_roundtrip_matches_registry(registry: ActionRegistry) -> None:
    seqs = registry.action("redo").shortcuts()
    assert [s.toString(QKeySequence.SequenceFormat.PortableText) for s in seqs] == ["Ctrl+Shift+Z", "Ctrl+Y"]
