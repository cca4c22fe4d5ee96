"""The one undo step that stores accepted proposals (segment everything, text prompt): their
annotations and, when the image waits for review after an auto-labeling run, its "reviewed" mark —
accepting proposals on an image is reviewing it (issue 10)."""
from __future__ import annotations

from collections.abc import Sequence

from app.automation.review import mark_reviewed, needs_review
from app.core.edits import CompoundEdit, Edit
from app.core.image_edits import SetImageExtra
from app.core.project_api import LabelingProject
from app.core.proposal_edits import AddLabelledAnnotations, LabelledAnnotation


def accept_edit(project: LabelingProject, image_id: int, items: Sequence[LabelledAnnotation], text: str) -> Edit:
    """AddLabelledAnnotations(items), with the image's "Mark reviewed" in the same step when it is
    marked "to review"."""
    add = AddLabelledAnnotations(items, text=text)
    extra = project.image(image_id).extra
    if not needs_review(extra):
        return add
    return CompoundEdit(text, [add, SetImageExtra(image_id, mark_reviewed(extra), text="Mark reviewed")])
