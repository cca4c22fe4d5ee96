"""Canvas tools: SAM prompt tools (point, box, scribble), the manual polygon tool and the edit tool.

A tool receives mouse positions already mapped to IMAGE px (== scene coordinates, pixel centres at
integers) and talks to the view through the small CanvasHost protocol; it never reads Qt events.
"""
from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from PySide6.QtCore import Qt

from app.core.model import Part
from app.services.prompts import BACKGROUND, FOREGROUND, PromptSet
from app.ui.canvas.editing import EditableShape, VertexRef
from app.ui.canvas.items import AnnotationItem
from app.ui.canvas.markers import PolygonDraft, PromptLayer

CLOSE_PX = 8.0       # polygon: a click this close to the first vertex closes the ring
DUPLICATE_PX = 3.0   # polygon: a click this close to the last vertex adds nothing
VERTEX_PX = 7.0      # edit: grab radius of a vertex
EDGE_PX = 5.0        # edit: distance to an edge that inserts a vertex
MOVE_START_PX = 3.0  # edit: drag distance before a shape starts to move
MIN_BOX_PX = 3.0     # box: smaller drags (screen px) are ignored
MIN_AREA = 0.5       # polygon: rings enclosing less area (image px^2) are not emitted

Button = Qt.MouseButton
Key = Qt.Key


class CanvasHost(Protocol):
    """What the tools need from the view (implemented by CanvasView)."""

    prompt_layer: PromptLayer
    draft: PolygonDraft

    def scale_factor(self) -> float: ...
    def has_image(self) -> bool: ...
    def inside_image(self, x: float, y: float) -> bool: ...
    def clamp_to_image(self, x: float, y: float) -> tuple[float, float]: ...
    def prompts(self) -> PromptSet: ...
    def push_prompts(self, prompts: PromptSet) -> None: ...
    def undo_prompt(self) -> bool: ...
    def emit_polygon(self, parts: tuple[Part, ...]) -> None: ...
    def emit_geometry(self, ann_id: int, parts: tuple[Part, ...]) -> None: ...
    def selected_item(self) -> AnnotationItem | None: ...
    def item_at(self, x: float, y: float) -> AnnotationItem | None: ...
    def choose_annotation(self, ann_id: int | None) -> None: ...
    def show_handles(self, points: list[tuple[float, float]] | np.ndarray, hot: int,
                     extents: np.ndarray | None = None) -> None: ...
    def set_tool_cursor(self, shape: Qt.CursorShape | None) -> None: ...


