"""AutomaticMaskGenerator on synthetic decoders whose masks are known shapes: its records equal
those of the reference algorithm stated plainly (full-resolution logits for every candidate,
`oracle_generate`) for every parameter family, and its API behaves (modes, progress, cancel,
errors)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from sam_backend import AutomaticMaskGenerator, MaskGenerationCancelled
from tests.sam_backend._amg_support import ShapeDecoder, assert_same_records, oracle_generate

SMALL = np.zeros((150, 200, 3), np.uint8)  # model input 768 x 1024: the image is a downscale
LARGE = np.zeros((1100, 1300, 3), np.uint8)  # an upscale (1100 > 867 rows of model input)


def _both(decoder_args: dict, image: np.ndarray, **params: object) -> tuple[list, list]:
    ours = AutomaticMaskGenerator(ShapeDecoder(**decoder_args), **params).generate(image)
    return ours, oracle_generate(ShapeDecoder(**decoder_args), image, **params)


@pytest.mark.parametrize(
    "decoder_args, params",
    [
        ({}, dict(points_per_side=5)),  # reference defaults: few survive
        ({}, dict(points_per_side=5, pred_iou_thresh=0.0, stability_score_thresh=0.0)),
        ({"slope": 0.4}, dict(points_per_side=5, pred_iou_thresh=0.7, stability_score_thresh=0.6, stability_score_offset=2.0)),
        ({"snap": 85.0}, dict(points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0)),
        ({"snap": 30.0, "radii": (20.0, 40.0, 60.0)}, dict(points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0,
                                                          box_nms_thresh=0.3)),
        ({"noise": 0.6, "radii": (8.0, 20.0, 50.0)}, dict(points_per_side=3, pred_iou_thresh=0.0, stability_score_thresh=0.0)),
    ],
    ids=["defaults", "permissive", "offset", "duplicates-nms", "strict-nms", "noisy"],
)
def test_records_equal_plain_reference(decoder_args: dict, params: dict) -> None:
    ours, expected = _both(decoder_args, SMALL, **params)
    assert_same_records(ours, expected)
    assert len(ours) > 0


def test_nms_removes_duplicates() -> None:
    params = dict(points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    # 6 x 6 points snapped to 4 x 3 disc centres 85 low-res cells apart, 3 disc sizes each:
    # 36 different masks, most drawn several times
    no_nms = AutomaticMaskGenerator(ShapeDecoder(snap=85.0), **params, box_nms_thresh=1.0).generate(SMALL)
    nms = AutomaticMaskGenerator(ShapeDecoder(snap=85.0), **params).generate(SMALL)
    assert len(no_nms) == 108 and len({tuple(r["bbox"]) for r in no_nms}) == 36
    assert len(nms) == 36 and len({tuple(r["bbox"]) for r in nms}) == 36
    for r in nms:  # each survivor is the best-scored copy of its mask
        copies = [o["predicted_iou"] for o in no_nms if o["bbox"] == r["bbox"]]
        assert r["predicted_iou"] == max(copies)
    assert [r["predicted_iou"] for r in nms] == sorted((r["predicted_iou"] for r in nms), reverse=True)


@pytest.mark.parametrize(
    "params",
    [
        dict(points_per_side=4, crop_n_layers=1, pred_iou_thresh=0.0, stability_score_thresh=0.0),
        dict(points_per_side=4, crop_n_layers=2, crop_n_points_downscale_factor=2, pred_iou_thresh=0.6,
             stability_score_thresh=0.5, crop_overlap_ratio=0.2, crop_nms_thresh=0.5),
    ],
    ids=["one-layer", "two-layers-downscaled"],
)
def test_crop_layers_equal_plain_reference(params: dict) -> None:
    ours, expected = _both({"radii": (6.0, 15.0, 40.0)}, SMALL, **params)
    assert_same_records(ours, expected)
    crops = {tuple(r["crop_box"]) for r in ours}
    assert (0, 0, 200, 150) in crops and len(crops) > 1  # masks kept from the image and from crops


def test_crop_points_and_edge_filter() -> None:
    decoder = ShapeDecoder(radii=(6.0, 15.0, 40.0))
    params = dict(points_per_side=4, crop_n_layers=1, crop_n_points_downscale_factor=2,
                  pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0, crop_nms_thresh=1.0)
    records = AutomaticMaskGenerator(decoder, **params).generate(SMALL)
    # overlap int(512/1500 * 150) = 51 px; crops ceil((51 + 200) / 2) = 126 x ceil((51 + 150) / 2) = 101 px at x 0|75, y 0|50
    assert decoder.encoded == [(150, 200), (101, 126), (100, 126), (101, 125), (100, 125)]
    assert decoder.decoded_points == 16 + 4 * 4  # layer 1: 4 / 2 = 2 points per side
    inner = [r for r in records if r["crop_box"] != [0, 0, 200, 150]]
    assert inner, "crop masks away from the crop edges survive"
    for r in inner:
        x, y, w, h = r["bbox"]
        cx, cy, cw, ch = r["crop_box"]
        for v, edge, image_edge in ((x, cx, 0), (y, cy, 0), (x + w, cx + cw, 200), (y + h, cy + ch, 150)):
            assert abs(v - edge) > 20 or abs(v - image_edge) <= 20


def test_small_regions_equal_plain_reference() -> None:
    params = dict(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0, min_mask_region_area=60)
    ours, expected = _both({"holes": True, "radii": (4.0, 14.0, 30.0)}, SMALL, **params)
    assert_same_records(ours, expected)
    plain = AutomaticMaskGenerator(ShapeDecoder(holes=True, radii=(4.0, 14.0, 30.0)), **{**params, "min_mask_region_area": 0}).generate(SMALL)
    assert len(ours) < len(plain) or sum(r["area"] for r in ours) != sum(r["area"] for r in plain)


def test_upscaled_image_equals_plain_reference() -> None:
    ours, expected = _both({"radii": (10.0, 25.0, 70.0)}, LARGE, points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    assert_same_records(ours, expected)
    assert ours[0]["segmentation"].shape == (1100, 1300)


@pytest.mark.parametrize("mode", ["uncompressed_rle", "coco_rle"])
def test_output_modes_encode_the_binary_masks(mode: str) -> None:
    params = dict(points_per_side=3, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    binary = AutomaticMaskGenerator(ShapeDecoder(), **params).generate(SMALL)
    encoded = AutomaticMaskGenerator(ShapeDecoder(), **params, output_mode=mode).generate(SMALL)
    assert len(encoded) == len(binary) > 0
    for a, b in zip(encoded, binary):
        seg = a["segmentation"]
        assert isinstance(seg, dict) and seg["size"] == [150, 200]
        rle = mask_utils.frPyObjects(seg, 150, 200) if mode == "uncompressed_rle" else {**seg, "counts": seg["counts"].encode()}
        assert np.array_equal(mask_utils.decode(rle).astype(bool), b["segmentation"])
        assert int(mask_utils.area(rle)) == a["area"] == b["area"]
        assert {k: v for k, v in a.items() if k != "segmentation"} == {k: v for k, v in b.items() if k != "segmentation"}


def test_progress_and_cancel() -> None:
    seen: list[tuple[int, int]] = []
    gen = AutomaticMaskGenerator(ShapeDecoder(), points_per_side=4, points_per_batch=5, crop_n_layers=1)
    gen.generate(SMALL, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(d, 80) for d in (5, 10, 15, 16, 21, 26, 31, 32, 37, 42, 47, 48, 53, 58, 63, 64, 69, 74, 79, 80)]
    event = threading.Event()

    def stop_after_two(done: int, total: int) -> None:
        if done >= 10:
            event.set()

    decoder = ShapeDecoder()
    with pytest.raises(MaskGenerationCancelled):
        AutomaticMaskGenerator(decoder, points_per_side=4, points_per_batch=5).generate(SMALL, progress=stop_after_two, cancel=event)
    assert decoder.decoded_points == 10
    with pytest.raises(MaskGenerationCancelled):
        AutomaticMaskGenerator(ShapeDecoder(), points_per_side=4).generate(SMALL, cancel=lambda: True)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(points_per_side=None), "exactly one of points_per_side and point_grids"),
        (dict(point_grids=[np.zeros((2, 2))]), "exactly one"),
        (dict(output_mode="png"), "unknown output_mode"),
        (dict(points_per_batch=0), "points_per_batch"),
        (dict(pred_iou_thresh=float("nan")), "pred_iou_thresh"),
        (dict(points_per_side=None, point_grids=[np.zeros((3, 3))]), "point_grids[0]"),
        (dict(points_per_side=None, point_grids=[np.zeros((2, 2))], crop_n_layers=1), "needs 2"),
        (dict(points_per_side=2, crop_n_layers=2, crop_n_points_downscale_factor=2), "no points"),
    ],
)
def test_bad_parameters_are_refused_in_one_sentence(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        AutomaticMaskGenerator(ShapeDecoder(), **params)
    with pytest.raises(TypeError):
        AutomaticMaskGenerator(object())  # type: ignore[arg-type]


def test_explicit_point_grids() -> None:
    grid = np.array([[0.5, 0.5], [0.1, 0.9]])
    records = AutomaticMaskGenerator(ShapeDecoder(), points_per_side=None, point_grids=[grid], pred_iou_thresh=0.0,
                                     stability_score_thresh=0.0, box_nms_thresh=1.0).generate(SMALL)
    assert sorted({tuple(r["point_coords"][0]) for r in records}) == [(20.0, 135.0), (100.0, 75.0)]
