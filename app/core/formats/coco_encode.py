"""COCO annotation objects of many project rows at once: the exporter's inner loop (design.md:
1 000 000 annotations in < 60 s; the issue's target 45 s).

Input: rows of Project.iter_annotation_rows (light tuples, no Annotation objects), read once by
the exporting process (which may ship them to worker processes: app.core.formats.coco_parallel).
Output: a Chunk of JSON fragments, each an annotation object without its leading ``{"id":N,``:
the caller numbers them in file order (coco_kept.Ids), so chunks can be made anywhere, in any
size, and the file is the same.

Per row, in this order:
- images that are not exported: left out silently (their image was reported);
- line shapes (point, line, linestrip): no area, not in COCO; counted;
- an annotation imported from COCO whose geometry is unchanged since (its fingerprint equals the
  one the import kept, provenance.geometry_unchanged) gets its original segmentation (polygons
  verbatim, RLE compressed or as a counts list as it came, none for a bbox-only one), area and
  bbox; when its image's size changed the RLE no longer fits and it is computed (counted);
- the others are computed from the mask's outline (stored, app.core.outline; computed here for
  rows without one for the image's current size): polygons from its rings, area/bbox from its
  numbers, masks with holes as the stored RLE ("auto") or filled ("polygon"); "rle" mode takes
  area/bbox of exact stored RLEs from pycocotools (area, toBbox: ~3 us per annotation) without
  decoding them.
Every annotation imported from COCO gets its kept iscrowd and unknown keys back (coco_kept).
The text is byte-identical to ``json.dumps(obj, ensure_ascii=True, allow_nan=False,
separators=(",", ":"))`` of the object (tests/core/test_coco_fast.py checks this against the
straightforward full-image path).
"""
from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final, Union, cast
from json.encoder import encode_basestring_ascii

from pycocotools import mask as mask_utils

from app.core import codec, outline
from app.core.formats import coco_kept
from app.core.formats.coco_text import float_text, polygon_texts
from app.core.formats.common import Tallies, dumps
from app.core.masks import geometry_crop, paste, rle_runs
from app.core.model import LINE_SHAPES
from app.core.project_annotations import row_shape
from app.core.rle import mask_to_rle

__all__ = ["CHUNK", "Chunk", "Context", "EMPTY", "compressed_rle", "encode_rows", "row_fingerprint"]

CHUNK = 1000  # rows converted together by a one-process export (batched decoding, text, cancel checks)
EMPTY = "its mask is empty"
LINE_TALLY = "line shape(s) (point/line/linestrip) not in COCO"
EDITED_TALLY = "annotation(s) imported from COCO and edited since: segmentation, area and bbox recomputed"
RESIZED_TALLY = ("annotation(s) imported from COCO whose image changed size: segmentation, area and bbox "
                 "recomputed")
(_ID, _IMAGE, _LABEL, _Z, _GEOMETRY, _RLE_H, _RLE_W, _COUNTS, _SHAPE, _POINTS, _EXTRA, _OUTLINE,
 _GROUP, _DESCRIPTION, _FLAGS, _ATTRIBUTES) = range(16)
_EXACT = 2 ** 53  # every int below is a float exactly, and repr writes it as "<int>.0"

Result = tuple["str | None", str, bool]
"""(segmentation JSON text (None: no segmentation key), '"area":..,"bbox":[..]' text, holes filled)."""


@dataclass(frozen=True)
class Context:
    """What every chunk of one export shares. sizes: project image id -> (COCO image id, H, W) of
    the exported images; cat_of: label class id -> COCO category id; masks: "auto" | "rle" |
    "polygon"."""

    sizes: dict[int, tuple[int, int, int]]
    cat_of: dict[int, int]
    masks: str


