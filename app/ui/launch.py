"""GUI start-up: `run_gui(args) -> int` (called by app.cli with args.path, args.model, args.checkpoint,
args.device).

Order matters for the "first image within a second" promise: the window is shown, the project is
opened and its first image requested (decoded off the GUI thread), and only then is the model
loading posted to the inference worker, which never blocks the GUI.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication


def app_icon() -> QIcon:
    """The application icon (qtawesome glyph; an empty icon when the font is unavailable)."""
    try:
        import qtawesome

        return qtawesome.icon("fa5s.object-ungroup", color="#26a69a")
    except Exception:  # noqa: BLE001 - decoration only
        return QIcon()


def dark_palette() -> QPalette:
    """A high-contrast dark palette for the Fusion style (images read better on dark surroundings)."""
    p = QPalette()
    base, window, text = QColor("#1e1f22"), QColor("#2b2d30"), QColor("#e6e6e6")
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: QColor("#383a3e"), QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text, QPalette.ColorRole.Button: QColor("#35373b"),
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.BrightText: QColor("#ff5252"),
        QPalette.ColorRole.Highlight: QColor("#2f7fd1"), QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#64b5f6"), QPalette.ColorRole.PlaceholderText: QColor("#9a9a9a"),
        QPalette.ColorRole.Mid: QColor("#8a8a8a"),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return p


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once; HiDPI pass-through scaling, Fusion dark style, icon)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName("SAM Labeler")
    app.setOrganizationName("sam-labeler")
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setWindowIcon(app_icon())
    return app


FIRST_IMAGE_GRACE_MS = 1500


def run_gui(args: argparse.Namespace) -> int:
    """Show the main window, open args.path (folder or .samlabel), then load the model; returns the exit code."""
    app = make_application()
    from app.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    path = getattr(args, "path", None)

    started = False

    def start_model(*_: object) -> None:
        nonlocal started
        if not started:
            started = True
            window.start_model(getattr(args, "model", None), getattr(args, "checkpoint", None),
                               getattr(args, "device", None))

    def start() -> None:
        if path and window.open_path(Path(path)) and window.controller.image is not None:
            # Loading a model imports torch (seconds, contending with the GUI thread): start it once the
            # first image is on screen, or after FIRST_IMAGE_GRACE_MS if that image cannot be shown.
            window.controller.imageShown.connect(start_model)
            QTimer.singleShot(FIRST_IMAGE_GRACE_MS, start_model)
        else:
            start_model()
        if window.settings.load_error:
            window.status.show_message(window.settings.load_error, error=True)

    QTimer.singleShot(0, start)
    try:
        return int(app.exec())
    finally:
        window.shutdown()
