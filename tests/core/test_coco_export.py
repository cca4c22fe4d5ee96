"""COCO export: formats.md 2.7 acceptance checks, encodings per mode, JSON hygiene, atomicity."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mu
from pycocotools.coco import COCO

from app.core.formats import Cancelled, export_coco
from app.core.formats import coco as coco_module
from app.core.formats.coco import compressed_rle, trace_corner
from app.core.masks import crop_of_mask, rle_crop
from app.core.geometry import mask_to_corner_polygons, mask_to_rle
from app.core.project import Project
from tests.core.formats_support import H, W, Scenes, build_project, fill_holes, iou, validate_coco


Built = tuple[Project, Scenes]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Built]:
    project, scenes = build_project(tmp_path)
    yield project, scenes
    project.close()


def _by_image(coco: COCO) -> dict[str, list[dict]]:
    return _by_image_raw(coco.dataset)


def _by_image_raw(dataset: dict) -> dict[str, list[dict]]:
    names = {i["id"]: i["file_name"] for i in dataset["images"]}
    out: dict[str, list[dict]] = {}
    for a in sorted(dataset["annotations"], key=lambda a: a["id"]):
        out.setdefault(names[a["image_id"]], []).append(a)
    return out


@pytest.mark.parametrize("masks", ["auto", "rle"])
def test_export_passes_the_consumer_checks_and_is_exact(project: Built, tmp_path: Path, masks: str) -> None:
    project, scenes = project
    out = tmp_path / "export" / "coco.json"
    report = export_coco(project, out, masks=masks)
    assert report.annotations == 9 and report.images == 2 and not report.skipped and not report.warnings
    coco = validate_coco(out)  # structure, pycocotools load, area/bbox consistency, COCOeval AP == 1.0
    by_image = _by_image(coco)
    assert sorted(by_image) == ["../a.png", "../sub/b.jpg"]  # relative to the JSON's folder
    cat_name = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    for rel, objs in scenes.items():
        anns = by_image["../" + rel]
        assert [cat_name[a["category_id"]] for a in anns] == [label for label, _ in objs]
        for a, (_, ref) in zip(anns, objs):
            assert iou(coco.annToMask(a), ref) == 1.0  # exact, tiny 1-4 px objects included
            assert a["area"] == float(ref.sum())


def test_auto_mode_uses_rle_only_for_holes(project: Built, tmp_path: Path) -> None:
    project, scenes = project
    out = tmp_path / "coco.json"
    export_coco(project, out)
    validate_coco(out)  # (COCOeval converts the loaded segmentations to RLE in place)
    anns = _by_image_raw(json.loads(out.read_text(encoding="ascii")))
    kinds = [type(a["segmentation"]).__name__ for a in anns["a.png"]]
    assert kinds == ["dict", "list", "list", "list", "list", "list"]  # ring has a hole
    assert len(anns["a.png"][1]["segmentation"]) == 2  # two-part object: two polygons, one annotation
    assert all(isinstance(a["segmentation"], list) for a in anns["sub/b.jpg"])
    tri = anns["sub/b.jpg"][2]  # the manual polygon (no stored RLE) is rasterised then traced
    raster = mu.decode(mu.merge(mu.frPyObjects(tri["segmentation"], H, W)))
    assert iou(raster, scenes["sub/b.jpg"][2][1]) == 1.0


def test_polygon_mode_fills_holes_and_says_so(project: Built, tmp_path: Path) -> None:
    project, scenes = project
    out = tmp_path / "poly.json"
    report = export_coco(project, out, masks="polygon")
    assert len(report.warnings) == 1 and "holes" in report.warnings[0]
    coco = validate_coco(out)
    anns = _by_image(coco)
    raw = _by_image_raw(json.loads(out.read_text(encoding="ascii")))
    assert all(isinstance(a["segmentation"], list) for lst in raw.values() for a in lst)
    ring = scenes["a.png"][0][1]
    got = coco.annToMask(anns["a.png"][0]).astype(bool)
    assert (got == fill_holes(ring)).all() and got.sum() > ring.sum()
    assert anns["a.png"][0]["area"] == float(got.sum())  # area describes what was written


def test_json_hygiene_ids_and_categories(project: Built, tmp_path: Path) -> None:
    project, _ = project
    out = tmp_path / "c.json"
    export_coco(project, out)
    raw = out.read_bytes()
    assert max(raw) < 128  # ensure_ascii: pycocotools reads with the locale encoding
    assert b"NaN" not in raw and b"Infinity" not in raw
    d = json.loads(raw)
    assert [(c["id"], c["name"]) for c in d["categories"]] == [
        (1, "猫"), (2, "Größe"), (3, "dot"), (4, "box"), (5, "unused")]
    assert [a["id"] for a in d["annotations"]] == list(range(1, 10))
    assert [i["id"] for i in d["images"]] == [1, 2]
    assert all(type(a["area"]) is float for a in d["annotations"])
    assert {"info", "licenses", "categories", "images", "annotations"} <= set(d)


def test_cancel_keeps_the_previous_file_and_leaves_no_temp(project: Built, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    project, _ = project
    monkeypatch.setattr(coco_module, "_CHUNK", 2)  # several progress steps even for 9 annotations
    out = tmp_path / "c.json"
    out.write_text("previous export", encoding="utf-8")
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        cancel.set()

    with pytest.raises(Cancelled):
        export_coco(project, out, progress=progress, cancel=cancel)
    assert seen == [(2, 9)]  # cancelled at the next step
    assert out.read_text(encoding="utf-8") == "previous export"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".c.json")) == []
    done: list[tuple[int, int]] = []
    export_coco(project, out, progress=lambda d, t: done.append((d, t)))
    assert done[-1] == (9, 9)


def test_bad_mode_and_folder_target_are_refused(project: Built, tmp_path: Path) -> None:
    project, _ = project
    with pytest.raises(ValueError, match="auto, rle, polygon"):
        export_coco(project, tmp_path / "x.json", masks="mask")
    with pytest.raises(ValueError, match="is a folder"):
        export_coco(project, tmp_path)


def test_rle_helpers_agree_with_pycocotools() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        m = rng.random((h, w)) < rng.random() * 0.6
        rle = mask_to_rle(m)
        got = rle_crop(rle)
        if not m.any():
            assert got is None
            continue
        crop, x0, y0 = got
        x, y, bw, bh = mu.toBbox(rle)
        assert (x0, y0, crop.shape[1], crop.shape[0]) == (x, y, bw, bh)
        assert (crop == m[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]]).all()
        uncompressed = {"size": [h, w], "counts": [int(c) for c in _runs(m)]}
        assert compressed_rle(uncompressed) == rle


def _runs(m: np.ndarray) -> list[int]:
    """Uncompressed COCO counts: column-major runs, starting with a (possibly empty) zero run."""
    runs, cur, n = [], False, 0
    for v in m.ravel(order="F"):
        if bool(v) == cur:
            n += 1
        else:
            runs.append(n)
            cur, n = bool(v), 1
    runs.append(n)
    return runs


def test_corner_tracing_is_exact_under_pycocotools_and_detects_holes() -> None:
    """Random masks (noise, specks, thin lines): the traced corner polygons rasterise in
    pycocotools to exactly the hole-filled mask, and holes are reported iff filling changes it."""
    rng = np.random.default_rng(11)
    for i in range(150):
        h, w = (int(v) for v in rng.integers(2, 30, 2))
        m = rng.random((h, w)) < rng.random() * 0.8
        got = crop_of_mask(m)
        if got is None:
            continue
        crop, x0, y0 = got
        polys, holes = trace_corner(crop, x0, y0)
        assert all(len(p) >= 8 and len(p) % 2 == 0 for p in polys)
        raster = mu.decode(mu.merge(mu.frPyObjects(polys, h, w))).astype(bool)
        assert (raster == fill_holes(m)).all(), i
        assert holes == bool((fill_holes(m) != m).any()), i
        assert all(type(v) is int for p in polys for v in p)
        x, y, bw, bh = mu.toBbox(mu.encode(np.asfortranarray(m.astype(np.uint8))))
        xs = [v for p in polys for v in p[0::2]]
        ys = [v for p in polys for v in p[1::2]]
        assert (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)) == (x, y, bw, bh)
        # app.core.geometry's rings (0.25 px inside the pixel edges) round onto these corners
        for ring in mask_to_corner_polygons(m):
            r = np.floor(np.asarray(ring).reshape(-1, 2) + 0.5).astype(int)
            r = r[np.any(r != np.roll(r, 1, axis=0), axis=1)]
            assert r.ravel().tolist() in polys


def test_worker_processes_write_the_same_file(project: Built, tmp_path: Path) -> None:
    project, _ = project
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    export_coco(project, one, workers=1)
    report = export_coco(project, two, workers=2)
    assert report.annotations == 9
    a, b = json.loads(one.read_text(encoding="ascii")), json.loads(two.read_text(encoding="ascii"))
    a.pop("info"), b.pop("info")
    assert a == b


def test_only_labelled_or_done_images_are_exported(project: Built, tmp_path: Path) -> None:
    project, _ = project
    project.add_image("new.png", W, H)
    done = project.add_image("empty_done.png", W, H)
    project.set_image_status(done.id, "done")
    out = tmp_path / "c.json"
    report = export_coco(project, out)
    names = [i["file_name"] for i in json.loads(out.read_text(encoding="ascii"))["images"]]
    assert names == ["a.png", "empty_done.png", "sub/b.jpg"] and report.images == 3
    assert report.warnings == ["1 image(s) without annotations and not marked done were left out."]


def test_automatic_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.formats import coco_parallel

    monkeypatch.setattr(coco_parallel.os, "cpu_count", lambda: 16)
    assert coco_parallel.auto_workers(1_000_000, "auto") == coco_parallel.MAX_WORKERS
    assert coco_parallel.auto_workers(1_000_000, "rle") == 1  # nothing to decode: one process is faster
    assert coco_parallel.auto_workers(1_000, "auto") == 1
    monkeypatch.setattr(coco_parallel.os, "cpu_count", lambda: 2)
    assert coco_parallel.auto_workers(1_000_000, "polygon") == 2  # the caller mostly waits: both cores convert
    monkeypatch.setattr(coco_parallel.os, "cpu_count", lambda: 1)
    assert coco_parallel.auto_workers(1_000_000, "polygon") == 1
