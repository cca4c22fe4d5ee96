"""NMS, small-region removal, grids and crop boxes, and the record encodings of the generator."""
from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from sam_backend.amg.layout import crop_boxes, near_crop_edge, point_grid
from sam_backend.amg.nms import box_nms
from sam_backend.amg.regions import remove_small_regions
from sam_backend.amg.rle import coco_rle, coco_rle_to_mask, column_major_runs, mask_box, uncompressed_rle
from tests.sam_backend._amg_support import plain_nms


# ------------------------------------------------------------------ NMS
def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]])
    scores = np.array([0.5, 0.9, 0.7, 0.8], np.float32)
    # IoU(1, 0) = IoU(1, 3) = 81/119 = 0.68: at 0.7 box 3 survives 1 and drops its copy 0
    assert box_nms(boxes, scores, 0.7).tolist() == [1, 3, 2]
    assert box_nms(boxes, scores, 0.5).tolist() == [1, 2]


def test_nms_iou_equal_to_threshold_is_kept_and_ties_keep_input_order() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [0, 0, 10, 10]])  # IoU(0, 1) = 50 / 150 = 1/3
    assert box_nms(boxes, np.ones(3, np.float32), 0.5).tolist() == [0, 1]
    assert box_nms(boxes[:2], np.ones(2, np.float32), np.float32(1 / 3)).tolist() == [0, 1]  # not greater: kept
    assert box_nms(boxes[:2], np.ones(2, np.float32), 0.3).tolist() == [0]
    assert box_nms(boxes, np.ones(3, np.float32), 1.0).tolist() == [0, 1, 2]  # threshold 1: NMS off, order by score


def test_nms_matches_plain_loop_on_random_boxes() -> None:
    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(0, 60))
        xy = rng.integers(0, 50, (n, 2))
        wh = rng.integers(0, 30, (n, 2))  # zero-size boxes too
        boxes = np.concatenate([xy, xy + wh], axis=1)
        scores = rng.integers(0, 5, n).astype(np.float32) / 4  # many ties
        for thr in (0.0, 0.3, 0.7):
            assert box_nms(boxes, scores, thr).tolist() == plain_nms(boxes, scores, thr), (trial, thr)


# ------------------------------------------------------------------ small regions
def _canvas() -> np.ndarray:
    m = np.zeros((40, 60), bool)
    m[5:30, 5:35] = True  # big square (750 px)
    m[10:12, 10:12] = False  # hole of 4 px
    m[15:22, 15:22] = False  # hole of 49 px
    m[35:37, 50:52] = True  # island of 4 px
    m[2, 40] = True  # island of 1 px
    m[3, 41] = True  # diagonal neighbour: same island under 8-connectivity (2 px)
    return m


def test_small_holes_are_filled_and_small_islands_dropped() -> None:
    m = _canvas()
    filled, changed = remove_small_regions(m, 10, "holes")
    assert changed and filled[10:12, 10:12].all() and not filled[15:22, 15:22].any()
    assert int(filled.sum()) == int(m.sum()) + 4
    cleaned, changed = remove_small_regions(filled, 3, "islands")
    assert changed and not cleaned[2, 40] and not cleaned[3, 41] and cleaned[35:37, 50:52].all()
    same, changed = remove_small_regions(cleaned, 3, "islands")
    assert not changed and same is cleaned


def test_all_islands_small_keeps_the_largest_and_border_holes_count() -> None:
    m = np.zeros((20, 20), bool)
    m[0:3, 0:3] = True  # 9 px
    m[10:12, 10:12] = True  # 4 px
    kept, changed = remove_small_regions(m, 100, "islands")
    assert changed and int(kept.sum()) == 9 and kept[0:3, 0:3].all()
    full = np.ones((10, 10), bool)
    full[0, 0:2] = False  # a 2-px background region on the border is a hole too
    filled, changed = remove_small_regions(full, 5, "holes")
    assert changed and filled.all()
    with pytest.raises(ValueError):
        remove_small_regions(m, 5, "gaps")


# ------------------------------------------------------------------ layout
def test_point_grid_is_cell_centres_x_fastest() -> None:
    g = point_grid(2)
    assert g.tolist() == [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]]
    assert point_grid(32).shape == (1024, 2) and point_grid(1).tolist() == [[0.5, 0.5]]


def test_crop_boxes_of_two_layers() -> None:
    boxes = crop_boxes((1000, 1500), 2, 512 / 1500)
    assert boxes[0] == ((0, 0, 1500, 1000), 0)
    # layer 1: overlap int(512/1500 * 1000 * 1) = 341; crop w ceil((341 + 1500) / 2) = 921, h ceil(1341 / 2) = 671
    assert [b for b, layer in boxes if layer == 1] == [(0, 0, 921, 671), (0, 330, 921, 1000), (580, 0, 1500, 671), (580, 330, 1500, 1000)]
    # layer 2: overlap int(512/1500 * 1000 / 2) = 170; crop w ceil((3 * 170 + 1500) / 4) = 503, h ceil(1510 / 4) = 378
    layer2 = [b for b, layer in boxes if layer == 2]
    assert len(layer2) == 16 and layer2[0] == (0, 0, 503, 378) and layer2[1] == (0, 208, 503, 586)
    assert layer2[-1] == (999, 624, 1500, 1000)


def test_near_crop_edge_ignores_image_edges() -> None:
    crop = (0, 330, 921, 1000)
    boxes = np.array([[5, 400, 100, 990], [100, 345, 200, 500], [100, 400, 905, 500], [100, 400, 200, 500]])
    assert near_crop_edge(boxes, crop, (1000, 1500)).tolist() == [False, True, True, False]


# ------------------------------------------------------------------ encodings
def test_encodings_round_trip_through_pycocotools() -> None:
    rng = np.random.default_rng(0)
    for mask in (rng.random((7, 9)) > 0.5, np.ones((3, 4), bool), np.zeros((5, 2), bool), _canvas()):
        un = uncompressed_rle(mask)
        assert un["size"] == list(mask.shape) and sum(un["counts"]) == mask.size
        assert sum(un["counts"][1::2]) == int(mask.sum())
        coco = coco_rle(mask)
        assert coco["counts"] == mask_utils.frPyObjects(un, *mask.shape)["counts"].decode()
        assert np.array_equal(coco_rle_to_mask(coco), mask)
        assert np.array_equal(mask_utils.decode(mask_utils.frPyObjects(un, *mask.shape)).astype(bool), mask)
    assert column_major_runs(np.array([[True, False], [True, True]])).tolist() == [0, 2, 1, 1]
    assert mask_box(_canvas()) == (5, 2, 51, 36) and mask_box(np.zeros((3, 3), bool)) == (0, 0, 0, 0)
