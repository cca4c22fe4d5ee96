"""Annotation shape items and vertex handles.

All items live in SCENE coordinates, which equal IMAGE pixel coordinates with pixel centres at
integers (the image pixmap is placed at (-0.5, -0.5); see view.py).
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from app.core.model import Part

FILL_ALPHA = 80
SELECTED_FILL_ALPHA = 130
HANDLE_PX = 7.0
HOT_HANDLE_PX = 11.0


def parts_to_path(parts: Sequence[Part]) -> QPainterPath:
    """A QPainterPath of all rings of all parts (image px) with the odd-even fill rule.

    With odd-even filling a hole ring leaves its area unfilled, and separate parts are filled
    independently, whatever the ring orientations are.
    """
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    for part in parts:
        for ring in (part.exterior, *part.holes):
            if len(ring) < 2:
                continue
            path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in ring]))
            path.closeSubpath()
    return path


class AnnotationItem(QGraphicsPathItem):
    """One annotation drawn filled and outlined in its class colour (cosmetic outline pen).

    The item takes no mouse events itself: the view's tools hit-test with `contains_point`.
    """

    def __init__(self, ann_id: int, parts: Sequence[Part], color: str) -> None:
        super().__init__()
        self.ann_id = ann_id
        self.parts: tuple[Part, ...] = tuple(parts)
        self._color = QColor(color) if QColor(color).isValid() else QColor("#ff00ff")
        self._selected = False
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self._apply_style()
        self.setPath(parts_to_path(self.parts))

    def set_parts(self, parts: Sequence[Part]) -> None:
        """Replace the drawn geometry (image px)."""
        self.parts = tuple(parts)
        self.setPath(parts_to_path(self.parts))

    def set_highlighted(self, selected: bool) -> None:
        """Draw as the selected annotation (thicker outline, stronger fill) or normally."""
        if selected != self._selected:
            self._selected = selected
            self._apply_style()

    def is_highlighted(self) -> bool:
        """True when drawn as selected."""
        return self._selected

    def color(self) -> QColor:
        """The class colour."""
        return QColor(self._color)

    def contains_point(self, pt: QPointF) -> bool:
        """True when the image point is inside the filled area (holes excluded)."""
        return self.isVisible() and self.path().contains(pt)

    def _apply_style(self) -> None:
        fill = QColor(self._color)
        fill.setAlpha(SELECTED_FILL_ALPHA if self._selected else FILL_ALPHA)
        pen = QPen(QColor("#ffffff") if self._selected else self._color)
        pen.setCosmetic(True)
        pen.setWidthF(2.5 if self._selected else 1.5)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        self.setPen(pen)
        self.setBrush(QBrush(fill))


class HandlesItem(QGraphicsItem):
    """Square vertex handles drawn at a constant screen size over a list of image points.

    The view tells the item its current scale (screen px per image px) with `set_view_scale` so
    that the bounding rectangle covers the handles at any zoom.
    """

    def __init__(self) -> None:
        super().__init__()
        self._points: list[tuple[float, float]] = []
        self._hot = -1
        self._first_hot = False
        self._scale = 1.0
        self._bbox = QRectF()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_points(self, points: Sequence[tuple[float, float]], hot: int = -1) -> None:
        """Show handles at `points` (image px); `hot` is the index drawn larger (-1 = none)."""
        self.prepareGeometryChange()
        self._points = [(float(x), float(y)) for x, y in points]
        self._hot = hot
        if self._points:
            xs = [p[0] for p in self._points]
            ys = [p[1] for p in self._points]
            self._bbox = QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        else:
            self._bbox = QRectF()
        self.update()

    def points(self) -> list[tuple[float, float]]:
        """The handle positions (image px)."""
        return list(self._points)

    def hot(self) -> int:
        """Index of the highlighted handle or -1."""
        return self._hot

    def set_view_scale(self, scale: float) -> None:
        """Screen pixels per image pixel of the view showing this item."""
        if scale > 0 and scale != self._scale:
            self.prepareGeometryChange()
            self._scale = scale

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        """The points' bounding box grown by the handle size in image px."""
        if not self._points:
            return QRectF()
        m = (HOT_HANDLE_PX / 2 + 2) / self._scale
        return self._bbox.adjusted(-m, -m, m, m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,  # noqa: ARG002
              widget: QWidget | None = None) -> None:
        """Draw every handle as a square of HANDLE_PX screen pixels (HOT_HANDLE_PX when hot)."""
        transform = painter.worldTransform()
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(QPen(QColor("#000000"), 1))
        for i, (x, y) in enumerate(self._points):
            c = transform.map(QPointF(x, y))
            size = HOT_HANDLE_PX if i == self._hot else HANDLE_PX
            painter.setBrush(QColor("#ffcc00") if i == self._hot else QColor("#ffffff"))
            painter.drawRect(QRectF(c.x() - size / 2, c.y() - size / 2, size, size))
        painter.restore()
