"""The candidate mask overlay: ONE pixmap item over the whole image, rebuilt per candidate."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem

from app.ui.canvas.convert import DEFAULT_MASK_ALPHA, mask_to_qimage


class MaskOverlayItem(QGraphicsPixmapItem):
    """A translucent colour overlay of a bool HxW mask, placed like the image pixmap.

    The item's offset is (-0.5, -0.5) so that mask pixel (col, row) covers the image pixel whose
    centre is at scene (col, row). It is device-coordinate cached and takes no mouse events.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setOffset(-0.5, -0.5)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._mask_shape: tuple[int, int] | None = None
        self.setVisible(False)

    def set_mask(self, mask: np.ndarray | None, color: str, alpha: float = DEFAULT_MASK_ALPHA) -> None:
        """Show `mask` (bool HxW, image px) in `color` ("#rrggbb") at `alpha`; None hides the overlay."""
        if mask is None:
            self.setPixmap(QPixmap())
            self._mask_shape = None
            self.setVisible(False)
            return
        image = mask_to_qimage(mask, color, alpha)
        self.setPixmap(QPixmap.fromImage(image))
        self._mask_shape = (int(mask.shape[0]), int(mask.shape[1]))
        self.setVisible(True)

    def mask_shape(self) -> tuple[int, int] | None:
        """(H, W) of the shown mask, or None when hidden."""
        return self._mask_shape
