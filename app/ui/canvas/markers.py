"""Prompt markers: points (constant screen size), the box and scribble strokes (cosmetic pens),
and the unfinished polygon of the polygon tool. Scene coordinates == image px."""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem, QGraphicsScene,
                               QStyleOptionGraphicsItem, QWidget)

from app.services.prompts import FOREGROUND, PromptSet, sample_stroke
from app.ui.canvas.items import HandlesItem

FG_COLOR = "#22dd44"
BG_COLOR = "#ff3344"
MARKER_PX = 14.0
PROMPT_Z = 2000.0
DRAFT_Z = 3000.0


def _cosmetic_pen(color: str, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(color))
    pen.setCosmetic(True)
    pen.setWidthF(width)
    pen.setStyle(style)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


class PointMarker(QGraphicsItem):
    """A foreground (green disc with +) or background (red disc with -) point marker.

    Drawn at MARKER_PX screen pixels whatever the zoom (ItemIgnoresTransformations); its position
    is the prompt's image coordinate.
    """

    def __init__(self, x: float, y: float, label: int) -> None:
        super().__init__()
        self.label = int(label)
        self.setPos(x, y)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(PROMPT_Z + 1)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        """Square of MARKER_PX (+ pen) centred on the point, in screen px."""
        r = MARKER_PX / 2 + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,  # noqa: ARG002
              widget: QWidget | None = None) -> None:
        """A disc with a white border and a white + (foreground) or - (background)."""
        r = MARKER_PX / 2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor("#ffffff"), 1.5))
        painter.setBrush(QColor(FG_COLOR if self.label == FOREGROUND else BG_COLOR))
        painter.drawEllipse(QPointF(0, 0), r, r)
        painter.setPen(QPen(QColor("#ffffff"), 2))
        arm = r * 0.55
        painter.drawLine(QPointF(-arm, 0), QPointF(arm, 0))
        if self.label == FOREGROUND:
            painter.drawLine(QPointF(0, -arm), QPointF(0, arm))


class PromptLayer:
    """The scene items that show one PromptSet; `show(prompts)` replaces them all."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self._scene = scene
        self._items: list[QGraphicsItem] = []
        self.box_item = QGraphicsRectItem()
        self.box_item.setPen(_cosmetic_pen(FG_COLOR, 2.0))
        self.box_item.setZValue(PROMPT_Z)
        self.box_item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.box_item.setVisible(False)
        scene.addItem(self.box_item)
        self.live_stroke = QGraphicsPathItem()
        self.live_stroke.setZValue(PROMPT_Z)
        self.live_stroke.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.live_stroke.setVisible(False)
        scene.addItem(self.live_stroke)

    def show(self, prompts: PromptSet) -> None:
        """Draw click points (not the scribble samples), the box and the strokes of `prompts`."""
        for item in self._items:
            self._scene.removeItem(item)
        self._items = []
        samples = {p for _, stroke in prompts.strokes for p in sample_stroke(stroke)}
        for (x, y), label in zip(prompts.points, prompts.labels):
            if (x, y) in samples:
                continue
            marker = PointMarker(x, y, label)
            self._scene.addItem(marker)
            self._items.append(marker)
        for label, stroke in prompts.strokes:
            item = QGraphicsPathItem(stroke_path(stroke))
            item.setPen(_cosmetic_pen(FG_COLOR if label == FOREGROUND else BG_COLOR, 3.0))
            item.setZValue(PROMPT_Z)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self._scene.addItem(item)
            self._items.append(item)
        self.show_box(prompts.box)
        self.live_stroke.setVisible(False)

    def show_box(self, box: tuple[float, float, float, float] | None) -> None:
        """Show a box (x0, y0, x1, y1 image px) or hide it."""
        if box is None:
            self.box_item.setVisible(False)
            return
        x0, y0, x1, y1 = box
        self.box_item.setRect(QRectF(QPointF(min(x0, x1), min(y0, y1)), QPointF(max(x0, x1), max(y0, y1))))
        self.box_item.setVisible(True)

    def show_live_stroke(self, stroke: Sequence[tuple[float, float]], label: int) -> None:
        """Show the stroke being drawn (image px)."""
        self.live_stroke.setPen(_cosmetic_pen(FG_COLOR if label == FOREGROUND else BG_COLOR, 3.0))
        self.live_stroke.setPath(stroke_path(stroke))
        self.live_stroke.setVisible(True)

    def marker_count(self) -> int:
        """Number of point markers shown."""
        return sum(isinstance(i, PointMarker) for i in self._items)


def stroke_path(stroke: Sequence[tuple[float, float]]) -> QPainterPath:
    """An open polyline path through the stroke's points (a single point gives a dot)."""
    path = QPainterPath()
    if not stroke:
        return path
    x0, y0 = stroke[0]
    path.moveTo(x0, y0)
    if len(stroke) == 1:
        path.lineTo(x0 + 1e-3, y0)
    for x, y in stroke[1:]:
        path.lineTo(x, y)
    return path


class PolygonDraft:
    """The unfinished polygon: the polyline, a rubber line to the cursor and vertex handles."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.line = QGraphicsPathItem()
        self.line.setPen(_cosmetic_pen("#00e5ff", 2.0))
        self.line.setZValue(DRAFT_Z)
        self.line.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.rubber = QGraphicsPathItem()
        self.rubber.setPen(_cosmetic_pen("#00e5ff", 1.0, Qt.PenStyle.DashLine))
        self.rubber.setZValue(DRAFT_Z)
        self.rubber.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.handles = HandlesItem()
        self.handles.setZValue(DRAFT_Z + 1)
        for item in (self.line, self.rubber, self.handles):
            scene.addItem(item)
        self._shown: tuple[tuple[tuple[float, float], ...], bool] = ((), False)

    def show(self, points: Sequence[tuple[float, float]], cursor: tuple[float, float] | None,
             first_hot: bool) -> None:
        """Draw the vertices so far, and a dashed line from the last one to `cursor` (image px).

        A mouse move only changes the small rubber line item; the polyline and handles are
        rebuilt when the vertices or the first vertex's highlight change."""
        state = (tuple(points), first_hot)
        if state != self._shown:
            self._shown = state
            self.line.setPath(stroke_path(points) if len(points) > 1 else QPainterPath())
            self.handles.set_points(points, 0 if first_hot else -1)
        rubber = QPainterPath()
        if points and cursor is not None:
            rubber.moveTo(*points[-1])
            rubber.lineTo(*cursor)
        self.rubber.setPath(rubber)

    def set_view_scale(self, scale: float) -> None:
        """Keep the handles' bounding rectangle right at the view's zoom."""
        self.handles.set_view_scale(scale)
