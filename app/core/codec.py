"""Compact storage encoding of annotation geometry and masks (used by the project store).

Geometry blob (little-endian):
    b"G1" + typecode (b"f" float32 or b"d" float64) + uint32 n_ints + uint32 ints[n_ints] + coords
    ints = [n_parts, then for each part: n_rings, len(ring_0), ..., len(ring_{n_rings-1})]
    (ring 0 is the exterior, the others are holes); coords = x0, y0, x1, y1, ... of every ring in
    order. float32 is used only when every coordinate survives the float32 round trip exactly
    (integer and half-integer contour points do), so decoding always returns the values given.
RLE: COCO compressed counts are stored as TEXT; an uncompressed counts list as a uint32 BLOB.
Shape points: b"P1" + float64 pairs. The mask's outline (model.Outline): app.core.outline.to_bytes.
"""
from __future__ import annotations

import itertools
import math
import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from app.core.model import Part, Ring

_MAGIC = b"G1"
_BIG_ENDIAN = sys.byteorder == "big"


def _le(arr: array) -> bytes:
    if _BIG_ENDIAN:
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def _from_le(typecode: str, data: bytes | memoryview) -> array:
    arr = array(typecode)
    arr.frombytes(data)
    if _BIG_ENDIAN:
        arr.byteswap()
    return arr


def validate_parts(parts: tuple[Part, ...]) -> None:
    """Raise ValueError with one sentence when a ring has < 3 points or a non-finite coordinate."""
    for pi, part in enumerate(parts):
        if not isinstance(part, Part):
            raise ValueError(f"part {pi} is not a Part (got {type(part).__name__}).")
        for ri, ring in enumerate((part.exterior, *part.holes)):
            what = "exterior" if ri == 0 else f"hole {ri - 1}"
            if len(ring) < 3:
                raise ValueError(f"the {what} ring of part {pi} has {len(ring)} points; a ring needs at least 3.")
            for pt in ring:
                if len(pt) != 2 or not (math.isfinite(pt[0]) and math.isfinite(pt[1])):
                    raise ValueError(f"the {what} ring of part {pi} has an invalid point {pt!r}.")


class EncodedParts(tuple[Part, ...]):
    """Parts (a tuple, equal to the plain tuple of the same Parts) that carry their geometry blob.

    Made only by this module (`decode_parts`, `encoded`), so ``blob`` is always exactly
    `encode_parts` of these parts. A geometry read from the store or converted off the GUI thread
    travels as EncodedParts: writing it back (an undo, a relabel, an accept) costs no packing, and
    nothing needs a cache keyed by object identity to know that.
    """

    blob: bytes

    def __new__(cls, parts: Iterable[Part], blob: bytes) -> "EncodedParts":
        obj = super().__new__(cls, parts)
        obj.blob = blob
        return obj

    def __reduce__(self) -> tuple[type, tuple[tuple[Part, ...], bytes]]:
        return (EncodedParts, (tuple(self), self.blob))


class PartsMemo:
    """Recently decoded geometry blobs -> EncodedParts, bounded by total blob bytes.

    The GUI re-reads an image's annotations after every edit; a SAM mask of a fragmented object
    can hold thousands of parts whose unpacking into tuples costs ~70 ms (measured at 6000 parts).
    The store owns one (app.core.project_annotations) and fills it with what it writes, so a
    read-back returns the very parts just written. Keyed by the blob itself (equal bytes, equal
    parts; Parts are immutable, so sharing them between reads is safe). Thread-safe.
    """

    MIN_BYTES = 4096  # small geometries decode in microseconds: not worth an entry

    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[bytes, EncodedParts] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, blob: bytes) -> EncodedParts | None:
        """The parts remembered for this blob, or None."""
        with self._lock:
            parts = self._items.get(blob)
            if parts is not None:
                self._items.move_to_end(blob)
            return parts

    def put(self, parts: EncodedParts) -> None:
        """Remember ``parts`` for its blob (small and oversized blobs are not kept)."""
        blob = parts.blob
        if len(blob) < self.MIN_BYTES or len(blob) > self.max_bytes:
            return
        with self._lock:
            if blob in self._items:
                self._items.move_to_end(blob)
                return
            self._items[blob] = parts
            self._bytes += len(blob)
            while self._bytes > self.max_bytes:
                old, _ = self._items.popitem(last=False)
                self._bytes -= len(old)


