"""Text prompts (Grounded-SAM) in the window: the dock, the proposals overlay, the controller.

``install_text_prompts(window)`` is a UI extension (app.ui.extensions): it adds the dock (key T
focuses its phrase field) and returns the controller.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from app.automation.text_prompt import BOX_THRESHOLD, TEXT_THRESHOLD
from app.ui.text_prompt.controller import TextPromptController
from app.ui.text_prompt.panel import TextPromptDock


def install_text_prompts(window: Any) -> TextPromptController:
    """Add the text prompt dock to ``window`` (a MainWindow) and wire it; returns its controller."""
    dock = TextPromptDock(BOX_THRESHOLD, TEXT_THRESHOLD, window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    controller = TextPromptController(dock, window.inference, window.controller, window.undo, window.canvas, window)
    controller.message.connect(window.status.show_message)
    action = window.registry.action("text_prompt")
    action.triggered.connect(lambda _checked=False: dock.focus_prompt())
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        title = menu_action.text().replace("&", "")
        if menu is not None and title == "Tools":
            menu.addSeparator()
            menu.addAction(action)
        elif menu is not None and title == "View":
            menu.addAction(dock.toggleViewAction())
    window.text_prompts = controller
    return controller


__all__ = ["TextPromptController", "TextPromptDock", "install_text_prompts"]
