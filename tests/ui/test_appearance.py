"""Themes (dark/light, switchable in Settings at once), the language choice in Settings, the window
title that names the project file, and the application icon from resources/."""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app.services.settings import Settings
from app.ui.dialogs.settings_dialog import SettingsDialog
from app.ui.theme import app_icon, apply_theme, current_theme, icon_color, style_sheet
from tests.ui.window_support import make_images, open_window, predictor, window  # noqa: F401


def _window_lightness() -> int:
    return QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness()


def test_themes_set_palette_and_style_sheet(qapp) -> None:  # noqa: ARG001
    try:
        assert apply_theme(qapp, "light") == "light" and _window_lightness() > 200
        assert "light theme" in qapp.styleSheet() and "#fff4cc" in qapp.styleSheet()
        assert icon_color() == "#3c4043"
        assert apply_theme(qapp, "dark") == "dark" and _window_lightness() < 60
        assert "dark theme" in qapp.styleSheet() and icon_color() == "#d0d0d0"
        assert apply_theme(qapp, "neon") == "dark"  # unknown: the default
    finally:
        apply_theme(qapp, "dark")
    assert style_sheet("light") != style_sheet("dark")


def test_the_app_icon_has_every_size(qapp) -> None:  # noqa: ARG001
    sizes = {(s.width(), s.height()) for s in app_icon().availableSizes()}
    assert {(16, 16), (32, 32), (48, 48), (256, 256), (512, 512)} <= sizes


def test_settings_dialog_switches_the_theme_at_once_and_keeps_the_language_for_next_start(qtbot, window) -> None:
    dlg = SettingsDialog(window.registry, window.settings, window)
    qtbot.addWidget(dlg)
    assert dlg.values()["theme"] == "dark" and dlg.values()["language"] == "" and dlg.values()["reuse_window"]
    dlg.theme_box.setCurrentIndex(dlg.theme_box.findData("light"))
    dlg.language_box.setCurrentIndex(dlg.language_box.findData("zh_CN"))
    dlg.reuse_window.setChecked(False)
    assert dlg.language_box.currentText() == "简体中文"  # each language in its own name
    try:
        assert window.apply_settings(dlg.mapping(), dlg.values())
        assert current_theme() == "light" and _window_lightness() > 200
        assert "next start" in window.status.message.text()
        saved = json.loads(Path(window.settings.path).read_text(encoding="utf-8"))
        assert (saved["theme"], saved["language"], saved["reuse_window"]) == ("light", "zh_CN", False)
        reloaded = Settings.load(window.settings.path)
        assert (reloaded.theme, reloaded.language, reloaded.reuse_window) == ("light", "zh_CN", False)
    finally:
        apply_theme(QApplication.instance(), "dark")


def test_bad_appearance_settings_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"theme": 3, "language": ["zh"], "reuse_window": "yes"}), encoding="utf-8")
    s = Settings.load(path)
    assert (s.theme, s.language, s.reuse_window) == ("dark", "", True)


def test_the_title_names_the_project_file(qtbot, tmp_path: Path) -> None:
    win = open_window(qtbot, make_images(tmp_path / "北京 street"), None)
    try:
        assert win.windowTitle() == "北京 street.samlabel — SAM Labeler"
        win.set_project(None)
        assert win.windowTitle() == "SAM Labeler"
    finally:
        win.close()


def test_error_messages_take_the_theme_colour(window) -> None:
    window.status.show_message("boom", error=True)
    assert window.status.message.property("error") is True
    window.status.show_message("fine")
    assert window.status.message.property("error") is False
