"""Helpers shared by the COCO and LabelMe exporters: image sizes and an annotation's exact mask crop."""
from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from app.core.errors import CoreError
from app.core.formats.masks import crop_of_mask, rle_crop
from app.core.model import Annotation, ImageRecord, Part


def export_images(project: Any, page: int = 2000) -> Iterator[tuple[ImageRecord, bool]]:
    """Every image of the project, paged by path, with whether an export should include it.

    An image with no annotation that is not marked done is left out: it is not labelled yet and
    would otherwise become a false "nothing here" example.
    """
    counts = project.annotation_counts_by_image()
    offset = 0
    while True:
        batch = project.images(offset=offset, limit=page)
        if not batch:
            return
        offset += len(batch)
        for rec in batch:
            yield rec, bool(counts.get(rec.id)) or rec.status == "done"


def image_size(project: Any, rec: ImageRecord) -> tuple[int, int] | str:
    """(height, width) of an image after EXIF rotation: the stored size, else the file is probed.

    Returns a one-sentence reason instead when the size is unknown and the file cannot be read.
    """
    if rec.width > 0 and rec.height > 0:
        return rec.height, rec.width
    from app.core.images import probe_image

    try:
        info = probe_image(project.image_path(rec))
    except (CoreError, OSError, ValueError) as exc:
        return f"its size is unknown and the file cannot be read ({exc})"
    return int(info.height), int(info.width)


def parts_crop(parts: tuple[Part, ...], height: int, width: int) -> tuple[np.ndarray, int, int] | None:
    """Rasterise pixel-centre polygons (app.core.geometry semantics) inside their bounding box only.

    Returns (tight bool crop, x0, y0) clipped to the image, or None when nothing is inside it.
    """
    from app.core.geometry import parts_to_mask, translate_parts

    pts = [pt for p in parts for pt in p.exterior]
    if not pts:
        return None
    xs = [x for x, _ in pts]
    ys = [y for _, y in pts]
    x0, y0 = max(0, math.floor(min(xs)) - 1), max(0, math.floor(min(ys)) - 1)
    x1, y1 = min(width - 1, math.ceil(max(xs)) + 1), min(height - 1, math.ceil(max(ys)) + 1)
    if x1 < x0 or y1 < y0:
        return None
    mask = parts_to_mask(translate_parts(parts, -x0, -y0), y1 - y0 + 1, x1 - x0 + 1)
    got = crop_of_mask(mask)
    if got is None:
        return None
    crop, cx, cy = got
    return crop, cx + x0, cy + y0


def annotation_crop(ann: Annotation, height: int, width: int,
                    runs: np.ndarray | None = None) -> tuple[np.ndarray, int, int] | None:
    """The exact mask of an annotation as (tight bool crop, x0, y0), or None when empty.

    The stored RLE is the truth when its size matches the image (``runs``: its counts already
    decoded, optional); otherwise the polygons are rasterised (pixel-centre convention).
    """
    rle = ann.rle
    if rle is not None and [int(v) for v in rle["size"]] == [height, width]:
        return rle_crop(rle, runs)
    return parts_crop(tuple(ann.parts), height, width)
