"""What an importer keeps so that its exporter writes the user's file back as it came in.

Every format keeps, in the ``extra`` JSON of the annotation / image / label class (and in the
project's meta table for file-level data), one object under its own format id::

    annotation.extra["labelme"] = {"shapes": [the original shape objects, minus what we model
                                              (label, group_id, description, flags)],
                                   "geom": geometry_fingerprint(annotation as imported)}
    annotation.extra["coco"]    = {"id": 17, "iscrowd": 1, "keys": {unknown keys},
                                   "segmentation": [[...]] (polygons as written) | "rle" | "rle-list" | None,
                                   "area": 123.0, "bbox": [...], "geom": fingerprint}
    image.extra["labelme"]      = {"keys": {unknown top-level keys}, "version": "5.4.1", ...}
    image.extra["coco"]         = {"id": 3, "file_name": "...", "keys": {license, coco_url, ...}}
    label_class.extra["coco"]   = {"id": 7, "supercategory": "animal", "keys": {...}}

On export, the original geometry encoding is written back only while ``geom`` still equals the
annotation's current fingerprint (the user did not edit the shape); everything else that was kept
(ids, unknown keys, flags) is written back in any case, so no key is lost by editing.
"""
from __future__ import annotations

import hashlib
import struct

from app.core import codec
from app.core.model import Annotation

__all__ = ["geometry_fingerprint", "geometry_unchanged", "kept"]


def geometry_fingerprint(ann: Annotation) -> str:
    """A short digest of what defines the annotation's geometry: shape kind, points, polygons and
    mask (equal geometry, equal digest)."""
    h = hashlib.sha1(ann.shape.encode("ascii", "replace"))
    for x, y in ann.points:
        h.update(struct.pack("<dd", float(x), float(y)))
    h.update(b"|")
    if ann.parts:
        h.update(codec.encode_parts(tuple(ann.parts)))
    h.update(b"|")
    if ann.rle is not None:
        rh, rw, counts = codec.encode_rle(ann.rle)
        h.update(f"{rh}x{rw}:".encode("ascii"))
        h.update(counts.encode("ascii") if isinstance(counts, str) else bytes(counts or b""))
    return h.hexdigest()[:20]


def kept(extra: dict, format_id: str) -> dict:
    """The object a format kept in an ``extra`` dict ({} when none)."""
    value = extra.get(format_id) if isinstance(extra, dict) else None
    return value if isinstance(value, dict) else {}


def geometry_unchanged(ann: Annotation, format_id: str) -> bool:
    """True when ``ann`` still has the geometry it was imported with from ``format_id``."""
    stored = kept(ann.extra, format_id).get("geom")
    return isinstance(stored, str) and stored == geometry_fingerprint(ann)
