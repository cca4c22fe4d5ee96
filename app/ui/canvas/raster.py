"""The cached raster of a many-part annotation: its fill and outline pixels at image resolution.

Built once per geometry with cv2.fillPoly (even-odd over all rings, like the vector path's
OddEvenFill; sub-pixel vertices) into an 8-bit label image cropped to the parts' bbox:
0 = outside, 1 = inside, 2 = inside on the boundary (a 4-neighbour is outside). It is drawn as an
Indexed8 QImage whose colour table gives the style (normal/selected fill, outline on or off), so
a selection change or a zoom never re-rasterises.
"""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QColor, QImage, qRgba

from app.ui.canvas.shape_index import ShapeIndex

OUTSIDE, INSIDE, BOUNDARY = 0, 1, 2
SHIFT = 4  # sub-pixel bits of the rasterisation


class PartsRaster:
    """Label image of an annotation (see module docstring); `origin` is the image (col, row) of its
    top-left pixel."""

    def __init__(self, index: ShapeIndex) -> None:
        box = index.bbox or (0.0, 0.0, 0.0, 0.0)
        x0, y0 = int(np.floor(box[0])), int(np.floor(box[1]))
        w, h = int(np.ceil(box[2])) - x0 + 1, int(np.ceil(box[3])) - y0 + 1
        inside = np.zeros((h + 2, w + 2), np.uint8)  # one empty pixel of margin on every side
        pts = np.round((index.verts - (x0 - 1, y0 - 1)) * (1 << SHIFT)).astype(np.int32)
        rings = [r for r in np.split(pts, index.ring_start[1:-1]) if len(r) >= 3]
        if rings:
            cv2.fillPoly(inside, rings, 1, lineType=cv2.LINE_8, shift=SHIFT)
        core = inside[1:-1, 1:-1]
        interior = (core & inside[:-2, 1:-1] & inside[2:, 1:-1] & inside[1:-1, :-2] & inside[1:-1, 2:])
        self.labels = np.ascontiguousarray(core + (core & (interior ^ 1)))  # 0, 1 or 2
        self.origin = (x0, y0)
        self._images: dict[tuple[int, int, int, bool], QImage] = {}

    def image(self, color: QColor, fill_alpha: int, outline: QColor, raster_outline: bool) -> QImage:
        """The label image as an Indexed8 QImage (shares `labels`): inside pixels in `color` at
        `fill_alpha`, boundary pixels opaque `outline` when raster_outline (else like inside)."""
        key = (color.rgba(), fill_alpha, outline.rgba(), raster_outline)
        img = self._images.get(key)
        if img is None:
            h, w = self.labels.shape
            img = QImage(self.labels.data, w, h, w, QImage.Format.Format_Indexed8)
            fill = qRgba(color.red(), color.green(), color.blue(), fill_alpha)
            edge = qRgba(outline.red(), outline.green(), outline.blue(), 255) if raster_outline else fill
            img.setColorTable([qRgba(0, 0, 0, 0), fill, edge])
            if len(self._images) >= 4:
                self._images.clear()
            self._images[key] = img
        return img
