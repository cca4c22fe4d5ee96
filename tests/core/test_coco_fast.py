"""The fast COCO encoder (rows in, stored or batch-computed outlines, vectorised text) writes exactly
what the straightforward full-image path writes."""
from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mu

from app.core import codec, outline
from app.core.formats.coco import coco_segment
from app.core.formats.coco_encode import Context, encode_rows
from app.core.formats.coco_text import format_ints, polygon_texts
from app.core.formats.common import dumps
from app.core.geometry import mask_to_corner_polygons, mask_to_parts, parts_to_mask
from app.core.model import Annotation, Part
from app.core.rle import mask_to_rle, rle_to_mask
from tests.core.formats_support import fill_holes, random_mask as _random_mask


def row_of(ann_id: int, image_id: int, label_id: int, parts: tuple, rle: dict | None, stored: object = None,
           shape: str = "", extra: str | None = None) -> tuple:
    """A Project.iter_annotation_rows tuple; ``stored``: an Outline to store with it (or None)."""
    return (ann_id, image_id, label_id, 0, codec.encode_parts(parts), *codec.encode_rle(rle), shape, None, extra,
            None if stored is None else outline.to_bytes(stored), None, "", None, None)


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
    rows: list[tuple] = []
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
        parts: tuple = ()
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
        else:
            rle = mask_to_rle(m)
        # every other row has its outline stored (for this size, or for another one: ignored)
        stored = None
        if k % 2 == 0:
            stored = outline.outlines([(rle, parts, h, w)])[0]
        elif k % 7 == 1:
            stored = outline.outlines([(rle, parts, h + 1, w)])[0]
        rows.append(row_of(k, image_id, 7, parts, rle, stored if not isinstance(stored, str) else None))
        ref = _reference(m, masks, rle if store != 4 else None)
        if ref is not None and masks == "polygon" and bool((fill_holes(m) != m).any()):
            # outer rings of islands inside holes are kept too (redundant once filled): compare with
            # the one-annotation path, and check what pycocotools rasterises
            ann = Annotation(id=k, image_id=image_id, label_id=7, parts=parts, rle=rle if store != 4 else None)
            ref = coco_segment(ann, h, w, masks, [])
            raster = mu.decode(mu.merge(mu.frPyObjects(ref[0], h, w))).astype(bool)
            assert (raster == fill_holes(m)).all() and ref[1] == float(fill_holes(m).sum())
        if ref is None:
            skipped.append(f"annotation {k}")
            continue
        seg, area, bbox = ref
        expected.append(dumps({"image_id": image_id * 10, "category_id": 3, "segmentation": seg, "area": area,
                               "bbox": bbox, "iscrowd": 0}, True)[1:])
    rows.append(row_of(999, 12345, 7, (), mask_to_rle(np.ones((2, 2), bool))))  # image left out: silently
    chunk = encode_rows(rows, Context(sizes, {7: 3}, masks))
    assert chunk.done == len(rows) and chunk.kept_ids == [None] * len(expected) and not chunk.tallies
    assert [s for s, _ in chunk.skipped] == skipped and len(skipped) >= 1
    assert len(chunk.fragments) == len(expected)
    for i, (got, want) in enumerate(zip(chunk.fragments, expected)):
        assert got == want, i
    if masks == "polygon":
        assert chunk.filled  # the noise and ring masks have holes
    # any split into chunks writes the same
    halves = encode_rows(rows[:77], Context(sizes, {7: 3}, masks)).fragments + \
        encode_rows(rows[77:], Context(sizes, {7: 3}, masks)).fragments
    assert halves == chunk.fragments


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


@pytest.mark.parametrize("high", [70_000, 65_536, 1000])
def test_polygon_texts_match_json(high: int) -> None:
    """The table path (all values < 65536) and the general one write what json writes, empty rings
    and items without rings included."""
    rng = np.random.default_rng(high)
    per_item = [int(n) for n in rng.integers(0, 4, 200)]
    rings = [rng.integers(0, high, 2 * int(n)) for n in rng.integers(0, 9, sum(per_item))]
    flat = np.concatenate(rings) if rings else np.zeros(0, np.int64)
    got = polygon_texts(flat, np.array([r.size for r in rings]), per_item)
    k = 0
    for n, text in zip(per_item, got):
        assert text == dumps([r.tolist() for r in rings[k:k + n]], True)
        k += n


