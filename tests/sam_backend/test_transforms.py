"""Pre/post-processing: the image conversion contract, resize geometry, coordinate scaling, and the
fast mask upsampling against the reference arithmetic."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sam_backend import ImageFormatError
from sam_backend import transforms as T


def test_rgb_uint8_passes_through() -> None:
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = T.to_rgb_uint8(img)
    assert out.dtype == np.uint8 and out.shape == (5, 7, 3) and np.array_equal(out, img)
    assert T.to_rgb_uint8(img[:, ::-1]).flags.c_contiguous


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1)])
def test_grayscale_is_replicated(shape: tuple[int, ...]) -> None:
    gray = np.arange(35, dtype=np.uint8).reshape(shape)
    out = T.to_rgb_uint8(gray)
    assert out.shape == (5, 7, 3)
    flat = gray.reshape(5, 7)
    assert all(np.array_equal(out[:, :, c], flat) for c in range(3))


def test_rgba_drops_alpha() -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 10, 20, 30, 0
    out = T.to_rgb_uint8(rgba)
    assert out.shape == (2, 2, 3) and out[0, 0].tolist() == [10, 20, 30]


def test_uint16_keeps_the_high_byte() -> None:
    img = np.array([[0, 255, 256, 65535]], dtype=np.uint16)
    out = T.to_rgb_uint8(img)
    assert out[0, :, 0].tolist() == [0, 0, 1, 255]


@pytest.mark.parametrize(
    "img, words",
    [
        (np.zeros((4, 4, 3), np.float32), "unsupported image dtype float32"),
        (np.zeros((4, 4, 3), np.int64), "unsupported image dtype int64"),
        (np.zeros((4, 4, 2), np.uint8), "unsupported image shape"),
        (np.zeros((2, 4, 4, 3), np.uint8), "unsupported image shape"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        ([[1, 2]], "numpy array"),
    ],
)
def test_bad_images_are_refused(img: object, words: str) -> None:
    with pytest.raises(ImageFormatError, match=words):
        T.to_rgb_uint8(img)  # type: ignore[arg-type]


@pytest.mark.parametrize("size, expected", [((375, 500), (768, 1024)), ((3000, 4000), (768, 1024)),
                                            ((1024, 1024), (1024, 1024)), ((10, 2000), (5, 1024)),
                                            ((683, 1024), (683, 1024)), ((2000, 3), (1024, 2))])
def test_preprocess_shape(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert T.preprocess_shape(*size) == expected


def test_preprocess_normalises_and_pads() -> None:
    img = np.full((375, 500, 3), 128, np.uint8)
    x, input_size = T.preprocess(img, torch.device("cpu"))
    assert x.shape == (1, 3, 1024, 1024) and x.dtype == torch.float32 and input_size == (768, 1024)
    assert float(x[0, 0, 0, 0]) == pytest.approx((128 - 123.675) / 58.395, abs=1e-6)
    assert float(x[0, :, 768:, :].abs().max()) == 0.0


def test_scale_coords() -> None:
    out = T.scale_coords(np.array([[250.0, 100.0], [0.0, 375.0]]), (375, 500), (768, 1024))
    np.testing.assert_allclose(out, [[512.0, 204.8], [0.0, 768.0]])


@pytest.mark.parametrize("n_in, n_out", [(768, 3000), (1024, 4000), (683, 1001), (5, 1024), (100, 100)])
def test_linear_taps_match_torch(n_in: int, n_out: int) -> None:
    x = torch.randn(n_in, generator=torch.Generator().manual_seed(n_in))
    ref = F.interpolate(x[None, None, None], (1, n_out), mode="bilinear", align_corners=False)[0, 0, 0].numpy()
    i0, i1, lam = T.linear_taps(n_in, n_out)
    xn = x.numpy()
    np.testing.assert_allclose((1 - lam) * xn[i0] + lam * xn[i1], ref, atol=1e-4)


def _smooth_logits() -> torch.Tensor:
    yy, xx = np.mgrid[0:256, 0:256]
    return torch.from_numpy(np.stack([
        (40 - np.hypot(yy - 100, xx - 120)) / 4,
        (60 - np.hypot(yy - 90, xx - 140)) / 3 + np.sin(xx / 5),
        (30 - np.abs(yy - 100) - np.abs(xx - 100)) / 2,
    ]).astype(np.float32))


def _noise_logits() -> torch.Tensor:
    return torch.randn(3, 256, 256, generator=torch.Generator().manual_seed(7))


@pytest.mark.parametrize("logits", [_smooth_logits, _noise_logits], ids=["smooth", "noise"])
@pytest.mark.parametrize("original", [(3000, 4000), (375, 500), (1024, 1024), (2100, 2800), (617, 1111), (2001, 37),
                                      (4100, 2300)])
def test_fast_masks_equal_reference(logits, original: tuple[int, int]) -> None:
    low = logits()
    input_size = T.preprocess_shape(*original)
    ref_logits = T.postprocess_logits_reference(low, input_size, original).numpy()
    masks = T.masks_from_low_res(low, input_size, original)
    assert masks.shape == (3, *original) and masks.dtype == np.bool_
    decided = np.abs(ref_logits) > 1e-4
    assert np.array_equal(masks[decided], (ref_logits > 0)[decided])
    if min(original) > 100:  # the thin strip sees only the blobs' background
        assert 0 < masks.mean() < 1


@pytest.mark.parametrize(
    "logits, scale, route",
    [
        (_smooth_logits, 0.05, "cv2"),
        (_noise_logits, 0.5, "cv2"),
        (_smooth_logits, 30.0, "cells"),  # large steps, few cells near 0: their pixels recomputed
        (_noise_logits, 30.0, "pixels"),  # large steps, many cells near 0: pixels near 0 recomputed
    ],
)
def test_every_route_equals_reference(logits, scale: float, route: str) -> None:
    up = T.upscale_low_res(logits() * scale, (768, 1024)).contiguous().numpy()
    tol = 2 * T.CV2_WEIGHT_ERROR * (T._max_step(up, 1) + T._max_step(up, 2))
    near = T._cells_near_zero(up, tol).mean()
    taken = "cv2" if tol <= T.MASK_LOGIT_TOL else "cells" if near <= T.CELLS_MAX_NEAR else "pixels"
    assert taken == route
    ref = F.interpolate(torch.from_numpy(up)[None], (2345, 3127), mode="bilinear", align_corners=False)[0].numpy()
    fast = T.masks_from_logits(up, (2345, 3127))
    decided = np.abs(ref) > T.MASK_LOGIT_TOL
    assert np.array_equal(fast[decided], (ref > 0)[decided])
    assert (fast != (ref > 0)).mean() < 1e-5


def test_cells_near_zero_brackets_every_small_value() -> None:
    up = T.upscale_low_res(_smooth_logits() * 30, (768, 1024)).contiguous().numpy()
    near = T._cells_near_zero(up, 0.5)
    y0, _, _ = T.linear_taps(768, 2345)
    x0, _, _ = T.linear_taps(1024, 3127)
    ref = F.interpolate(torch.from_numpy(up)[None], (2345, 3127), mode="bilinear", align_corners=False)[0].numpy()
    cc, yy, xx = np.nonzero(np.abs(ref) <= 0.5)
    assert cc.size > 1000 and near[cc, y0[yy], x0[xx]].all()  # every small output value sits in a marked cell
    assert near.mean() < 0.05


@pytest.mark.parametrize("input_size", [(768, 1024), (1024, 1024), (1024, 574), (731, 1024), (1, 1024), (1023, 3)])
def test_cropped_upscale_is_bit_identical(input_size: tuple[int, int]) -> None:
    low = torch.randn(3, 256, 256, generator=torch.Generator().manual_seed(11))
    cropped = T.upscale_low_res_cropped(low, input_size)
    assert cropped.is_contiguous()
    assert torch.equal(cropped, T.upscale_low_res(low, input_size))


@pytest.mark.parametrize("logits", [_smooth_logits, _noise_logits], ids=["smooth", "noise"])
@pytest.mark.parametrize("input_size", [(768, 1024), (1024, 574), (5, 1024)])
def test_step_bounds_bound_the_upscaled_steps(logits, input_size: tuple[int, int]) -> None:
    low = logits()
    up = T.upscale_low_res(low, input_size).numpy()
    bounds = T._step_bounds(low.numpy(), input_size)
    for axis, bound in zip((1, 2), bounds):
        actual = T._max_step(up, axis)
        assert actual <= bound <= 1.5 * actual + 1e-6


@pytest.mark.parametrize("h, H", [(768, 3000), (768, 2100), (1024, 4100), (574, 2300), (768, 2345), (10, 10), (3, 4000)])
def test_row_strips_cover_every_row_with_both_taps_inside(h: int, H: int) -> None:
    strips = T._row_strips(h, H)
    i0, i1, _ = T.linear_taps(h, H)
    assert strips[0][2] == 0 and strips[-1][3] == H
    for (a, e, y0, y1), nxt in zip(strips, strips[1:] + [None]):
        assert (a * H) % h == 0  # the strip's local row mapping is the global one
        assert 0 <= a < e <= h and y0 < y1
        assert i0[y0:y1].min() >= a and i1[y0:y1].max() < e
        if nxt is not None:
            assert nxt[2] == y1
    if h == 768 and H == 3000:
        assert len(strips) == 12  # q = 32: strips of 64 source rows
    if H == 2345:
        assert len(strips) == 1  # gcd 1: one strip


@pytest.mark.parametrize("original", [(3000, 4000), (2100, 2800), (4100, 2300)])
def test_dense_strips_equal_one_whole_resize(original: tuple[int, int]) -> None:
    import cv2

    input_size = T.preprocess_shape(*original)
    up = T.upscale_low_res(_noise_logits(), input_size).numpy()
    assert len(T._row_strips(input_size[0], original[0])) > 1
    masks = T.masks_from_logits(up, original)
    for k in range(3):
        whole = cv2.resize(up[k], original[::-1], interpolation=cv2.INTER_LINEAR)
        decided = np.abs(whole) > 1e-4  # near 0, pixels may have been recomputed exactly (torch's weights)
        assert np.array_equal(masks[k][decided], whole[decided] > 0)
        assert decided.mean() > 0.99


@pytest.mark.parametrize("input_size", [(768, 1024), (1024, 574), (731, 1024), (1023, 1021), (5, 1024)])
@pytest.mark.parametrize("scale", [0.1, 10.0, 300.0])
def test_cv2_first_upscale_is_within_its_error_bound(input_size: tuple[int, int], scale: float) -> None:
    low = torch.randn(3, 256, 256, generator=torch.Generator().manual_seed(12)) * scale
    ref = T.upscale_low_res(low, input_size).numpy()
    fast = T.upscale_low_res_cv2(low.numpy(), input_size)
    assert fast.shape == ref.shape and fast.dtype == np.float32
    error = np.abs(fast - ref).max()
    assert error <= T.STAGE1_REL_ERROR * np.abs(low.numpy()).max()
    assert error > 0 or scale < 1  # not the same code: rounding differs somewhere (guards a vacuous bound)


@pytest.mark.parametrize("logits", [_smooth_logits, _noise_logits], ids=["smooth", "noise"])
@pytest.mark.parametrize("scale", [0.01, 30.0])
def test_masks_from_low_res_equal_reference_at_large_and_tiny_scales(logits, scale: float) -> None:
    low = logits() * scale
    original = (2100, 2800)
    input_size = T.preprocess_shape(*original)
    ref = T.postprocess_logits_reference(low, input_size, original).numpy()
    masks = T.masks_from_low_res(low, input_size, original)
    decided = np.abs(ref) > T.MASK_LOGIT_TOL
    assert np.array_equal(masks[decided], (ref > 0)[decided])
    assert (masks != (ref > 0)).mean() < 1e-4


@pytest.mark.parametrize("logits, scale", [(_smooth_logits, 0.05), (_noise_logits, 30.0)], ids=["plain", "recompute"])
def test_two_thread_signs_equal_one_thread(logits, scale: float, monkeypatch) -> None:
    """Large outputs are thresholded by two threads in (strip, candidate) pieces: the same bits as
    one thread doing every piece, for the plain route and the pixel-recompute route."""
    up = T.upscale_low_res(logits() * scale, (768, 1024)).contiguous().numpy()
    original = (1500, 2000)  # 3 MP
    monkeypatch.setattr(T, "PARALLEL_MIN_PIXELS", 10**12)
    started: list[str] = []
    real_thread = T.threading.Thread

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        started.append(kwargs.get("name", ""))
        return real_thread(*args, **kwargs)

    monkeypatch.setattr(T.threading, "Thread", spy)
    one = T.masks_from_logits(up, original)
    assert started == []
    monkeypatch.setattr(T, "PARALLEL_MIN_PIXELS", 0)
    two = T.masks_from_logits(up, original)
    assert started == ["sam-masks"]
    assert two.shape == (3, *original) and np.array_equal(one, two)
