"""The annotation model: plain, immutable value objects shared by the store, edits and formats.

Coordinate frame: image pixels after EXIF rotation, x right, y down, pixel centres at integer
coordinates (the "pixel-centre" convention of formats.md 0.1). A pixel (col, row) covers the
square [col-0.5, col+0.5] x [row-0.5, row+0.5].
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, TypedDict

from app.core.attributes import AttributeSpec

if TYPE_CHECKING:  # typing.Unpack is Python 3.11+; only the checker needs it
    from typing_extensions import Unpack

Point = tuple[float, float]
Ring = tuple[Point, ...]

ImageStatus = Literal["new", "in_progress", "done"]
IMAGE_STATUSES: tuple[str, ...] = ("new", "in_progress", "done")
AnnotationSource = Literal["sam", "manual", "import", "auto", "propagated"]
SOURCES: tuple[str, ...] = ("sam", "manual", "import", "auto", "propagated")

ShapeKind = Literal["polygon", "mask", "rectangle", "circle", "point", "line", "linestrip"]
"""What an annotation is, and which of its fields is the truth:

- ``polygon``: the vertices of ``parts`` (manual polygons, polygons imported from LabelMe/ISAT/COCO);
  ``rle``, when set, is their exact rasterisation under the producing tool's rule;
- ``mask``: the raster ``rle`` (SAM masks, LabelMe ``mask`` shapes, COCO RLE); ``parts`` are its
  outline for drawing and editing;
- ``rectangle``: axis-aligned box, ``points`` = ((x0, y0), (x1, y1)) inclusive pixel-centre corners,
  x0 <= x1, y0 <= y1; ``parts`` its ring;
