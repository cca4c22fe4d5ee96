"""What the labeling loop needs of a project, as a protocol (app.core.project.Project satisfies it).

The UI and the services type their project parameters with this protocol rather than `Any`, so a
fake project in a test and the real SQLite project are checked against the same surface.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from app.core.model import Annotation, ImageRecord, LabelClass


class LabelingProject(Protocol):
    """The read side of an open project plus the one metadata write the labeling loop makes."""

    read_only: bool

    def label_classes(self) -> list[LabelClass]:
        """All label classes in display order."""

    def annotations(self, image_id: int) -> list[Annotation]:
        """Annotations of one image, by z then id."""

    def annotation(self, ann_id: int) -> Annotation:
        """The annotation with this id (NotFoundError otherwise)."""

    def image(self, image_id: int) -> ImageRecord:
        """The image with this id (NotFoundError otherwise)."""

    def image_path(self, rec: ImageRecord) -> Path:
        """Absolute path of an image file."""

    def set_image_size(self, image_id: int, width: int, height: int) -> None:
        """Record the decoded size of an image (after EXIF rotation)."""

    def image_row(self, image_id: int, status: str | None = None, name: str | None = None) -> int:
        """Position of an image in the path-ordered list (of one status when given); -1 when absent."""

    def next_image_not_done(self, after_path: str) -> ImageRecord | None:
        """The first image after this path (wrapping around) that is not done and not missing."""
