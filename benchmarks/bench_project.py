"""Project store at scale: build a synthetic project (default 100 000 images, 1 000 000 annotations)
and time opening, paging, counting, single edits and (when the exporter exists) COCO export.

Prints one JSON object. Usage:
    nice python benchmarks/bench_project.py [--images N] [--annotations M] [--dir D] [--keep] [--no-export]
                                            [--masks auto,rle] [--provenance F] [--workers N]
    nice python benchmarks/bench_project.py --export-only D/bench.samlabel [--masks auto,rle] [--workers N]
Targets (design.md): open < 2 s, COCO export < 60 s (issue 9: file <= 1.5 GB and COCO export
<= 45 s at 100 000 images / 1 000 000 annotations). The build stores every annotation's outline
(app.core.outline, computed by the store, ~0.15-0.25 ms each), so the export unpacks and formats
them; a project written by an older version (no stored outlines) is migrated by one writable open
and then exports by computing them (several processes). ``--provenance F``: a fraction F of the
annotations carry what a COCO import keeps (app.core.formats.provenance: id, iscrowd, unknown keys,
the segmentation as written - polygons for 3 in 4, "rle" with iscrowd 1 for the others - area,
bbox, geometry fingerprint; one in 10 of them as if edited since), like a project that imported a
COCO file; categories and images then carry kept ids too.
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from app.core.model import Annotation, ImageRecord, Part
from app.core.project import Project

W, H = 640, 480


def _templates(count: int, rng: random.Random) -> list[tuple[tuple[Part, ...], dict]]:
    """Realistic shapes: a random blob mask, its contour simplified to 20-40 points, its COCO RLE."""
    out: list[tuple[tuple[Part, ...], dict]] = []
    while len(out) < count:
        mask = np.zeros((H, W), np.uint8)
        cx, cy = rng.uniform(80, W - 80), rng.uniform(80, H - 80)
        r = rng.uniform(20, 70)
        n = 24
        pts = [(cx + r * (1 + 0.35 * rng.uniform(-1, 1)) * math.cos(2 * math.pi * k / n),
                cy + r * (1 + 0.35 * rng.uniform(-1, 1)) * math.sin(2 * math.pi * k / n)) for k in range(n)]
        cv2.fillPoly(mask, [np.round(np.array(pts)).astype(np.int32)], 1)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        contour = max(contours, key=len)[:, 0, :]
        step = max(1, len(contour) // rng.randint(20, 40))
        ring = tuple((float(x), float(y)) for x, y in contour[::step])
        if len(ring) < 3:
            continue
        rle = mask_utils.encode(np.asfortranarray(mask.astype(bool)))
        out.append(((Part(exterior=ring),), {"size": [H, W], "counts": rle["counts"].decode("ascii")}))
    return out


def _with_provenance(ann: Annotation, k: int) -> Annotation:
    """``ann`` as a COCO import would have stored it, as the k-th such one (see the module doc)."""
    from app.core.formats.provenance import geometry_fingerprint

    rle = ann.rle
    assert rle is not None
    area = float(mask_utils.area(rle))
    bbox = [float(v) for v in mask_utils.toBbox(rle)]
    if k % 4:
        seg: object = [[round(v + 0.5, 2) for pt in ann.parts[0].exterior for v in pt]]
        ann = ann.with_(shape="polygon")
        crowd = 0
    else:
        seg, crowd = "rle", 1
        ann = ann.with_(shape="mask")
    geom = geometry_fingerprint(ann) if k % 10 else "edited-since"
    kept = {"id": 10 * k + 3, "iscrowd": crowd, "keys": {"attributes": {"occluded": bool(k % 3)}},
            "segmentation": seg, "area": area, "bbox": bbox, "geom": geom}
    return ann.with_(extra={"coco": kept}, source="import")


def build(path: Path, n_images: int, n_anns: int, seed: int = 7, provenance: float = 0.0) -> dict:
    """Create the synthetic project; returns timings and shape statistics."""
    rng = random.Random(seed)
    templates = _templates(200, rng)
    every = round(1 / provenance) if provenance > 0 else 0
    t0 = time.perf_counter()
    statuses = ("new", "in_progress", "done")
    with Project.create(path) as p:
        labels = [p.add_label_class(f"class_{k:02}").id for k in range(20)]
        p.bulk_insert_images(
            ImageRecord(id=0, path=f"batch_{i // 1000:03}/img_{i:06}.jpg", width=W, height=H,
                        status=statuses[i % 3] if i % 10 == 0 else "new",
                        extra={"coco": {"id": 7 * i + 1, "file_name": f"img_{i:06}.jpg",
                                        "keys": {"license": 1, "coco_url": f"http://x/{i}.jpg"}}} if every else {})
            for i in range(n_images))
        if every:
            for label in labels:
                lc = p.label_class(label)
                p.update_label_class(replace(lc, extra={"coco": {"id": 100 + lc.order, "supercategory": "thing",
                                                                 "keys": {}}}))
            p.set_meta("coco.info", json.dumps({"description": "imported", "year": 2017}))
            p.set_meta("coco.licenses", json.dumps([{"id": 1, "name": "CC", "url": ""}]))
        t_images = time.perf_counter() - t0
        annotated = max(1, int(n_images * 0.8))

        def anns() -> Iterator[Annotation]:
            for k in range(n_anns):
                parts, rle = templates[k % len(templates)]
                ann = Annotation(image_id=1 + (k * 7919) % annotated, label_id=labels[k % len(labels)],
                                 parts=parts, rle=rle, z=k % 5, source="sam", score=0.9)
                yield _with_provenance(ann, k // every) if every and k % every == 0 else ann

        p.bulk_insert_annotations(anns())
        p.checkpoint()
    points = [len(t[0][0].exterior) for t in templates]
    rle_len = [len(t[1]["counts"]) for t in templates]
    return {"build_s": round(time.perf_counter() - t0, 2), "build_images_s": round(t_images, 2),
            "provenance_fraction": round(1 / every, 3) if every else 0.0,
            "polygon_points_min_mean_max": [min(points), round(sum(points) / len(points), 1), max(points)],
            "rle_chars_min_mean_max": [min(rle_len), round(sum(rle_len) / len(rle_len), 1), max(rle_len)]}


def _timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    value = fn()
    return round(time.perf_counter() - t, 4), value


def measure(path: Path, export: bool, export_limit: float = 600.0, masks: tuple[str, ...] = ("auto",),
            workers: int | None = None) -> dict:
    """Open/paging/count/edit timings on an existing project, plus COCO export (each mode of
    ``masks``) when available."""
    res: dict = {}
    res["open_s"], p = _timed(lambda: Project.open(path))
    with p:
        res["image_count_s"], n = _timed(p.image_count)
        res["status_counts_s"], counts = _timed(p.status_counts)
        res["annotation_count_s"], _ = _timed(p.annotation_count)
        res["annotation_counts_by_image_s"], _ = _timed(p.annotation_counts_by_image)
        res["status_counts"] = counts
        pages = 1000
        last = max(0, int(n) - 100)
        t = time.perf_counter()
        for k in range(pages):
            page = p.images(offset=last * k // pages, limit=100)
            assert page, "an empty page"
        res["paging_1000_pages_of_100_s"] = round(time.perf_counter() - t, 3)
        res["last_page_s"], _ = _timed(lambda: p.images(offset=int(n) - 100, limit=100))
        ids = [r.id for r in p.images(offset=int(n) // 2, limit=200)]
        res["load_annotations_of_200_images_s"], _ = _timed(lambda: [p.annotations(i) for i in ids])
        img = ids[0]
        label = p.label_classes()[0].id
        part = Part(exterior=tuple((float(x), float(x % 7)) for x in range(30)))
        t = time.perf_counter()
        for _ in range(100):
            p.add_annotation(Annotation(image_id=img, label_id=label, parts=(part,)))
        res["add_annotation_commit_ms"] = round((time.perf_counter() - t) * 10, 3)
        t = time.perf_counter()
        streamed = sum(1 for _ in p.iter_annotations())
        res["iter_all_annotations_s"] = round(time.perf_counter() - t, 2)  # Annotation objects (exports read rows)
        res["iter_annotations_per_s"] = round(streamed / max(res["iter_all_annotations_s"], 1e-9))
    res["file_size_mb"] = round(path.stat().st_size / 1e6, 1)
    res["coco_export"] = ([_export(path, export_limit, m, workers) for m in masks] if export
                          else {"s": None, "reason": "skipped by --no-export"})
    return res


def _cpu_s() -> float:
    """CPU seconds of this process and its finished child processes (export workers)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _export(path: Path, limit_s: float, masks: str = "auto", workers: int | None = None) -> dict:
    """Time export_coco (``masks``, default "auto"); cancelled after ``limit_s`` when the exporter
    supports it, in which case the rate so far and an extrapolated total are reported. ``cpu_s``:
    CPU time of this process and the export's worker processes together."""
    try:
        from app.core.formats.coco import export_coco
    except ImportError as exc:
        return {"s": None, "reason": f"app.core.formats.coco.export_coco is not available ({exc})"}
    params = inspect.signature(export_coco).parameters
    out = path.with_suffix(".coco.json")
    cancel = threading.Event()
    done = [0, 0]

    def progress(d: int, total: int) -> None:
        done[0], done[1] = d, total

    kwargs: dict = {}
    if "cancel" in params:
        kwargs["cancel"] = cancel
    if "progress" in params:
        kwargs["progress"] = progress
    if workers is not None:
        kwargs["workers"] = workers
    timer = threading.Timer(limit_s, cancel.set)
    with Project.open(path, read_only=True) as p:
        timer.start()
        t = time.perf_counter()
        cpu = _cpu_s()
        try:
            report = export_coco(p, out, masks=masks, **kwargs)
        except Exception as exc:  # the exporter's Cancelled (or a failure): report what happened
            secs = time.perf_counter() - t
            rate = done[0] / secs if secs > 0 else 0.0
            return {"s": None, "masks": masks, "stopped_after_s": round(secs, 1), "annotations_done": done[0],
                    "annotations_total": done[1], "rate_per_s": round(rate, 1),
                    "extrapolated_s": round(done[1] / rate, 1) if rate else None,
                    "reason": f"{type(exc).__name__}: {exc}" if not cancel.is_set() else
                    f"cancelled at the benchmark's limit of {limit_s:.0f} s"}
        finally:
            timer.cancel()
        secs = time.perf_counter() - t
        cpu = _cpu_s() - cpu
    size = out.stat().st_size
    out.unlink()
    return {"s": round(secs, 2), "cpu_s": round(cpu, 2), "masks": masks, "workers": workers or "auto",
            "annotations": getattr(report, "annotations", None), "json_mb": round(size / 1e6, 1),
            "tallies": getattr(report, "tally_lines", lambda: [])()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--annotations", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the project file")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--export-limit", type=float, default=600.0, help="cancel the COCO export after this many s")
    ap.add_argument("--export-only", type=Path, default=None, metavar="PROJECT",
                    help="only time COCO exports of this existing project (e.g. one kept with --keep)")
    ap.add_argument("--masks", default="auto,rle", help="COCO mask modes to time, comma-separated")
    ap.add_argument("--provenance", type=float, default=0.0,
                    help="fraction of annotations carrying what a COCO import keeps (e.g. 0.2)")
    ap.add_argument("--workers", type=int, default=None, help="export processes (default: automatic)")
    args = ap.parse_args(argv)
    if args.export_only is not None:
        Project.open(args.export_only).close()  # a project of an older version is migrated (O(1))
        res = {"project": str(args.export_only), "python": sys.version.split()[0],
               "file_size_mb": round(args.export_only.stat().st_size / 1e6, 1),
               "coco_export": [_export(args.export_only, args.export_limit, m, args.workers)
                               for m in args.masks.split(",")],
               "targets": {"coco_export_s": 45.0, "file_size_mb": 1500.0}}
        print(json.dumps(res, indent=2))
        return 0
    work = args.dir or Path(tempfile.mkdtemp(prefix="bench_project_"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "bench.samlabel"
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    result: dict = {"images": args.images, "annotations": args.annotations, "python": sys.version.split()[0]}
    try:
        result.update(build(path, args.images, args.annotations, provenance=args.provenance))
        result.update(measure(path, not args.no_export, args.export_limit, tuple(args.masks.split(",")),
                              args.workers))
        result["targets"] = {"open_s": 2.0, "coco_export_s": 45.0, "file_size_mb": 1500.0}
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