@dataclass
class Chunk(Tallies):
    """What encode_rows made of some rows. fragments: annotation objects without ``{"id":N,``;
    kept_ids: the id each came in with from a COCO import (None: none); skipped: (what, why) per
    annotation left out for a reason of its own (an empty or unreadable mask); filled: project ids
    of annotations whose holes were filled ("polygon" mode); done: rows looked at."""

    fragments: list[str] = field(default_factory=list)
    kept_ids: list[object] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    filled: list[int] = field(default_factory=list)
    tallies: dict[str, int] = field(default_factory=dict)
    done: int = 0


def row_fingerprint(shape: str, points: bytes | None, geometry: bytes, rle_h: int | None, rle_w: int | None,
                    counts: str | bytes | None) -> str:
    """provenance.geometry_fingerprint of the annotation a row holds, from its stored columns
    (the stored blobs are what the fingerprint hashes: codec.encode_points minus its 2-byte tag,
    codec.encode_parts, codec.encode_rle)."""
    h = hashlib.sha1(shape.encode("ascii", "replace"))
    if points:
        h.update(bytes(points)[2:])
    h.update(b"|")
    geometry = bytes(geometry)
    if len(geometry) >= 11 and struct.unpack_from("<I", geometry, 3)[0] and struct.unpack_from("<I", geometry, 7)[0]:
        h.update(geometry)  # the blob of at least one part (encode_parts(()) holds n_parts = 0)
    h.update(b"|")
    if counts is not None and rle_h is not None and rle_w is not None:
        h.update(f"{rle_h}x{rle_w}:".encode("ascii"))
        h.update(counts.encode("ascii") if isinstance(counts, str) else bytes(counts))
    return h.hexdigest()[:20]


def compressed_rle(rle: dict) -> dict:
    """{"size": [H, W], "counts": str} of a compressed or uncompressed COCO RLE."""
    counts = rle["counts"]
    h, w = (int(v) for v in rle["size"])
    if isinstance(counts, (list, tuple)):
        counts = mask_utils.frPyObjects({"size": [h, w], "counts": [int(c) for c in counts]}, h, w)["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    return {"size": [h, w], "counts": counts}


def _rle_text(h: int, w: int, counts: str) -> str:
    return f'{{"size":[{int(h)},{int(w)}],"counts":{encode_basestring_ascii(counts)}}}'


def _num(value: float | int) -> str:
    """JSON text of ``float(value)`` (what json writes for the COCO area and bbox numbers)."""
    if type(value) is int and -_EXACT < value < _EXACT:
        return f"{value}.0"  # = repr(float(value))
    return float_text(float(value))


def _numbers(area: float | int, bbox: Sequence[float | int]) -> str:
    """'"area":..,"bbox":[..]' text (json's float text of each number)."""
    x, y, bw, bh = bbox
    if type(area) is int and area < _EXACT and type(x) is int:  # outline numbers: ints (bbox < 2**32)
        return f'"area":{area}.0,"bbox":[{x}.0,{y}.0,{bw}.0,{bh}.0]'
    return f'"area":{_num(area)},"bbox":[{_num(x)},{_num(y)},{_num(bw)},{_num(bh)}]'


def _kept_coco(extra: str | None) -> dict:
    """The COCO object a row's extra JSON kept ({} when none)."""
    if not extra or '"coco"' not in extra:
        return {}
    try:
        got = json.loads(extra).get("coco")
    except (ValueError, AttributeError):
        return {}
    return got if isinstance(got, dict) else {}


def _kept_result(kept: dict, rle: dict | None, exact: bool) -> tuple["str | None", "str | None"] | None:
    """(segmentation text or None for none, numbers text or None when they must be computed) of an
    unchanged imported annotation, or None when its segmentation cannot be written as it came
    (an RLE that no longer has the image's size)."""
    seg = kept.get("segmentation")
    try:
        if isinstance(seg, list):
            seg_text: str | None = dumps(seg, True)
        elif seg in ("rle", "rle-list"):
            if not exact or rle is None:
                return None
            if seg == "rle":
                comp = compressed_rle(rle)
                seg_text = _rle_text(comp["size"][0], comp["size"][1], comp["counts"])
            else:  # pycocotools has no compressed -> uncompressed call: masks decodes the counts
                h, w, runs = rle_runs(rle)
                seg_text = f'{{"size":[{h},{w}],"counts":[{",".join(map(str, runs.tolist()))}]}}'
        elif seg is None:
            seg_text = None
        else:
            return None
    except (TypeError, ValueError):
        return None
    area, bbox = kept.get("area"), kept.get("bbox")
    numbers = None
    if isinstance(area, (int, float)) and not isinstance(area, bool) and isinstance(bbox, list) and len(bbox) == 4 \
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox):
        try:
            numbers = f'"area":{dumps(area, True)},"bbox":{dumps(bbox, True)}'
        except ValueError:  # NaN or infinity came in: computed instead
            numbers = None
    return seg_text, numbers


