"""Painting shortcuts must not change what is shown: the cropped candidate overlay, the image item,
many-part annotations (cached raster, cheap hit-testing, level of detail) and item reuse."""
from __future__ import annotations


import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPainterPath

from app.core.model import Annotation, Part
from app.ui.canvas.convert import points_to_qpolygonf, qimage_to_rgba
from app.ui.canvas.editing import EditableShape
from app.ui.canvas.items import MAX_HANDLES, AnnotationItem, parts_to_path
from app.ui.canvas.shape_index import ShapeIndex
from tests.ui.canvas_support import click, hover, make_view, overlay_rgba


def _render(view, w: int, h: int) -> np.ndarray:
    """The scene at 1 image px per pixel as HxWx4 RGBA (straight alpha)."""
    img = QImage(w, h, QImage.Format.Format_ARGB32)
    img.fill(0)
    p = QPainter(img)
    view.scene().render(p, QRectF(0, 0, w, h), QRectF(-0.5, -0.5, w, h))
    p.end()
    return qimage_to_rgba(img)


def _square(x: float, y: float, s: float) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + s, y), (x + s, y + s), (x, y + s))


def _many_parts() -> tuple[Part, ...]:
    """A big square with a square hole plus a 10x10 grid of 3x3 squares: 101 parts."""
    big = Part(_square(10.0, 10.0, 60.0), (_square(30.0, 30.0, 20.0),))
    grid = tuple(Part(_square(100.0 + 8 * i, 10.0 + 8 * j, 3.0)) for i in range(10) for j in range(10))
    return (big, *grid)


def test_cropped_overlay_shows_exactly_the_mask_pixels_at_their_place(qtbot) -> None:
    view = make_view(qtbot)
    view.set_image(np.zeros((90, 120, 3), np.uint8))
    rng = np.random.default_rng(5)
    mask = np.zeros((90, 120), bool)
    mask[17:61, 33:95] = rng.random((44, 62)) > 0.4
    view.set_candidate(mask, "#ff0000")
    item = view.overlay_item()
    assert item.crop_origin() == (int(np.flatnonzero(mask.any(0))[0]), int(np.flatnonzero(mask.any(1))[0]))
    assert np.array_equal(overlay_rgba(item)[..., 3] > 0, mask)
    shown = _render(view, 120, 90)
    assert np.array_equal(shown[..., 0] > 0, mask), "drawn pixel (c, r) == mask[r, c], nowhere else"
    assert np.all(shown[mask][:, 1:3] == 0)
    mask[:] = False  # the overlay keeps its own copy
    assert np.array_equal(_render(view, 120, 90)[..., 0] > 0, overlay_rgba(item)[..., 3] > 0)
    view.set_candidate(np.zeros((90, 120), bool), "#ff0000")
    assert item.isVisible() and item.mask_shape() == (90, 120) and item.image().isNull()
    assert not _render(view, 120, 90)[..., 0].any()


def test_image_item_shows_a_private_copy_of_the_array(qtbot) -> None:
    view = make_view(qtbot)
    rng = np.random.default_rng(6)
    rgb = rng.integers(0, 256, (40, 70, 3), dtype=np.uint8)
    view.set_image(rgb[:, :, :])
    expected = rgb.copy()
    rgb[:] = 0
    shown = _render(view, 70, 40)
    assert np.array_equal(shown[..., :3], expected) and view.image_size() == (70, 40)


def test_candidate_overlay_at_12_megapixels_holds_only_the_mask_bbox(qtbot) -> None:
    """The overlay of a small object on a 12 MP image is a crop of its bbox, not a full-image
    buffer (speed itself is measured by benchmarks/bench_canvas.py, not asserted here)."""
    view = make_view(qtbot)
    view.set_image(np.zeros((3000, 4000, 3), np.uint8))
    small = np.zeros((3000, 4000), bool)
    small[1400:1500, 2000:2100] = True
    view.set_candidate(small, "#00ff00")
    overlay = view.overlay_item()
    assert (overlay.image().width(), overlay.image().height()) == (100, 100)
    assert overlay.crop_origin() == (2000, 1400)


def test_many_part_annotation_is_hit_tested_at_the_right_places(qtbot) -> None:
    view = make_view(qtbot)
    parts = _many_parts()
    view.set_annotations([Annotation(image_id=1, label_id=1, parts=parts, id=4)], {1: "#ff8800"})
    item = view.item_at(12.0, 12.0)
    assert item is not None and item.ann_id == 4 and item.many
    assert view.item_at(40.0, 40.0) is None, "inside the hole"
    assert view.item_at(101.5, 11.5) is item, "inside a small grid square"
    assert view.item_at(105.5, 11.5) is None, "between grid squares"
    assert view.item_at(95.0, 40.0) is None
    view.set_tool("edit")
    click(view, 173.5, 83.5)  # the last grid square
    assert view.selected_annotation() == 4
    # the bounding rectangle comes from the parts' bbox (plus the outline margin only)
    r = item.boundingRect()
    assert 5.0 < r.left() <= 10.0 and 175.0 <= r.right() < 185.0 and 82.0 <= r.bottom() < 90.0


