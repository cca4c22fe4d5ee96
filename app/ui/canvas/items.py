"""Annotation shape items and vertex handles.

All items live in SCENE coordinates, which equal IMAGE pixel coordinates with pixel centres at
integers (the image item is placed at (-0.5, -0.5); see view.py).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.core.model import Part
from app.ui.canvas import prepared
from app.ui.canvas.convert import points_to_qpolygonf
from app.ui.canvas.display import MaskStyle
from app.ui.canvas.prepared import needs_raster
from app.ui.canvas.raster import PartsRaster
from app.ui.canvas.shape_index import ShapeIndex

FILL_ALPHA = 80            # default look (display.DEFAULT_OPACITY); the style decides at paint time
SELECTED_FILL_ALPHA = 130
PEN_PX = 1.5
SELECTED_PEN_PX = 2.5
OUTLINE_MIN_PX = 3.0     # many-part mode, zoomed in: vector outlines for parts at least this large
BIG_PART_PX = 24.0       # many-part mode, zoom < 1: vector outlines only for parts this large
RASTER_OUTLINE_MAX_SCALE = 2.0  # up to this zoom the raster's boundary pixels are the outline
MAX_OUTLINE_SEGMENTS = 2000     # vector outline budget per paint (largest parts first)
HANDLE_PX = 7.0
HOT_HANDLE_PX = 11.0
HANDLE_MIN_PX = 8.0      # handles of parts smaller than this on screen are not drawn
MAX_HANDLES = 4000       # at most this many handles per paint (those of the largest parts)


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


class AnnotationItem(QGraphicsItem):
    """One annotation drawn filled and outlined in its class colour (cosmetic outline pen).

    Geometry queries go through a numpy ShapeIndex (bounding rectangle from the parts' bbox,
    hit-testing only the parts whose bbox contains the point), never through path stroking.
    Painting has two modes:
      * few parts (<= MANY_PARTS parts and <= MANY_VERTICES vertices): the exact vector path,
        crisp at every zoom;
      * many parts (fragmented masks, thousands of parts): fill and boundary pixels are rasterised
        ONCE at image resolution (PartsRaster, cropped to the bbox, even-odd like the path) and
        drawn as one Indexed8 image. Up to RASTER_OUTLINE_MAX_SCALE the boundary pixels are the
        outline (below zoom 1, where they are subsampled, parts >= BIG_PART_PX on screen also
        get a vector outline); zoomed in further, visible parts >= OUTLINE_MIN_PX get crisp
        vector outlines instead (level of detail), at most MAX_OUTLINE_SEGMENTS segments per
        paint (largest parts first). The item is then device-coordinate cached, so pans and
        hovers only blit.
    Selection changes only the colour table and pen (no re-rasterisation); hiding is setVisible.
    The item takes no mouse events itself: the view's tools hit-test with `contains_point`.
    """

    def __init__(self, ann_id: int, parts: Sequence[Part], color: str,
                 ready: prepared.PreparedGeometry | None = None) -> None:
        super().__init__()
        self.ann_id = ann_id
        self._color = QColor(color) if QColor(color).isValid() else QColor("#ff00ff")
        self._selected = False
        self._style = MaskStyle()
        self._scale = 1.0
        self._path: QPainterPath | None = None
        self._raster: PartsRaster | None = None
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.parts: tuple[Part, ...] = ()
        self.index = ShapeIndex(())
        self.many = False
        self.set_parts(parts, ready)

    def set_parts(self, parts: Sequence[Part], ready: prepared.PreparedGeometry | None = None) -> None:
        """Replace the drawn geometry (image px). ready: its drawing data when it was computed off
        the GUI thread (app.ui.canvas.prepared.drawing_data of exactly these parts)."""
        self.prepareGeometryChange()
        self.parts = parts if isinstance(parts, tuple) else tuple(parts)
        self.index = ready.index if ready is not None else ShapeIndex(self.parts)
        self._path = None
        self._raster = ready.raster if ready is not None else None
        self.many = needs_raster(self.index)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache if self.many
                          else QGraphicsItem.CacheMode.NoCache)
        self.update()

    def path(self) -> QPainterPath:
        """The odd-even QPainterPath of all rings (built on first use)."""
        if self._path is None:
            self._path = parts_to_path(self.parts)
        return QPainterPath(self._path)

    def set_highlighted(self, selected: bool) -> None:
        """Draw as the selected annotation (thicker outline, stronger fill) or normally."""
        if selected != self._selected:
            self._selected = selected
            self.update()

    def set_style(self, style: MaskStyle) -> None:
        """Fill opacity / outline-only (app.ui.canvas.display.MaskStyle); visibility is the layer's."""
        if style != self._style:
            self._style = style
            self.update()

    def is_highlighted(self) -> bool:
        """True when drawn as selected."""
        return self._selected

    def color(self) -> QColor:
        """The class colour."""
        return QColor(self._color)

    def contains_point(self, pt: QPointF) -> bool:
        """True when the image point is inside the filled area (holes excluded)."""
        return self.isVisible() and self.index.contains(pt.x(), pt.y())

    def set_view_scale(self, scale: float) -> None:
        """Screen pixels per image pixel of the view: keeps the cosmetic outline inside boundingRect."""
        if scale > 0 and scale != self._scale:
            self.prepareGeometryChange()
            self._scale = scale

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        """The parts' bbox grown by the outline's half width (screen px converted to image px)."""
        box = self.index.bbox
        if box is None:
            return QRectF()
        m = (SELECTED_PEN_PX / 2 + 1.0) / min(self._scale, 1.0) + 0.5
        return QRectF(box[0] - m, box[1] - m, box[2] - box[0] + 2 * m, box[3] - box[1] + 2 * m)

    def shape(self) -> QPainterPath:
        """The bounding rectangle (cheap; the tools hit-test with contains_point)."""
        path = QPainterPath()
        path.addRect(self.boundingRect())
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:  # noqa: ARG002
        """Fill and outline (see the class docstring for the two modes)."""
        pen = QPen(QColor("#ffffff") if self._selected else self._color)
        pen.setCosmetic(True)
        pen.setWidthF(SELECTED_PEN_PX if self._selected else PEN_PX)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        alpha = self._style.fill_alpha(self._selected)
        if not self.many:
            fill = QColor(self._color)
            fill.setAlpha(alpha)
            painter.setPen(pen)
            painter.setBrush(QBrush(fill) if alpha else QBrush(Qt.BrushStyle.NoBrush))
            if self._path is None:
                self._path = parts_to_path(self.parts)
            painter.drawPath(self._path)
            return
        t = painter.worldTransform()
        scale = max(abs(t.m11()), abs(t.m12()), 1e-9)
        raster = self.raster()
        raster_outline = scale <= RASTER_OUTLINE_MAX_SCALE
        image = raster.image(self._color, alpha, pen.color(), raster_outline)
        x0, y0 = raster.origin
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(QRectF(x0 - 0.5, y0 - 0.5, image.width(), image.height()), image)
        r = option.exposedRect if not option.exposedRect.isEmpty() else self.boundingRect()
        if 1.0 <= scale <= RASTER_OUTLINE_MAX_SCALE:
            return  # the boundary pixels are exact outlines at these zooms
        min_px = OUTLINE_MIN_PX if not raster_outline else BIG_PART_PX
        parts = self.index.visible_parts((r.left(), r.top(), r.right(), r.bottom()), min_px / scale)
        parts = self.index.largest_within(parts, MAX_OUTLINE_SEGMENTS)
        if len(parts):
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            # a QPolygonF is a QList<QPointF>, which drawLines takes (the stubs list only Python sequences)
            painter.drawLines(points_to_qpolygonf(self.index.segments(parts)))  # type: ignore[call-overload]

    def raster(self) -> PartsRaster:
        """The cached label raster of the geometry (built on first use; many-part mode)."""
        if self._raster is None:
            self._raster = PartsRaster(self.index)
        return self._raster