def encode_parts(parts: tuple[Part, ...]) -> bytes:
    """Validate polygons (pixel-centre float coordinates) and pack them into the geometry blob
    described above. ValueError (one sentence, from `validate_parts`) for an invalid ring.
    EncodedParts give their blob at once.

    Vectorised: a fragmented SAM mask can have thousands of parts and ~10^5 vertices (~30 ms)."""
    if isinstance(parts, EncodedParts):
        return parts.blob
    return _pack_parts(parts)


def encoded(parts: tuple[Part, ...]) -> EncodedParts:
    """``parts`` with their blob (ValueError as encode_parts); for work done off the GUI thread."""
    if isinstance(parts, EncodedParts):
        return parts
    return EncodedParts(parts, _pack_parts(parts))


def _pack_parts(parts: tuple[Part, ...]) -> bytes:
    try:
        rings = [ring for part in parts for ring in (part.exterior, *part.holes)]
        ints = array("I", [len(parts)])
        for part in parts:
            ints.append(1 + len(part.holes))
            ints.extend(len(r) for r in (part.exterior, *part.holes))
        points = itertools.chain.from_iterable(rings)
        shapes_ok = all(isinstance(p, Part) for p in parts) and set(map(len, points)) <= {2}
        flat = np.fromiter(itertools.chain.from_iterable(itertools.chain.from_iterable(rings)), dtype=np.float64)
    except (AttributeError, TypeError, ValueError):
        shapes_ok, flat = False, np.zeros(0)
    if not shapes_ok or any(len(r) < 3 for r in rings) or not np.isfinite(flat).all():
        validate_parts(parts)  # raises with the precise reason
        raise ValueError("the polygons are malformed.")
    coords32 = flat.astype("<f4")
    if np.array_equal(coords32, flat):
        code, coords = b"f", coords32.tobytes()
    else:
        code, coords = b"d", flat.astype("<f8").tobytes()
    return b"".join((_MAGIC, code, _le(array("I", [len(ints)])), _le(ints), coords))


def decode_parts(blob: bytes, memo: PartsMemo | None = None) -> EncodedParts:
    """Unpack a geometry blob into Parts (tuples of (x, y) float tuples) carrying the blob;
    with a memo, an equal blob decoded (or written) before returns the same parts object."""
    blob = bytes(blob)
    parts = memo.get(blob) if memo is not None else None
    if parts is None:
        parts = EncodedParts(_unpack_parts(blob), blob)
        if memo is not None:
            memo.put(parts)
    return parts


