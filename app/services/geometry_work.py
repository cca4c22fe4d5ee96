"""What the accept service's worker process runs (app.services.geometry): Qt-free and light to import,
so the process starts fast and competes little with the GUI for the CPU while it does."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

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


@dataclass(frozen=True)
class OutlinePreview:
    """The polygons a mask would be stored with at a polygon density, and their vertex count."""

    parts: tuple[Part, ...]
    vertices: int
    tolerance: Tolerance


def preview_outline(mask: PackedMask, tolerance: Tolerance) -> OutlinePreview:
    """The worker's function for the live preview of a candidate's stored outline."""
    parts = mask_to_parts_at(mask.unpack(), tolerance)
    return OutlinePreview(parts, vertex_count(parts), tolerance)


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


