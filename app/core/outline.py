"""The outline of an annotation's mask (model.Outline), computed once when the annotation is stored.

What exporters of vector formats need from a mask and cannot get cheaply: its pixel count (with
and without holes), pixel extents, whether it has holes, and the exact outer boundary of each
8-connected part as rings of pixel CORNERS (pixel (c, r) = the unit square [c, c+1] x [r, r+1]).
Nothing here knows a file format: an exporter turns the rings into its own text (COCO writes them
as they are: pycocotools rasterises them back to exactly the hole-filled mask, formats.md 0.1).

Why stored and not computed at export: finding it costs a crop decode and a cv2 trace, ~150-200 us
for a 100 px object on one core (decode 75, trace 50-85, rings 10), so exporting 1 000 000
annotations on 2 cores would take 80-100 s against the 45 s target; with stored outlines the
export only unpacks and formats them. Stored packed (``pack_rings``: a ring's edges alternate
horizontal and vertical, so one small integer per vertex): ~380 bytes for such an object.

Where it comes from: the stored RLE when its size is the image's, else the polygons rasterised on
the image (pixel-centre convention; app.core.masks.geometry_crop). Cost: ~0.15 ms for a 100 px
object, tens of ms for a 12 MP mask, so the GUI computes it on its geometry thread
(``outline_of_mask``) and passes it with the annotation.

Public functions:
    outline_of_mask(mask, rle, x0=0, y0=0) -> Outline             (the GUI's geometry worker)
    outline_of_annotation(ann, height, width) -> Outline | None   (one annotation)
    outlines(sources) -> list[Outline | str]                      (batches: the store, exporters)
    fits(outline, ann) -> bool                                    (may the store keep it?)
    to_bytes(outline) / from_bytes(blob, rle, parts)              (the store's column)
    ring_arrays(rings) -> (flat, ring sizes, rings per item)      (many outlines' rings unpacked)
"""
from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from app.core import codec
from app.core.masks import crop_of_mask, decode_counts_batch, parts_crop, rle_crop, rle_size
from app.core.model import Annotation, Outline, Part

Source = tuple["dict | None", Any, int, int]
"""(rle dict or None, parts (tuple of Part, or a codec geometry blob), image height, image width)."""

UNREADABLE = "its stored mask is unreadable"


# ------------------------------------------------------------------------------ tracing

def trace_corner_raw(crop: np.ndarray) -> tuple[list[np.ndarray], bool]:
    """(outer contours, has_holes) of a bool/uint8 crop (any strides): cv2 contours (int32
    (n, 1, 2) x, y) of the crop upsampled 2x with a 2-pixel border, outer ones only; the same cv2
    pass tells whether the mask encloses background. corner_rings turns them into rings."""
    h, w = crop.shape
    up = np.zeros((2 * h + 4, 2 * w + 4), np.uint8)
    c8 = crop.view(np.uint8) if crop.dtype == np.bool_ else (crop != 0).view(np.uint8)
    doubled = (c8 * np.uint16(257)).view(np.uint8)  # each 0/1 byte twice: (h, 2w), any byte order
    up[2:2 + 2 * h:2, 2:2 + 2 * w] = doubled
    up[3:3 + 2 * h:2, 2:2 + 2 * w] = doubled
    contours, hier = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parents = hier[0][:, 3]
    outer = parents == -1
    if outer.all():
        return list(contours), False
    return [c for c, o in zip(contours, outer) if o], True