def unpack_arrays(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The geometry blob as arrays, without creating Python objects per vertex:
    (rings per part int64 (P,), vertices per ring int64 (R,) in part order (exterior first),
    vertices float64 (N, 2) x, y of every ring in order). ValueError for a corrupt blob."""
    if blob[:2] != _MAGIC or blob[2:3] not in (b"f", b"d"):
        raise ValueError("the stored geometry is corrupt (unknown encoding).")
    try:
        return _unpack_arrays(blob)
    except (ValueError, IndexError):  # truncated or inconsistent counts
        raise ValueError("the stored geometry is corrupt (sizes do not match).") from None


def _unpack_arrays(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_ints = int(np.frombuffer(blob, "<u4", 1, 3)[0])
    ints_end = 7 + 4 * n_ints
    ints = np.frombuffer(blob, "<u4", n_ints, 7).tolist()
    coords = np.frombuffer(blob, "<f4" if blob[2:3] == b"f" else "<f8", offset=ints_end).astype(np.float64)
    n_parts = ints[0] if n_ints else 0
    counts: list[int] = []
    ring_lens: list[int] = []
    ip = 1
    for _ in range(n_parts):  # one step per part (not per vertex)
        n_rings = ints[ip]
        counts.append(n_rings)
        ring_lens.extend(ints[ip + 1:ip + 1 + n_rings])
        ip += 1 + n_rings
    ring_counts = np.array(counts, np.int64)
    lens = np.array(ring_lens, np.int64)
    if ip != n_ints or 2 * int(lens.sum()) != coords.size:
        raise ValueError("the stored geometry is corrupt (sizes do not match).")
    return ring_counts, lens, coords.reshape(-1, 2)


def _unpack_parts(blob: bytes) -> tuple[Part, ...]:
    ring_counts, lens, verts = unpack_arrays(blob)
    coords = verts.ravel().tolist()
    if len(ring_counts) == 1 and ring_counts[0] == 1:  # fast path: one part without holes
        it = iter(coords)
        return (Part(exterior=tuple(zip(it, it))),)
    ring_lens = iter(lens.tolist())
    parts: list[Part] = []
    cp = 0
    for n_rings in ring_counts.tolist():
        rings: list[Ring] = []
        for _ in range(n_rings):
            n = next(ring_lens)
            it = iter(coords[cp:cp + 2 * n])
            cp += 2 * n
            rings.append(tuple(zip(it, it)))
        parts.append(Part(exterior=rings[0], holes=tuple(rings[1:])))
    return tuple(parts)


_POINTS_MAGIC = b"P1"


def encode_points(points: tuple[tuple[float, float], ...]) -> bytes | None:
    """Pack the defining points of a shape (model.Annotation.points) as b"P1" + float64 x, y pairs
    (little-endian); None for no points. ValueError for a point that is not two finite numbers."""
    if not points:
        return None
    try:
        flat = np.array([(float(x), float(y)) for x, y in points], dtype="<f8")
    except (TypeError, ValueError, OverflowError):
        raise ValueError("shape points must be (x, y) pairs of numbers.") from None
    if not np.isfinite(flat).all():
        raise ValueError("shape points must be finite numbers.")
    return _POINTS_MAGIC + flat.tobytes()


def decode_points(blob: bytes | None) -> tuple[tuple[float, float], ...]:
    """Inverse of encode_points (() for NULL); ValueError for a corrupt blob."""
    if blob is None:
        return ()
    blob = bytes(blob)
    if blob[:2] != _POINTS_MAGIC or (len(blob) - 2) % 16:
        raise ValueError("the stored shape points are corrupt.")
    flat = np.frombuffer(blob, "<f8", offset=2).tolist()
    it = iter(flat)
    return tuple(zip(it, it))


def encode_rle(rle: dict | None) -> tuple[int | None, int | None, str | bytes | None]:
    """COCO RLE {"size": [H, W], "counts": str | bytes | list[int]} -> (h, w, stored counts).

    Compressed counts (str, or bytes as pycocotools returns them) are stored as str; an
    uncompressed list of run lengths as a uint32 blob. ValueError for anything else.
    """
    if rle is None:
        return None, None, None
    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise ValueError("a mask must be COCO RLE {'size': [H, W], 'counts': ...}.") from None
    if h < 0 or w < 0:
        raise ValueError(f"a mask size must not be negative (got {h}x{w}).")
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    if isinstance(counts, str):
        return h, w, counts
    if isinstance(counts, (list, tuple)):
        try:
            return h, w, _le(array("I", [int(c) for c in counts]))
        except (OverflowError, ValueError, TypeError):
            raise ValueError("uncompressed RLE counts must be non-negative integers.") from None
    raise ValueError(f"RLE counts must be a string or a list of integers (got {type(counts).__name__}).")


def decode_rle(h: int | None, w: int | None, counts: str | bytes | None) -> dict | None:
    """Inverse of encode_rle: {"size": [h, w], "counts": str | list[int]} or None."""
    if counts is None or h is None or w is None:
        return None
    if isinstance(counts, bytes):
        return {"size": [h, w], "counts": _from_le("I", counts).tolist()}
    return {"size": [h, w], "counts": counts}
