"""The annotation layer: one AnnotationItem per shown annotation, drawing order and selection."""
from __future__ import annotations

from typing import AbstractSet, Mapping, Sequence

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene

from app.core.model import Annotation, Part
from app.ui.canvas.display import MaskStyle
from app.ui.canvas.items import AnnotationItem
from app.ui.canvas.prepared import PreparedGeometry

FALLBACK_COLOR = "#ff00ff"


class AnnotationLayer:
    """Annotation shapes between z_low and z_high, ordered by Annotation.z; one may be selected."""

    def __init__(self, scene: QGraphicsScene, z_low: float, z_high: float) -> None:
        self._scene = scene
        self._z_low, self._z_high = z_low, z_high
        self.items: dict[int, AnnotationItem] = {}
        self.selected: int | None = None
        self._scale = 1.0
        self._hidden: frozenset[int] = frozenset()
        self.style = MaskStyle()

    def set(self, anns: Sequence[Annotation], colors: dict[int, str], hidden: AbstractSet[int],
            drawing: Mapping[int, PreparedGeometry] | None = None) -> None:
        """Replace all shapes. colors: label_id -> "#rrggbb"; hidden: annotation ids not drawn;
        drawing: annotation id -> drawing data computed off the GUI thread (used for new items).
        Annotations without an id are skipped; the selection survives when its id stays visible.
        An item whose id, geometry and colour are unchanged is kept (with its cached rendering)."""
        old = self.items
        self.items = {}
        self._hidden = frozenset(hidden)
        ordered = sorted((a for a in anns if a.id is not None), key=lambda a: a.z)
        step = (self._z_high - self._z_low) / (len(ordered) + 1)
        for rank, ann in enumerate(ordered):
            assert ann.id is not None
            color = colors.get(ann.label_id, FALLBACK_COLOR)
            item = old.pop(ann.id, None)
            parts = ann.parts if isinstance(ann.parts, tuple) else tuple(ann.parts)
            if item is not None and (item.color() != QColor(color) or item.parts != parts):
                self._scene.removeItem(item)
                item = None
            if item is None:
                item = AnnotationItem(ann.id, ann.parts, color, (drawing or {}).get(ann.id))
                item.set_view_scale(self._scale)
                item.set_style(self.style)
                self._scene.addItem(item)
            item.setZValue(self._z_low + (rank + 1) * step)
            item.setVisible(self.style.shown and ann.id not in hidden)
            self.items[ann.id] = item
        for item in old.values():
            self._scene.removeItem(item)
        if self.selected not in self.items or not self.items[self.selected].isVisible():
            self.selected = None
        self._highlight()

    def set_style(self, style: MaskStyle) -> None:
        """Opacity / outline-only / all shown or hidden, for every shape (view only)."""
        self.style = style
        for ann_id, item in self.items.items():
            item.set_style(style)
            item.setVisible(style.shown and ann_id not in self._hidden)
        if self.selected is not None and not self.items[self.selected].isVisible():
            self.selected = None
            self._highlight()

    def set_view_scale(self, scale: float) -> None:
        """Screen px per image px of the view (keeps the items' bounding rectangles right)."""
        self._scale = scale
        for item in self.items.values():
            item.set_view_scale(scale)

    def select(self, ann_id: int | None) -> bool:
        """Select a shown annotation (unknown ids and None clear); True when the selection changed."""
        ann_id = ann_id if ann_id in self.items else None
        if ann_id == self.selected:
            return False
        self.selected = ann_id
        self._highlight()
        return True

    def selected_item(self) -> AnnotationItem | None:
        """The selected annotation's item when it is visible."""
        item = self.items.get(self.selected) if self.selected is not None else None
        return item if item is not None and item.isVisible() else None

    def item_at(self, x: float, y: float) -> AnnotationItem | None:
        """The top-most visible shape whose filled area (holes excluded) contains image (x, y)."""
        pt = QPointF(x, y)
        hits = [i for i in self.items.values() if i.contains_point(pt)]
        return max(hits, key=lambda i: i.zValue()) if hits else None

    def parts(self, ann_id: int) -> tuple[Part, ...] | None:
        """The geometry drawn for an annotation (image px), or None."""
        item = self.items.get(ann_id)
        return item.parts if item is not None else None

    def _highlight(self) -> None:
        for ann_id, item in self.items.items():
            item.set_highlighted(ann_id == self.selected)