class _Todo:
    """Rows whose segmentation and/or numbers are computed, by index into the chunk's results."""

    def __init__(self) -> None:
        self.index: list[int] = []
        self.rows: list[tuple] = []
        self.rles: list[dict | None] = []
        self.kept_seg: list[KeptSeg] = []  # _COMPUTE, or the segmentation text (None: none) to keep

    def add(self, i: int, row: tuple, rle: dict | None, kept_seg: KeptSeg) -> None:
        self.index.append(i)
        self.rows.append(row)
        self.rles.append(rle)
        self.kept_seg.append(kept_seg)


class _Marker(Enum):
    COMPUTE = 0


_COMPUTE: Final = _Marker.COMPUTE
KeptSeg = Union[str, None, _Marker]
"""A row's segmentation: _COMPUTE (computed here), or the text to write as it came (None: none)."""


def encode_rows(rows: Sequence[tuple], ctx: Context) -> Chunk:
    """The Chunk of some Project.iter_annotation_rows rows (see the module doc)."""
    chunk = Chunk(done=len(rows))
    results: list[Result | str | None] = [None] * len(rows)
    kept_of: dict[int, dict] = {}
    todo = _Todo()
    sizes = ctx.sizes
    for i, row in enumerate(rows):
        where = sizes.get(row[_IMAGE])
        if where is None:
            continue
        shape = row[_SHAPE] or row_shape(row[_SHAPE], row[_COUNTS] is not None)
        if shape in LINE_SHAPES:
            chunk.tally(LINE_TALLY)
            continue
        _, h, w = where
        exact = row[_RLE_H] == h and row[_RLE_W] == w and row[_COUNTS] is not None
        rle = codec.decode_rle(h, w, row[_COUNTS]) if exact else None
        kept_seg: KeptSeg = _COMPUTE
        if row[_EXTRA] is not None:
            kept = _kept_coco(row[_EXTRA])
            if kept:
                kept_of[i] = kept
            geom = kept.get("geom")
            if isinstance(geom, str):
                if geom == row_fingerprint(shape, row[_POINTS], row[_GEOMETRY], row[_RLE_H], row[_RLE_W],
                                           row[_COUNTS]):
                    as_kept = _kept_result(kept, rle, exact)
                    if as_kept is None:
                        chunk.tally(RESIZED_TALLY)
                    elif as_kept[1] is not None:
                        results[i] = (as_kept[0], as_kept[1], False)
                        continue
                    else:
                        kept_seg = as_kept[0]
                else:
                    chunk.tally(EDITED_TALLY)
        todo.add(i, row, rle, kept_seg)
    if todo.index:
        for i, computed in zip(todo.index, _compute(todo, ctx)):
            results[i] = computed
    cat_of = ctx.cat_of
    fragments = chunk.fragments
    kept_ids = chunk.kept_ids
    for i, (row, got) in enumerate(zip(rows, results)):
        if got is None:
            continue
        if row[_LABEL] not in cat_of:  # a damaged project: the row's label class is gone
            got = f"its label class (id {row[_LABEL]}) is missing from the project"
        if isinstance(got, str):
            chunk.skipped.append((f"annotation {row[_ID]}", got))
            continue
        seg_text, numbers, was_filled = got
        if was_filled:
            chunk.filled.append(int(row[_ID]))
        head = f'"image_id":{sizes[row[_IMAGE]][0]},"category_id":{cat_of[row[_LABEL]]},'
        if seg_text is not None:
            head += f'"segmentation":{seg_text},'
        kept_obj = kept_of.get(i)
        details, written = "", frozenset[str]()
        if row[_GROUP] is not None or row[_DESCRIPTION] or row[_FLAGS] is not None or row[_ATTRIBUTES] is not None:
            details, written = coco_kept.details_text(row[_GROUP], row[_DESCRIPTION], row[_FLAGS], row[_ATTRIBUTES],
                                                      chunk)
        if kept_obj is None:
            fragments.append(f'{head}{numbers},"iscrowd":0{details}}}')
            kept_ids.append(None)
        else:
            fragments.append(f'{head}{numbers},"iscrowd":{coco_kept.iscrowd(kept_obj, chunk)}{details}'
                             + coco_kept.keys_text(kept_obj.get("keys"), coco_kept.ANNOTATION_KEYS | written, chunk)
                             + "}")
            kept_ids.append(kept_obj.get("id"))
    return chunk


