"""Helpers shared by the COCO and LabelMe exporters: image sizes and an annotation's exact mask crop."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from app.core.errors import CoreError
from app.core.masks import geometry_crop, parts_crop
from app.core.model import Annotation, ImageRecord

if TYPE_CHECKING:
    from app.core.project import Project

__all__ = ["annotation_crop", "export_images", "image_size", "parts_crop"]


def export_images(project: Project, page: int = 2000) -> Iterator[tuple[ImageRecord, bool]]:
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


def image_size(project: Project, rec: ImageRecord) -> tuple[int, int] | str:
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


def annotation_crop(ann: Annotation, height: int, width: int,
                    runs: np.ndarray | None = None) -> tuple[np.ndarray, int, int] | None:
    """The exact mask of an annotation as (tight bool crop, x0, y0), or None when empty.

    The stored RLE is the truth when its size matches the image (``runs``: its counts already
    decoded, optional); otherwise the polygons are rasterised (pixel-centre convention).
    """
    return geometry_crop(ann.rle, ann.parts, height, width, runs)
