"""The labeling canvas: image view, overlays, prompt tools, manual polygon and edit tools."""
from app.ui.canvas.view import TOOLS, CanvasView

__all__ = ["CanvasView", "TOOLS"]