def _stored_rle_batch(rles: list[dict]) -> list[tuple[str, str] | str] | None:
    """masks="rle": (RLE text, numbers text) or EMPTY for each exact stored RLE, with pycocotools'
    area/toBbox called once for all; None when pycocotools refuses one (each is then computed)."""
    try:
        comps = [compressed_rle(r) for r in rles]
        # pycocotools' area() builds np.array((n,), uint8) first: n must stay below 256 (numpy 2)
        areas = [a for k in range(0, len(comps), 255) for a in mask_utils.area(comps[k:k + 255]).tolist()]
        boxes = mask_utils.toBbox(comps).tolist()
    except Exception:  # noqa: BLE001 - pycocotools raises bare exceptions on bad data
        return None
    return [(_rle_text(c["size"][0], c["size"][1], c["counts"]), _numbers(float(a), [float(v) for v in b]))
            if a > 0 else EMPTY for c, a, b in zip(comps, areas, boxes)]


def _crop_result(rle: dict | None, geometry: bytes, h: int, w: int) -> tuple[str, str] | str:
    """(RLE text, numbers text) of a mask decoded or rasterised here, or why there is none."""
    try:
        got = geometry_crop(rle, codec.decode_parts(geometry), h, w)
    except ValueError as exc:
        return f"{outline.UNREADABLE} ({exc})"
    if got is None:
        return EMPTY
    crop, x0, y0 = got
    ch, cw = crop.shape
    numbers = _numbers(int(crop.sum()), (x0, y0, cw, ch))
    if rle is not None:
        comp = compressed_rle(rle)
    else:
        comp = mask_to_rle(paste(crop, x0, y0, h, w))
    return _rle_text(h, w, comp["counts"]), numbers


def _outlines(todo: _Todo, ctx: Context) -> list[outline.Header | str]:
    """The outline (outline.Header) of each todo row for its image's size: the stored one when it
    was computed for that size, else computed (batched)."""
    out: list[outline.Header | str] = []
    missing: list[int] = []
    for k, row in enumerate(todo.rows):
        _, h, w = ctx.sizes[row[_IMAGE]]
        got = outline.header(row[_OUTLINE])
        if got is None or got[0] != h or got[1] != w:
            missing.append(k)
            out.append("")  # replaced by _recompute below
        else:
            out.append(got)
    if missing:
        _recompute(todo, ctx, missing, out)
    return out


def _recompute(todo: _Todo, ctx: Context, which: list[int], out: list[outline.Header | str]) -> None:
    """Compute the outlines of todo rows ``which`` into ``out`` (one batch)."""
    sources: list[outline.Source] = []
    for k in which:
        _, h, w = ctx.sizes[todo.rows[k][_IMAGE]]
        sources.append((todo.rles[k], todo.rows[k][_GEOMETRY], h, w))
    for k, got in zip(which, outline.outlines(sources)):
        out[k] = got if isinstance(got, str) else (got.height, got.width, got.area, got.filled_area, *got.bbox,
                                                    got.holes, got.rings)


