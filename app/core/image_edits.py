"""Undoable edits of image records beyond the status (app.core.edits.SetImageStatus), and of the
project's declared image flags."""
from __future__ import annotations

from collections.abc import Iterable

from app.core.edits import Edit
from app.core.project import Project


class SetImageExtra(Edit):
    """Replace an image's extra (JSON object); revert restores what it was before the apply."""

    def __init__(self, image_id: int, extra: dict, text: str = "Change image data") -> None:
        self.text = text
        self.image_id = image_id
        self.extra = dict(extra)
        self._before: dict | None = None

    def _apply(self, project: Project) -> None:
        self._before = dict(project.image(self.image_id).extra)
        project.set_image_extra(self.image_id, self.extra)

    def _revert(self, project: Project) -> None:
        if self._before is None:
            raise RuntimeError(f"the edit {self.text!r} was reverted before it was applied.")
        project.set_image_extra(self.image_id, self._before)


class SetImageFlags(Edit):
    """Replace an image's flags {name: bool} (LabelMe file-level ``flags``)."""

    def __init__(self, image_id: int, flags: dict[str, bool], text: str = "Change image flags") -> None:
        self.text = text
        self.image_id = image_id
        self.flags = dict(flags)
        self._before: dict | None = None

    def _apply(self, project: Project) -> None:
        self._before = dict(project.image(self.image_id).flags)
        project.set_image_flags(self.image_id, self.flags)

    def _revert(self, project: Project) -> None:
        if self._before is None:
            raise RuntimeError(f"the edit {self.text!r} was reverted before it was applied.")
        project.set_image_flags(self.image_id, self._before)


class SetImageFlagNames(Edit):
    """Declare the project's image flag names (offered for every image, e.g. labelme's --flags)."""

    def __init__(self, names: Iterable[str], text: str = "Change image flag names") -> None:
        self.text = text
        self.names = sorted({str(n).strip() for n in names})
        self._before: list[str] | None = None

    def _apply(self, project: Project) -> None:
        self._before = project.declared_image_flags()
        project.set_image_flag_names(self.names)

    def _revert(self, project: Project) -> None:
        if self._before is None:
            raise RuntimeError(f"the edit {self.text!r} was reverted before it was applied.")
        project.set_image_flag_names(self._before)
