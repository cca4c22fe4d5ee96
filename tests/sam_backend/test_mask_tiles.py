"""sam_backend.mask_tiles: object-like masks at 12 MP are resized only along their outline, with the
same bits as resizing every pixel (and the reference's signs wherever they are decided)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_backend import mask_tiles as MT
from sam_backend import transforms as T


def object_logits(seed: int, inside: float = 12.0) -> torch.Tensor:
    """(3, 256, 256) low-res logits shaped like a trained SAM's answer: about +inside within a wobbly
    blob, -inside outside it, a steep ramp between, a little noise; candidate k is a larger blob."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:256, 0:256].astype(np.float32)
    out = []
    for k in range(3):
        cy, cx = rng.uniform(60, 140), rng.uniform(80, 180)
        ry, rx = rng.uniform(20, 60) * (k + 1) / 2, rng.uniform(20, 70) * (k + 1) / 2
        wobble = 1 + 0.15 * np.sin(5 * np.arctan2(yy - cy, xx - cx) + k)
        d = np.hypot((yy - cy) / ry, (xx - cx) / rx) / wobble
        out.append(inside * np.tanh(3 * (1 - d)) + rng.normal(0, 0.3, (256, 256)))
    return torch.from_numpy(np.stack(out).astype(np.float32))


def _untiled(monkeypatch: pytest.MonkeyPatch, low: torch.Tensor, input_size: tuple[int, int],
             original: tuple[int, int]) -> np.ndarray:
    with monkeypatch.context() as m:
        m.setattr(MT, "tiled_signs", lambda *a, **k: None)
        return T.masks_from_low_res(low, input_size, original)


@pytest.mark.parametrize("original", [(3000, 4000), (3024, 4032), (4000, 3000), (2100, 2800)])
@pytest.mark.parametrize("seed", [0, 1])
def test_tiled_masks_equal_the_full_resize_and_the_reference(original: tuple[int, int], seed: int,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    low = object_logits(seed)
    input_size = T.preprocess_shape(*original)
    taken: list[bool] = []
    real = MT.tiled_signs

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(MT, "tiled_signs", spy)
    tiled = T.masks_from_low_res(low, input_size, original)
    assert taken == [True]  # an object-like answer takes the tiled route
    full = _untiled(monkeypatch, low, input_size, original)
    assert tiled.shape == (3, *original) and np.array_equal(tiled, full)
    ref = T.postprocess_logits_reference(low, input_size, original).numpy()
    decided = np.abs(ref) > T.MASK_LOGIT_TOL
    assert np.array_equal(tiled[decided], (ref > 0)[decided])
    assert 0.001 < tiled.mean() < 0.9  # neither empty nor full: the test sees an outline


def test_a_mask_reaching_every_border_and_one_with_a_hole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiles on the last rows and columns read clamped taps; a hole inside is resized, not filled."""
    original = (3000, 4000)
    input_size = T.preprocess_shape(*original)
    low = torch.full((3, 256, 256), 10.0)
    low[1, 100:110, 120:135] = -10.0  # a hole
    low[2, :, 200:] = -10.0  # the right part outside
    tiled = MT.tiled_signs(T.upscale_low_res(low, input_size).numpy(), original,
                           (*T.linear_taps(input_size[0], 3000), *T.linear_taps(input_size[1], 4000)), 0.0, None)
    assert tiled is not None
    full = _untiled(monkeypatch, low, input_size, original)
    assert np.array_equal(tiled, full)
    assert tiled[0].all() and not tiled[1].all() and tiled[1, -1, -1] and tiled[2, -1, 0] and not tiled[2, 0, -1]


def test_noise_and_unaligned_sizes_fall_back_to_the_full_resize() -> None:
    """Random-weight answers (noise: the outline is everywhere) and sizes whose resize admits no
    aligned tiles (gcd 1) are not tiled."""
    noise = torch.randn(3, 256, 256, generator=torch.Generator().manual_seed(3))
    for low, original in ((noise, (3000, 4000)), (object_logits(0), (2345, 3127))):
        input_size = T.preprocess_shape(*original)
        up = T.upscale_low_res(low, input_size).numpy()
        taps = (*T.linear_taps(input_size[0], original[0]), *T.linear_taps(input_size[1], original[1]))
        assert MT.tiled_signs(up, original, taps, 0.0, None) is None


def test_block_extrema_cover_one_source_row_and_column_past_each_block() -> None:
    up = np.random.default_rng(5).normal(size=(2, 70, 90)).astype(np.float32)
    rows, cols = np.array([0, 32, 64, 70]), np.array([0, 32, 64, 90])
    lo, hi = MT._block_extrema(up, rows, cols)
    for i in range(3):
        for j in range(3):
            block = up[:, rows[i] : min(rows[i + 1] + 1, 70), cols[j] : min(cols[j + 1] + 1, 90)]
            assert np.array_equal(lo[:, i, j], block.min(axis=(1, 2)))
            assert np.array_equal(hi[:, i, j], block.max(axis=(1, 2)))


@pytest.mark.parametrize("input_size", [(768, 1024), (1024, 683), (1024, 1024)])
def test_low_res_extrema_bound_every_block_of_the_upscale(input_size: tuple[int, int]) -> None:
    """The tiles decided from the 256-grid logits: every up-grid value of a block (its one extra row
    and column included) lies within the bounds, which are the extrema of the low-res taps those
    values read, with at most one more low-res row and column (a block's end past the image's, or a
    block narrower than a low-res pixel, reads one more: still a bound)."""
    low = np.random.default_rng(7).normal(size=(2, 256, 256)).astype(np.float32)
    up = T.upscale_low_res(torch.from_numpy(low), input_size).numpy()
    h, w = input_size
    rows, cols = np.array([0, 37, 100, 333, h]), np.array([0, 64, 65, 500, w])
    lo, hi = MT._low_block_extrema(low, 4, rows, cols)
    y0, y1, _ = T.linear_taps(256, 1024)
    for i in range(len(rows) - 1):
        for j in range(len(cols) - 1):
            r = np.arange(rows[i], min(rows[i + 1] + 1, h))
            c = np.arange(cols[j], min(cols[j + 1] + 1, w))
            block = up[:, r][:, :, c]
            assert (block >= lo[:, i, j, None, None]).all() and (block <= hi[:, i, j, None, None]).all()
            taps_r = np.union1d(y0[r], y1[r])
            taps_c = np.union1d(y0[c], y1[c])
            read = low[:, taps_r.min() : taps_r.max() + 1, taps_c.min() : taps_c.max() + 1]
            wider = low[:, taps_r.min() : taps_r.max() + 2, taps_c.min() : taps_c.max() + 2]
            assert (lo[:, i, j] <= read.min(axis=(1, 2))).all() and (lo[:, i, j] >= wider.min(axis=(1, 2))).all()
            assert (hi[:, i, j] >= read.max(axis=(1, 2))).all() and (hi[:, i, j] <= wider.max(axis=(1, 2))).all()


def test_two_threads_give_the_same_bits_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    original = (3000, 4000)
    input_size = T.preprocess_shape(*original)
    low = object_logits(2)
    monkeypatch.setattr(T, "PARALLEL_MIN_PIXELS", 10**12)
    one = T.masks_from_low_res(low, input_size, original)
    monkeypatch.setattr(T, "PARALLEL_MIN_PIXELS", 0)
    two = T.masks_from_low_res(low, input_size, original)
    assert np.array_equal(one, two)
