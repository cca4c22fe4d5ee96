"""The preview outline over a candidate: the polygons that accepting it would store (issue 13).

Drawn in scene coordinates = image px (pixel centres at integers, see app.ui.canvas.view) with
cosmetic pens (the same width at every zoom): a dark halo under a bright line, and the vertices as
dots while there are few enough of them to be told apart.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.core.model import Part
from app.ui.canvas.convert import points_to_qpolygonf

MAX_DOTS = 4000  # more vertices than this: the line only (dots would merge into it)


class OutlinePreviewItem(QGraphicsItem):
    """Rings of `parts` as closed outlines with their vertices; `set_parts(())` hides it."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._path = QPainterPath()
        self._dots = points_to_qpolygonf(np.zeros((0, 2)))
        self._vertices = 0
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def set_parts(self, parts: Sequence[Part]) -> None:
        """Show the outline of `parts` (image px); empty: nothing."""
        self.prepareGeometryChange()
        path = QPainterPath()
        rings = [np.asarray(r, dtype=np.float64).reshape(-1, 2) for p in parts for r in (p.exterior, *p.holes)]
        for ring in rings:
            if len(ring) >= 2:
                path.addPolygon(points_to_qpolygonf(np.vstack([ring, ring[:1]])))
        self._path = path
        self._vertices = sum(len(r) for r in rings)
        dots = np.concatenate(rings) if rings and self._vertices <= MAX_DOTS else np.zeros((0, 2))
        self._dots = points_to_qpolygonf(dots)
        self.setVisible(bool(rings))
        self.update()

    def vertex_count(self) -> int:
        """Vertices shown (for tests and the caption)."""
        return self._vertices

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._path.boundingRect().adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        del option, widget
        if self._path.isEmpty():
            return
        halo = QPen(QColor(0, 0, 0, 200), 3.5)
        halo.setCosmetic(True)
        line = QPen(QColor("#fff200"), 1.5)
        line.setCosmetic(True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(halo)
        painter.drawPath(self._path)
        painter.setPen(line)
        painter.drawPath(self._path)
        if not self._dots.isEmpty():
            dot = QPen(QColor("#ff3030"), 4.0)
            dot.setCosmetic(True)
            dot.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(dot)
            painter.drawPoints(self._dots)
