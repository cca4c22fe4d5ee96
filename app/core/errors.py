"""Exception types of app.core. Every message is one human sentence naming the file concerned."""
from __future__ import annotations


class CoreError(Exception):
    """Base class of every error app.core raises on purpose."""


class ProjectError(CoreError):
    """A project file cannot be opened or written (not a project, newer schema, corrupt)."""


class ProjectLocked(ProjectError):
    """The project is in use by another instance (offer read-only opening)."""


class OutdatedProject(ProjectError):
    """A project written in an older schema version, opened read-only (it must be opened for
    writing once, which upgrades it)."""


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


class DiskFull(ProjectError):
    """The disk (or the project's size limit) is full; the change was rolled back, nothing of it stored."""


class UnsafeOutput(CoreError):
    """An output path that must not be written: the project itself, one of its images or side files,
    a device/FIFO/folder, or a symbolic link not named by the user."""
