"""The labeling canvas: image view, overlays, prompt tools, manual polygon and edit tools.

`CanvasView` and `TOOLS` are imported on first use, so that a worker process needing only the
drawing-data modules (app.ui.canvas.prepared, run by the accept service) does not import the widgets.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.ui.canvas.view import TOOLS, CanvasView

__all__ = ["CanvasView", "TOOLS"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from app.ui.canvas import view

        return getattr(view, name)
    raise AttributeError(f"module 'app.ui.canvas' has no attribute {name!r}")
