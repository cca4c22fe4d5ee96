"""Segment everything in the window: the review dock, the proposals overlay, the controller.

``install_everything(window)`` is a UI extension (app.ui.extensions): it adds the dock, the action
(key G; Tools menu and toolbar) that runs it on the current image, Esc to cancel a run, and returns
the controller.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QDockWidget, QToolBar

from app.ui.everything.controller import EverythingController
from app.ui.everything.panel import EverythingDock


def install_everything(window: Any) -> EverythingController:
    """Add the segment-everything dock to ``window`` (a MainWindow) and wire it; returns its controller."""
    dock = EverythingDock(window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    text_dock = window.findChild(QDockWidget, "TextPromptDock")
    if text_dock is not None:  # one tab group for the proposal tools: the window must fit 1280x800
        window.tabifyDockWidget(text_dock, dock)
    controller = EverythingController(dock, window.inference, window.controller, window.undo, window.canvas, window)
    controller.message.connect(window.status.show_message)
    action = window.registry.action("segment_everything")
    action.triggered.connect(lambda _checked=False: controller.run())
    window.registry.action("clear").triggered.connect(lambda _checked=False: controller.cancel())
    tools = QCoreApplication.translate("Menus", "&Tools")
    view = QCoreApplication.translate("Menus", "&View")
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is not None and menu_action.text() == tools:
            menu.addAction(action)
        elif menu is not None and menu_action.text() == view:
            menu.addAction(dock.toggleViewAction())
    toolbar = window.findChild(QToolBar, "MainToolBar")
    if toolbar is not None:
        toolbar.addAction(action)
    window.everything = controller
    return controller


__all__ = ["EverythingController", "EverythingDock", "install_everything"]