- ``circle``: ``points`` = (centre, a point on the circumference); ``parts`` a polygon of it;
- ``point`` (1 point), ``line`` (2), ``linestrip`` (>= 2, open): no area; ``parts`` empty, no ``rle``.
"""
SHAPES: tuple[str, ...] = ("polygon", "mask", "rectangle", "circle", "point", "line", "linestrip")
AREA_SHAPES: frozenset[str] = frozenset({"polygon", "mask", "rectangle", "circle"})
LINE_SHAPES: frozenset[str] = frozenset({"point", "line", "linestrip"})
SHAPE_POINTS: dict[str, tuple[int, int | None]] = {
    "polygon": (0, 0), "mask": (0, 0), "rectangle": (2, 2), "circle": (2, 2),
    "point": (1, 1), "line": (2, 2), "linestrip": (2, None),
}
"""(fewest, most) ``points`` per shape kind (None: no upper bound)."""


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
    """A label class: unique name, colour "#rrggbb", display order (0-based).

    extra: what other tools stored about the class and we keep for the round trip (e.g. COCO
    ``supercategory`` and the original category id), a JSON object keyed by format.
    attributes: the flags and attributes its annotations carry, with defaults (app.core.attributes).
    """

    id: int
    name: str
    color: str
    order: int
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    attributes: tuple[AttributeSpec, ...] = ()


@dataclass(frozen=True)
class ImageRecord:
    """One image of a project.

    path: relative to the project file's folder, POSIX separators.
    width/height: decoded size after EXIF rotation (0 when never decoded).
    sha1: hex sha1 of the file bytes (None until computed).
    missing: the file was not found on the last scan (annotations are kept).
    flags: image-level flags {name: bool} (LabelMe ``flags``).
    extra: what other tools stored about the image and we keep for the round trip (JSON
        object keyed by format, e.g. {"labelme": {...}, "coco": {...}}; see app.core.formats).
    """

    id: int
    path: str
    width: int
    height: int
    sha1: str | None = None
    status: str = "new"
    missing: bool = False
    flags: dict = field(default_factory=dict, hash=False)
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Outline:
    """Facts about an annotation's exact mask on an image of ``height`` x ``width`` that exporters
    need and that cost a decode and a trace to find, computed once when it is stored
    (app.core.outline computes them, the project stores them; nothing format-specific).

    height/width: the image size it was computed for (the stored RLE's size, or the image's size
        for an annotation without an RLE of that size). Exporters use it only when the image has
        that size at export time; otherwise they compute it again.
    area: number of pixels of the mask (0: the mask is empty).
    filled_area: number of pixels once enclosed background is filled (= area without holes).
    bbox: (x0, y0, w, h) ints: the pixel extents, pixel (c, r) being the unit square [c, c+1] x [r, r+1].
    holes: the mask encloses background.
    rings: the outer boundary of every 8-connected part (holes filled) as rings of pixel CORNERS,
        packed (app.core.outline.pack_rings; ``outline.ring_arrays`` unpacks many at once): the
        exact vector outline of the filled mask, every pixel centre 0.5 px away from it. b"" when
        the mask is empty.
    source: what it was computed from - the annotation's ``rle`` dict, or its ``parts`` tuple when
        there is no RLE of size height x width. The store checks it against the annotation it is
        stored with and recomputes on any mismatch, so a copy carried along by ``with_``/``replace``
        after a geometry change is never stored stale. None: trusted by nobody (recomputed).
    """

    height: int
    width: int
    area: int
    filled_area: int
    bbox: tuple[int, int, int, int]
    holes: bool
    rings: bytes
    source: object = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Annotation:
    """One object instance on one image.

    parts: the polygons (each with holes) in pixel-centre coordinates; empty for line shapes.
    rle: the exact mask as COCO compressed RLE {"size": [H, W], "counts": str} or None (manual
        polygons have none; the polygons are then the truth).
    shape: the kind of annotation (ShapeKind: which field is the truth, how it is exported);
        when not given: "mask" if ``rle`` is set, else "polygon".
    points: the defining points of rectangle, circle, point, line and linestrip shapes
        (SHAPE_POINTS), pixel-centre coordinates; () for polygon and mask.
    description: free text (LabelMe ``description``, ISAT ``note``).
    flags: {name: bool} (LabelMe shape ``flags``).
    attributes: {name: JSON value} (X-AnyLabeling ``attributes``, CVAT attributes).
    file_id: the project's file_record of the annotation file it was imported from (None: not
        imported); ``import --on-duplicate replace`` removes what that file brought.
    group_id: optional user grouping (LabelMe group_id); None when ungrouped.
    z: drawing order, larger is on top.
    id: None until the store assigns one.
    outline: the mask's outline facts (Outline) or None. Not part of equality. Optional when
        storing: the store computes it when it is None or was computed from another rle/parts
        (see Outline.source); callers on a GUI thread pass one computed elsewhere
        (app.core.outline.outline_of_mask). Annotations read from a project carry the stored one
        (None for rows stored by older versions, line shapes, or when it could not be computed).
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
    outline: Outline | None = field(default=None, compare=False, hash=False, repr=False)
    shape: str = ""
    points: tuple[Point, ...] = ()
    description: str = ""
    flags: dict = field(default_factory=dict, hash=False)
    attributes: dict = field(default_factory=dict, hash=False)
    file_id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.shape:  # not given: a mask when there is one, else the polygons are the truth
            object.__setattr__(self, "shape", "mask" if self.rle is not None else "polygon")

    def with_(self, **changes: Unpack[AnnotationChanges]) -> "Annotation":
        """A copy with the given fields replaced."""
        return replace(self, **changes)

    @property
    def has_area(self) -> bool:
        """True for shapes that cover pixels (polygon, mask, rectangle, circle)."""
        return self.shape in AREA_SHAPES


class LabelClassChanges(TypedDict, total=False):
    """Fields of a LabelClass that an edit may replace (``dataclasses.replace`` keywords)."""

    name: str
    color: str
    order: int
    extra: dict
    attributes: tuple[AttributeSpec, ...]


class AnnotationChanges(TypedDict, total=False):
    """Fields of an Annotation that ``Annotation.with_`` / an edit may replace (see Annotation)."""

    image_id: int
    label_id: int
    parts: tuple[Part, ...]
    rle: dict | None
    group_id: int | None
    z: int
    source: str
    score: float | None
    id: int | None
    created: float
    updated: float
    extra: dict
    outline: Outline | None
    shape: str
    points: tuple[Point, ...]
    description: str
    flags: dict
    attributes: dict
    file_id: int | None


@dataclass(frozen=True)
class FileRecord:
    """An annotation file this project imported or exported (table file_record).

    format: format id ("labelme", "coco", ...); role: "import" | "export"; path: relative to the
    project folder like image paths; sha256/size: of the file's bytes at that moment; time: UNIX
    seconds; annotations: how many annotations it brought (import) or held (export).
    """

    id: int
    format: str
    role: str
    path: str
    sha256: str
    size: int
    time: float
    annotations: int = 0
