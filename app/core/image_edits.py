"""Undoable edits of image records beyond the status (app.core.edits.SetImageStatus)."""
from __future__ import annotations

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
