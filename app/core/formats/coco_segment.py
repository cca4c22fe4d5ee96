"""An annotation's COCO segmentation, computed once when it is stored (app.core.model.CocoSeg).

The COCO exporter (app.core.formats.coco_encode) writes a stored CocoSeg as it is when the image
still has the size it was computed for, and otherwise computes it here again (rows written by
older versions have none): both paths go through ``coco_segs`` and ``render``, so the file is the
same either way (tests/core/test_coco_cache.py checks it against the plain exporter path).

What is computed, from the exact mask (the stored RLE when its size is the image's, else the
polygons rasterised on the image, pixel-centre convention; see export_common.annotation_crop):
tight crop -> pixel-CORNER outer rings (coco_trace), pixel count, bbox, whether it has holes, the
pixel count once they are filled, and, for a mask with holes that has no RLE of that size, its
compressed RLE. Cost: ~0.1 ms for a 100x100 px object (crop decoding + cv2 tracing), so the GUI
computes it on its geometry thread (``coco_seg_of_mask``) and passes it with the annotation.

Public functions:
    coco_seg_of_mask(mask, rle, x0=0, y0=0) -> CocoSeg            (the GUI's geometry worker)
    coco_seg_of_annotation(ann, height, width) -> CocoSeg | None   (the store, for one annotation)
    coco_segs(sources, rle_for_parts=False) -> list[CocoSeg | str] (batches: bulk insert, export)
    seg_fits(seg, ann) -> bool                                     (may the store keep it?)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from app.core import codec
from app.core.formats.coco_text import polygon_texts
from app.core.formats.coco_trace import corner_rings, filled_crop, trace_corner_raw
from app.core.formats.export_common import parts_crop
from app.core.formats.masks import crop_of_mask, decode_counts_batch, paste, rle_crop
from app.core.model import Annotation, CocoSeg
from app.core.rle import mask_to_rle

Source = tuple["dict | None", Any, int, int]
"""(rle dict or None, parts (tuple of Part, or a codec geometry blob), image height, image width)."""

EMPTY = "its mask is empty"


def rle_size(rle: dict | None) -> tuple[int, int] | None:
    """(H, W) of an RLE dict, None for None or a malformed size."""
    if rle is None:
        return None
    try:
        h, w = rle["size"]
        return int(h), int(w)
    except (KeyError, TypeError, ValueError):
        return None


def seg_fits(seg: CocoSeg | None, ann: Annotation) -> bool:
    """True when ``seg`` was computed from this annotation's geometry: from its ``rle`` when that
    has size seg.height x seg.width, else from its ``parts`` (then ``rle`` must not have that size).
    Value equality; ``seg.source`` None never fits."""
    if seg is None or seg.source is None:
        return False
    exact = rle_size(ann.rle) == (seg.height, seg.width)
    if exact:
        return isinstance(seg.source, dict) and (seg.source is ann.rle or seg.source == ann.rle)
    parts = ann.parts if isinstance(ann.parts, tuple) else tuple(ann.parts)
    return isinstance(seg.source, tuple) and (seg.source is parts or seg.source == parts)


def _runs(sources: Sequence[Source], exact: list[bool]) -> list[np.ndarray | None]:
    """Decoded counts of every exact compressed RLE (None elsewhere, or for all when one is
    malformed: rle_crop then decodes each alone and raises a clear ValueError)."""
    idx = [i for i, s in enumerate(sources) if exact[i] and isinstance(s[0].get("counts"), (str, bytes))]
    out: list[np.ndarray | None] = [None] * len(sources)
    try:
        decoded = decode_counts_batch([sources[i][0]["counts"] for i in idx])
    except ValueError:
        return out
    for i, runs in zip(idx, decoded):
        out[i] = runs
    return out


def coco_segs(sources: Sequence[Source], rle_for_parts: bool = False) -> list[CocoSeg | str]:
    """CocoSeg of each source, or the reason it cannot be exported (a corrupt stored mask; an empty
    mask is a CocoSeg with area 0). ``rle_for_parts``: also keep the RLE of hole-free masks that do
    not come from an RLE of the image's size (the exporter's "rle" mode needs it; the store does
    not keep it). Batched: the counts decoding, ring post-processing and number formatting of all
    sources are shared. CocoSeg.source is the rle dict or the parts tuple it was computed from
    (a geometry blob is decoded for that)."""
    exact = [rle_size(s[0]) == (s[2], s[3]) for s in sources]
    runs = _runs(sources, exact)
    out: list[CocoSeg | str | None] = [None] * len(sources)
    pending: list[tuple[int, CocoSeg]] = []  # segs whose polygon text is still to be written
    contours: list[np.ndarray] = []
    offsets: list[tuple[int, int]] = []
    rings: list[int] = []
    for i, (rle, parts, h, w) in enumerate(sources):
        try:
            if exact[i]:
                source: Any = rle
                got = rle_crop(rle, runs[i])
            else:
                source = codec.decode_parts(parts) if isinstance(parts, (bytes, bytearray, memoryview)) \
                    else tuple(parts)
                got = parts_crop(source, h, w)
        except ValueError as exc:  # a corrupt stored mask or geometry
            out[i] = f"its stored mask is unreadable ({exc})"
            continue
        if got is None:
            out[i] = CocoSeg(h, w, 0, 0, (0, 0, 0, 0), False, "", None, source)
            continue
        seg, cont = _measure(got, h, w, source, not exact[i], rle_for_parts)
        pending.append((i, seg))
        contours.extend(cont)
        offsets.extend([seg.bbox[:2]] * len(cont))
        rings.append(len(cont))
    if pending:
        for (i, _), seg in zip(pending, _with_polygons([seg for _, seg in pending], contours, offsets, rings)):
            out[i] = seg
    return out  # type: ignore[return-value]


def _with_polygons(segs: list[CocoSeg], contours: list[np.ndarray], offsets: list[tuple[int, int]],
                   rings: list[int]) -> list[CocoSeg]:
    """``segs`` with their polygon text, from the raw corner contours of all of them (``rings[i]``
    consecutive contours per seg, ``offsets``: each contour's crop origin), formatted in one pass."""
    flat, ring_sizes = corner_rings(contours, offsets)
    return [replace(seg, polygons=text) for seg, text in zip(segs, polygon_texts(flat, ring_sizes, rings))]


def _measure(got: tuple[np.ndarray, int, int], h: int, w: int, source: Any, from_parts: bool,
             rle_for_parts: bool) -> tuple[CocoSeg, list[np.ndarray]]:
    """(CocoSeg without polygon text, raw corner contours) of a tight crop (crop, x0, y0)."""
    crop, x0, y0 = got
    ch, cw = crop.shape
    area = int(np.count_nonzero(crop))
    cont, holes = trace_corner_raw(crop)
    filled = int(np.count_nonzero(filled_crop(crop))) if holes else area
    counts = None
    if from_parts and (holes or rle_for_parts):
        counts = mask_to_rle(paste(crop, x0, y0, h, w))["counts"]
    return CocoSeg(h, w, area, filled, (int(x0), int(y0), int(cw), int(ch)), bool(holes), "", counts, source), cont


def coco_seg_of_annotation(ann: Annotation, height: int, width: int) -> CocoSeg | None:
    """The CocoSeg of ``ann`` on an image of ``height`` x ``width`` (its stored RLE when it has
    that size, else its polygons rasterised), or None when its stored mask is corrupt."""
    got = coco_segs([(ann.rle, ann.parts, int(height), int(width))])[0]
    return None if isinstance(got, str) else got


def coco_seg_of_mask(mask: np.ndarray, rle: dict, x0: int = 0, y0: int = 0) -> CocoSeg:
    """The CocoSeg of an exact mask that the caller already has as an array, tied to its RLE.

    mask: bool (or non-zero = foreground) array, the whole H x W mask (x0 = y0 = 0) or any crop of
        it containing every foreground pixel, whose top-left pixel is image pixel (x0, y0).
    rle: the same mask as COCO RLE {"size": [H, W], "counts": ...} (e.g. app.core.rle.mask_to_rle
        of the whole mask), the dict the annotation is stored with: the CocoSeg is tied to it, and
        the store keeps the CocoSeg only with an annotation whose ``rle`` equals it. The caller
        guarantees that ``mask`` and ``rle`` describe the same pixels (not checked: that would cost
        what is saved). ValueError when ``rle`` has no valid size.

    Example (the GUI's geometry thread):
        rle = mask_to_rle(mask); coco = coco_seg_of_mask(mask, rle)
        Annotation(image_id, label_id, parts, rle, ..., coco=coco)
    """
    size = rle_size(rle)
    if size is None:
        raise ValueError("the RLE has no valid size [height, width].")
    h, w = size
    got = crop_of_mask(np.asarray(mask))
    if got is None:
        return CocoSeg(h, w, 0, 0, (0, 0, 0, 0), False, "", None, rle)
    crop, cx, cy = got
    seg, cont = _measure((crop, cx + int(x0), cy + int(y0)), h, w, rle, False, False)
    return _with_polygons([seg], cont, [seg.bbox[:2]] * len(cont), [len(cont)])[0]
