"""The current image's annotations as the session sees them: visibility, selection, drawing order."""
from __future__ import annotations

from app.core import edits
from app.ui.labeling.state import LabelingState, translate


class AnnotationsMixin(LabelingState):
    """Hide / select / delete / reorder annotations; follow the project after each undoable edit."""

    def set_hidden(self, hidden: set[int]) -> None:
        """Hide these annotations on the canvas (view only)."""
        self.hidden = set(hidden)
        self._show_annotations()

    def set_hidden_labels(self, label_ids: set[int]) -> None:
        """Hide the annotations of these label classes on every image (view only)."""
        self.hidden_labels = set(label_ids)
        self._show_annotations()

    def select_annotation(self, ann_id: int | None) -> None:
        """Select an annotation of the current image (None clears); prompts then refine it."""
        if ann_id is not None and ann_id not in {a.id for a in self.annotations()}:
            ann_id = None
        if ann_id == self.selected:
            return
        self.selected = ann_id
        self.canvas.select_annotation(ann_id)
        self.selectionChanged.emit(ann_id)
        if ann_id is not None and self.project is not None:
            ann = self.project.annotation(ann_id)
            self.set_label(ann.label_id, relabel=False)

    def delete_selected(self) -> None:
        """Delete the selected annotation (undoable)."""
        if self.selected is None:
            self.message.emit(translate("LabelingController", "Select an annotation to delete (click it with the edit tool E)."))
            return
        ann_id = self.selected
        self.selected = None
        self.selectionChanged.emit(None)
        self._push(edits.DeleteAnnotation(ann_id))

    def change_z(self, ann_id: int, delta: int) -> None:
        """Move an annotation one step up (+1) or down (-1) in drawing order (undoable)."""
        anns = sorted(self.annotations(), key=lambda a: (a.z, a.id or 0))
        ids = [a.id for a in anns]
        if ann_id not in ids:
            return
        k = ids.index(ann_id)
        j = k + delta
        if not 0 <= j < len(anns):
            return
        other = anns[j]
        new_z = other.z + (1 if delta > 0 else -1)
        self._push(edits.Reorder(ann_id, new_z))

    def _on_project_changed(self, _edit: object) -> None:
        """An undoable edit was applied, undone or redone: re-read what it may have changed."""
        self._anns = None
        if self.project is None:
            return
        ids = {lc.id for lc in self.label_classes()}
        if self.label_id not in ids:
            classes = self.label_classes()
            self.label_id = classes[0].id if classes else None
        self.labelChanged.emit(self.label_id)
        if self.image is not None:
            self.image = self.project.image(self.image.id)
            self.model.update_record(self.image)
            present = {a.id for a in self.annotations()}
            # an annotation that went away (undo of its creation, delete) is no longer hidden: when a
            # redo brings it back it is drawn, as its row in the annotations list shows it (checked)
            self.hidden &= {i for i in present if i is not None}
            if self.selected is not None and self.selected not in present:
                self.selected = None
                self.selectionChanged.emit(None)
        self._show_annotations()