class HandlesItem(QGraphicsItem):
    """Square vertex handles drawn at a constant screen size over a list of image points.

    The view tells the item its current scale (screen px per image px) with `set_view_scale` so
    that the bounding rectangle covers the handles at any zoom. Painting is vectorised and has a
    level of detail: only handles inside the exposed area are drawn, and when `extents` (the size
    in image px of each point's part) are given, handles of parts smaller than HANDLE_MIN_PX on
    screen are skipped, and at most MAX_HANDLES are drawn (the hot handle always is).
    """

    def __init__(self) -> None:
        super().__init__()
        self._points = np.zeros((0, 2), np.float64)
        self._extents: np.ndarray | None = None
        self._source: np.ndarray | None = None
        self._hot = -1
        self._scale = 1.0
        self._bbox = QRectF()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_points(self, points: Sequence[tuple[float, float]] | np.ndarray, hot: int = -1,
                   extents: np.ndarray | None = None) -> None:
        """Show handles at `points` (image px, a sequence or an (N, 2) array); `hot` is the index
        drawn larger (-1 = none); `extents` (N,) optional part sizes (image px) for level of detail.
        Passing the very same arrays again only moves the hot mark (a small repaint)."""
        if points is self._source and extents is self._extents and points is not None:
            if hot != self._hot:
                old, self._hot = self._hot, hot
                for i in (old, hot):
                    if 0 <= i < len(self._points):
                        self.update(self._handle_rect(i))
            return
        self.prepareGeometryChange()
        self._source = points if isinstance(points, np.ndarray) else None
        self._points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self._extents = None if extents is None else np.asarray(extents, dtype=np.float64)  # (N,)
        self._hot = hot
        if len(self._points):
            lo, hi = self._points.min(axis=0), self._points.max(axis=0)
            self._bbox = QRectF(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
        else:
            self._bbox = QRectF()
        self.update()

    def _handle_rect(self, i: int) -> QRectF:
        m = (HOT_HANDLE_PX / 2 + 2) / self._scale
        x, y = self._points[i]
        return QRectF(x - m, y - m, 2 * m, 2 * m)

    def points(self) -> list[tuple[float, float]]:
        """The handle positions (image px)."""
        return [(float(x), float(y)) for x, y in self._points]

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
        if not len(self._points):
            return QRectF()
        m = (HOT_HANDLE_PX / 2 + 2) / self._scale
        return self._bbox.adjusted(-m, -m, m, m)

    def drawn_indices(self, exposed: QRectF, scale: float) -> np.ndarray:
        """Indices of the handles drawn for an exposed area (image px) at `scale` (hot excluded)."""
        m = (HOT_HANDLE_PX / 2 + 2) / scale
        x, y = self._points[:, 0], self._points[:, 1]
        ok = ((x >= exposed.left() - m) & (x <= exposed.right() + m)
              & (y >= exposed.top() - m) & (y <= exposed.bottom() + m))
        if self._extents is not None and len(self._extents) == len(self._points):
            ok &= self._extents * scale >= HANDLE_MIN_PX
        if 0 <= self._hot < len(ok):
            ok[self._hot] = False
        idx = np.flatnonzero(ok)
        if len(idx) > MAX_HANDLES:
            weight = self._extents[idx] if self._extents is not None and len(self._extents) == len(ok) else -idx
            idx = np.sort(idx[np.argpartition(-weight, MAX_HANDLES)[:MAX_HANDLES]])
        return idx

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,  # noqa: ARG002
              widget: QWidget | None = None) -> None:
        """Draw every visible handle as a square of HANDLE_PX screen pixels (HOT_HANDLE_PX when hot)."""
        if not len(self._points):
            return
        t = painter.worldTransform()
        scale = max(abs(t.m11()), abs(t.m12()), 1e-9)
        idx = self.drawn_indices(option.exposedRect if not option.exposedRect.isEmpty() else self.boundingRect(),
                                 scale)
        pts = self._points[idx]
        dev = np.empty_like(pts)
        dev[:, 0] = t.m11() * pts[:, 0] + t.m21() * pts[:, 1] + t.dx()
        dev[:, 1] = t.m12() * pts[:, 0] + t.m22() * pts[:, 1] + t.dy()
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if len(dev):
            poly = points_to_qpolygonf(np.floor(dev) + 0.5)
            for color, size in (("#000000", HANDLE_PX + 2), ("#ffffff", HANDLE_PX)):
                pen = QPen(QColor(color), size)
                pen.setCapStyle(Qt.PenCapStyle.SquareCap)
                painter.setPen(pen)
                painter.drawPoints(poly)
        if 0 <= self._hot < len(self._points):
            c = t.map(QPointF(*self._points[self._hot]))
            painter.setPen(QPen(QColor("#000000"), 1))
            painter.setBrush(QColor("#ffcc00"))
            size = HOT_HANDLE_PX
            painter.drawRect(QRectF(c.x() - size / 2, c.y() - size / 2, size, size))
        painter.restore()
