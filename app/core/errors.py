"""Exception types of app.core. Every message is one human sentence naming the file concerned."""
from __future__ import annotations


class CoreError(Exception):
    """Base class of every error app.core raises on purpose."""


class ProjectError(CoreError):
    """A project file cannot be opened or written (not a project, newer schema, corrupt)."""


class ProjectLocked(ProjectError):
    """The project is in use by another instance (offer read-only opening)."""


class ReadOnlyProject(ProjectError):
    """A write was attempted on a project opened read-only."""


class ImageLoadError(CoreError):
    """An image file cannot be decoded; `reason` is a short human sentence."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class FormatError(CoreError):
    """An annotation file (COCO, LabelMe) is malformed; the message says where and why."""
