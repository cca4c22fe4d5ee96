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


@pytest.mark.parametrize("logits, sparse", [(_smooth_logits, True), (_noise_logits, False)], ids=["sparse", "dense"])
@pytest.mark.parametrize("scale", [0.05, 1.0, 30.0])
def test_both_routes_equal_reference(logits, sparse: bool, scale: float) -> None:
    up = T.upscale_low_res(logits() * scale, (768, 1024)).contiguous().numpy()
    assert (T._mixed_cells(up > 0).mean() < T.SPARSE_MAX_MIXED) == sparse
    ref = F.interpolate(torch.from_numpy(up)[None], (2345, 3127), mode="bilinear", align_corners=False)[0].numpy()
    fast = T.masks_from_logits(up, (2345, 3127))
    decided = np.abs(ref) > T.MASK_LOGIT_TOL
    assert np.array_equal(fast[decided], (ref > 0)[decided])
    assert (fast != (ref > 0)).mean() < 1e-5
