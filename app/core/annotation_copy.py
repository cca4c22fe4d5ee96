"""Copies of annotations for another (or the same) image: copy / paste, copy the previous image's
annotations, duplicate. Pure functions (no store access); the UI pushes the result as one undoable
CompoundEdit of AddAnnotation edits.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from app.core.model import Annotation


def copies_for_image(anns: Iterable[Annotation], image_id: int, image_size: tuple[int, int] | None,
                     z_start: int) -> list[Annotation]:
    """New annotations (no id, no import file) for ``image_id`` with the geometry, label, group,
    description, flags and attributes of ``anns``, drawn from ``z_start`` upwards in their order.

    ``image_size`` is the target's (width, height) when known: an exact mask (RLE) of another size
    cannot be carried over, so the copy keeps the polygons only (a "mask" shape becomes a polygon).
    """
    out: list[Annotation] = []
    for k, ann in enumerate(anns):
        rle, shape, outline = ann.rle, ann.shape, ann.outline
        if rle is not None and image_size is not None and list(rle.get("size", [])) != [image_size[1], image_size[0]]:
            rle, outline = None, None
            shape = "polygon" if shape == "mask" else shape
        out.append(replace(ann, image_id=image_id, id=None, z=z_start + k, rle=rle, shape=shape, outline=outline,
                           file_id=None, created=0.0, updated=0.0, extra=dict(ann.extra),
                           flags=dict(ann.flags), attributes=dict(ann.attributes)))
    return out
