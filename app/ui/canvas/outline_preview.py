"""The preview outline over a candidate: the polygons that accepting it would store (issue 13).

Drawn in scene coordinates = image px (pixel centres at integers, see app.ui.canvas.view) with
cosmetic pens (the same width at every zoom): a dark halo under a bright line, and the vertices as
dots while there are few enough of them to be told apart (limits: app.services.geometry_work).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.ui.canvas.convert import points_to_qpolygonf

# The dark halo doubles the painting cost (~6 us a segment measured, antialiased, cosmetic): only for
# outlines small enough to paint at once.
HALO_MAX_VERTICES = 3000


class OutlinePreviewItem(QGraphicsItem):
    """Segments (QPainter.drawLines pairs) of the previewed outline and its vertex dots; `clear()`
    hides it. The arrays come ready from the worker (app.services.geometry_work.OutlinePreview), so
    the GUI thread only hands them to Qt (no Python loop over rings or vertices)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._lines = QPolygonF()
        self._dots = QPolygonF()
        self._rect = QRectF()
        self._vertices = 0
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def set_outline(self, lines: np.ndarray, dots: np.ndarray) -> None:
        """Show segments `lines` ((2K, 2) end point pairs, image px) and vertex dots `dots` ((D, 2))."""
        self.prepareGeometryChange()
        pts = np.asarray(lines, dtype=np.float64).reshape(-1, 2)
        self._lines = points_to_qpolygonf(pts)
        self._dots = points_to_qpolygonf(np.asarray(dots, dtype=np.float64).reshape(-1, 2))
        self._vertices = len(pts) // 2
        if len(pts):
            (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
            self._rect = QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0)).adjusted(-2, -2, 2, 2)
        else:
            self._rect = QRectF()
        self.setVisible(len(pts) > 0)
        self.update()

    def clear(self) -> None:
        """Show nothing."""
        self.set_outline(np.zeros((0, 2)), np.zeros((0, 2)))

    def vertex_count(self) -> int:
        """Vertices drawn (for tests)."""
        return self._vertices

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        del option, widget
        if self._lines.isEmpty():
            return
        halo = QPen(QColor(0, 0, 0, 200), 3.5)
        halo.setCosmetic(True)
        line = QPen(QColor("#fff200"), 1.5)
        line.setCosmetic(True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._vertices <= HALO_MAX_VERTICES:
            painter.setPen(halo)
            # a QPolygonF is a QList<QPointF>, which drawLines takes (the stubs list only Python sequences)
            painter.drawLines(self._lines)  # type: ignore[call-overload]
        painter.setPen(line)
        painter.drawLines(self._lines)  # type: ignore[call-overload]
        if not self._dots.isEmpty():
            dot = QPen(QColor("#ff3030"), 4.0)
            dot.setCosmetic(True)
            dot.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(dot)
            painter.drawPoints(self._dots)