def corner_rings(contours: list[np.ndarray], offsets: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-CORNER rings of many trace_corner_raw contours at once (``offsets[i]``: the (x0, y0)
    of contour i's crop): (flat int64 [x, y, x, y, ...] of all rings, int64 number of values of each
    ring). An upsampled index u maps to corner x0 - 0.75 + u / 2 (= k + 0.25 or k + 0.75), rounded
    to the nearest corner; repeated consecutive corners (pinch points, cyclically) are dropped."""
    if not contours:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lens = np.fromiter((len(c) for c in contours), np.int64, len(contours))
    v = np.concatenate(contours).reshape(-1, 2)  # int32 x, y
    v += 1
    v >>= 1
    v += np.repeat(np.asarray(offsets, np.int32).reshape(-1, 2) - 1, lens, axis=0)
    key = v.view(np.int64).ravel()  # one (x, y) pair per int64: compare vertices in one pass
    ends = np.cumsum(lens)
    prev = np.arange(-1, key.size - 1)
    prev[ends - lens] = ends - 1
    keep = key != key[prev]
    kept = np.add.reduceat(keep.astype(np.int64), ends - lens) if keep.size else lens
    kept[lens == 0] = 0
    return v[keep].ravel().astype(np.int64), kept * 2


def trace_corner_arrays(crop: np.ndarray, x0: int, y0: int) -> tuple[list[np.ndarray], bool]:
    """(outer rings, has_holes) of a bool/uint8 crop (any strides) whose top-left pixel is (x0, y0).

    Rings are flat int64 arrays [x1, y1, ...] of pixel corners: the exact outline of the union of
    the pixel squares of each 8-connected part, holes filled. Every pixel centre is 0.5 px away
    from them, so a rasteriser that fills pixels whose centre is inside (pycocotools) gives back
    exactly the hole-filled mask, and their extents are the mask's. They are
    app.core.geometry.mask_to_corner_polygons' rings (cv2 contours of the mask upsampled 2x,
    0.25 px inside the pixel edges) rounded onto the pixel corners; diagonally touching pixels give
    a ring that touches itself at a corner.
    """
    contours, holes = trace_corner_raw(crop)
    flat, sizes = corner_rings(contours, [(x0, y0)] * len(contours))
    return np.split(flat, np.cumsum(sizes)[:-1]) if len(contours) else [], holes


def filled_crop(crop: np.ndarray) -> np.ndarray:
    """The crop with every enclosed background region filled (what outer rings enclose)."""
    padded = cv2.copyMakeBorder(crop.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    contours, _ = cv2.findContours(padded, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(padded)
    cv2.drawContours(out, contours, -1, 1, thickness=-1)
    return out[1:-1, 1:-1].astype(bool) | crop.astype(bool)


# ------------------------------------------------------------------------------ packed rings

_PAIRS = 4  # kind bit: (dx, dy) per vertex instead of one step along alternating axes
_DTYPES = ("<i1", "<i2", "<i4")
_RING_HEAD = 5  # kind byte + uint32 number of rings


def pack_rings(flat: np.ndarray, sizes: np.ndarray) -> bytes:
    """Rings (corner_rings output: flat int64 [x, y, ...], number of values per ring) as bytes:

        kind (uint8: bits 0-1 step width int8/int16/int32, bit 2 pairs mode), uint32 ring count,
        per ring int32 x, int32 y (first vertex), int32 word, then the steps of every ring.

    A ring's edges alternate horizontal and vertical (the outline of pixel squares): word =
    n_vertices << 1 | (first edge vertical), and its n - 1 steps are the signed lengths of the
    edges into vertices 1 .. n-1 (the closing edge is implied). Rings that do not alternate (none
    from corner_rings) are kept exactly in pairs mode: word = n_vertices << 1, steps (dx, dy).
    Rings without vertices are left out; no rings at all: b"".
    """
    sizes = np.asarray(sizes, np.int64)
    n = sizes // 2
    if n.size and (n == 0).any():
        keep = n > 0
        flat = np.asarray(flat, np.int64)[np.repeat(keep, sizes)]
        n = n[keep]
    if n.size == 0:
        return b""
    v = np.asarray(flat, np.int64).reshape(-1, 2)
    starts = np.cumsum(n) - n
    nxt = np.arange(1, v.shape[0] + 1)
    nxt[starts + n - 1] = starts  # the closing edge of each ring
    d = v[nxt] - v  # edge k: vertex k -> k + 1 (cyclic)
    horiz = (d[:, 1] == 0) & (d[:, 0] != 0)
    vert = (d[:, 0] == 0) & (d[:, 1] != 0)
    pos = np.arange(v.shape[0]) - np.repeat(starts, n)
    first_vertical = vert[starts].astype(np.int64)
    want_h = ((pos + np.repeat(first_vertical, n)) & 1) == 0
    into = np.flatnonzero(pos > 0)  # vertices 1 .. n-1 of every ring; edge into[i] - 1 leads there
    if (n % 2 == 0).all() and (n >= 4).all() and np.where(want_h, horiz, vert).all():
        steps = np.where(horiz[into - 1], d[into - 1, 0], d[into - 1, 1])
        words, kind = (n << 1) | first_vertical, 0
    else:
        steps = d[into - 1].ravel()
        words, kind = n << 1, _PAIRS
    big = int(np.abs(steps).max()) if steps.size else 0
    width = 0 if big <= 127 else 1 if big <= 32767 else 2
    table = np.empty((n.size, 3), "<i4")
    table[:, 0] = v[starts, 0]
    table[:, 1] = v[starts, 1]
    table[:, 2] = words
    return (struct.pack("<BI", kind | width, n.size) + table.tobytes()
            + steps.astype(_DTYPES[width]).tobytes())


_KIND_COUNT = struct.Struct("<BI")


def ring_arrays(packed: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Unpack the rings of many outlines at once: (flat int32 [x, y, ...] of every ring in order,
    int64 number of values of each ring, number of rings of each outline). ValueError for a corrupt
    value. One vectorised pass for all of them (~1 us of Python per outline)."""
    per_item: list[int] = []
    tables: list[bytes] = []
    steps: list[bytes] = []
    kinds: list[int] = []
    try:
        for value in packed:
            if not value:
                per_item.append(0)
                continue
            kind, count = _KIND_COUNT.unpack_from(value)
            end = _RING_HEAD + 12 * count
            if len(value) < end or kind & 3 == 3:
                raise ValueError
            tables.append(value[_RING_HEAD:end])
            steps.append(value[end:])
            kinds.append(kind)
            per_item.append(count)
    except (struct.error, ValueError, TypeError):
        raise ValueError("the stored outline is corrupt.") from None
    if not tables:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), per_item
    table = np.frombuffer(b"".join(tables), "<i4").reshape(-1, 3)
    n = (table[:, 2] >> 1).astype(np.int64)
    widths = [1 << (k & 3) for k in kinds]
    if len(set(kinds)) == 1:
        st = np.frombuffer(b"".join(steps), _DTYPES[kinds[0] & 3])
    else:
        st = np.concatenate([np.frombuffer(b, _DTYPES[k & 3]) for b, k in zip(steps, kinds)])
    # every outline must hold exactly the steps its rings need
    counts = [c for c in per_item if c]
    firsts = np.cumsum(counts) - counts
    need = np.add.reduceat(n - 1, firsts) * np.array([2 if k & _PAIRS else 1 for k in kinds])
    have = np.array([len(b) // w for b, w in zip(steps, widths)])
    if (n < 1).any() or not np.array_equal(need, have) or any(len(b) % w for b, w in zip(steps, widths)):
        raise ValueError("the stored outline is corrupt (sizes do not match).")
    st = st.astype(np.int32)
    if not any(k & _PAIRS for k in kinds):
        return _alternating_flat(table, st), n * 2, per_item
    # pairs mode (never written for corner_rings' rings): each outline on its own, plainly
    flats: list[np.ndarray] = []
    s0 = 0
    for first, count, kind, size in zip(firsts.tolist(), counts, kinds, need.tolist()):
        part = table[first:first + count]
        flats.append((_pairs_flat if kind & _PAIRS else _alternating_flat)(part, st[s0:s0 + size]))
        s0 += size
    return np.concatenate(flats), n * 2, per_item


def _alternating_flat(table: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """flat int32 [x, y, ...] of rings in alternating mode (table rows: x0, y0, word): per axis,
    one cumulative sum over all vertices, each ring's first vertex moving from the previous ring's
    last one (int32: half the memory traffic of int64; image coordinates fit)."""
    n = table[:, 2] >> 1
    total = int(n.sum())
    starts = np.cumsum(n) - n
    inner = np.ones(total, bool)  # vertices reached by a step (all but each ring's first)
    inner[starts] = False
    # the step into vertex k moves along y when (k - start - 1 + "first edge vertical") is odd
    parity = np.repeat(((starts + 1 + (table[:, 2] & 1)) & 1).astype(np.int8), n - 1)
    vertical = ((np.flatnonzero(inner).astype(np.int8) ^ parity) & 1).astype(bool)
    along_y = np.where(vertical, steps, 0)
    out = np.empty(2 * total, np.int32)
    for k, step in ((0, steps - along_y), (1, along_y)):
        move = np.zeros(total, np.int32)
        move[inner] = step
        if n.size > 1:
            shift = np.add.reduceat(move, starts)  # each ring's displacement, first to last vertex
            move[starts[1:]] = table[1:, k] - (table[:-1, k] + shift[:-1])
        move[0] = table[0, k]
        out[k::2] = np.cumsum(move, dtype=np.int32)
    return out


def _pairs_flat(table: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """flat [x, y, ...] of rings in pairs mode."""
    n = table[:, 2] >> 1
    d = steps.reshape(-1, 2)
    out: list[np.ndarray] = []
    k = 0
    for (x0, y0, _), count in zip(table.tolist(), n.tolist()):
        ring = np.zeros((count, 2), np.int64)
        ring[0] = (x0, y0)
        ring[1:] = d[k:k + count - 1]
        k += count - 1
        out.append(np.cumsum(ring, axis=0).ravel())
    return np.concatenate(out)


# ------------------------------------------------------------------------------ the stored value

_HEAD = struct.Struct("<2sBIIQQIIII")  # magic, flags (bit 0: holes), h, w, area, filled, x0, y0, w, h
_MAGIC = b"O1"


def to_bytes(outline: Outline) -> bytes:
    """The stored form of an Outline (header + packed rings); ValueError when a number does not
    fit its field."""
    x0, y0, bw, bh = outline.bbox
    try:
        head = _HEAD.pack(_MAGIC, 1 if outline.holes else 0, outline.height, outline.width, outline.area,
                          outline.filled_area, x0, y0, bw, bh)
    except struct.error as exc:
        raise ValueError(f"the outline cannot be stored ({exc}).") from None
    return head + outline.rings


Header = tuple[int, int, int, int, int, int, int, int, bool, bytes]
"""(height, width, area, filled_area, x0, y0, w, h, holes, packed rings) of a stored outline."""


def header(blob: bytes | None) -> Header | None:
    """The fields of a stored outline without building an Outline (exporters read millions);
    None for NULL or a value this version does not read."""
    if blob is None or len(blob) < _HEAD.size or blob[:2] != _MAGIC:
        return None
    _, flags, h, w, area, filled, x0, y0, bw, bh = _HEAD.unpack_from(blob)
    return h, w, area, filled, x0, y0, bw, bh, bool(flags & 1), blob[_HEAD.size:]


def from_bytes(blob: bytes | None, rle: dict | None = None, parts: Any = None) -> Outline | None:
    """Inverse of to_bytes, for the row whose decoded ``rle`` and ``parts`` are given (the
    Outline's source is ``rle`` when it has the outline's size, else ``parts``). None for NULL or a
    value this version does not read."""
    if blob is None or len(blob) < _HEAD.size or bytes(blob[:2]) != _MAGIC:
        return None
    blob = bytes(blob)
    _, flags, h, w, area, filled, x0, y0, bw, bh = _HEAD.unpack_from(blob)
    source = rle if rle_size(rle) == (h, w) else parts
    return Outline(h, w, area, filled, (x0, y0, bw, bh), bool(flags & 1), blob[_HEAD.size:], source)


# ------------------------------------------------------------------------------ computing

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


def outlines(sources: Sequence[Source]) -> list[Outline | str]:
    """The Outline of each source, or the reason it has none (a corrupt stored mask; an empty mask
    is an Outline with area 0). Batched: the counts decoding and ring post-processing of all
    sources are shared. Outline.source is the rle dict or the parts tuple it was computed from (a
    geometry blob is decoded for that)."""
    exact = [rle_size(s[0]) == (s[2], s[3]) for s in sources]
    runs = _runs(sources, exact)
    out: list[Outline | str | None] = [None] * len(sources)
    pending: list[tuple[int, Outline, int]] = []  # (index, outline without rings, number of contours)
    contours: list[np.ndarray] = []
    offsets: list[tuple[int, int]] = []
    for i, (rle, parts, h, w) in enumerate(sources):
        try:
            if exact[i]:
                source: Any = rle
                got = rle_crop(rle, runs[i])
            else:
                source = codec.decode_parts(parts) if isinstance(parts, (bytes, bytearray, memoryview)) \
                    else parts if isinstance(parts, tuple) else tuple(parts)  # the very tuple (EncodedParts too)
                got = parts_crop(source, h, w)
        except ValueError as exc:  # a corrupt stored mask or geometry
            out[i] = f"{UNREADABLE} ({exc})"
            continue
        if got is None:
            out[i] = Outline(h, w, 0, 0, (0, 0, 0, 0), False, b"", source)
            continue
        found, cont = _measure(got, h, w, source)
        pending.append((i, found, len(cont)))
        contours.extend(cont)
        offsets.extend([found.bbox[:2]] * len(cont))
    if pending:
        flat, sizes = corner_rings(contours, offsets)
        ends = np.cumsum(sizes)
        r = 0
        for i, found, count in pending:
            lo = int(ends[r - 1]) if r else 0
            hi = int(ends[r + count - 1]) if count else lo
            out[i] = replace(found, rings=pack_rings(flat[lo:hi], sizes[r:r + count]))
            r += count
    return out  # type: ignore[return-value]


def _measure(got: tuple[np.ndarray, int, int], h: int, w: int, source: Any) -> tuple[Outline, list[np.ndarray]]:
    """(Outline without rings, raw corner contours) of a tight crop (crop, x0, y0). Area and bbox
    come from the crop decoded for tracing anyway (pycocotools' area/toBbox give the same numbers
    for an RLE at ~1-2 us, but the tracing needs the pixels: app.core.masks says why those are
    decoded here)."""
    crop, x0, y0 = got
    ch, cw = crop.shape
    area = int(np.count_nonzero(crop))
    cont, holes = trace_corner_raw(crop)
    filled = int(np.count_nonzero(filled_crop(crop))) if holes else area
    return Outline(h, w, area, filled, (int(x0), int(y0), int(cw), int(ch)), bool(holes), b"", source), cont


def outline_of_annotation(ann: Annotation, height: int, width: int) -> Outline | None:
    """The Outline of ``ann`` on an image of ``height`` x ``width`` (its stored RLE when it has
    that size, else its polygons rasterised), or None when its stored mask is corrupt."""
    got = outlines([(ann.rle, ann.parts, int(height), int(width))])[0]
    return None if isinstance(got, str) else got


def outline_of_mask(mask: np.ndarray, rle: dict, x0: int = 0, y0: int = 0) -> Outline:
    """The Outline of an exact mask that the caller already has as an array, tied to its RLE.

    mask: bool (or non-zero = foreground) array, the whole H x W mask (x0 = y0 = 0) or any crop of
        it containing every foreground pixel, whose top-left pixel is image pixel (x0, y0).
    rle: the same mask as COCO RLE {"size": [H, W], "counts": ...} (e.g. app.core.rle.mask_to_rle
        of the whole mask), the dict the annotation is stored with: the Outline is tied to it, and
        the store keeps the Outline only with an annotation whose ``rle`` equals it. The caller
        guarantees that ``mask`` and ``rle`` describe the same pixels (not checked: that would cost
        what is saved). ValueError when ``rle`` has no valid size.

    Example (the GUI's geometry thread):
        rle = mask_to_rle(mask); outline = outline_of_mask(mask, rle)
        Annotation(image_id, label_id, parts, rle, ..., outline=outline)
    """
    size = rle_size(rle)
    if size is None:
        raise ValueError("the RLE has no valid size [height, width].")
    h, w = size
    got = crop_of_mask(np.asarray(mask))
    if got is None:
        return Outline(h, w, 0, 0, (0, 0, 0, 0), False, b"", rle)
    crop, cx, cy = got
    found, cont = _measure((crop, cx + int(x0), cy + int(y0)), h, w, rle)
    flat, sizes = corner_rings(cont, [found.bbox[:2]] * len(cont))
    return replace(found, rings=pack_rings(flat, sizes))


def fits(outline: Outline | None, ann: Annotation) -> bool:
    """True when ``outline`` was computed from this annotation's geometry: from its ``rle`` when
    that has size outline.height x outline.width, else from its ``parts`` (then ``rle`` must not
    have that size). Value equality; ``outline.source`` None never fits."""
    if outline is None or outline.source is None:
        return False
    if rle_size(ann.rle) == (outline.height, outline.width):
        return isinstance(outline.source, dict) and (outline.source is ann.rle or outline.source == ann.rle)
    parts: tuple[Part, ...] = ann.parts if isinstance(ann.parts, tuple) else tuple(ann.parts)
    return isinstance(outline.source, tuple) and (outline.source is parts or outline.source == parts)
