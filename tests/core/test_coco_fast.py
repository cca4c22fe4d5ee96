"""The fast COCO encoder (bbox-crop RLE decoding, batched corner tracing and number formatting)
writes exactly what the straightforward full-image path writes."""
from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mu

from app.core import codec
from app.core.formats.coco import coco_segment
from app.core.formats.coco_encode import Item, encode_items, format_ints, item_of_row
from app.core.formats.common import dumps
from app.core.geometry import mask_to_corner_polygons, mask_to_parts, parts_to_mask
from app.core.model import Annotation, Part
from app.core.rle import mask_to_rle, rle_to_mask
from tests.core.formats_support import fill_holes


def _random_mask(rng: np.random.Generator, h: int, w: int, kind: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    if kind == 0:  # noise: many parts, holes, diagonal pinches
        m = rng.random((h, w)) < rng.uniform(0.1, 0.7)
    elif kind == 1:  # one pixel, often on the border or in a corner
        m[int(rng.choice([0, h - 1, rng.integers(0, h)])), int(rng.choice([0, w - 1, rng.integers(0, w)]))] = True
    elif kind == 2:  # a ring (a hole) touching the borders
        m[:, :] = True
        if h > 2 and w > 2:
            m[1:-1, 1:-1] = False
            m[h // 2, :] = rng.random() < 0.5
    elif kind == 3:  # rectangles, some touching borders, some apart (multi-part)
        for _ in range(int(rng.integers(1, 4))):
            y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
            m[y0:y0 + int(rng.integers(1, h + 1)), x0:x0 + int(rng.integers(1, w + 1))] = True
    return m


def _reference(m: np.ndarray, masks: str, rle: dict | None) -> tuple[object, float, list[float]] | None:
    """(segmentation, area, bbox) from the full mask with app.core.geometry / pycocotools."""
    if not m.any():
        return None
    filled = fill_holes(m)
    holes = bool((filled != m).any())
    x, y, bw, bh = (float(v) for v in mu.toBbox(mu.encode(np.asfortranarray(m.astype(np.uint8)))))
    polys = []
    for ring in mask_to_corner_polygons(m):
        r = np.floor(np.asarray(ring).reshape(-1, 2) + 0.5).astype(int)
        polys.append(r[np.any(r != np.roll(r, 1, axis=0), axis=1)].ravel().tolist())
    if masks == "polygon" or (masks == "auto" and not holes):
        return polys, float((filled if masks == "polygon" else m).sum()), [x, y, bw, bh]
    if rle is not None and isinstance(rle["counts"], str):
        return dict(rle), float(m.sum()), [x, y, bw, bh]
    return mask_to_rle(m), float(m.sum()), [x, y, bw, bh]


@pytest.mark.parametrize("masks", ["auto", "rle", "polygon"])
def test_fast_encoder_writes_what_the_full_image_path_writes(masks: str) -> None:
    rng = np.random.default_rng({"auto": 1, "rle": 2, "polygon": 3}[masks])
    items: list[Item] = []
    sizes: dict[int, tuple[int, int, int]] = {}
    expected: list[str] = []
    skipped: list[str] = []
    for k in range(160):
        h, w = (int(v) for v in rng.integers(1, 36, 2))
        if k == 0:
            h, w = 2, 70_000  # coordinates beyond the digit table
        m = _random_mask(rng, h, w, k % 4) if k > 1 else np.zeros((h, w), bool)  # k == 1: empty
        if k == 0:
            m[1, 69_990:69_995] = True
        image_id = k + 1
        sizes[image_id] = (image_id * 10, h, w)
        store = k % 5
        if store == 3 and m.any():  # uncompressed counts
            counts = mu.encode(np.asfortranarray(m.astype(np.uint8)))
            runs = [int(c) for c in _runs(m)]
            assert mu.frPyObjects({"size": [h, w], "counts": runs}, h, w)["counts"] == counts["counts"]
            rle: dict | None = {"size": [h, w], "counts": runs}
        elif store == 4:  # no RLE of this size: the polygons are the truth
            parts = mask_to_parts(m, simplify=False) if m.any() else (Part(exterior=((-5.0, -5.0), (-4.0, -5.0),
                                                                                     (-4.0, -4.0))),)
            m = parts_to_mask(parts, h, w)
            rle = None if k % 2 else mask_to_rle(np.zeros((h + 1, w), bool))
            items.append(item_of_row((k, image_id, 7, 0, codec.encode_parts(parts), *_rle_cols(rle))))
        else:
            rle = mask_to_rle(m)
        if store != 4:
            items.append(item_of_row((k, image_id, 7, 0, codec.encode_parts(()), *_rle_cols(rle))))
        ref = _reference(m, masks, rle if store != 4 else None)
        if ref is not None and masks == "polygon" and bool((fill_holes(m) != m).any()):
            # outer rings of islands inside holes are kept too (redundant once filled): compare with
            # the one-annotation path, and check what pycocotools rasterises
            ann = Annotation(id=k, image_id=image_id, label_id=7, parts=parts if store == 4 else (),
                             rle=rle if store != 4 else None)
            ref = coco_segment(ann, h, w, masks, [])
            raster = mu.decode(mu.merge(mu.frPyObjects(ref[0], h, w))).astype(bool)
            assert (raster == fill_holes(m)).all() and ref[1] == float(fill_holes(m).sum())
        if ref is None:
            skipped.append(f"annotation {k}")
            continue
        seg, area, bbox = ref
        expected.append(dumps({"image_id": image_id * 10, "category_id": 3, "segmentation": seg, "area": area,
                               "bbox": bbox, "iscrowd": 0}, True)[1:])
    items.append((999, 12345, 7, mask_to_rle(np.ones((2, 2), bool)), ()))  # image left out: silently ignored
    fragments, skipped_got, filled, done = encode_items(items, sizes, {7: 3}, masks)
    assert done == len(items)
    assert [s for s, _ in skipped_got] == skipped and len(skipped) >= 1
    assert len(fragments) == len(expected)
    for i, (got, want) in enumerate(zip(fragments, expected)):
        assert got == want, i
    if masks == "polygon":
        assert filled  # the noise and ring masks have holes


def _rle_cols(rle: dict | None) -> tuple:
    h, w, counts = codec.encode_rle(rle)
    return h, w, counts


def _runs(m: np.ndarray) -> list[int]:
    """Uncompressed COCO counts: column-major runs, starting with a (possibly empty) zero run."""
    runs, cur, n = [], False, 0
    for v in m.ravel(order="F").tolist():
        if v == cur:
            n += 1
        else:
            runs.append(n)
            cur, n = v, 1
    runs.append(n)
    return runs


def test_format_ints_matches_str() -> None:
    rng = np.random.default_rng(5)
    for values in (rng.integers(0, 70_000, 3000), rng.integers(-10**12, 10**12, 3000), np.array([0, 9, 10, 65535])):
        text, start, end = format_ints(values)
        assert text == ",".join(map(str, values.tolist()))
        assert [text[a:b] for a, b in zip(start.tolist(), end.tolist())] == [str(v) for v in values.tolist()]


def test_uncompressed_reference_helper_is_right() -> None:
    m = np.array([[0, 1, 1], [1, 1, 0]], bool)
    assert rle_to_mask({"size": [2, 3], "counts": _runs(m)}).tolist() == m.tolist()


def test_parallel_blocks_are_renumbered_after_skipped_annotations(tmp_path, monkeypatch) -> None:
    """Workers number their blocks assuming nothing before them was skipped; an empty mask in an
    early image shifts every later id, and the file still equals the one-process export."""
    import json

    from app.core.formats import coco_parallel, export_coco
    from tests.core.formats_support import H, W, build_project

    project, _ = build_project(tmp_path)
    with project:
        first = project.images(offset=0, limit=1)[0]
        label = project.label_classes()[0].id
        project.add_annotation(Annotation(image_id=first.id, label_id=label, parts=(Part(exterior=(
            (1.0, 1.0), (3.0, 1.0), (3.0, 3.0))),), rle=mask_to_rle(np.zeros((H, W), bool))))
        monkeypatch.setattr(coco_parallel, "TASK_ANNOTATIONS", 2)
        one, two = tmp_path / "one.json", tmp_path / "two.json"
        r1 = export_coco(project, one, workers=1)
        r2 = export_coco(project, two, workers=2)
    a, b = json.loads(one.read_text(encoding="ascii")), json.loads(two.read_text(encoding="ascii"))
    a.pop("info"), b.pop("info")
    assert a == b and r1.skipped == r2.skipped and len(r1.skipped) == 1
    assert [x["id"] for x in b["annotations"]] == list(range(1, r2.annotations + 1))


def test_stored_rle_areas_and_boxes_in_batches_of_any_size() -> None:
    """pycocotools' area() fails on lists of 256+ RLEs under numpy 2: the batch is split."""
    from app.core.formats.coco_encode import _stored_rle_batch

    rng = np.random.default_rng(9)
    items: list[Item] = []
    masks = []
    for k in range(600):
        m = rng.random((6, 5)) < 0.3
        masks.append(m)
        items.append((k, 1, 7, mask_to_rle(m), ()))
    got = _stored_rle_batch(items, {1: (1, 6, 5)})
    assert len(got) == 600
    for k, m in enumerate(masks):
        if not m.any():
            assert got[k] == "its mask is empty"
            continue
        rle = mask_to_rle(m)
        assert got[k] == (rle, float(m.sum()), [float(v) for v in mu.toBbox(rle)])


def test_batched_counts_decoding_matches_one_by_one() -> None:
    from app.core.formats.masks import _compressed_counts, decode_counts_batch

    rng = np.random.default_rng(4)
    masks, counts = [], []
    for k in range(300):
        h, w = (int(v) for v in rng.integers(1, 200, 2))
        m = rng.random((h, w)) < rng.random() * (0.02 if k % 3 else 1.0)  # long and short runs
        if k % 11 == 0:
            m[:] = True
        masks.append(m)
        counts.append(mask_to_rle(m)["counts"])
    for m, one, batched in zip(masks, counts, decode_counts_batch(counts)):
        assert batched.tolist() == _compressed_counts(one).tolist()
        values = np.arange(batched.size) % 2 == 1  # runs alternate background, foreground
        assert (np.repeat(values, batched).reshape(m.shape, order="F") == m).all()


def test_raw_rows_follow_iter_annotations_and_image_ranges(tmp_path) -> None:
    from tests.core.formats_support import build_project

    project, _ = build_project(tmp_path)
    with project:
        full = [(a.id, a.image_id, a.label_id, a.z, a.rle) for a in project.iter_annotations()]
        rows = list(project.iter_annotation_rows(batch=2))  # several keyset pages
        assert [(r[0], r[1], r[2], r[3], codec.decode_rle(r[5], r[6], r[7])) for r in rows] == full
        assert [codec.decode_parts(r[4]) for r in rows] == [tuple(a.parts) for a in project.iter_annotations()]
        image = full[-1][1]
        ranged = [r[0] for r in project.iter_annotation_rows(image, image, batch=1)]
        assert ranged == [f[0] for f in full if f[1] == image] and ranged