def test_uncompressed_reference_helper_is_right() -> None:
    m = np.array([[0, 1, 1], [1, 1, 0]], bool)
    assert rle_to_mask({"size": [2, 3], "counts": _runs(m)}).tolist() == m.tolist()


def test_worker_processes_write_the_one_process_file_after_skipped_annotations(tmp_path, monkeypatch) -> None:
    """Tasks of 2 rows in worker processes: an empty mask in an early image and line shapes shift
    every later id, and the file still equals the one-process export."""
    import json

    from app.core.formats import coco_parallel, export_coco
    from tests.core.formats_support import H, W, build_project

    project, _ = build_project(tmp_path)
    with project:
        first = project.images(offset=0, limit=1)[0]
        label = project.label_classes()[0].id
        project.add_annotation(Annotation(image_id=first.id, label_id=label, parts=(Part(exterior=(
            (1.0, 1.0), (3.0, 1.0), (3.0, 3.0))),), rle=mask_to_rle(np.zeros((H, W), bool))))
        project.add_annotation(Annotation(image_id=first.id, label_id=label, parts=(), shape="line",
                                          points=((1.0, 1.0), (5.0, 4.0))))
        monkeypatch.setattr(coco_parallel, "TASK_ROWS", 2)
        one, two = tmp_path / "one.json", tmp_path / "two.json"
        r1 = export_coco(project, one, workers=1)
        r2 = export_coco(project, two, workers=2)
    a, b = json.loads(one.read_text(encoding="ascii")), json.loads(two.read_text(encoding="ascii"))
    a.pop("info"), b.pop("info")
    assert a == b and r1.skipped == r2.skipped and len(r1.skipped) == 1
    assert r1.tally_lines() == r2.tally_lines() == ["1 line shape(s) (point/line/linestrip) not in COCO"]
    assert [x["id"] for x in b["annotations"]] == list(range(1, r2.annotations + 1))


def test_stored_rle_areas_and_boxes_in_batches_of_any_size() -> None:
    """pycocotools' area() fails on lists of 256+ RLEs under numpy 2: the batch is split."""
    from app.core.formats.coco_encode import _numbers, _rle_text, _stored_rle_batch

    rng = np.random.default_rng(9)
    masks = [rng.random((6, 5)) < 0.3 for _ in range(600)]
    got = _stored_rle_batch([mask_to_rle(m) for m in masks])
    assert got is not None and len(got) == 600
    for k, m in enumerate(masks):
        if not m.any():
            assert got[k] == "its mask is empty"
            continue
        rle = mask_to_rle(m)
        assert got[k] == (_rle_text(6, 5, rle["counts"]), _numbers(float(m.sum()), [float(v) for v in mu.toBbox(rle)]))


def test_batched_counts_decoding_matches_one_by_one() -> None:
    from app.core.masks import _compressed_counts, decode_counts_batch

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
    from app.core.project_annotations import ROW_FIELDS
    from tests.core.formats_support import build_project

    project, _ = build_project(tmp_path)
    with project:
        full = list(project.iter_annotations())
        rows = list(project.iter_annotation_rows(batch=2))  # several keyset pages
        assert all(len(r) == len(ROW_FIELDS) for r in rows)
        assert [(r[0], r[1], r[2], r[3], codec.decode_rle(r[5], r[6], r[7]), r[8]) for r in rows] == \
            [(a.id, a.image_id, a.label_id, a.z, a.rle, a.shape) for a in full]
        assert [codec.decode_parts(r[4]) for r in rows] == [tuple(a.parts) for a in full]
        assert [outline.from_bytes(r[11], a.rle, a.parts) for r, a in zip(rows, full)] == [a.outline for a in full]
        image = full[-1].image_id
        ranged = [r[0] for r in project.iter_annotation_rows(image, image, batch=1)]
        assert ranged == [a.id for a in full if a.image_id == image] and ranged