def _compute(todo: _Todo, ctx: Context) -> list[Result | str]:
    """Results of the todo rows (segmentation computed unless kept, numbers computed)."""
    results: list[Result | str | None] = [None] * len(todo.index)
    if ctx.masks == "rle":
        exact = [(k, rle) for k, rle in enumerate(todo.rles) if rle is not None]
        batch = _stored_rle_batch([rle for _, rle in exact]) if exact else []
        done = dict(zip([k for k, _ in exact], batch)) if batch is not None else {}
        for k, row in enumerate(todo.rows):
            got = done.get(k)
            if got is None:
                _, h, w = ctx.sizes[row[_IMAGE]]
                got = _crop_result(todo.rles[k], row[_GEOMETRY], h, w)
            if isinstance(got, str):
                results[k] = got
            else:
                kept_seg = todo.kept_seg[k]
                results[k] = (got[0] if kept_seg is _COMPUTE else kept_seg, got[1], False)
        return cast("list[Result | str]", results)  # every row got its result above
    found = _outlines(todo, ctx)
    polys: list[tuple[int, outline.Header]] = []  # rows whose segmentation is their outline's rings
    for k, got_k in enumerate(found):
        if (head := _decide(todo, ctx, got_k, k, results)) is not None:
            polys.append((k, head))
    try:
        flat, sizes, per_item = outline.ring_arrays([head[9] for _, head in polys])
    except ValueError:  # a corrupt stored outline: computed again from the row's geometry, and decided again
        bad = [k for k, head in polys if not _unpacks(head[9])]
        _recompute(todo, ctx, bad, found)
        bad_set = set(bad)
        polys = [p for p in polys if p[0] not in bad_set]
        for k in bad:
            if (head := _decide(todo, ctx, found[k], k, results)) is not None:
                polys.append((k, head))
        flat, sizes, per_item = outline.ring_arrays([head[9] for _, head in polys])
    for (k, head), text in zip(polys, polygon_texts(flat, sizes, per_item)):
        _, _, area, filled, x0, y0, bw, bh, holes, _ = head
        if ctx.masks == "polygon" and holes:
            results[k] = (text, _numbers(filled, (x0, y0, bw, bh)), True)
        else:
            results[k] = (text, _numbers(area, (x0, y0, bw, bh)), False)
    return cast("list[Result | str]", results)  # every row got its result: _decide or the rings above


def _unpacks(rings: bytes) -> bool:
    try:
        outline.ring_arrays([rings])
    except ValueError:
        return False
    return True


def _decide(todo: _Todo, ctx: Context, got: outline.Header | str, k: int,
            results: list[Result | str | None]) -> outline.Header | None:
    """Set results[k] from todo row k's outline ``got``, or return the outline when its segmentation
    is its rings (written by the caller for all such rows at once)."""
    if isinstance(got, str):
        results[k] = got
        return None
    h, w, area, _, x0, y0, bw, bh, holes, _ = got
    kept_seg = todo.kept_seg[k]
    rle = todo.rles[k]
    if area <= 0:
        results[k] = EMPTY
    elif kept_seg is not _COMPUTE:
        results[k] = (kept_seg, _numbers(area, (x0, y0, bw, bh)), False)
    elif holes and ctx.masks == "auto":
        numbers = _numbers(area, (x0, y0, bw, bh))
        if rle is not None:
            comp = compressed_rle(rle)
            results[k] = (_rle_text(h, w, comp["counts"]), numbers, False)
        else:  # polygons with holes: their raster as RLE
            got_rle = _crop_result(None, todo.rows[k][_GEOMETRY], h, w)
            results[k] = got_rle if isinstance(got_rle, str) else (got_rle[0], numbers, False)
    else:
        return got
    return None
