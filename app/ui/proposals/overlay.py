"""Proposals drawn on the canvas (text prompts, segment everything): each proposal's mask as an
outline in its colour, optionally lightly filled, its box dashed and a caption (e.g. "cat 0.71")
when it has them; unchecked ones faint, the highlighted one thicker and filled.

One QGraphicsItem in the canvas scene (scene coordinates = image pixels, pixel centres at integers;
outlines come from the worker as contour arrays, so painting builds no geometry from masks).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

Z_VALUE = 1500.0  # above annotations and the candidate overlay, below vertex handles


@dataclass(frozen=True)
class DrawnProposal:
    """What is drawn for one proposal: outline contours (float32 (N, 2) x, y arrays), the box
    (x0, y0, x1, y1) in pixel-centre coordinates, a caption ("" for none), a colour "#rrggbb", and
    whether it will be accepted (checked) — unchecked ones are drawn faint. show_box: draw the box
    dashed; fill: fill the mask lightly (many small proposals read better filled)."""

    outlines: tuple[np.ndarray, ...]
    box: tuple[float, float, float, float]
    caption: str
    color: str
    checked: bool = True
    show_box: bool = True
    fill: bool = False


def _path(outlines: Sequence[np.ndarray]) -> QPainterPath:
    path = QPainterPath()
    for contour in outlines:
        if len(contour) >= 2:
            path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in contour]))
            path.closeSubpath()
    return path


class ProposalsItem(QGraphicsItem):
    """All proposals of the current image (see the module doc); takes no mouse events."""

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(Z_VALUE)
        self._items: list[tuple[DrawnProposal, QPainterPath]] = []
        self._current = -1
        self._bounds = QRectF()

    def set_proposals(self, proposals: Sequence[DrawnProposal], current: int = -1) -> None:
        """Show ``proposals`` (empty hides them); ``current`` is drawn highlighted."""
        self.prepareGeometryChange()
        self._items = [(p, _path(p.outlines)) for p in proposals]
        self._current = current
        bounds = QRectF()
        for p, path in self._items:
            x0, y0, x1, y1 = p.box
            bounds = bounds.united(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized()).united(path.boundingRect())
        self._bounds = bounds.adjusted(-40, -40, 40, 40) if self._items else QRectF()
        self.update()

    def set_current(self, current: int) -> None:
        """Highlight proposal ``current`` (-1: none)."""
        if current != self._current:
            self._current = current
            self.update()

    def index_at(self, x: float, y: float) -> int:
        """The proposal whose mask holds image point (x, y), the smallest when several do; -1: none."""
        point = QPointF(x, y)
        best, best_area = -1, float("inf")
        for k, (p, path) in enumerate(self._items):
            if path.boundingRect().contains(point) and path.contains(point):
                r = path.boundingRect()
                area = r.width() * r.height()
                if area < best_area:
                    best, best_area = k, area
        return best

    def count(self) -> int:
        """Number of proposals drawn."""
        return len(self._items)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,  # noqa: D102 - Qt API
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(painter.font())
        font.setPointSizeF(9.0)
        scale = painter.worldTransform().m11() or 1.0
        for k, (p, path) in enumerate(self._items):
            color = QColor(p.color)
            if not p.checked:
                color.setAlpha(90)
            current = k == self._current
            pen = QPen(color, 3.0 if current else 1.6)
            pen.setCosmetic(True)
            painter.setPen(pen)
            if current or (p.fill and p.checked):  # the selected proposal's mask area, lightly filled
                fill = QColor(color)
                fill.setAlpha(80 if current else 55)
                painter.fillPath(path, fill)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            if not p.show_box and not p.caption:
                continue
            box_pen = QPen(color, 1.0, Qt.PenStyle.DashLine)
            box_pen.setCosmetic(True)
            painter.setPen(box_pen)
            x0, y0, x1, y1 = p.box
            if p.show_box:
                painter.drawRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
            if not p.caption:
                continue
            # caption at a fixed screen size above the box's top-left corner, kept on the image's
            # top and left edges (inside the box when the box touches the top)
            painter.save()
            painter.setFont(font)
            text = p.caption
            rect = painter.fontMetrics().boundingRect(text).adjusted(-3, -1, 3, 1)
            above = y0 - rect.height() / scale >= -0.5
            painter.translate(max(x0, -0.5), y0 if above else max(y0, -0.5))
            painter.scale(1.0 / scale, 1.0 / scale)
            if above:
                rect.moveBottomLeft(QPointF(0, -1).toPoint())
            else:
                rect.moveTopLeft(QPointF(1, 1).toPoint())
            painter.fillRect(rect, QColor(0, 0, 0, 170))
            painter.setPen(color.lighter(130) if current else color)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            painter.restore()
