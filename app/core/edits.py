"""Qt-free undoable edits of a project (the GUI wraps them in QUndoCommands).

Contract: ``apply(project)`` then ``revert(project)`` leaves the project exactly as before (ids,
timestamps, orders and image statuses included); applying again (redo) recreates exactly the state
after the first apply. Each apply/revert is one transaction. An edit is applied on the project it
was first applied to; a failing apply (ValueError, ProjectError) changes nothing and may be retried.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from app.core.attributes import AttributeSpec, check_schema, with_defaults
from app.core.model import Annotation, AnnotationChanges, LabelClass, LabelClassChanges, Outline, Part
from app.core.project import Project

if TYPE_CHECKING:  # typing.Unpack is Python 3.11+; only the checker needs it
    from typing_extensions import Unpack


T = TypeVar("T")


def _applied(value: T | None, edit: "Edit") -> T:
    """``value`` recorded by apply; RuntimeError when an edit is reverted before it was applied."""
    if value is None:
        raise RuntimeError(f"the edit {edit.text!r} was reverted before it was applied.")
    return value


class Edit(ABC):
    """Base class: ``text`` names the edit for the undo history."""

    text: str = "Edit"

    def apply(self, project: Project) -> None:
        """Perform (or redo) the edit in one transaction."""
        with project.transaction():
            self._apply(project)

    def revert(self, project: Project) -> None:
        """Undo the edit in one transaction."""
        with project.transaction():
            self._revert(project)

    @abstractmethod
    def _apply(self, project: Project) -> None:
        """The writes of apply (inside its transaction)."""

    @abstractmethod
    def _revert(self, project: Project) -> None:
        """The writes of revert (inside its transaction)."""


def _class_defaults(project: Project, ann: Annotation) -> Annotation:
    """``ann`` with its label class's flag/attribute defaults added for the names it lacks."""
    specs = project.label_class(ann.label_id).attributes
    if not specs:
        return ann
    flags, attributes = with_defaults(ann.flags, ann.attributes, specs)
    return ann.with_(flags=flags, attributes=attributes)


class AddAnnotation(Edit):
    """Add an annotation; redo reuses the id (and timestamps) assigned by the first apply.

    The first apply gives it its label class's flag/attribute defaults for the names it lacks
    (app.core.attributes.with_defaults; what it carries is kept).
    """

    def __init__(self, ann: Annotation, text: str = "Add annotation") -> None:
        self.text = text
        self._ann = ann
        self._prev_status: str | None = None

    @property
    def annotation_id(self) -> int | None:
        """The id assigned by the first apply (None before)."""
        return self._ann.id

    @property
    def annotation(self) -> Annotation:
        """The annotation as stored by the first apply (id, created, updated set), or as given before."""
        return self._ann

    def _apply(self, project: Project) -> None:
        first = self._prev_status is None
        self._prev_status = project.image(self._ann.image_id).status
        self._ann = project.add_annotation(_class_defaults(project, self._ann) if first else self._ann)

    def _revert(self, project: Project) -> None:
        project.delete_annotation(_applied(self._ann.id, self))
        project.set_image_status(self._ann.image_id, _applied(self._prev_status, self))


class DeleteAnnotation(Edit):
    """Delete an annotation; revert restores it with the same id, timestamps and image status."""

    def __init__(self, ann_id: int, text: str = "Delete annotation") -> None:
        self.text = text
        self.ann_id = ann_id
        self._saved: Annotation | None = None
        self._status: str | None = None

    def _apply(self, project: Project) -> None:
        self._saved = project.annotation(self.ann_id)
        self._status = project.image(self._saved.image_id).status
        project.delete_annotation(self.ann_id)

    def _revert(self, project: Project) -> None:
        saved = _applied(self._saved, self)
        project.add_annotation(saved)
        project.set_image_status(saved.image_id, _applied(self._status, self))


class _ChangeAnnotation(Edit):
    """Change some fields of one annotation; remembers the exact rows before and after."""

    def __init__(self, ann_id: int, text: str, **changes: Unpack[AnnotationChanges]) -> None:
        self.text = text
        self.ann_id = ann_id
        self._changes = changes
        self._before: Annotation | None = None
        self._after: Annotation | None = None

    def _apply(self, project: Project) -> None:
        if self._after is not None:
            project.update_annotation(self._after, touch=False)
            return
        self._before = project.annotation(self.ann_id)
        project.update_annotation(replace(self._before, **self._changes))
        self._after = project.annotation(self.ann_id)

    def _revert(self, project: Project) -> None:
        project.update_annotation(_applied(self._before, self), touch=False)


