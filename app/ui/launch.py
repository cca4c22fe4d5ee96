"""GUI start-up: `run_gui(args) -> int` (called by app.cli with args.path, args.model, args.checkpoint,
args.device, args.lang, args.new_window).

Before Qt: the X11 check (app.platform_check), the language (app.ui.i18n) and the theme (app.ui.theme)
from the settings; a path is handed to a running instance when there is one (app.ui.single_instance).

Order matters for the "first image within a second" promise: the window is shown, the project is
opened and its first image requested (decoded off the GUI thread), and only then is the model
loading posted to the inference worker, which never blocks the GUI.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.theme import DEFAULT_THEME, app_icon, apply_theme, dark_palette  # noqa: F401 - re-exported

DESKTOP_FILE = "sam-labeler"  # resources/desktop/sam-labeler.desktop: task bars group our windows by it


def make_application(argv: list[str] | None = None, theme: str = DEFAULT_THEME) -> QApplication:
    """The QApplication (created once; HiDPI pass-through scaling, Fusion style in `theme`, icon)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName("SAM Labeler")
    app.setOrganizationName("sam-labeler")
    app.setDesktopFileName(DESKTOP_FILE)
    apply_theme(app, theme)
    app.setWindowIcon(app_icon())
    return app


def bring_to_front(window: QWidget) -> None:
    """Show `window` un-minimised, raised and focused (a project was opened in it from the desktop)."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()


FIRST_IMAGE_GRACE_MS = 1500


def run_gui(args: argparse.Namespace) -> int:
    """Show the main window, open args.path (folder or .samlabel), then load the model; returns the exit code.

    Before Qt starts: a missing X11 library or display is reported (Qt would abort the process), and a
    path is handed to an already running instance unless --new-window or the settings say otherwise.
    """
    from app.platform_check import show_startup_error, xcb_problem
    from app.services.settings import Settings
    from app.ui import i18n, single_instance

    settings = Settings.load()
    lang = i18n.choose_language(getattr(args, "lang", None), settings.language)  # ValueError: one line
    problem = xcb_problem()
    if problem is not None:
        show_startup_error(problem.hint())
        return 1
    path = getattr(args, "path", None)
    new_window = bool(getattr(args, "new_window", False)) or not settings.reuse_window
    app = make_application(theme=settings.theme)
    i18n.install_translators(app, lang)
    if path and not new_window and single_instance.send(path):
        return 0  # the running window opens it
    server = single_instance.InstanceServer(parent=app) if not new_window else None
    if server is not None:
        server.listen()
    from app.ui.main_window import MainWindow

    window = MainWindow(settings=settings)
    window.show()
    if server is not None:
        def open_requested(path: str) -> None:
            bring_to_front(window)
            window.open_path(path)

        server.openRequested.connect(open_requested)

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
        if server is not None:
            server.close()
        window.shutdown()
