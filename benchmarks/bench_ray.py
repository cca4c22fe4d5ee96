"""Ray's cost per image, and the driver's write rate; prints JSON (issue 15). Not a test: figures
follow the machine and its load (the 1-minute load average is printed with them).

Section "executors": images per second of `autolabel --mode boxes` through the batch driver
(app.automation.batch.run_batch, a real project) with the LocalExecutor against the RayExecutor on
a real Ray cluster started here on 127.0.0.1 (head without CPUs + 2 one-CPU worker nodes, as in the
tests), same images (JPEG, --size), same golden mobile_sam weights. They alternate in blocks
(local, ray, ray, local, ...); per block: seconds to the first stored image (Ray: actor pool start
and model load per actor) and the steady rate after it. Ray's overhead per image =
1/ray_steady - 1/local_steady (negative: its two 1-thread actors beat one 2-thread process).

Section "driver": the driver's SQLite write rate: run_batch over precomputed results (an executor
that only yields them), each with --masks realistic proposals (blobs of varied size on a
1500x1000 image, as segment-everything returns: exact RLE, polygons, outline conversion included)
into a fresh project: stored images/s and annotations/s. This is the ceiling of a cluster run,
whatever the number of GPUs, since one driver stores every image.

    python benchmarks/bench_ray.py [--sections executors driver] [--images 8] [--blocks 2]
        [--size 640x480] [--masks 40] [--driver-images 30]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GOLDEN = ROOT.parent / "shared" / "sam_reference" / "golden_mobile_sam_weights_fp16.pt"


def _loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def _project(folder: Path, n: int, size: tuple[int, int], boxes: int = 3) -> Path:
    from PIL import Image

    from app.core.model import Annotation
    from app.core.project import Project
    from app.core.shapes import rectangle_parts

    folder.mkdir(parents=True)
    w, h = size
    rng = np.random.default_rng(1)
    with Project.create(folder / "p.samlabel") as project:
        lab = project.add_label_class("thing")
        for i in range(n):
            arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            Image.fromarray(arr).save(folder / f"im{i}.jpg", quality=90)
            rec = project.add_image(f"im{i}.jpg", w, h)
            for k in range(boxes):
                x0, y0 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
                box = ((float(x0), float(y0)), (float(x0 + w // 4), float(y0 + h // 4)))
                project.add_annotation(Annotation(rec.id, lab.id, rectangle_parts(*box), None, shape="rectangle",
                                                  points=box, source="import", z=k))
    return folder / "p.samlabel"


def _timed_run(path: Path, executor: Any, spec: Any) -> dict[str, Any]:
    from app.automation.batch import plan_batch, run_batch
    from app.core.project import Project

    stamps: list[float] = []
    with Project.open(path) as project:
        plan = plan_batch(project, "boxes", {}, spec, redo=True)
        start = time.perf_counter()
        summary = run_batch(project, plan, executor, spec,
                            on_progress=lambda p: stamps.append(time.perf_counter()) if p.done else None)
    n = summary.labelled
    first = stamps[0] - start
    steady = (n - 1) / (stamps[-1] - stamps[0]) if n > 1 else float("nan")
    out: dict[str, Any] = {"images": n, "first_image_s": round(first, 2), "steady_images_per_s": round(steady, 3),
            "total_s": round(stamps[-1] - start, 2)}
    return out


def section_executors(args: argparse.Namespace) -> dict[str, Any]:
    import ray

    from app.automation.batch import LocalExecutor, ModelSpec
    from app.automation.ray_executor import RayExecutor
    from tests.automation.ray_cluster import LocalCluster

    w, h = (int(v) for v in args.size.split("x"))
    spec = ModelSpec("mobile_sam", str(GOLDEN), "cpu")
    tmp = Path(tempfile.mkdtemp(prefix="bench_ray"))
    path = _project(tmp / "data", args.images, (w, h))
    cluster = LocalCluster(workers=2)
    blocks: list[dict[str, Any]] = []
    try:
        ray.init(address=cluster.address, logging_level=logging.ERROR, log_to_driver=False)
        local = LocalExecutor()  # the model stays loaded between its blocks (as in one CLI run)
        order = ["local", "ray", "ray", "local"] * args.blocks
        for name in order[: 2 * args.blocks]:
            ex = local if name == "local" else RayExecutor(cluster.address, workers=2)
            fig = _timed_run(path, ex, spec)
            fig.update(executor=name, loadavg_1min=_loadavg())
            blocks.append(fig)
            print(json.dumps(fig), file=sys.stderr)
    finally:
        ray.shutdown()
        cluster.stop()
    best = {n: max((b for b in blocks if b["executor"] == n), key=lambda b: b["steady_images_per_s"])
            for n in ("local", "ray")}
    lo, ra = best["local"]["steady_images_per_s"], best["ray"]["steady_images_per_s"]
    return {"images": args.images, "size": args.size, "model": "mobile_sam (golden random weights)",
            "blocks": blocks, "local_steady_images_per_s": lo, "ray_steady_images_per_s": ra,
            "ray_over_local": round(ra / lo, 3),
            "ray_overhead_per_image_s": round(1 / ra - 1 / lo, 3),
            "ray_first_image_s": best["ray"]["first_image_s"], "local_first_image_s": best["local"]["first_image_s"]}


def _blob_rles(n: int, w: int, h: int, rng: np.random.Generator) -> list[dict]:
    """n compressed RLEs of filled ellipses of varied size (segment-everything-like masks)."""
    import cv2
    from pycocotools import mask as mask_utils

    out = []
    for _ in range(n):
        m = np.zeros((h, w), np.uint8)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        ax, ay = int(rng.integers(5, w // 6)), int(rng.integers(5, h // 6))
        cv2.ellipse(m, (cx, cy), (ax, ay), float(rng.integers(0, 180)), 0, 360, 1, -1)
        rle = mask_utils.encode(np.asfortranarray(m))
        out.append({"size": [h, w], "counts": rle["counts"].decode()})
    return out


class _Replay:
    """An executor that only yields results computed beforehand."""

    def __init__(self, results: Mapping[int, Any]) -> None:
        self.results = results

    def run(self, jobs: Iterable[Any], *, mode: str, params: Mapping[str, Any], model: Any,
            cancel: threading.Event | None = None) -> Iterator[Any]:
        for job in jobs:
            yield self.results[job.image_id]


def section_driver(args: argparse.Namespace) -> dict[str, Any]:
    from app.automation.api import Proposal
    from app.automation.batch import BatchResult, ModelSpec, plan_batch, run_batch
    from app.core.project import Project

    w, h = 1500, 1000
    rng = np.random.default_rng(2)
    tmp = Path(tempfile.mkdtemp(prefix="bench_ray_drv"))
    with Project.create(tmp / "p.samlabel") as project:
        ids = [project.add_image(f"im{i}.jpg", w, h).id for i in range(args.driver_images)]
        for i in range(args.driver_images):
            (tmp / f"im{i}.jpg").write_bytes(b"")  # present on disk (never read: results are replayed)
        results = {}
        for image_id in ids:
            props = [Proposal(rle, score=float(rng.random()), extra={"automation": "everything",
                                                                     "predicted_iou": 0.9, "stability_score": 0.95})
                     for rle in _blob_rles(args.masks, w, h, rng)]
            results[image_id] = BatchResult(image_id, props, None, w, h)
        from app.automation.store import convert_proposal

        c0 = time.perf_counter()  # the mask -> polygons/outline conversion alone (the driver does it too)
        converted = [convert_proposal(prop) for prop in results[ids[0]].proposals or []]
        convert_per_image = time.perf_counter() - c0
        spec = ModelSpec("mobile_sam", None, "cpu")
        plan = plan_batch(project, "everything", {}, spec)
        start = time.perf_counter()
        summary = run_batch(project, plan, _Replay(results), spec)
        secs = time.perf_counter() - start
    size = (tmp / "p.samlabel").stat().st_size
    sqlite_rate = _sqlite_only(tmp / "q.samlabel", results[ids[0]].proposals or [], converted, args.driver_images)
    return {"images": summary.labelled, "masks_per_image": args.masks, "image_size": f"{w}x{h}",
            "seconds": round(secs, 2), "stored_images_per_s": round(summary.labelled / secs, 2),
            "annotations_per_s": round(summary.annotations / secs, 1),
            "project_bytes_per_image": int(size / max(1, summary.labelled)),
            "convert_s_per_image": round(convert_per_image, 3),
            "convert_share": round(convert_per_image * summary.labelled / secs, 2),
            "sqlite_only_images_per_s": round(sqlite_rate, 1), "loadavg_1min": _loadavg()}


def _sqlite_only(path: Path, proposals: list[Any], converted: list[Any], n: int) -> float:
    """Images/s of the store step alone: the same edit as store_proposals with the masks converted
    beforehand (as a worker could send them), plus the done mark, one transaction per image."""
    from app.automation.store import labelled_annotations, next_z
    from app.core.project import Project
    from app.core.proposal_edits import AddLabelledAnnotations

    with Project.create(path) as project:
        ids = [project.add_image(f"im{i}.jpg", 1500, 1000).id for i in range(n)]
        start = time.perf_counter()
        for image_id in ids:
            with project.transaction():
                items = labelled_annotations(proposals, image_id, z_start=next_z(project, image_id),
                                             converted=converted)
                AddLabelledAnnotations(items).apply(project)
                project.set_image_extra(image_id, {"autolabel": {"everything": {"annotations": len(items)}}})
        return n / (time.perf_counter() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sections", nargs="+", default=["executors", "driver"], choices=["executors", "driver"])
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--blocks", type=int, default=2, help="blocks per executor (local, ray, ray, local, ...)")
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--masks", type=int, default=40, help="proposals per image in the driver section")
    ap.add_argument("--driver-images", type=int, default=30)
    args = ap.parse_args()
    out: dict[str, Any] = {"cpus": os.cpu_count(), "loadavg_1min_start": _loadavg()}
    if "driver" in args.sections:
        out["driver"] = section_driver(args)
    if "executors" in args.sections:
        out["executors"] = section_executors(args)
    out["loadavg_1min_end"] = _loadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
