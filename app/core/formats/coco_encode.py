"""Fast COCO annotation encoding for large exports (design.md: 1 000 000 annotations in < 60 s).

Works on light rows instead of Annotation objects: an ``Item`` is (annotation id, image id,
label id, rle dict | None, geometry[, coco]) where geometry is the stored codec blob (decoded only
when the polygons are needed, i.e. when there is no RLE of the image's size) or a tuple of Parts,
and coco the stored COCO segmentation (model.CocoSeg, or the raw columns (coco_head, coco_rle,
coco_poly | None) of Project.iter_annotation_rows) or None.

An item whose stored segmentation was computed for its image's current size is only written out
(pure serialisation, a few microseconds); the others are computed in batches by
coco_segment.coco_segs (crop decoding, cv2 tracing; the numbers of a whole chunk are turned into
text in one vectorised pass), except that the "rle" mode takes area/bbox of exact stored RLEs from
pycocotools without decoding them. Both ways go through ``_render``; the fragments are
byte-identical to ``json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))``
of the COCO object (tests/core/test_coco_fast.py and test_coco_cache.py check this against the
straightforward full-image path).
"""
from __future__ import annotations

import re
from json.encoder import encode_basestring_ascii
from typing import Any

from pycocotools import mask as mask_utils

from app.core import codec
from app.core.formats.coco_segment import EMPTY, coco_segs, rle_size
from app.core.formats.coco_text import float_text, format_ints
from app.core.model import Annotation, CocoSeg

__all__ = ["CHUNK", "Block", "Chunk", "Item", "block_of", "compressed_rle", "encode_block", "encode_items",
           "format_ints", "item_of_annotation", "item_of_row", "renumber", "row_coco"]

Item = tuple  # (id, image_id, label_id, rle dict | None, geometry[, coco]) - see the module doc
Cached = tuple[codec.CocoFields, "str | None", "str | None"]
"""(head fields, rle_counts, polygons or None when not read)."""
Result = tuple[str, float, tuple, bool]
"""(segmentation JSON text, area, bbox (x, y, w, h), holes filled)."""
Chunk = tuple[list[str], list[tuple[str, str]], list[int], int]
"""(JSON fragments: an annotation object without its leading '{' and id, skipped items,
ids of annotations whose holes were filled, number of annotations looked at)."""
Block = tuple[str, int, int, list[tuple[str, str]], list[int], int]
"""(comma-separated complete annotation objects, how many, the id of the first one, skipped
items, ids of annotations whose holes were filled, number of annotations looked at)."""
CHUNK = 1000  # items converted together (batched counts decoding, tracing post-processing, numbers)
_ID_RE = re.compile(r'\{"id":(\d+),')  # only annotation objects have an "id" (counts have no '{')


def block_of(chunk: Chunk, first_id: int) -> Block:
    """The annotation objects of ``chunk`` as text, numbered from ``first_id``."""
    fragments, skipped, filled, done = chunk
    text = ",".join([f'{{"id":{i},' + frag for i, frag in enumerate(fragments, first_id)])
    return text, len(fragments), first_id, skipped, filled, done


def renumber(block: Block, first_id: int) -> Block:
    """``block`` with its annotations numbered from ``first_id`` instead."""
    text, count, old, skipped, filled, done = block
    if old != first_id and count:
        shift = first_id - old
        text = _ID_RE.sub(lambda m: f'{{"id":{int(m[1]) + shift},', text)
    return text, count, first_id, skipped, filled, done


def encode_block(items: list[Item], sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int],
                 masks: str, first_id: int) -> Block:
    """encode_items on CHUNK items at a time, joined into one Block numbered from ``first_id``."""
    texts: list[str] = []
    skipped: list[tuple[str, str]] = []
    filled: list[int] = []
    n = 0
    for k in range(0, len(items), CHUNK):
        frags, sk, fi, _ = encode_items(items[k:k + CHUNK], sizes, cat_of, masks)
        if frags:
            texts.append(block_of((frags, [], [], 0), first_id + n)[0])
        n += len(frags)
        skipped.extend(sk)
        filled.extend(fi)
    return ",".join(texts), n, first_id, skipped, filled, len(items)


