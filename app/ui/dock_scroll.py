"""Dock contents that scroll: a dock may get little height on a laptop screen (1280x800), so the
docks with many controls put their body in a frameless, resizable scroll area."""
from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QScrollArea, QWidget


def set_scrolling_widget(dock: QDockWidget, body: QWidget, min_height: int | None = None) -> QScrollArea:
    """Make ``body`` the dock's contents inside a scroll area (its minimum height ``min_height``
    when given); returns the scroll area."""
    scroll = QScrollArea(dock)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(body)
    if min_height is not None:
        scroll.setMinimumHeight(min_height)
    dock.setWidget(scroll)
    return scroll
