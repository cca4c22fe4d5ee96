"""Drawing data built off the GUI thread (app.ui.canvas.prepared.drawing_data) is what the canvas item
uses when it is given; it draws exactly what the item would build itself."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from app.core.model import Part
from app.ui.canvas import prepared
from app.ui.canvas.items import AnnotationItem


def _grid(n: int, size: float = 3.0, step: float = 8.0) -> tuple[Part, ...]:
    """n x n small squares: many parts (raster mode when n*n > MANY_PARTS) with enough vertices."""
    def sq(x: float, y: float) -> tuple[tuple[float, float], ...]:
        return tuple((x + dx, y + dy) for dx, dy in ((0, 0), (size, 0), (size, size), (0, size)))
    return tuple(Part(sq(10.0 + step * i, 10.0 + step * j)) for i in range(n) for j in range(n))


def test_item_uses_the_drawing_data_it_is_given_and_it_survives_pickling(qtbot) -> None:  # noqa: ARG001
    """The accept service computes the data in its worker process and pickles it back."""
    import pickle

    from app.core import codec

    parts = codec.encoded(_grid(25))  # 625 parts, 2500 vertices: computed from the blob's arrays
    ready = pickle.loads(pickle.dumps(prepared.drawing_data(parts)))
    assert ready is not None and ready.raster is not None
    item = AnnotationItem(1, parts, "#00ff00", ready)
    assert item.index is ready.index and item.many
    assert item.raster() is ready.raster
    plain = AnnotationItem(2, parts, "#00ff00")  # without: the item builds its own
    assert plain.index is not ready.index
    np.testing.assert_array_equal(plain.index.verts, ready.index.verts)


def test_small_geometry_gets_no_drawing_data() -> None:
    small = _grid(3)  # 36 vertices
    assert prepared.drawing_data(small) is None
    assert prepared.drawing_data(_grid(25)) is not None  # plain tuples too (from their vertices)


def test_prepared_raster_equals_the_one_the_item_builds(qtbot) -> None:  # noqa: ARG001
    parts = _grid(25)
    fast = AnnotationItem(1, parts, "#3366ff", prepared.drawing_data(parts))
    slow = AnnotationItem(2, tuple(Part(p.exterior) for p in parts), "#3366ff")
    assert fast.index is not slow.index
    assert np.array_equal(fast.raster().labels, slow.raster().labels)
    assert fast.raster().origin == slow.raster().origin
    np.testing.assert_array_equal(fast.index.verts, slow.index.verts)
    img_a = fast.raster().image(QColor("#3366ff"), 80, QColor("#ffffff"), True)
    img_b = slow.raster().image(QColor("#3366ff"), 80, QColor("#ffffff"), True)
    assert img_a == img_b


def test_index_from_blob_arrays_equals_index_from_parts() -> None:
    from app.core import codec
    from app.core.geometry import mask_to_parts
    from app.ui.canvas.shape_index import ShapeIndex

    rng = np.random.default_rng(3)
    mask = rng.random((80, 100)) > 0.6  # hundreds of parts, holes included
    mask[10:40, 10:50] = True
    mask[20:25, 20:30] = False
    parts = mask_to_parts(mask, simplify=False)
    assert any(p.holes for p in parts) and len(parts) > 100
    blob = codec.encode_parts(parts)
    a, b = ShapeIndex(parts), ShapeIndex.from_arrays(*codec.unpack_arrays(blob))
    for name in ("verts", "ring_start", "ring_part", "ring_local", "vert_ring", "vert_next",
                 "part_bbox", "part_vertex_count", "part_extent"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.bbox == b.bbox and a.part_count == b.part_count
    empty = ShapeIndex.from_arrays(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)))
    assert empty.bbox is None and empty.part_count == 0


def test_corrupt_blob_arrays_are_refused() -> None:
    import pytest

    from app.core import codec

    blob = codec.encode_parts(_grid(3))
    with pytest.raises(ValueError, match="corrupt"):
        codec.unpack_arrays(b"XX" + blob[2:])
    with pytest.raises(ValueError, match="corrupt"):
        codec.unpack_arrays(blob[:-8])  # a vertex missing