def test_shape_index_agrees_with_the_path_and_the_editable_shape() -> None:
    rng = np.random.default_rng(7)
    parts = _many_parts() + (Part(((200.0, 200.0), (260.0, 210.0), (230.0, 260.0))),)
    index = ShapeIndex(parts)
    path = parts_to_path(parts)
    shape = EditableShape(parts)
    for x, y in rng.uniform(0.0, 270.0, (400, 2)):
        assert index.contains(x, y) == path.contains(QPointF(x, y)), (x, y)
        i = index.nearest_vertex(x, y, 6.0)
        ref = shape.nearest_vertex(x, y, 6.0)
        assert (ref is None and i == -1) or (ref is not None and index.vertex_ref(i) == tuple(ref))
        edge, expected = index.nearest_edge(x, y, 4.0), shape.nearest_edge(x, y, 4.0)
        assert (edge is None) == (expected is None)
        if edge is not None and expected is not None:
            assert abs(edge.distance - expected.distance) < 1e-9
    assert index.vertex_index(*index.vertex_ref(37)) == 37
    assert index.part_count == len(parts) and index.part_extent[0] == 60.0


def test_many_part_rendering_follows_selection_and_hiding(qtbot) -> None:
    view = make_view(qtbot)
    view.set_image(np.zeros((100, 200, 3), np.uint8))
    ann = Annotation(image_id=1, label_id=1, parts=_many_parts(), id=4)
    view.set_annotations([ann], {1: "#ff0000"})
    normal = _render(view, 200, 100)
    assert normal[20, 20, 0] > 0 and tuple(normal[40, 40, :3]) == (0, 0, 0), "filled, hole empty"
    assert normal[11, 101, 0] > 0 and normal[11, 105, 0] == 0, "grid squares filled, gaps empty"
    view.select_annotation(4)
    selected = _render(view, 200, 100)
    assert selected[20, 20, 0] > normal[20, 20, 0], "stronger fill when selected"
    assert tuple(selected[40, 40, :3]) == (0, 0, 0)
    view.set_annotations([ann], {1: "#ff0000"}, hidden={4})
    assert not _render(view, 200, 100)[..., 0].any(), "hidden: nothing drawn"


def test_unchanged_annotations_keep_their_item_and_cache(qtbot) -> None:
    view = make_view(qtbot)
    parts = _many_parts()
    ann = Annotation(image_id=1, label_id=1, parts=parts, id=4)
    other = Annotation(image_id=1, label_id=1, parts=(Part(_square(0.0, 80.0, 9.0)),), id=5)
    view.set_annotations([ann, other], {1: "#ff0000"})
    item = view.item_at(12.0, 12.0)
    assert item is not None
    raster = item.raster()
    view.set_annotations([Annotation(image_id=1, label_id=1, parts=tuple(parts), id=4), other], {1: "#ff0000"})
    assert view.item_at(12.0, 12.0) is item and item.raster() is raster
    moved = Annotation(image_id=1, label_id=1, parts=parts[1:], id=4)
    view.set_annotations([moved, other], {1: "#ff0000"})
    assert view.item_at(12.0, 12.0) is None and view.annotation_parts(4) == parts[1:]
    view.set_annotations([moved, other], {1: "#0000ff"})
    new = view.item_at(101.5, 11.5)
    assert new is not None and new.color().name() == "#0000ff"


def test_handles_level_of_detail_and_hover_on_a_many_part_annotation(qtbot) -> None:
    view = make_view(qtbot)
    big = Part(_square(20.0, 20.0, 200.0))
    dots = tuple(Part(_square(230.0 + 3 * (i % 50), 20.0 + 3 * (i // 50), 1.0)) for i in range(2500))
    view.set_annotations([Annotation(image_id=1, label_id=1, parts=(big, *dots), id=9)], {1: "#ff0000"})
    view.set_tool("edit")
    view.select_annotation(9)
    handles = view.handles()
    assert len(handles.points()) == 4 * 2501
    scale = view.scale_factor()
    drawn = handles.drawn_indices(QRectF(-10, -10, 500, 400), scale)
    assert set(drawn.tolist()) == {0, 1, 2, 3}, "the 1 px dots get no handles at this zoom"
    hover(view, 220.0, 220.0)
    assert handles.hot() == 2, "hovering the big square's corner makes it hot"
    for _ in range(12):
        view.zoom_in()
    drawn = handles.drawn_indices(QRectF(-10, -10, 500, 400), view.scale_factor())
    assert 0 < len(drawn) <= MAX_HANDLES and len(drawn) > 4


def test_points_to_qpolygonf_round_trip() -> None:
    pts = np.random.default_rng(8).normal(0, 1000, (1234, 2))
    poly = points_to_qpolygonf(pts)
    assert poly.size() == 1234
    back = np.array([(poly.at(i).x(), poly.at(i).y()) for i in range(poly.size())])
    assert np.array_equal(back, pts)
    assert points_to_qpolygonf(np.zeros((0, 2))).isEmpty()


def test_item_shape_is_its_bounding_rectangle() -> None:
    item = AnnotationItem(1, _many_parts(), "#00ff00")
    expected = QPainterPath()
    expected.addRect(item.boundingRect())
    assert item.shape() == expected
    assert item.acceptedMouseButtons() == Qt.MouseButton.NoButton
