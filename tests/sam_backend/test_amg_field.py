"""The exact post-processing pieces of the automatic mask generator against torch's own resize."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sam_backend.amg import field
from sam_backend.transforms import postprocess_logits_reference

# (model-input size, image size): upscaling, downscaling, identity, thin and odd sizes
SIZES = [
    ((683, 1024), (1000, 1500)),
    ((1024, 683), (1500, 1000)),
    ((768, 1024), (375, 500)),
    ((1024, 1024), (1024, 1024)),
    ((768, 1024), (2999, 3997)),
    ((100, 1024), (100, 1024)),
    ((1024, 61), (1777, 105)),
    ((1024, 1024), (2, 700)),
]


def _torch_taps(n_in: int, n_out: int) -> np.ndarray:
    """torch's 1-D resize weights as a dense (n_out, n_in) matrix (resize of a basis)."""
    basis = torch.eye(n_in)[:, None, :, None].expand(n_in, 1, n_in, 2).contiguous()
    out = F.interpolate(basis, (n_out, 2), mode="bilinear", align_corners=False)[:, 0, :, 0]
    return out.T.numpy()


@pytest.mark.parametrize("n_in, n_out", [(683, 1000), (768, 375), (256, 1024), (1024, 1024), (61, 1777), (1024, 3)])
def test_taps_are_torch_weights(n_in: int, n_out: int) -> None:
    taps = field.torch_linear_taps(n_in, n_out)
    dense = np.zeros((n_out, n_in), dtype=np.float32)
    np.add.at(dense, (np.arange(n_out), taps.i0), taps.w0)
    np.add.at(dense, (np.arange(n_out), taps.i1), taps.w1)
    assert np.array_equal(dense, _torch_taps(n_in, n_out))


def _whole_field(low: np.ndarray, geo: field.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Every piece evaluated and placed: (values (H, W), how often each pixel was written)."""
    rows, cols = geo.rows.piece_start.shape[0], geo.cols.piece_start.shape[0]
    pg, pk = (a.ravel() for a in np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij"))
    values = field.eval_pieces(low, geo, np.zeros_like(pg), pg, pk)
    valid = field.piece_valid(geo, pg, pk)
    ys = np.broadcast_to(geo.rows.piece_start[pg][:, None, None] + np.arange(valid.shape[1])[None, :, None], valid.shape)[valid]
    xs = np.broadcast_to(geo.cols.piece_start[pk][:, None, None] + np.arange(valid.shape[2])[None, None, :], valid.shape)[valid]
    out = np.full(geo.shape, np.nan, dtype=np.float32)
    out[ys, xs] = values[valid]
    written = np.zeros(geo.shape, dtype=np.int64)
    np.add.at(written, (ys, xs), 1)
    return out, written


@pytest.mark.parametrize("input_size, size", SIZES)
def test_pieces_reproduce_torch_bit_for_bit(input_size: tuple[int, int], size: tuple[int, int]) -> None:
    low = (np.random.default_rng(1).standard_normal((1, 256, 256)) * 5).astype(np.float32)
    geo = field.build_geometry(input_size, size)
    values, written = _whole_field(low, geo)
    ref = postprocess_logits_reference(torch.from_numpy(low), input_size, size)[0].numpy()
    assert (written == 1).all()  # the pieces tile the image
    assert np.array_equal(values, ref)


@pytest.mark.parametrize("input_size, size", SIZES[:4] + SIZES[6:])
def test_rows_and_columns_reproduce_torch(input_size: tuple[int, int], size: tuple[int, int]) -> None:
    low = (np.random.default_rng(2).standard_normal((256, 256)) * 5).astype(np.float32)
    geo = field.build_geometry(input_size, size)
    ref = postprocess_logits_reference(torch.from_numpy(low[None]), input_size, size)[0].numpy()
    for y in {0, 1, size[0] // 2, size[0] - 1}:
        assert np.array_equal(field.row_values(low, geo, y), ref[y])
    for x in {0, 1, size[1] // 3, size[1] - 1}:
        assert np.array_equal(field.column_values(low, geo, x), ref[:, x])


@pytest.mark.parametrize("input_size, size", [SIZES[0], SIZES[2], SIZES[6]])
def test_block_bounds_hold_every_pixel_and_decide_soundly(input_size: tuple[int, int], size: tuple[int, int]) -> None:
    rng = np.random.default_rng(3)
    low = (rng.standard_normal((2, 256, 256)) * 3).astype(np.float32)
    geo = field.build_geometry(input_size, size)
    bounds = field.block_bounds(low, geo)
    row_run = np.repeat(np.arange(geo.rows.run_start.shape[0]), geo.rows.run_count)
    col_run = np.repeat(np.arange(geo.cols.run_start.shape[0]), geo.cols.run_count)
    for b in range(2):
        ref = postprocess_logits_reference(torch.from_numpy(low[b : b + 1]), input_size, size)[0].numpy()
        assert (ref >= bounds.low[b][row_run][:, col_run]).all() and (ref <= bounds.high[b][row_run][:, col_run]).all()
        for t in (-1.0, 0.0, 0.5):
            above, below = (d[b][row_run][:, col_run] for d in bounds.decide(t))
            assert (ref[above] > t).all() and (ref[below] <= t).all()
            assert above.any() and below.any() and not (above & below).any()
