"""Accepting proposals (text prompts, segment everything) as ONE undoable edit.

Each proposal names its label class (a text prompt's phrase) or none (then the annotation's own
``label_id`` is used). A name is matched to an existing label class (exactly, else ignoring case);
a class is created for a name that matches none. Undo removes the annotations and the classes it
created; redo recreates both with the same ids.
"""
from __future__ import annotations

from collections.abc import Sequence

from app.core.edits import AddAnnotation, AddLabelClass, Edit
from app.core.model import Annotation, LabelClass
from app.core.project import Project
from app.core.project_labels import normalize_name

LabelledAnnotation = tuple[str | None, Annotation]
"""(label class name or None, annotation); with a name, the annotation's label_id is replaced."""


def match_label(name: str, classes: Sequence[LabelClass]) -> LabelClass | None:
    """The label class that a phrase ``name`` maps to: same name, else same name ignoring case and
    surrounding spaces; None when no class matches."""
    key = normalize_name(name)
    for lc in classes:
        if lc.name == key:
            return lc
    folded = key.casefold()
    for lc in classes:
        if lc.name.casefold() == folded:
            return lc
    return None


class AddLabelledAnnotations(Edit):
    """Add annotations whose label classes are given by name, creating the missing classes."""

    def __init__(self, items: Sequence[LabelledAnnotation], text: str = "Accept proposals") -> None:
        self.text = text
        self._items = list(items)
        self._edits: list[Edit] | None = None

    @property
    def annotations(self) -> list[Annotation]:
        """The annotations as stored by the first apply (ids set); [] before."""
        return [e.annotation for e in self._edits or [] if isinstance(e, AddAnnotation)]

    @property
    def created_classes(self) -> list[LabelClass]:
        """The label classes the first apply created."""
        out = []
        for e in self._edits or []:
            if isinstance(e, AddLabelClass) and e.label_class is not None:
                out.append(e.label_class)
        return out

    def _apply(self, project: Project) -> None:
        if self._edits is not None:  # redo: same classes and annotations, same ids
            for edit in self._edits:
                edit.apply(project)
            return
        edits: list[Edit] = []
        classes = project.label_classes()
        for name, ann in self._items:
            label_id = ann.label_id
            if name is not None:
                lc = match_label(name, classes)
                if lc is None:
                    add = AddLabelClass(normalize_name(name))
                    add.apply(project)
                    edits.append(add)
                    lc = add.label_class
                    assert lc is not None
                    classes.append(lc)
                label_id = lc.id
            add_ann = AddAnnotation(ann.with_(label_id=label_id))
            add_ann.apply(project)
            edits.append(add_ann)
        self._edits = edits

    def _revert(self, project: Project) -> None:
        if self._edits is None:
            raise RuntimeError(f"the edit {self.text!r} was reverted before it was applied.")
        for edit in reversed(self._edits):
            edit.revert(project)