class SetGeometry(_ChangeAnnotation):
    """Replace polygons and mask (pixel-centre coordinates; rle = COCO RLE dict or None).

    The annotation becomes a "mask" (rle given) or a "polygon" (its vertices are the truth), unless
    ``shape`` and ``points`` say otherwise (e.g. a rectangle resized by its corners).
    outline: the new geometry's outline when the caller computed it off the GUI thread
    (app.core.outline.outline_of_mask(mask, rle)); None: the store computes it.
    The old one is never carried over (the store would recompute it anyway: Outline.source).
    """

    def __init__(self, ann_id: int, parts: Sequence[Part], rle: dict | None, text: str = "Edit shape",
                 outline: Outline | None = None, shape: str | None = None,
                 points: Sequence[tuple[float, float]] = ()) -> None:
        kind = shape or ("mask" if rle is not None else "polygon")
        super().__init__(ann_id, text, parts=tuple(parts), rle=rle, outline=outline, shape=kind,
                         points=tuple((float(x), float(y)) for x, y in points))


class SetPoints(_ChangeAnnotation):
    """Move the defining points of a point / line / linestrip annotation (pixel-centre)."""

    def __init__(self, ann_id: int, points: Sequence[tuple[float, float]], text: str = "Edit points") -> None:
        super().__init__(ann_id, text, points=tuple((float(x), float(y)) for x, y in points))


class SetAnnotationInfo(_ChangeAnnotation):
    """Change the description, flags and/or attributes of an annotation (None: unchanged)."""

    def __init__(self, ann_id: int, *, description: str | None = None, flags: dict | None = None,
                 attributes: dict | None = None, text: str = "Edit annotation details") -> None:
        changes: AnnotationChanges = {}
        if description is not None:
            changes["description"] = description
        if flags is not None:
            changes["flags"] = dict(flags)
        if attributes is not None:
            changes["attributes"] = dict(attributes)
        super().__init__(ann_id, text, **changes)


class Relabel(_ChangeAnnotation):
    """Give an annotation another label class. Its flags and attributes are kept; the new class's
    defaults are added for the names it lacks."""

    def __init__(self, ann_id: int, label_id: int, text: str = "Change label") -> None:
        super().__init__(ann_id, text, label_id=label_id)

    def _apply(self, project: Project) -> None:
        if self._after is None:
            ann = project.annotation(self.ann_id)
            moved = _class_defaults(project, ann.with_(label_id=int(self._changes["label_id"])))
            self._changes = {"label_id": moved.label_id, "flags": moved.flags, "attributes": moved.attributes}
        super()._apply(project)


class SetGroup(_ChangeAnnotation):
    """Set (or clear with None) the group id of an annotation."""

    def __init__(self, ann_id: int, group_id: int | None, text: str = "Change group") -> None:
        super().__init__(ann_id, text, group_id=group_id)


class Reorder(_ChangeAnnotation):
    """Set the drawing order z (larger is on top)."""

    def __init__(self, ann_id: int, z: int, text: str = "Change drawing order") -> None:
        super().__init__(ann_id, text, z=int(z))


class AddLabelClass(Edit):
    """Add a label class; redo reuses its id, colour and order."""

    def __init__(self, name: str, color: str | None = None, text: str | None = None) -> None:
        self.text = text or f"Add label class {name!r}"
        self._name = name
        self._color = color
        self._added: LabelClass | None = None

    @property
    def label_class(self) -> LabelClass | None:
        """The class created by the first apply (None before)."""
        return self._added

    def _apply(self, project: Project) -> None:
        if self._added is None:
            self._added = project.add_label_class(self._name, self._color)
        else:
            lc = self._added
            project.add_label_class(lc.name, lc.color, id=lc.id, order=lc.order, extra=lc.extra,
                                   attributes=lc.attributes)

    def _revert(self, project: Project) -> None:
        project.delete_label_class(_applied(self._added, self).id)


