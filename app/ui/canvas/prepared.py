"""Drawing data of an annotation (ShapeIndex, and PartsRaster in many-part mode), computable anywhere.

A fragmented SAM mask can have thousands of parts: building its ShapeIndex and, in many-part mode,
its PartsRaster costs tens of milliseconds, which the GUI thread would otherwise spend right after an
accept (new canvas item, first paint). The accept service (app.services.geometry) computes it with
`drawing_data` in its worker process, next to the polygons, and hands it over with the stored
geometry; the controller gives it to the canvas (CanvasView.set_annotations(..., drawing=...)).
Nothing here creates Qt objects (PartsRaster makes its QImage lazily, in the GUI thread's paint), so
the data pickles.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from app.core import codec
from app.core.model import Part
from app.ui.canvas.raster import PartsRaster
from app.ui.canvas.shape_index import ShapeIndex

MANY_PARTS = 64          # more parts (or vertices) than this: cached raster fill + LOD outlines
MANY_VERTICES = 5000
MIN_PREPARE_VERTICES = 2000  # below this the GUI thread builds the data in well under a millisecond


def needs_raster(index: ShapeIndex) -> bool:
    """True when an annotation is drawn in many-part mode (raster fill + level-of-detail outlines)."""
    return index.part_count > MANY_PARTS or index.vertex_count > MANY_VERTICES


@dataclass(frozen=True)
class PreparedGeometry:
    """ShapeIndex of a parts tuple and, in many-part mode, its PartsRaster (else None)."""

    index: ShapeIndex
    raster: PartsRaster | None


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def build(parts: Sequence[Part], arrays: Arrays | None = None) -> PreparedGeometry:
    """Compute the drawing data of `parts` (image px) in the calling thread. arrays: the same
    geometry as app.core.codec.unpack_arrays gives it, when at hand (then no Python object per
    vertex is touched, which keeps GIL-holding stretches short in a worker thread)."""
    index = ShapeIndex.from_arrays(*arrays) if arrays is not None else ShapeIndex(parts)
    return PreparedGeometry(index, PartsRaster(index) if needs_raster(index) else None)


def drawing_data(parts: tuple[Part, ...]) -> PreparedGeometry | None:
    """The drawing data of a geometry, computed wherever this is called (the accept service runs it
    in its worker process); None for small geometries (the GUI thread builds those in well under a
    millisecond). EncodedParts are read from their blob's arrays (no Python object per vertex)."""
    blob = getattr(parts, "blob", None)
    arrays = codec.unpack_arrays(blob) if isinstance(blob, bytes) else None
    vertices = int(arrays[2].shape[0]) if arrays is not None else sum(
        len(r) for p in parts for r in (p.exterior, *p.holes))
    if vertices < MIN_PREPARE_VERTICES:
        return None
    return build(parts, arrays)
