"""The candidate mask overlay and the image item: each ONE item that draws a QImage directly.

No QPixmap conversion happens on the GUI thread: the candidate is an Indexed8 QImage over a copy of
the mask cropped to its bbox (two-entry colour table), the image a QImage over a copy of the RGB
array; Qt's raster engine samples them while painting (only the painted screen pixels cost time),
and both items are device-coordinate cached so pans only blit.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, qRgba
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

from app.ui.canvas.convert import DEFAULT_MASK_ALPHA, array_to_qimage_view, check_image_array, mask_bbox


class MaskOverlayItem(QGraphicsItem):
    """A translucent colour overlay of a bool HxW mask, placed like the image.

    Mask pixel (col, row) covers the image pixel whose centre is at scene (col, row). Only the
    mask's bbox is kept (`crop_origin()` is its top-left mask pixel); the item is device-coordinate
    cached and takes no mouse events.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._mask_shape: tuple[int, int] | None = None
        self._image = QImage()
        self._buffer: np.ndarray | None = None
        self._origin = (0, 0)
        self.setVisible(False)

    def set_mask(self, mask: np.ndarray | None, color: str, alpha: float = DEFAULT_MASK_ALPHA) -> None:
        """Show `mask` (bool or 0/1 uint8 HxW, image px) in `color` ("#rrggbb") at `alpha` (0..1);
        None hides the overlay. Raises ValueError for a bad mask or colour."""
        if mask is None:
            self.prepareGeometryChange()
            self._image, self._buffer, self._origin = QImage(), None, (0, 0)
            self._mask_shape = None
            self.setVisible(False)
            return
        if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype not in (np.bool_, np.uint8):
            raise ValueError(f"the mask must be a 2-D bool or uint8 array, got "
                             f"{getattr(mask, 'dtype', type(mask).__name__)} {getattr(mask, 'shape', '')}")
        qc = QColor(color)
        if not qc.isValid():
            raise ValueError(f"not a colour: {color!r}")
        self.prepareGeometryChange()
        box = mask_bbox(mask)
        a = int(round(min(max(alpha, 0.0), 1.0) * 255))
        if box is None:
            self._image, self._buffer, self._origin = QImage(), None, (0, 0)
        else:
            r0, r1, c0, c1 = box
            crop = np.ascontiguousarray(mask[r0:r1, c0:c1]).view(np.uint8)
            image, buffer = array_to_qimage_view(crop, QImage.Format.Format_Indexed8)
            image.setColorTable([qRgba(0, 0, 0, 0), qRgba(qc.red(), qc.green(), qc.blue(), a)] + [
                qRgba(qc.red(), qc.green(), qc.blue(), a)] * 254)
            self._image, self._buffer, self._origin = image, buffer, (c0, r0)
        self._mask_shape = (int(mask.shape[0]), int(mask.shape[1]))
        self.setVisible(True)
        self.update()

    def mask_shape(self) -> tuple[int, int] | None:
        """(H, W) of the shown mask, or None when hidden."""
        return self._mask_shape

    def image(self) -> QImage:
        """The drawn image: the mask's bbox crop (Indexed8; empty for an all-False mask)."""
        return QImage(self._image)

    def crop_origin(self) -> tuple[int, int]:
        """(col, row) of the mask pixel at the image's top-left corner."""
        return self._origin

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        """The bbox of the mask's True pixels (pixel edges at half-integers)."""
        if self._image.isNull():
            return QRectF()
        c0, r0 = self._origin
        return QRectF(c0 - 0.5, r0 - 0.5, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,  # noqa: ARG002
              widget: QWidget | None = None) -> None:
        """Draw the crop, nearest-neighbour sampled."""
        if self._image.isNull():
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(self.boundingRect(), self._image)


class ImageItem(QGraphicsItem):
    """The image, drawn from a QImage that wraps a private copy of the RGB array (no QPixmap).

    Placed at (-0.5, -0.5) so that scene == image px with pixel centres at integers. Smooth
    (bilinear) sampling when zoomed out (`set_smooth`), nearest when zoomed in.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._image = QImage()
        self._buffer: np.ndarray | None = None
        self._smooth = False

    def set_array(self, array: np.ndarray | None) -> tuple[int, int]:
        """Show an HxW / HxWx3 / HxWx4 uint8 array (None clears); returns (width, height).
        The array is copied once (the caller may change it afterwards). Raises ValueError."""
        self.prepareGeometryChange()
        if array is None:
            self._image, self._buffer = QImage(), None
            self.update()
            return (0, 0)
        check_image_array(array)
        self._image, self._buffer = array_to_qimage_view(np.array(array, copy=True, order="C"))
        self.update()
        return (self._image.width(), self._image.height())

    def image(self) -> QImage:
        """The drawn image (shares the private buffer; read only)."""
        return QImage(self._image)

    def set_smooth(self, smooth: bool) -> None:
        """Bilinear (True) or nearest (False) sampling."""
        if smooth != self._smooth:
            self._smooth = smooth
            self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        """The image extent: (-0.5, -0.5, W, H)."""
        if self._image.isNull():
            return QRectF()
        return QRectF(-0.5, -0.5, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,  # noqa: ARG002
              widget: QWidget | None = None) -> None:
        """Draw the image over its extent."""
        if self._image.isNull():
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth)
        painter.drawImage(self.boundingRect(), self._image)


class PendingMasks:
    """Accepted candidates shown at once, in their label colour, until their stored geometry is drawn
    (the accept service converts them off the GUI thread; a fragmented 12 MP mask takes seconds)."""

    def __init__(self, scene: QGraphicsScene, z: float) -> None:
        self._scene, self._z = scene, z
        self._items: list[MaskOverlayItem] = []

    def add(self, mask: np.ndarray, color: str) -> MaskOverlayItem:
        """Show `mask` (bool HxW, image px); returns its item (the handle for `remove`)."""
        item = MaskOverlayItem()
        item.setZValue(self._z)
        item.set_mask(mask, color)
        self._scene.addItem(item)
        self._items.append(item)
        return item

    def remove(self, item: MaskOverlayItem) -> None:
        """Stop showing one pending mask (unknown items are ignored)."""
        if item in self._items:
            self._items.remove(item)
            self._scene.removeItem(item)

    def clear(self) -> None:
        """Remove every pending mask."""
        for item in self._items:
            self._scene.removeItem(item)
        self._items = []

    def items(self) -> list[MaskOverlayItem]:
        """The pending masks shown (oldest first)."""
        return list(self._items)
