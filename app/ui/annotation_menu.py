"""Context menu of an annotation — on its shape on the canvas (right click with the edit tool E; with
the SAM tools a right click stays a background point), on its row in the Annotations dock, and by
keyboard for the selected one (Shift+F10 / Menu key): label, edit vertices, hide, bring to front /
send to back, duplicate, details (group id, description, flags), delete. Changes are undoable edits.
"""
from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QDialog, QMenu

from app.core import edits
from app.ui.docks.labels_dock import swatch
from app.ui.i18n import mark_data

translate = QCoreApplication.translate


class AnnotationMenus(QObject):
    """Builds and shows the menu; installed once on the window."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        window.canvas.viewport().installEventFilter(self)
        lst = window.annotations_dock.list
        lst.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        lst.customContextMenuRequested.connect(self._on_list_menu)
        act = window.registry.action
        act("annotation_menu").triggered.connect(self.show_for_selected)
        act("annotation_details").triggered.connect(self.edit_details_of_selected)

    # ------------------------------------------------------------------ building
    def menu_for(self, ann_id: int) -> QMenu:
        """The menu of one annotation of the current image (built, not shown)."""
        w, c = self.window, self.window.controller
        ann = next(a for a in c.annotations() if a.id == ann_id)
        menu = QMenu(w)
        labels = menu.addMenu(translate("AnnotationMenu", "Label"))
        mark_data(labels)  # the user's label names
        for lc in c.label_classes():
            a = QAction(swatch(lc.color), lc.name, labels)
            a.triggered.connect(lambda _c=False, lid=lc.id: self._push(edits.Relabel(ann_id, lid)))
            labels.addAction(a)
            a.setCheckable(True)
            a.setChecked(lc.id == ann.label_id)
        menu.addAction(translate("AnnotationMenu", "Edit vertices"), lambda: self.edit_vertices(ann_id))
        menu.addAction(translate("AnnotationMenu", "Details (group, description, flags, attributes)…"), lambda: self.edit_details(ann_id))
        menu.addSeparator()
        menu.addAction(translate("AnnotationMenu", "Hide"), lambda: w.annotations_dock.set_visible(ann_id, False))
        menu.addAction(translate("AnnotationMenu", "Bring to front"), lambda: self.restack(ann_id, front=True))
        menu.addAction(translate("AnnotationMenu", "Send to back"), lambda: self.restack(ann_id, front=False))
        menu.addAction(w.registry.action("duplicate"))
        menu.addSeparator()
        menu.addAction(translate("AnnotationMenu", "Delete"), lambda: self.delete(ann_id))
        return menu

    # ------------------------------------------------------------------ actions
    def _push(self, edit: edits.Edit) -> None:
        if self.window.project is None or self.window.project.read_only:
            self.window.status.show_message(translate("AnnotationMenu", "The project is open read-only."))
            return
        self.window.controller.after_accepts(lambda: self.window.undo.push(edit))

    def edit_vertices(self, ann_id: int) -> None:
        """Select the annotation and switch to the edit tool (drag vertices, click an edge to insert)."""
        self.window.set_tool("edit")
        self.window.controller.select_annotation(ann_id)

    def restack(self, ann_id: int, front: bool) -> None:
        """Draw the annotation above (or below) every other of its image."""
        zs = [a.z for a in self.window.controller.annotations() if a.id != ann_id]
        if zs:
            self._push(edits.Reorder(ann_id, max(zs) + 1 if front else min(zs) - 1))

    def delete(self, ann_id: int) -> None:
        """Delete the annotation (undoable)."""
        self.window.controller.select_annotation(ann_id)
        self.window.controller.delete_selected()

    def edit_details(self, ann_id: int) -> None:
        """Group id / description / flags / attributes dialog (the class's schema as widgets); one
        undoable edit."""
        from app.ui.dialogs.annotation_details import AnnotationDetailsDialog

        c = self.window.controller
        ann = next((a for a in c.annotations() if a.id == ann_id), None)
        if ann is None:
            return
        known = sorted({name for a in c.annotations() for name in a.flags})
        schema = next((lc.attributes for lc in c.label_classes() if lc.id == ann.label_id), ())
        dlg = AnnotationDetailsDialog(ann, known, self.window, schema)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            edit = dlg.edit()
            if edit is not None:
                self._push(edit)

    def edit_details_of_selected(self) -> None:
        """Key: details of the selected annotation."""
        sel = self.window.controller.selected
        if sel is None:
            self.window.status.show_message(translate("AnnotationMenu", "Select an annotation first (edit tool E, or the list)."))
            return
        self.edit_details(sel)

    def show_for_selected(self) -> None:
        """Key (Shift+F10 / Menu): the menu of the selected annotation, at its shape."""
        c, canvas = self.window.controller, self.window.canvas
        if c.selected is None:
            self.window.status.show_message(translate("AnnotationMenu", "Select an annotation first (edit tool E, or the list)."))
            return
        parts = canvas.annotation_parts(c.selected)
        pos = canvas.viewport().rect().center()
        if parts:
            x, y = parts[0].exterior[0]
            pos = canvas.mapFromScene(float(x), float(y))
        self.menu_for(c.selected).exec(canvas.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------ events
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() != QEvent.Type.ContextMenu or not shiboken6.isValid(self.window.canvas):
            return False  # (the window is being destroyed: its canvas may be gone)
        canvas = self.window.canvas
        if obj is canvas.viewport() and canvas.tool() == "edit":
            assert isinstance(event, QContextMenuEvent)
            p = canvas.to_image(event.pos().toPointF())
            item = canvas.item_at(p.x(), p.y())
            if item is not None:
                self.window.controller.select_annotation(item.ann_id)
                self.menu_for(item.ann_id).exec(event.globalPos())
                return True
        return False

    def _on_list_menu(self, pos: QPoint) -> None:
        lst = self.window.annotations_dock.list
        it = lst.itemAt(pos)
        if it is not None:
            ann_id = int(it.data(Qt.ItemDataRole.UserRole))
            self.window.controller.select_annotation(ann_id)
            self.menu_for(ann_id).exec(lst.viewport().mapToGlobal(pos))


def install_annotation_menus(window: Any) -> AnnotationMenus:
    """Create and wire the annotation context menus (called once by the main window)."""
    return AnnotationMenus(window)
