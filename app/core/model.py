"""The annotation model: plain, immutable value objects shared by the store, edits and formats.

Coordinate frame: image pixels after EXIF rotation, x right, y down, pixel centres at integer
coordinates (the "pixel-centre" convention of formats.md 0.1). A pixel (col, row) covers the
square [col-0.5, col+0.5] x [row-0.5, row+0.5].
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Point = tuple[float, float]
Ring = tuple[Point, ...]

ImageStatus = Literal["new", "in_progress", "done"]
IMAGE_STATUSES: tuple[str, ...] = ("new", "in_progress", "done")
AnnotationSource = Literal["sam", "manual", "import"]


@dataclass(frozen=True)
class Part:
    """One connected polygon: an exterior ring and zero or more hole rings.

    Rings are tuples of (x, y) float points, not closed (first point is not repeated), each with
    at least 3 points, in pixel-centre coordinates.
    """

    exterior: Ring
    holes: tuple[Ring, ...] = ()


@dataclass(frozen=True)
class LabelClass:
    """A label class: unique name, colour "#rrggbb", display order (0-based)."""

    id: int
    name: str
    color: str
    order: int


@dataclass(frozen=True)
class ImageRecord:
    """One image of a project.

    path: relative to the project file's folder, POSIX separators.
    width/height: decoded size after EXIF rotation (0 when never decoded).
    sha1: hex sha1 of the file bytes (None until computed).
    missing: the file was not found on the last scan (annotations are kept).
    """

    id: int
    path: str
    width: int
    height: int
    sha1: str | None = None
    status: str = "new"
    missing: bool = False


@dataclass(frozen=True)
class Annotation:
    """One object instance on one image.

    parts: the polygons (each with holes) in pixel-centre coordinates.
    rle: the exact mask as COCO compressed RLE {"size": [H, W], "counts": str} or None (manual
        polygons have none; the polygons are then the truth).
    group_id: optional user grouping (LabelMe group_id); None when ungrouped.
    z: drawing order, larger is on top.
    id: None until the store assigns one.
    """

    image_id: int
    label_id: int
    parts: tuple[Part, ...]
    rle: dict | None = None
    group_id: int | None = None
    z: int = 0
    source: str = "manual"
    score: float | None = None
    id: int | None = None
    created: float = 0.0
    updated: float = 0.0
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def with_(self, **changes: object) -> "Annotation":
        """A copy with the given fields replaced."""
        return replace(self, **changes)