class _ChangeLabelClass(Edit):
    """Change one label class's name or colour; remembers before/after."""

    def __init__(self, label_id: int, text: str, **changes: Unpack[LabelClassChanges]) -> None:
        self.text = text
        self.label_id = label_id
        self._changes = changes
        self._before: LabelClass | None = None
        self._after: LabelClass | None = None

    def _apply(self, project: Project) -> None:
        if self._after is None:
            self._before = project.label_class(self.label_id)
            project.update_label_class(replace(self._before, **self._changes))
            self._after = project.label_class(self.label_id)
        else:
            project.update_label_class(self._after)

    def _revert(self, project: Project) -> None:
        project.update_label_class(_applied(self._before, self))


class RenameLabelClass(_ChangeLabelClass):
    """Rename a label class (names stay unique)."""

    def __init__(self, label_id: int, name: str, text: str = "Rename label class") -> None:
        super().__init__(label_id, text, name=name)


class RecolorLabelClass(_ChangeLabelClass):
    """Change the colour (#rrggbb) of a label class."""

    def __init__(self, label_id: int, color: str, text: str = "Change label colour") -> None:
        super().__init__(label_id, text, color=color)


class SetLabelAttributes(_ChangeLabelClass):
    """Replace the flag/attribute schema of a label class (app.core.attributes; ValueError when
    invalid). Annotations keep their values; new ones get the new defaults."""

    def __init__(self, label_id: int, attributes: tuple[AttributeSpec, ...] | list[AttributeSpec],
                 text: str = "Edit label attributes") -> None:
        super().__init__(label_id, text, attributes=check_schema(tuple(attributes)))


class MoveLabelClass(Edit):
    """Move a label class to display position ``new_order``; the others are renumbered."""

    def __init__(self, label_id: int, new_order: int, text: str = "Move label class") -> None:
        self.text = text
        self.label_id = label_id
        self.new_order = new_order
        self._before: list[LabelClass] | None = None

    def _apply(self, project: Project) -> None:
        self._before = project.label_classes()
        project.move_label_class(self.label_id, self.new_order)

    def _revert(self, project: Project) -> None:
        for lc in _applied(self._before, self):
            project.update_label_class(lc)


class DeleteLabelClass(Edit):
    """Delete a label class AND all its annotations (the GUI asks first); revert restores all."""

    def __init__(self, label_id: int, text: str = "Delete label class") -> None:
        self.text = text
        self.label_id = label_id
        self._lc: LabelClass | None = None
        self._anns: list[Annotation] = []
        self._statuses: dict[int, str] = {}

    def _apply(self, project: Project) -> None:
        self._lc = project.label_class(self.label_id)
        self._anns = project.annotations_with_label(self.label_id)
        self._statuses = {i: project.image(i).status for i in {a.image_id for a in self._anns}}
        project.delete_annotations_with_label(self.label_id)
        project.delete_label_class(self.label_id)

    def _revert(self, project: Project) -> None:
        lc = _applied(self._lc, self)
        project.add_label_class(lc.name, lc.color, id=lc.id, order=lc.order, extra=lc.extra,
                                attributes=lc.attributes)
        project.bulk_insert_annotations(self._anns)
        for image_id, status in self._statuses.items():
            project.set_image_status(image_id, status)


class SetImageStatus(Edit):
    """Set an image's status ("new" | "in_progress" | "done")."""

    def __init__(self, image_id: int, status: str, text: str = "Change image status") -> None:
        self.text = text
        self.image_id = image_id
        self.status = status
        self._before: str | None = None

    def _apply(self, project: Project) -> None:
        self._before = project.image(self.image_id).status
        project.set_image_status(self.image_id, self.status)

    def _revert(self, project: Project) -> None:
        project.set_image_status(self.image_id, _applied(self._before, self))


class CompoundEdit(Edit):
    """Several edits as one undo step: applied in order, reverted in reverse, one transaction."""

    def __init__(self, text: str, edits: Sequence[Edit]) -> None:
        self.text = text
        self.edits = list(edits)

    def _apply(self, project: Project) -> None:
        for edit in self.edits:
            edit.apply(project)

    def _revert(self, project: Project) -> None:
        for edit in reversed(self.edits):
            edit.revert(project)
