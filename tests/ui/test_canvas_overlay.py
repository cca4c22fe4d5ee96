"""numpy <-> QImage conversion (pixel values, strides, errors) and the candidate overlay (speed)."""
from __future__ import annotations


import numpy as np
import pytest
from PySide6.QtCore import QRectF

from app.ui.canvas.convert import array_to_qimage, mask_to_qimage, qimage_to_rgba
from tests.ui.canvas_support import make_view


def test_mask_to_qimage_pixel_values_with_odd_width() -> None:
    rng = np.random.default_rng(1)
    mask = rng.random((37, 53)) > 0.5
    rgba = qimage_to_rgba(mask_to_qimage(mask, "#ff8000", alpha=0.4))
    assert rgba.shape == (37, 53, 4)
    a = round(0.4 * 255)
    assert np.all(rgba[~mask] == 0), "outside pixels fully transparent"
    inside = rgba[mask]
    assert np.all(inside[:, 3] == a)
    # straight colour recovered from premultiplied storage: within rounding
    assert np.all(np.abs(inside[:, 0].astype(int) - 255) <= 2)
    assert np.all(np.abs(inside[:, 1].astype(int) - 128) <= 2)
    assert np.all(inside[:, 2] == 0)


def test_mask_from_uint8_and_non_contiguous_view() -> None:
    mask = np.zeros((40, 60), np.uint8)
    mask[5:10, 7:20] = 255
    img = qimage_to_rgba(mask_to_qimage(mask[:, ::2], "#00ff00", 1.0))  # strided view, 30 columns
    expected = (mask[:, ::2] > 0)
    assert img.shape == (40, 30, 4)
    assert np.array_equal(img[..., 3] == 255, expected)
    assert np.all(img[expected][:, 1] == 255)


@pytest.mark.parametrize("shape", [(31, 17, 3), (31, 17), (31, 17, 4)])
def test_array_to_qimage_round_trip(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(2)
    arr = rng.integers(0, 256, shape, dtype=np.uint8)
    if len(shape) == 3 and shape[2] == 4:
        arr[..., 3] = 255  # opaque so the straight values survive unchanged
    back = qimage_to_rgba(array_to_qimage(arr))
    if arr.ndim == 2:
        assert np.array_equal(back[..., 0], arr) and np.array_equal(back[..., 2], arr)
    else:
        assert np.array_equal(back[..., :3], arr[..., :3])
    assert np.all(back[..., 3] == 255)


def test_array_to_qimage_non_contiguous_and_owns_its_pixels() -> None:
    base = np.arange(20 * 30 * 3, dtype=np.uint32).astype(np.uint8).reshape(20, 30, 3)
    view = base[:, ::-1]
    img = array_to_qimage(view)
    base[:] = 0  # the QImage must not share the numpy buffer
    back = qimage_to_rgba(img)
    assert np.array_equal(back[..., :3], np.arange(20 * 30 * 3, dtype=np.uint32).astype(np.uint8)
                          .reshape(20, 30, 3)[:, ::-1])


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 4, 3), np.float32), "uint8"),
    (np.zeros((4, 4, 2), np.uint8), "HxW"),
    (np.zeros((0, 4, 3), np.uint8), "empty"),
])
def test_bad_images_are_refused_with_a_message(bad: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        array_to_qimage(bad)


def test_bad_masks_are_refused() -> None:
    with pytest.raises(ValueError, match="2-D"):
        mask_to_qimage(np.zeros((3, 4, 1), bool), "#ff0000")
    with pytest.raises(ValueError, match="bool or uint8"):
        mask_to_qimage(np.zeros((3, 4), np.float32), "#ff0000")
    with pytest.raises(ValueError, match="colour"):
        mask_to_qimage(np.zeros((3, 4), bool), "not-a-colour")


def test_candidate_overlay_on_view(qtbot) -> None:
    view = make_view(qtbot)
    mask = np.zeros((300, 400), bool)
    mask[100:150, 200:260] = True
    view.set_candidate(mask, "#3366ff")
    item = view.overlay_item()
    assert item.isVisible() and item.mask_shape() == (300, 400)
    # only the mask's bbox is kept, placed so that mask pixel (col,row) is centred on scene (col,row)
    assert item.image().width() == 60 and item.image().height() == 50 and item.crop_origin() == (200, 100)
    assert item.mapRectToScene(item.boundingRect()) == QRectF(199.5, 99.5, 60, 50)
    with pytest.raises(ValueError, match="does not match"):
        view.set_candidate(np.zeros((10, 10), bool), "#3366ff")
    view.set_candidate(None, "#3366ff")
    assert not item.isVisible() and item.mask_shape() is None


def test_overlay_of_a_large_object_at_12_megapixels_is_cropped_to_its_bbox(qtbot) -> None:
    view = make_view(qtbot)
    h, w = 3000, 4000
    view.set_image(np.zeros((h, w, 3), np.uint8))
    mask = np.zeros((h, w), bool)
    mask[400:2500, 600:3100] = True
    view.set_candidate(mask, "#ff0000")
    assert view.overlay_item().image().width() == 2500 and view.overlay_item().crop_origin() == (600, 400)
