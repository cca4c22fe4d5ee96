"""Number and polygon text for the COCO exporter (vectorised).

Everything here produces exactly what ``json.dumps(..., separators=(",", ":"))`` writes.
"""
from __future__ import annotations

import math

import numpy as np

_TABLE_LIMIT = 1 << 16
_table: list[np.ndarray] = []


def _digit_table() -> np.ndarray:
    """uint64 per 0 <= n < _TABLE_LIMIT whose 8 bytes (in memory order) are the ASCII digits of n,
    a comma, then zero bytes (digits and commas are never zero bytes); built once."""
    if not _table:
        rows = np.zeros((_TABLE_LIMIT, 8), np.uint8)
        for width in range(1, 6):
            lo, hi = (0 if width == 1 else 10 ** (width - 1)), min(10 ** width, _TABLE_LIMIT)
            block = np.frombuffer("".join(f"{n}," for n in range(lo, hi)).encode("ascii"), np.uint8)
            rows[lo:hi, :width + 1] = block.reshape(hi - lo, width + 1)
        _table.append(rows.view(np.uint64).ravel())
    return _table[0]


def format_ints(values: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """Decimal text of many integers at once: (text, start, end) with ``text[start[i]:end[i]]`` =
    ``str(int(values[i]))``, numbers separated by single commas (so a run of consecutive values
    ``i..j`` is ``text[start[i]:end[j]]``, exactly what json writes for a list of ints)."""
    v = np.asarray(values, np.int64).ravel()
    if v.size == 0:
        return "", np.zeros(0, np.int64), np.zeros(0, np.int64)
    if v.min() >= 0 and v.max() < _TABLE_LIMIT:  # the usual case: image coordinates
        raw = _digit_table()[v].view(np.uint8)
        text = raw[raw != 0]
        ndig = np.ones(v.size, np.int64)
        ndig += v >= 10
        ndig += v >= 100
        ndig += v >= 1000
        ndig += v >= 10000
        end = np.cumsum(ndig + 1) - 1
        return text[:-1].tobytes().decode("ascii"), end - ndig, end
    neg = v < 0
    a = np.abs(v)
    ndig = np.ones(v.size, np.int64)
    p = 10
    top = int(a.max())
    while p <= top:
        ndig += a >= p
        p *= 10
    width = ndig + neg
    end = np.cumsum(width + 1) - 1  # one comma after each number
    start = end - width
    buf = np.full(int(end[-1]) + 1, ord(","), np.uint8)
    buf[start[neg]] = ord("-")
    last = end - 1
    rest = a.copy()
    for d in range(int(ndig.max())):
        sel = ndig > d
        buf[last[sel] - d] = 48 + rest[sel] % 10
        rest //= 10
    return buf[:-1].tobytes().decode("ascii"), start, end


def float_text(value: float) -> str:
    """JSON text of a finite float (ValueError otherwise, like json with allow_nan=False)."""
    if not math.isfinite(value):
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    return float.__repr__(value)


def _width_table() -> np.ndarray:
    """uint8 per 0 <= n < _TABLE_LIMIT: the length of "<digits of n>," (built once)."""
    if len(_table) < 2:
        _digit_table()
        n = np.arange(_TABLE_LIMIT)
        _table.append((2 + (n >= 10) + (n >= 100) + (n >= 1000) + (n >= 10000)).astype(np.uint8))
    return _table[1]


def _ring_spans(flat: np.ndarray, ring_sizes: np.ndarray) -> tuple[str, list[int], list[int]]:
    """(text of all numbers, each followed by a comma; start and end character of each ring's
    numbers in it, without the last comma; an empty ring: an empty span)."""
    v = np.asarray(flat).ravel()
    sizes = np.asarray(ring_sizes, np.int64)
    if v.size and v.min() >= 0 and v.max() < _TABLE_LIMIT:  # the usual case: image coordinates
        text = _digit_table()[v].tobytes().translate(None, b"\0").decode("ascii")
        widths = _width_table()[v]
    else:
        text, start, end = format_ints(v)
        text += ","
        widths = (end - start + 1) if v.size else np.zeros(0, np.int64)
    chars = np.zeros(sizes.size, np.int64)
    nonempty = sizes > 0
    if nonempty.any():
        first = (np.cumsum(sizes) - sizes)[nonempty]
        chars[nonempty] = np.add.reduceat(widths, first, dtype=np.int64)
    ends = np.cumsum(chars)
    starts = ends - chars
    return text, starts.tolist(), np.where(nonempty, ends - 1, starts).tolist()


def polygon_texts(flat: np.ndarray, ring_sizes: np.ndarray, rings_per_item: list[int]) -> list[str]:
    """JSON text ``[[x1,y1,...],...]`` of the polygons of many items at once.

    flat/ring_sizes: app.core.outline.corner_rings (or ring_arrays) output (integer values of every
    ring, number of values per ring); rings_per_item: how many consecutive rings belong to each
    item. An empty ring is written ``[]``, an item without rings ``[]``. Coordinates below 65536:
    one table lookup per number and one pass that drops the padding (~20 ns per number).
    """
    text, sa, sb = _ring_spans(flat, ring_sizes)
    out: list[str] = []
    k = 0
    for n in rings_per_item:
        if n == 1:
            out.append("[[" + text[sa[k]:sb[k]] + "]]")
        else:
            out.append("[" + ",".join(["[" + text[sa[j]:sb[j]] + "]" for j in range(k, k + n)]) + "]")
        k += n
    return out
