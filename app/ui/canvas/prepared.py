"""Drawing data of an annotation computed ahead of time, off the GUI thread.

A fragmented SAM mask can have thousands of parts: building its ShapeIndex and, in many-part mode,
its PartsRaster costs tens of milliseconds, which the GUI thread would otherwise spend right after an
accept (new canvas item, first paint). The geometry worker thread calls `prepare(parts)` once it has
converted the mask; when the canvas later creates the item for the very same `parts` tuple object,
`take(parts)` hands the prepared data over. Keyed by object identity (the entry holds the tuple, so
its id cannot be reused while the entry lives); a miss only means the GUI thread builds the data
itself, as before. Thread-safe. Nothing here touches Qt objects that belong to a thread (PartsRaster
creates its QImage lazily, in the GUI thread's paint).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from app.core.model import Part
from app.ui.canvas.raster import PartsRaster
from app.ui.canvas.shape_index import ShapeIndex

MANY_PARTS = 64          # more parts (or vertices) than this: cached raster fill + LOD outlines
MANY_VERTICES = 5000
MAX_ENTRIES = 8          # prepared geometries waiting for their canvas item (a few accepts in flight)
MIN_PREPARE_VERTICES = 2000  # below this the GUI thread builds the data in well under a millisecond


def needs_raster(index: ShapeIndex) -> bool:
    """True when an annotation is drawn in many-part mode (raster fill + level-of-detail outlines)."""
    return index.part_count > MANY_PARTS or index.vertex_count > MANY_VERTICES


@dataclass(frozen=True)
class PreparedGeometry:
    """ShapeIndex of a parts tuple and, in many-part mode, its PartsRaster (else None)."""

    index: ShapeIndex
    raster: PartsRaster | None


_lock = threading.Lock()
_entries: OrderedDict[int, tuple[tuple[Part, ...], PreparedGeometry]] = OrderedDict()


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def build(parts: Sequence[Part], arrays: Arrays | None = None) -> PreparedGeometry:
    """Compute the drawing data of `parts` (image px) in the calling thread. arrays: the same
    geometry as app.core.codec.unpack_arrays gives it, when at hand (then no Python object per
    vertex is touched, which keeps GIL-holding stretches short in a worker thread)."""
    index = ShapeIndex.from_arrays(*arrays) if arrays is not None else ShapeIndex(parts)
    return PreparedGeometry(index, PartsRaster(index) if needs_raster(index) else None)


def prepare(parts: tuple[Part, ...], arrays: Arrays | None = None) -> None:
    """Build the drawing data of `parts` now (any thread) and keep it for `take(parts)`.
    Small geometries are skipped (building them in the GUI thread costs nothing noticeable).
    arrays: as for `build` (must describe exactly `parts`)."""
    vertices = int(arrays[2].shape[0]) if arrays is not None else sum(
        len(r) for p in parts for r in (p.exterior, *p.holes))
    if vertices < MIN_PREPARE_VERTICES:
        return
    prepared = build(parts, arrays)
    with _lock:
        _entries[id(parts)] = (parts, prepared)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def take(parts: tuple[Part, ...]) -> PreparedGeometry | None:
    """The data prepared for this very tuple object (removed from the cache), or None."""
    with _lock:
        entry = _entries.get(id(parts))
        if entry is None or entry[0] is not parts:
            return None
        del _entries[id(parts)]
    return entry[1]


def clear() -> None:
    """Drop every prepared entry (tests; closing a project)."""
    with _lock:
        _entries.clear()
