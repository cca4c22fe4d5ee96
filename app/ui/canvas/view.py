"""CanvasView: the image view with zoom/pan/fit, annotation shapes, the candidate overlay and the
tools that turn mouse input into SAM prompts, manual polygons and geometry edits.

Coordinate choice: the image is ONE item (ImageItem, drawing a QImage) placed at (-0.5, -0.5), so SCENE
coordinates are IMAGE pixel coordinates with pixel centres at integers (pixel (col, row) covers
[col-0.5, col+0.5] x [row-0.5, row+0.5]), the convention of design.md and app.core.model.
Every signal and method of this class speaks image px.
"""
from __future__ import annotations

from typing import AbstractSet, Mapping

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFocusEvent, QKeyEvent, QMouseEvent, QPainter, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

from app.core.model import Annotation, Part
from app.services.prompts import PromptSet
from app.ui.canvas.display import ImageAdjust, MaskStyle
from app.ui.canvas.items import AnnotationItem, HandlesItem
from app.ui.canvas.layers import AnnotationLayer
from app.ui.canvas.markers import PolygonDraft, PromptLayer
from app.ui.canvas.overlay import ImageItem, MaskOverlayItem, PendingMasks
from app.ui.canvas.prepared import PreparedGeometry
from app.ui.canvas.tools import Tool, make_tools

TOOLS = ("point", "box", "scribble", "polygon", "edit")
ZOOM_STEP = 1.25
MAX_SCALE = 64.0
ANNOTATION_Z = 100.0
OVERLAY_Z = 1000.0
HANDLES_Z = 2500.0
_CURSORS = {"point": Qt.CursorShape.CrossCursor, "box": Qt.CursorShape.CrossCursor,
            "scribble": Qt.CursorShape.CrossCursor, "polygon": Qt.CursorShape.CrossCursor,
            "edit": Qt.CursorShape.ArrowCursor}


