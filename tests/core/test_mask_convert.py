"""app.core.mask_convert: the picklable mask -> (packed polygons, RLE) call used by the GUI's helper process."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from app.core import codec
from app.core.geometry import mask_to_parts, parts_to_mask
from app.core.mask_convert import PackedMask, convert_mask, convert_packed
from app.core.model import Annotation
from app.core.outline import outline_of_annotation
from app.core.rle import rle_to_mask


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 9), (120, 161), (64, 64)])
def test_packed_mask_round_trips_any_shape(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    mask = rng.random(shape) > 0.5
    packed = pickle.loads(pickle.dumps(PackedMask.of(mask)))
    assert len(packed.bits) == (mask.size + 7) // 8  # 8 pixels a byte
    out = packed.unpack()
    assert out.dtype == np.bool_ and np.array_equal(out, mask)


def test_packed_mask_refuses_non_2d() -> None:
    with pytest.raises(ValueError, match="2-D"):
        PackedMask.of(np.zeros((2, 2, 2), bool))


def test_conversion_equals_the_direct_path_and_keeps_the_exact_mask() -> None:
    rng = np.random.default_rng(5)
    mask = np.zeros((90, 120), bool)
    mask[10:40, 10:70] = True
    mask[20:30, 20:30] = False  # a hole
    mask[60:62, 90:93] = True  # a speck
    mask |= rng.random(mask.shape) > 0.995  # scattered single pixels
    got = pickle.loads(pickle.dumps(convert_packed(PackedMask.of(mask))))
    assert got.geometry == codec.encode_parts(mask_to_parts(mask))
    poly = parts_to_mask(codec.decode_parts(got.geometry), 90, 120)  # simplified polygons (IoU >= 0.98)
    assert (poly & mask).sum() / (poly | mask).sum() >= 0.98
    assert got.rle is not None and np.array_equal(rle_to_mask(got.rle), mask)  # the exact mask
    # its outline, tied to the very RLE dict it came with (pickled together)
    assert got.outline == outline_of_annotation(Annotation(1, 1, (), got.rle), 90, 120)
    assert got.outline.source is got.rle and got.outline.holes and got.outline.area == int(mask.sum())


def test_empty_mask_converts_to_nothing() -> None:
    got = convert_mask(np.zeros((10, 10), bool))
    assert got.geometry is None and got.rle is None and got.outline is None