def row_coco(masks: str) -> str:
    """The ``coco`` argument of Project.iter_annotation_rows that mode ``masks`` needs ("rle" never
    writes polygons, so it does not read them)."""
    return "head" if masks == "rle" else "all"


def item_of_row(row: tuple) -> Item:
    """Item of a Project.iter_annotation_rows row (id, image_id, label_id, z, geometry, h, w, counts
    [, coco_head, coco_rle[, coco_poly]])."""
    coco = None
    if len(row) > 8 and row[8] is not None:
        coco = (row[8], row[9], row[10] if len(row) > 10 else None)
    return int(row[0]), int(row[1]), int(row[2]), codec.decode_rle(row[5], row[6], row[7]), row[4], coco


def item_of_annotation(ann: Annotation) -> Item:
    """Item of an Annotation (with its stored COCO segmentation when it carries one)."""
    return int(ann.id or 0), int(ann.image_id), int(ann.label_id), ann.rle, tuple(ann.parts), ann.coco


def compressed_rle(rle: dict) -> dict:
    """{"size": [H, W], "counts": str} of a compressed or uncompressed COCO RLE."""
    counts = rle["counts"]
    h, w = (int(v) for v in rle["size"])
    if isinstance(counts, (list, tuple)):
        counts = mask_utils.frPyObjects({"size": [h, w], "counts": [int(c) for c in counts]}, h, w)["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    return {"size": [h, w], "counts": counts}


def _cached(coco: Any) -> Cached | None:
    """Cached form of an item's coco element (None when absent or unreadable)."""
    if coco is None:
        return None
    if isinstance(coco, CocoSeg):
        return ((coco.height, coco.width, coco.area, coco.filled_area, *coco.bbox, coco.holes),
                coco.rle_counts, coco.polygons)
    return codec.decode_coco_columns(*coco)


def _num(value: float | int) -> str:
    """JSON text of ``float(value)`` (what json writes for the COCO area and bbox numbers)."""
    if type(value) is int and -_EXACT < value < _EXACT:
        return f"{value}.0"  # = repr(float(value))
    return float_text(float(value))


_EXACT = 2 ** 53  # every int below is a float exactly, and repr writes it as "<int>.0"


def _rle_text(h: int, w: int, counts: str) -> str:
    return f'{{"size":[{int(h)},{int(w)}],"counts":{encode_basestring_ascii(counts)}}}'


def _render(cached: Cached, exact: dict | None, masks: str) -> Result | str | None:
    """The COCO segmentation of one annotation in mode ``masks`` from its (stored or just computed)
    segmentation; ``exact``: its stored RLE when that has the image's size. A string: why it is not
    exported. None: ``cached`` lacks what this mode needs (polygon text not read, or no RLE)."""
    (h, w, area, filled, x0, y0, bw, bh, holes), counts, polygons = cached
    if area <= 0:
        return EMPTY
    bbox = (x0, y0, bw, bh)
    if masks == "rle" or (masks == "auto" and holes):
        if exact is not None:
            counts = compressed_rle(exact)["counts"]
        elif counts is None:
            return None
        return _rle_text(h, w, counts), area, bbox, False
    if polygons is None:
        return None
    if masks == "polygon" and holes:
        return polygons, filled, bbox, True
    return polygons, area, bbox, False


def _stored_rle_batch(items: list[Item], sizes: dict[int, tuple[int, int, int]]
                      ) -> dict[int, tuple[dict, float, list[float]] | str]:
    """masks="rle": {item index: (compressed RLE, area, bbox) or "its mask is empty"} of the items
    whose stored RLE has their image's size, with pycocotools' area/toBbox called once for all
    (empty when pycocotools refuses one: they are then computed one by one)."""
    idx: list[int] = []
    comps: list[dict] = []
    for i, item in enumerate(items):
        where, rle = sizes.get(item[1]), item[3]
        if where is not None and rle is not None and [int(v) for v in rle["size"]] == [where[1], where[2]]:
            try:
                comps.append(compressed_rle(rle))
            except (ValueError, TypeError, OverflowError):  # left to coco_segs, which reports it
                continue
            idx.append(i)
    if not comps:
        return {}
    try:
        # pycocotools' area() builds np.array((n,), uint8) first: n must stay below 256 (numpy 2)
        areas = [a for k in range(0, len(comps), 255) for a in mask_utils.area(comps[k:k + 255]).tolist()]
        boxes = mask_utils.toBbox(comps).tolist()
    except Exception:  # pycocotools raises bare exceptions on bad data
        return {}
    return {i: (c, float(a), [float(v) for v in b]) if a > 0 else "its mask is empty"
            for i, c, a, b in zip(idx, comps, areas, boxes)}


def encode_items(items: list[Item], sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int],
                 masks: str) -> Chunk:
    """COCO annotation objects of ``items`` (``sizes``: project image id -> (COCO image id, H, W);
    items of images not in ``sizes`` are left out silently: their image was reported)."""
    results: list[Result | str | None] = [None] * len(items)
    compute: list[int] = []
    stored_rle: list[int] = []
    for i, item in enumerate(items):
        where = sizes.get(item[1])
        if where is None:
            continue
        _, h, w = where
        rle = item[3]
        exact = rle if rle is not None and rle_size(rle) == (h, w) else None
        cached = _cached(item[5]) if len(item) > 5 else None
        if cached is not None and cached[0][0] == h and cached[0][1] == w:
            try:
                got = _render(cached, exact, masks)
            except (ValueError, TypeError, OverflowError):  # a malformed stored RLE: computed below
                got = None
            if got is not None:
                results[i] = got
                continue
        (stored_rle if masks == "rle" and exact is not None else compute).append(i)
    if stored_rle:
        stored = _stored_rle_batch([items[i] for i in stored_rle], sizes)
        for k, i in enumerate(stored_rle):
            got = stored.get(k)
            if got is None:
                compute.append(i)
            elif isinstance(got, str):
                results[i] = got
            else:
                comp, area, bbox = got
                results[i] = _rle_text(comp["size"][0], comp["size"][1], comp["counts"]), area, tuple(bbox), False
    if compute:  # no stored segmentation for the image's size (or one this mode cannot use)
        dims = [sizes[items[i][1]] for i in compute]
        segs = coco_segs([(items[i][3], items[i][4], h, w) for i, (_, h, w) in zip(compute, dims)],
                         rle_for_parts=masks == "rle")
        for i, (_, h, w), seg in zip(compute, dims, segs):
            if isinstance(seg, str):
                results[i] = seg
                continue
            rle = items[i][3]
            exact = rle if rle_size(rle) == (h, w) else None
            try:
                results[i] = _render(_cached(seg), exact, masks)  # type: ignore[arg-type]
            except (ValueError, TypeError, OverflowError) as exc:
                results[i] = f"its stored mask is unreadable ({exc})"
    skipped: list[tuple[str, str]] = []
    filled: list[int] = []
    fragments: list[str] = []
    for item, got in zip(items, results):
        if got is None:
            continue
        if item[2] not in cat_of:  # a damaged project: the row's label class is gone
            got = f"its label class (id {item[2]}) is missing from the project"
        if isinstance(got, str):
            skipped.append((f"annotation {item[0]}", got))
            continue
        seg_text, area, bbox, was_filled = got
        if was_filled:
            filled.append(item[0])
        x, y, bw, bh = bbox
        if type(area) is int and area < _EXACT and type(x) is int:  # stored/computed: ints (bbox < 2**32)
            numbers = f'"area":{area}.0,"bbox":[{x}.0,{y}.0,{bw}.0,{bh}.0]'
        else:
            numbers = f'"area":{_num(area)},"bbox":[{_num(x)},{_num(y)},{_num(bw)},{_num(bh)}]'
        fragments.append(f'"image_id":{sizes[item[1]][0]},"category_id":{cat_of[item[2]]},"segmentation":{seg_text},'
                         f'{numbers},"iscrowd":0}}')
    return fragments, skipped, filled, len(items)