class CanvasView(QGraphicsView):
    """The labeling canvas (see module docstring for the coordinate frame).

    Signals (all coordinates image px):
      promptsChanged(PromptSet)       after every prompt edit by the user (click, box drag end, stroke
                                      end, Backspace undo of a prompt); not for set_image/clear_prompts.
      polygonFinished(tuple[Part])    a manual polygon was closed.
      geometryEdited(int, tuple[Part]) the edit tool changed annotation ann_id (once per gesture).
      annotationSelected(int | None)  the user clicked a shape (edit tool) or empty space.
      acceptRequested()               Space was tapped (pressed and released without a mouse press).
      cursorMoved(float, float)       the mouse position in image px (while an image is shown).
    Panning: middle drag, or hold Space and drag with the left button. Wheel zooms around the cursor.
    """

    promptsChanged = Signal(object)
    polygonFinished = Signal(object)
    geometryEdited = Signal(int, object)
    annotationSelected = Signal(object)
    acceptRequested = Signal()
    cursorMoved = Signal(float, float)
    zoomChanged = Signal(float)  # screen px per image px

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.setBackgroundBrush(QColor("#2b2b2b"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)

        self._image_item = ImageItem()
        self._scene.addItem(self._image_item)
        self._overlay = MaskOverlayItem()
        self._overlay.setZValue(OVERLAY_Z)
        self._scene.addItem(self._overlay)
        self.pending = PendingMasks(self._scene, OVERLAY_Z + 1)  # accepted, not stored yet
        self._handles = HandlesItem()
        self._handles.setZValue(HANDLES_Z)
        self._scene.addItem(self._handles)
        self.prompt_layer = PromptLayer(self._scene)
        self.draft = PolygonDraft(self._scene)

        self._size: tuple[int, int] | None = None          # (width, height) of the image
        self._layer = AnnotationLayer(self._scene, ANNOTATION_Z, OVERLAY_Z)
        self._raw: np.ndarray | None = None  # the image as loaded; shown through self._adjust
        self._adjust = ImageAdjust()
        self._prompts = PromptSet()
        self._history: list[PromptSet] = []
        self._fit_scale = 1.0
        self._auto_fit = True
        self._pan_from: QPointF | None = None
        self._space_down = False
        self._space_used = False
        self._tools = make_tools(self)
        self._tool: Tool = self._tools["point"]
        self.viewport().setCursor(_CURSORS["point"])

    # ----- image ---------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray) -> None:
        """Show an HxWx3 uint8 RGB image (HxW grey and HxWx4 RGBA accepted); clears the prompts,
        the candidate overlay and any unfinished polygon/drag, and fits the view. Annotation shapes
        are kept: call set_annotations for the new image. Raises ValueError for a bad array."""
        self._raw = rgb
        w, h = self._image_item.set_array(self._adjust.apply(rgb))
        self._tool.cancel()
        self._size = (w, h)
        self._scene.setSceneRect(QRectF(-0.5, -0.5, w, h))
        self._overlay.set_mask(None, "#000000")
        self._reset_prompts()
        self._auto_fit = True
        self.fit()

    def clear_image(self) -> None:
        """Remove the image, the annotations, the overlay and the prompts."""
        self._tool.cancel()
        self._raw = None
        self._image_item.set_array(None)
        self._size = None
        self._overlay.set_mask(None, "#000000")
        self.pending.clear()
        self.set_annotations([], {})
        self._reset_prompts()
        self._scene.setSceneRect(QRectF(0, 0, 1, 1))
        self.resetTransform()

    def set_display(self, adjust: ImageAdjust, style: MaskStyle) -> None:
        """Brightness/contrast/gamma of the shown image and the masks' look (app.ui.canvas.display;
        view only: the model and the project never see it)."""
        if adjust != self._adjust:
            self._adjust = adjust
            if self._raw is not None:
                self._image_item.set_array(adjust.apply(self._raw))
        if style != self._layer.style:
            self._layer.set_style(style)
            self._highlight()

    def display(self) -> tuple[ImageAdjust, MaskStyle]:
        """The current display settings."""
        return self._adjust, self._layer.style

    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the shown image, or None."""
        return self._size

    def has_image(self) -> bool:
        """True when an image is shown."""
        return self._size is not None

    def inside_image(self, x: float, y: float) -> bool:
        """True when image point (x, y) lies on the image ([-0.5, W-0.5) x [-0.5, H-0.5))."""
        if self._size is None:
            return False
        w, h = self._size
        return -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5

    def clamp_to_image(self, x: float, y: float) -> tuple[float, float]:
        """(x, y) clamped to the image extent [-0.5, W-0.5] x [-0.5, H-0.5]."""
        if self._size is None:
            return (x, y)
        w, h = self._size
        return (min(max(x, -0.5), w - 0.5), min(max(y, -0.5), h - 0.5))

    # ----- annotations and candidate ---------------------------------------------------------
    def set_annotations(self, anns: list[Annotation], colors: dict[int, str],
                        hidden: AbstractSet[int] = frozenset(),
                        drawing: Mapping[int, PreparedGeometry] | None = None) -> None:
        """Show these annotations (image px parts), coloured by colors[label_id] ("#rrggbb").

        `hidden` holds annotation ids not drawn; `drawing` the drawing data of annotations computed
        off the GUI thread (app.ui.canvas.prepared.drawing_data), by id. Drawing order follows Annotation.z (then the list
        order). Annotations without an id are skipped. The selection is kept when its id remains.
        An edit-tool drag in progress is abandoned; an unfinished polygon is kept.
        """
        self._cancel_edit()
        self._layer.set(anns, colors, hidden, drawing)
        self._highlight()

    def select_annotation(self, ann_id: int | None) -> None:
        """Highlight annotation ann_id (None clears) without emitting annotationSelected.
        Selecting the already selected annotation changes nothing (an edit drag goes on)."""
        if (ann_id if ann_id in self._layer.items else None) == self._layer.selected:
            return
        self._cancel_edit()
        self._layer.select(ann_id)
        self._highlight()

    def _cancel_edit(self) -> None:
        if self._tool.name == "edit":
            self._tool.cancel()

    def selected_annotation(self) -> int | None:
        """The highlighted annotation id or None."""
        return self._layer.selected

    def annotation_parts(self, ann_id: int) -> tuple[Part, ...] | None:
        """The geometry currently drawn for an annotation (image px), or None."""
        return self._layer.parts(ann_id)

    def set_candidate(self, mask: np.ndarray | None, color: str) -> None:
        """Show a bool HxW candidate mask as a translucent `color` overlay (None hides it).

        Raises ValueError when the mask's shape is not the image's (H, W)."""
        if mask is not None and self._size is not None and mask.shape[:2] != (self._size[1], self._size[0]):
            raise ValueError(f"candidate mask shape {mask.shape} does not match the image "
                             f"({self._size[1]}, {self._size[0]})")
        self._overlay.set_mask(mask, color)

    def overlay_item(self) -> MaskOverlayItem:
        """The candidate overlay item (for inspection)."""
        return self._overlay

    # ----- tools and prompts ------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        """Switch tool: "point" | "box" | "scribble" | "polygon" | "edit" (ValueError otherwise).
        An unfinished polygon or drag is abandoned; prompts are kept."""
        if tool not in self._tools:
            raise ValueError(f"unknown tool {tool!r}; expected one of {', '.join(TOOLS)}")
        if self._tools[tool] is self._tool:
            return
        self._tool.deactivate()
        self._tool = self._tools[tool]
        self._tool.activate()
        self.viewport().setCursor(_CURSORS[tool])

    def tool(self) -> str:
        """The current tool's name."""
        return self._tool.name

    def prompts(self) -> PromptSet:
        """The current prompts (image px)."""
        return self._prompts

    def clear_prompts(self) -> None:
        """Remove all prompts and cancel an unfinished polygon or drag (no signal is emitted)."""
        self._tool.cancel()
        self._reset_prompts()

    def restore_prompts(self, prompts: PromptSet) -> None:
        """Show `prompts` again as the current ones (coming back to an image); no signal is emitted."""
        self._tool.cancel()
        self._reset_prompts()
        self._prompts = prompts
        self.prompt_layer.show(prompts)

    def push_prompts(self, prompts: PromptSet) -> None:
        """Replace the prompts after a user edit: remembered for undo_prompt, drawn, emitted."""
        self._history.append(self._prompts)
        self._prompts = prompts
        self.prompt_layer.show(prompts)
        self.promptsChanged.emit(prompts)

    def undo_prompt(self) -> bool:
        """Go back to the prompts before the last user edit and emit promptsChanged; False when
        there is nothing to undo."""
        if not self._history:
            return False
        self._prompts = self._history.pop()
        self.prompt_layer.show(self._prompts)
        self.promptsChanged.emit(self._prompts)
        return True

    def _reset_prompts(self) -> None:
        self._prompts = PromptSet()
        self._history = []
        self.prompt_layer.show(self._prompts)

    # ----- host protocol for the tools ---------------------------------------------------------
    def scale_factor(self) -> float:
        """Screen pixels per image pixel."""
        return float(self.transform().m11()) or 1.0

    def emit_polygon(self, parts: tuple[Part, ...]) -> None:
        """Emit polygonFinished (used by the polygon tool)."""
        self.polygonFinished.emit(parts)

    def emit_geometry(self, ann_id: int, parts: tuple[Part, ...]) -> None:
        """Emit geometryEdited (used by the edit tool)."""
        self.geometryEdited.emit(ann_id, parts)

    def selected_item(self) -> AnnotationItem | None:
        """The selected annotation's item when it is visible."""
        return self._layer.selected_item()

    def item_at(self, x: float, y: float) -> AnnotationItem | None:
        """The top-most visible annotation whose filled area contains image point (x, y)."""
        return self._layer.item_at(x, y)

    def choose_annotation(self, ann_id: int | None) -> None:
        """Select by user action: highlight and emit annotationSelected when it changes."""
        if self._layer.select(ann_id):
            self._highlight()
            self.annotationSelected.emit(self._layer.selected)

    def show_handles(self, points: list[tuple[float, float]] | np.ndarray, hot: int,
                     extents: np.ndarray | None = None) -> None:
        """Show vertex handles at image points (`hot` drawn larger); `extents` (image px size of
        each point's part) lets the handles of parts tiny on screen be skipped."""
        self._handles.set_points(points, hot, extents)

    def set_tool_cursor(self, shape: Qt.CursorShape | None) -> None:
        """Show `shape` as the mouse cursor, or the current tool's own cursor for None."""
        if self._pan_from is None and not self._space_down:
            self.viewport().setCursor(shape if shape is not None else _CURSORS[self._tool.name])

    def handles(self) -> HandlesItem:
        """The vertex handles item (for inspection)."""
        return self._handles

    def _highlight(self) -> None:
        """Show the selected shape's handles when the edit tool is current."""
        if self._tool.name == "edit":
            self._tool.activate()
        else:
            self._handles.set_points([], -1)

    # ----- zoom and pan ------------------------------------------------------------------------
    def zoom_in(self) -> None:
        """Zoom in one step around the view centre."""
        self._zoom_by(ZOOM_STEP, None)

    def zoom_out(self) -> None:
        """Zoom out one step around the view centre."""
        self._zoom_by(1.0 / ZOOM_STEP, None)

    def fit(self) -> None:
        """Show the whole image, centred (zooming in on images smaller than the view)."""
        if self._size is None:
            return
        w, h = self._size
        vp = self.viewport().rect()
        if vp.width() < 2 or vp.height() < 2:
            return
        scale = min((vp.width() - 4) / w, (vp.height() - 4) / h)
        scale = max(scale, 1e-4)
        self.resetTransform()
        self.scale(scale, scale)
        self._fit_scale = scale
        self.centerOn(QPointF((w - 1) / 2, (h - 1) / 2))
        self._after_zoom()
        self._auto_fit = True

    def _zoom_by(self, factor: float, anchor: QPointF | None) -> None:
        if self._size is None:
            return
        current = self.scale_factor()
        lo = min(self._fit_scale, 1.0) / 2
        hi = max(MAX_SCALE, self._fit_scale * 4)
        new = min(max(current * factor, lo), hi)
        if new == current:
            return
        vp_anchor = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        scene_anchor = self.to_image(vp_anchor)
        self.scale(new / current, new / current)
        moved = self.mapFromScene(scene_anchor)
        self._scroll_by(moved.x() - vp_anchor.x(), moved.y() - vp_anchor.y())
        self._auto_fit = False
        self._after_zoom()

    def _after_zoom(self) -> None:
        s = self.scale_factor()
        self._image_item.set_smooth(s < 1.0)
        self._layer.set_view_scale(s)
        self._handles.set_view_scale(s)
        self.draft.set_view_scale(s)
        self.zoomChanged.emit(s)

    def _scroll_by(self, dx: float, dy: float) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(dx))
        v.setValue(v.value() + round(dy))

    def to_image(self, viewport_pos: QPointF) -> QPointF:
        """Viewport (widget) position -> image px, without integer rounding."""
        inverted, _ = self.viewportTransform().inverted()
        return inverted.map(QPointF(viewport_pos))

    # ----- Qt event handlers -------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        """Zoom around the cursor, one ZOOM_STEP per wheel notch."""
        steps = event.angleDelta().y() / 120.0
        if steps:
            self._zoom_by(ZOOM_STEP ** steps, event.position())
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        """Keep the whole image visible while the user has not zoomed."""
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        """Start a pan (middle button, or left with Space held) or hand the press to the tool."""
        button = event.button()
        if self._space_down:
            self._space_used = True
            if button != Qt.MouseButton.LeftButton:
                event.accept()
                return
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space_down):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if self._pan_from is None and self._size is not None:
            p = self.to_image(event.position())
            self._tool.press(button, p.x(), p.y())
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        """Pan, or report the cursor and hand the move to the tool."""
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self._scroll_by(-delta.x(), -delta.y())
            self._auto_fit = False
            event.accept()
            return
        if self._size is not None:
            p = self.to_image(event.position())
            self.cursorMoved.emit(p.x(), p.y())
            self._tool.move(event.buttons(), p.x(), p.y())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        """End a pan, or hand the release to the tool."""
        button = event.button()
        if self._pan_from is not None:
            if button in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
                self._pan_from = None
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space_down
                                          else _CURSORS[self._tool.name])
            event.accept()
            return
        if self._size is not None:
            p = self.to_image(event.position())
            self._tool.release(button, p.x(), p.y())
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        """Hand a double click to the tool (it arrives instead of the second press)."""
        if self._space_down:
            self._space_used = True
            return
        if self._size is not None and self._pan_from is None:
            p = self.to_image(event.position())
            self._tool.double_click(event.button(), p.x(), p.y())
        event.accept()

    def event(self, event: QEvent) -> bool:
        """Claim keys the canvas needs now (Space; tool keys such as Enter while drawing a polygon
        or Del over a vertex) before window shortcuts take them."""
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and _plain(event) and (event.key() == Qt.Key.Key_Space or self._tool.wants_key(event.key())):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        """Space starts a tap/pan; Esc cancels; other keys go to the current tool."""
        key = event.key()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat() and not self._space_down:
                self._space_down = True
                self._space_used = False
                if self._pan_from is None:
                    self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if _plain(event) and self._tool.key_press(key):
            event.accept()
            return
        if key == Qt.Key.Key_Escape and _plain(event):
            self._tool.cancel()
            if not self._prompts.is_empty():
                self.push_prompts(PromptSet())
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        """Space released: emit acceptRequested when no mouse button was pressed meanwhile."""
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat() and self._space_down:
                self._space_down = False
                tapped = not self._space_used and self._pan_from is None
                if self._pan_from is None:
                    self.viewport().setCursor(_CURSORS[self._tool.name])
                if tapped:
                    self.acceptRequested.emit()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 (Qt override)
        """Losing focus ends a Space hold without a tap."""
        self._space_down = False
        super().focusOutEvent(event)


def _plain(event: QKeyEvent) -> bool:
    """True when no modifier other than the keypad flag is held (Enter on the keypad counts)."""
    return (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier) == Qt.KeyboardModifier.NoModifier