class Tool:
    """Base tool: ignores everything. Positions are image px; buttons are Qt.MouseButton values."""

    name = ""

    def __init__(self, host: CanvasHost) -> None:
        self.host = host

    def activate(self) -> None:
        """Called when the tool becomes current."""

    def deactivate(self) -> None:
        """Called when another tool becomes current: abandon any unfinished interaction."""
        self.cancel()

    def cancel(self) -> None:
        """Abandon an unfinished interaction (drag, unfinished polygon) without emitting."""

    def press(self, button: Qt.MouseButton, x: float, y: float) -> None:
        """A mouse button went down at image (x, y)."""

    def move(self, buttons: Qt.MouseButton, x: float, y: float) -> None:
        """The mouse moved to image (x, y) with `buttons` held (possibly none)."""

    def release(self, button: Qt.MouseButton, x: float, y: float) -> None:
        """A mouse button went up at image (x, y)."""

    def double_click(self, button: Qt.MouseButton, x: float, y: float) -> None:
        """Second press of a double click (Qt sends it instead of a second press)."""
        self.press(button, x, y)

    def wants_key(self, key: int) -> bool:
        """True when the tool would handle `key` now (used to win over window shortcuts)."""
        return key == Key.Key_Backspace and not self.host.prompts().is_empty()

    def key_press(self, key: int) -> bool:
        """Handle a key; True when handled. Default: Backspace undoes the last prompt."""
        if key == Key.Key_Backspace:
            return self.host.undo_prompt()
        return False

    def _screen_dist(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        return math.dist(a, b) * self.host.scale_factor()


def ring_area(ring: list[tuple[float, float]]) -> float:
    """Signed shoelace area of a closed ring (image px^2; positive when counter-clockwise in x-right,
    y-up axes)."""
    n = len(ring)
    return 0.5 * sum(ring[i][0] * ring[(i + 1) % n][1] - ring[(i + 1) % n][0] * ring[i][1] for i in range(n))


def _label_of(button: Qt.MouseButton) -> int | None:
    if button == Button.LeftButton:
        return FOREGROUND
    if button == Button.RightButton:
        return BACKGROUND
    return None


class PointTool(Tool):
    """Left click = foreground point, right click = background point (inside the image only)."""

    name = "point"

    def press(self, button: Qt.MouseButton, x: float, y: float) -> None:
        label = _label_of(button)
        if label is None or not self.host.inside_image(x, y):
            return
        self.host.push_prompts(self.host.prompts().with_point(x, y, label))

    def double_click(self, button: Qt.MouseButton, x: float, y: float) -> None:
        """The second press of a double click is at the first one's place: no duplicate point."""


class BoxTool(Tool):
    """Left drag draws a box (clamped to the image) that replaces the previous one on release."""

    name = "box"

    def __init__(self, host: CanvasHost) -> None:
        super().__init__(host)
        self._start: tuple[float, float] | None = None

    def press(self, button: Qt.MouseButton, x: float, y: float) -> None:
        if button == Button.LeftButton and self.host.inside_image(x, y):
            self._start = self.host.clamp_to_image(x, y)

    def move(self, buttons: Qt.MouseButton, x: float, y: float) -> None:
        if self._start is not None and buttons & Button.LeftButton:
            self.host.prompt_layer.show_box((*self._start, *self.host.clamp_to_image(x, y)))

    def release(self, button: Qt.MouseButton, x: float, y: float) -> None:
        if button != Button.LeftButton or self._start is None:
            return
        (x0, y0), (x1, y1) = self._start, self.host.clamp_to_image(x, y)
        self._start = None
        s = self.host.scale_factor()
        if abs(x1 - x0) * s < MIN_BOX_PX or abs(y1 - y0) * s < MIN_BOX_PX:
            self.host.prompt_layer.show_box(self.host.prompts().box)
            return
        self.host.push_prompts(self.host.prompts().with_box(x0, y0, x1, y1))

    def double_click(self, button: Qt.MouseButton, x: float, y: float) -> None:
        """A double click draws no box."""

    def cancel(self) -> None:
        if self._start is not None:
            self._start = None
            self.host.prompt_layer.show_box(self.host.prompts().box)


class ScribbleTool(Tool):
    """Left drag = foreground stroke, right drag = background stroke, added on release."""

    name = "scribble"

    def __init__(self, host: CanvasHost) -> None:
        super().__init__(host)
        self._stroke: list[tuple[float, float]] = []
        self._button: Qt.MouseButton | None = None

    def press(self, button: Qt.MouseButton, x: float, y: float) -> None:
        label = _label_of(button)
        if label is None or self._button is not None or not self.host.inside_image(x, y):
            return
        self._button = button
        self._stroke = [self.host.clamp_to_image(x, y)]
        self.host.prompt_layer.show_live_stroke(self._stroke, label)

    def move(self, buttons: Qt.MouseButton, x: float, y: float) -> None:
        if self._button is None or not buttons & self._button:
            return
        pt = self.host.clamp_to_image(x, y)
        if self._screen_dist(pt, self._stroke[-1]) >= 1.0:
            self._stroke.append(pt)
            self.host.prompt_layer.show_live_stroke(self._stroke, _label_of(self._button) or FOREGROUND)

    def release(self, button: Qt.MouseButton, x: float, y: float) -> None:
        if self._button is None or button != self._button:
            return
        label = _label_of(button)
        stroke, self._stroke, self._button = self._stroke, [], None
        assert label is not None
        self.host.push_prompts(self.host.prompts().with_stroke(stroke, label))

    def double_click(self, button: Qt.MouseButton, x: float, y: float) -> None:
        """A double click adds no second stroke."""

    def cancel(self) -> None:
        if self._button is not None:
            self._stroke, self._button = [], None
            self.host.prompt_layer.show(self.host.prompts())


class PolygonTool(Tool):
    """Manual polygon: click adds a vertex; double click, a click on the first vertex or Enter
    closes it (>= 3 vertices); Backspace removes the last vertex; Esc cancels."""

    name = "polygon"

    def __init__(self, host: CanvasHost) -> None:
        super().__init__(host)
        self.points: list[tuple[float, float]] = []
        self._cursor: tuple[float, float] | None = None

    def press(self, button: Qt.MouseButton, x: float, y: float) -> None:
        if button != Button.LeftButton or not self.host.has_image():
            return
        pt = self.host.clamp_to_image(x, y)
        if len(self.points) >= 3 and self._screen_dist(pt, self.points[0]) <= CLOSE_PX:
            self.finish()
            return
        if self.points and self._screen_dist(pt, self.points[-1]) <= DUPLICATE_PX:
            return
        self.points.append(pt)
        self._redraw()

    def double_click(self, button: Qt.MouseButton, x: float, y: float) -> None:
        if button != Button.LeftButton:
            return
        self.press(button, x, y)
        if len(self.points) >= 3:
            self.finish()

    def move(self, buttons: Qt.MouseButton, x: float, y: float) -> None:
        self._cursor = self.host.clamp_to_image(x, y)
        if self.points:
            self._redraw()

    def wants_key(self, key: int) -> bool:
        return bool(self.points) and key in (Key.Key_Return, Key.Key_Enter, Key.Key_Backspace, Key.Key_Escape)

    def key_press(self, key: int) -> bool:
        if not self.points:
            return False
        if key in (Key.Key_Return, Key.Key_Enter):
            if len(self.points) >= 3:
                self.finish()
            return True
        if key == Key.Key_Backspace:
            self.points.pop()
            self._redraw()
            return True
        if key == Key.Key_Escape:
            self.cancel()
            return True
        return False

    def finish(self) -> None:
        """Emit the polygon as one Part and start a new one. Needs >= 3 vertices enclosing some
        area (MIN_AREA px^2): a degenerate polygon is not emitted and drawing goes on."""
        if len(self.points) < 3 or abs(ring_area(self.points)) < MIN_AREA:
            return
        ring = tuple(self.points)
        self.points = []
        self._redraw()
        self.host.emit_polygon((Part(exterior=ring),))

    def cancel(self) -> None:
        self.points = []
        self._redraw()

    def _redraw(self) -> None:
        first_hot = (len(self.points) >= 3 and self._cursor is not None
                     and self._screen_dist(self._cursor, self.points[0]) <= CLOSE_PX)
        self.host.draft.show(self.points, self._cursor, first_hot)


class EditTool(Tool):
    """Select a shape by clicking it; drag a vertex; click an edge to insert a vertex; drag inside
    the shape to move it; Del/Backspace removes the hovered or last grabbed vertex (rings keep >= 3).
    geometryEdited is emitted once per gesture, on release (immediately for a key deletion)."""

    name = "edit"

    def __init__(self, host: CanvasHost) -> None:
        super().__init__(host)
        self._shape: EditableShape | None = None
        self._origin: EditableShape | None = None
        self._grab: VertexRef | None = None
        self._moving = False
        self._press_at: tuple[float, float] = (0.0, 0.0)
        self._changed = False
        self._hover: VertexRef | None = None
        self._picked: VertexRef | None = None

    def activate(self) -> None:
        self.refresh()

    def deactivate(self) -> None:
        self.cancel()
        self.host.show_handles([], -1)

    def cancel(self) -> None:
        item = self.host.selected_item()
        if item is not None and self._origin is not None and self._changed:
            item.set_parts(self._origin.to_parts())
        self._shape = self._origin = None
        self._grab = None
        self._moving = self._changed = False
        self._hover = self._picked = None
        self.refresh()

    def refresh(self) -> None:
        """Redraw the handles of the selected annotation (none when nothing is selected)."""
        item = self.host.selected_item()
        if item is None:
            self.host.show_handles([], -1)
            return
        # the item always shows the working shape (every change goes through item.set_parts)
        index = item.index
        target = self._grab or self._hover or self._picked
        hot = index.vertex_index(*target) if target is not None else -1
        self.host.show_handles(index.verts, hot, index.vertex_extent())

    def press(self, button: Qt.MouseButton, x: float, y: float) -> None:
        if button != Button.LeftButton:
            return
        self._picked = None
        item = self.host.selected_item()
        tol = 1.0 / self.host.scale_factor()
        if item is not None:
            i = item.index.nearest_vertex(x, y, VERTEX_PX * tol)
            ref = VertexRef(*item.index.vertex_ref(i)) if i >= 0 else None
            edge = None if ref is not None else item.index.nearest_edge(x, y, EDGE_PX * tol)
            if ref is not None or edge is not None:
                shape = EditableShape(item.parts)
                self._origin, self._shape = EditableShape(item.parts), shape
                if edge is not None:
                    ref = shape.insert_vertex(edge.part, edge.ring, edge.after, edge.x, edge.y)
                    item.set_parts(shape.to_parts())
                self._grab = self._picked = ref
                self._changed = edge is not None
                self.refresh()
                return
        hit = self.host.item_at(x, y)
        if hit is None:
            self.host.choose_annotation(None)
            self.refresh()
            return
        if item is None or hit.ann_id != item.ann_id:
            self.host.choose_annotation(hit.ann_id)
        self._origin, self._shape = EditableShape(hit.parts), EditableShape(hit.parts)
        self._press_at = (x, y)
        self._moving = False
        self._changed = False
        self.refresh()

    def move(self, buttons: Qt.MouseButton, x: float, y: float) -> None:
        item = self.host.selected_item()
        if self._shape is None or item is None or not buttons & Button.LeftButton:
            self._update_hover(x, y)
            return
        if self._grab is not None:
            self._shape.move_vertex(self._grab, *self.host.clamp_to_image(x, y))
            self._changed = True
        else:
            if not self._moving and self._screen_dist((x, y), self._press_at) < MOVE_START_PX:
                return
            self._moving = True
            assert self._origin is not None
            moved = EditableShape(self._origin.to_parts())
            moved.translate(x - self._press_at[0], y - self._press_at[1])
            self._shape = moved
            self._changed = True
        item.set_parts(self._shape.to_parts())
        self.refresh()

    def release(self, button: Qt.MouseButton, x: float, y: float) -> None:
        if button != Button.LeftButton or self._shape is None:
            return
        item = self.host.selected_item()
        shape, changed = self._shape, self._changed
        self._shape = self._origin = None
        self._grab = None
        self._moving = self._changed = False
        if item is not None and changed:
            self.host.emit_geometry(item.ann_id, shape.to_parts())
        self._update_hover(x, y)

    def double_click(self, button: Qt.MouseButton, x: float, y: float) -> None:
        """Treated as a press (Qt sends it instead of the second press of a double click)."""
        self.press(button, x, y)

    def _target(self) -> VertexRef | None:
        return self._hover or self._picked

    def wants_key(self, key: int) -> bool:
        return key in (Key.Key_Delete, Key.Key_Backspace) and self._target() is not None

    def key_press(self, key: int) -> bool:
        if key not in (Key.Key_Delete, Key.Key_Backspace):
            return False
        item, target = self.host.selected_item(), self._target()
        if item is None or target is None or self._shape is not None:
            return False
        shape = EditableShape(item.parts)
        if shape.remove_vertex(target):
            item.set_parts(shape.to_parts())
            self._hover = self._picked = None
            self.refresh()
            self.host.emit_geometry(item.ann_id, shape.to_parts())
        return True

    def _update_hover(self, x: float, y: float) -> None:
        item = self.host.selected_item()
        hover = None
        if item is not None:
            i = item.index.nearest_vertex(x, y, VERTEX_PX / self.host.scale_factor())
            hover = VertexRef(*item.index.vertex_ref(i)) if i >= 0 else None
        if hover != self._hover:
            self._hover = hover
            self.host.set_tool_cursor(Qt.CursorShape.SizeAllCursor if hover is not None else None)
            self.refresh()


def make_tools(host: CanvasHost) -> dict[str, Tool]:
    """One instance of every tool, by name."""
    return {t.name: t(host) for t in (PointTool, BoxTool, ScribbleTool, PolygonTool, EditTool)}
