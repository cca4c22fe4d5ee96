"""What the accept service's worker process runs (app.services.geometry): Qt-free and light to import,
so the process starts fast and competes little with the GUI for the CPU while it does."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from app.core import codec
from app.core.density import Tolerance, mask_to_parts_at, vertex_count
from app.core.mask_convert import PackedMask, convert_mask
from app.core.model import Annotation, Outline, Part
from app.core.outline import outline_of_annotation, outline_of_mask
from app.core.rle import rle_to_mask

log = logging.getLogger(__name__)

Prepare = Callable[[tuple[Part, ...]], object]  # geometry -> the canvas's drawing data (opaque here)


@dataclass(frozen=True)
class StoredGeometry:
    """What the store keeps of an accepted shape, and how the canvas draws it.

    parts: polygons carrying their blob (codec.EncodedParts); rle: the exact mask (None for manual
    shapes); outline: app.core.outline of it (None when it could not be computed: the store does);
    drawing: what the service's `prepare` function returned for `parts` (None without one, or for
    small geometries)."""

    parts: tuple[Part, ...]
    rle: dict | None
    outline: Outline | None
    drawing: object = None


@dataclass(frozen=True)
class Request:
    """What travels to the worker process (the mask packed: 1 bit per pixel; tolerance: the
    polygon density of app.core.density, None = Auto)."""

    mask: PackedMask | None
    parts: tuple[Part, ...]
    image_size: tuple[int, int] | None
    tolerance: Tolerance = None


def convert_request(request: Request, prepare: Prepare | None) -> StoredGeometry | None:
    """The worker's function (any process or thread): None for an empty mask; ValueError for a
    malformed one."""
    if request.mask is not None:
        done = convert_mask(request.mask.unpack(), request.tolerance)
        if done.geometry is None:
            return None
        parts: tuple[Part, ...] = codec.decode_parts(done.geometry)
        rle, outline = done.rle, done.outline
    else:
        parts, rle, outline = codec.encoded(request.parts), None, None
        if request.image_size is not None:
            h, w = request.image_size
            try:
                outline = outline_of_annotation(Annotation(0, 0, parts), h, w)
            except Exception:  # noqa: BLE001 - optional: the store computes it itself
                log.warning("the outline of a manual shape could not be computed", exc_info=True)
    drawing = prepare(parts) if prepare is not None else None
    return StoredGeometry(parts, rle, outline, drawing)


MAX_PREVIEW_VERTICES = 6_000  # drawn at most (largest rings first); measured: 60 000 took ~300 ms a paint
MAX_PREVIEW_DOTS = 1_500    # vertex dots only while they can be told apart (and paint fast)


@dataclass(frozen=True)
class OutlinePreview:
    """What the canvas draws of the outline a mask would be stored with, at a polygon density.

    vertices / parts: counts of the whole outline; lines: (2K, 2) float64 segment end points
    (QPainter.drawLines pairs) of its rings, the largest rings first, at most MAX_PREVIEW_VERTICES
    segments (K = drawn; a single larger ring is drawn through every k-th vertex); dots: (D, 2) the drawn vertices, empty above MAX_PREVIEW_DOTS. Arrays,
    not Parts: a fragmented mask has ~10^5 vertices, which as Python tuples would take the GIL
    for seconds to unpickle beside the GUI thread and seconds more to turn into a painter path."""

    vertices: int
    parts: int
    tolerance: Tolerance
    lines: np.ndarray = field(repr=False)
    dots: np.ndarray = field(repr=False)

    @property
    def drawn(self) -> int:
        """Vertices drawn (== vertices unless the outline is too large to draw whole)."""
        return int(self.lines.shape[0] // 2)


def preview_outline(mask: PackedMask, tolerance: Tolerance) -> OutlinePreview:
    """The worker's function for the live preview of a candidate's stored outline."""
    parts = mask_to_parts_at(mask.unpack(), tolerance)
    rings = sorted((np.asarray(r, dtype=np.float64) for p in parts for r in (p.exterior, *p.holes)),
                   key=len, reverse=True)
    kept: list[np.ndarray] = []
    budget = MAX_PREVIEW_VERTICES
    for ring in rings:
        if len(ring) > budget:
            if kept:
                continue  # smaller rings may still fit
            ring = ring[::-(-len(ring) // budget)]  # one ring larger than the limit: every k-th vertex
        kept.append(ring)
        budget -= len(ring)
    if kept:
        starts = np.concatenate(kept)
        ends = np.concatenate([np.roll(r, -1, axis=0) for r in kept])
        lines = np.stack([starts, ends], axis=1).reshape(-1, 2)
    else:
        starts = lines = np.zeros((0, 2))
    dots = starts if len(starts) <= MAX_PREVIEW_DOTS else np.zeros((0, 2))
    return OutlinePreview(vertex_count(parts), len(parts), tolerance, lines, dots)


@dataclass(frozen=True)
class Resimplified:
    """New polygons of a stored mask-backed annotation; ``rle`` is the annotation's own RLE dict and
    ``outline`` is tied to it (pickled together: ``outline.source`` is ``rle`` again)."""

    annotation_id: int
    parts: tuple[Part, ...]
    rle: dict
    outline: Outline | None


def resimplify(items: tuple[tuple[int, dict], ...], tolerance: Tolerance) -> list[Resimplified]:
    """The worker's function of "re-simplify": (annotation id, exact RLE) -> polygons at `tolerance`
    computed from the RLE (the mask is not changed); an empty mask gives no entry."""
    out: list[Resimplified] = []
    for ann_id, rle in items:
        mask = rle_to_mask(rle)
        parts = mask_to_parts_at(mask, tolerance)
        if not parts:
            continue
        try:
            outline: Outline | None = outline_of_mask(mask, rle)
        except ValueError:  # the store computes it itself
            outline = None
        out.append(Resimplified(ann_id, codec.encoded(parts), rle, outline))
    return out


def warm(prepare: Prepare | None) -> int:
    """Run in the worker once, ahead of the first accept: the process is started and the modules of
    this one and of `prepare` (unpickled by reference, so imported) are loaded."""
    del prepare
    return 0


