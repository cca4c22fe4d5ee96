"""Speed of automatic labelling on the CPU; prints JSON. Not a test: figures depend on the machine
and its load (the 1-minute load average is printed with them).

Section "generator" (issue 10, "segment everything"): our AutomaticMaskGenerator against the
reference SamAutomaticMaskGenerator (segment-anything 1.0, see _reference_amg.py) on mobile_sam
(random or golden weights), one image, for every grid size and parameter set asked:
  default    the reference defaults (pred_iou_thresh 0.88, stability_score_thresh 0.95),
  permissive pred_iou_thresh = stability_score_thresh = 0 (every candidate reaches NMS),
  no_filter  permissive and box_nms_thresh = 1 (every candidate is a record; not a default choice).
Each run is a fresh subprocess (peak memory per run); the two generators alternate in order
from one configuration to the next (with --repeats N: in ABBA order, the fastest run of each
counts). On a shared machine wall seconds follow the load (and with
2 threads so do CPU seconds: torch's threads spin while waiting for each other); with --threads 1
the CPU seconds are a load-independent measure. Per configuration: wall and CPU seconds of `generate` (the
image encode included, the same encoder module for both), peak RSS, the speed-up, and whether
the records are identical:
  ours          our generator as shipped (our fast decoder): its low-res logits differ from the
                reference decoder's by float rounding (~1e-6), so masks may differ at pixels whose
                logit is that close to 0: reported as counts;
  ours_refdec   (with --identity) our generator driven by the reference's own decoder
                (ReferenceDecoder): everything after the decoder is ours, and the records must
                equal the reference's exactly ("records_identical").

Section "pipeline" (issue 10, batch auto-labelling): images per second of the `autolabel --mode
boxes` pipeline (app.automation.batch: run_batch + LocalExecutor, i.e. JPEG decoding on the prefetch
thread, encode, one SAM decode per box, mask -> RLE/polygons, one transaction per image in a real
project) against the bare encoder loop over the same images and the same predictor:
  bare_encode       predictor.encode on images decoded beforehand (the bound: target >= 0.9x),
  bare_load_encode  load_image + encode one after the other (what a plain script does).
The three alternate in blocks (A B C C B A ...) within one process, so their ratios survive the
machine's load; the fastest block of each counts, and every block's figure is printed.
"stages_per_image" then runs every stage of the boxes pipeline one after the other in one thread
(JPEG decode, encode, predict_boxes, upsampling of the chosen masks, RLE, conversion to polygons
and outline, the store's transaction) and prints wall and process-CPU ms per image, and the sum of
the stages besides the encode against the encode: on a 2-core machine that sum is what the
pipeline cannot hide (the encoder keeps both cores busy), so pipeline/bare <= 1 / (1 + it).
Random weights answer a box with a noise mask (thousands of fragments), whose polygons cost far more
than a real object's: with --masks ellipse the real decoder still runs for every box, but the mask
stored is the ellipse inscribed in the box (the conversion cost of a compact object).

    python benchmarks/bench_autolabel.py --reference DIR [--size 1500x1000] [--grids 16 32]
        [--params default permissive] [--weights random|golden] [--identity]
    python benchmarks/bench_autolabel.py --sections pipeline [--images 8] [--boxes 5] [--repeats 2]
"""
from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PARAMS: dict[str, dict[str, float]] = {
    "default": {},
    "permissive": {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0},
    # every candidate becomes a record (random weights give near-full-image boxes that NMS would
    # merge into one): the strongest records_identical check
    "no_filter": {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0},
}
GOLDEN = ROOT.parent / "shared" / "sam_reference"


# ------------------------------------------------------------------ one run (in a subprocess)
def _model(weights: str) -> Any:
    import torch

    from sam_backend.models import build_model
    from sam_backend.models.loading import load_model, read_state_dict
    from sam_backend.models.build import resolve_config

    if weights == "golden":
        return load_model(resolve_config("mobile_sam"), read_state_dict(GOLDEN / "golden_mobile_sam_weights_fp16.pt"), "golden")
    torch.manual_seed(0)
    return build_model("mobile_sam")


def _image(size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    h, w = size
    if (GOLDEN / "golden_image.png").is_file():
        return np.asarray(Image.open(GOLDEN / "golden_image.png").convert("RGB").resize((w, h), Image.Resampling.BILINEAR))
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with masks as compressed RLE bytes (comparable, small)."""
    from pycocotools import mask as mask_utils

    out = []
    for r in records:
        seg = np.asfortranarray(np.asarray(r["segmentation"], dtype=np.uint8))
        out.append({**{k: v for k, v in r.items() if k != "segmentation"}, "rle": mask_utils.encode(seg)["counts"]})
    return out


def run_one(kind: str, weights: str, size: tuple[int, int], grid: int, params: dict[str, float], reference: Path,
            threads: int) -> dict[str, Any]:
    """Time one generate() call of `kind` (reference, ours, ours_refdec); returns figures + records."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    from _reference_amg import ReferenceDecoder, reference_generator, reference_model

    from sam_backend.amg import AutomaticMaskGenerator
    from sam_backend.predictor import SamPredictor

    model = _model(weights)
    image = _image(size)
    kwargs: dict[str, Any] = {"points_per_side": grid, **params}
    generator: Any
    if kind == "reference":
        generator = reference_generator(reference_model(model, reference), kwargs)
    elif kind == "ours_refdec":
        generator = AutomaticMaskGenerator(ReferenceDecoder(reference_model(model, reference)), **kwargs)
    else:
        generator = AutomaticMaskGenerator(SamPredictor(model, "mobile_sam"), **kwargs)
    wall, cpu = time.perf_counter(), time.process_time()
    records = generator.generate(image)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "records": _summary(records),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _subprocess_run(kind: str, args: argparse.Namespace, grid: int, params_name: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.pkl"
        cmd = [sys.executable, __file__, "--_run", kind, "--_out", str(out), "--_grid", str(grid), "--_params", params_name,
               "--weights", args.weights, "--size", args.size, "--reference", str(args.reference), "--threads", str(args.threads)]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        with out.open("rb") as f:
            result: dict[str, Any] = pickle.load(f)
    return result


# ------------------------------------------------------------------ comparison
def compare(ours: list[dict[str, Any]], ref: list[dict[str, Any]], size: tuple[int, int]) -> dict[str, Any]:
    """Records identical (same order, every field, masks bit for bit), else what differs: records
    are matched by point (and crop) and predicted IoU."""
    from pycocotools import mask as mask_utils

    identical = len(ours) == len(ref) and all(a == b for a, b in zip(ours, ref))
    out: dict[str, Any] = {"records_ours": len(ours), "records_reference": len(ref), "records_identical": identical}
    if identical:
        return out

    def key(r: dict[str, Any]) -> tuple[float, float, int]:
        return (r["point_coords"][0][0], r["point_coords"][0][1], r["crop_box"][0] * 100000 + r["crop_box"][1])

    by_key: dict[tuple[float, float, int], list[dict[str, Any]]] = {}
    for r in ref:
        by_key.setdefault(key(r), []).append(r)
    matched = pixel_diff = bbox_diff = masks_differ = 0
    d_iou = d_stab = 0.0
    for a in ours:
        cands = by_key.get(key(a), [])
        if not cands:
            continue
        b = min(cands, key=lambda r: abs(r["predicted_iou"] - a["predicted_iou"]))
        matched += 1
        d_iou = max(d_iou, abs(a["predicted_iou"] - b["predicted_iou"]))
        d_stab = max(d_stab, abs(a["stability_score"] - b["stability_score"]))
        bbox_diff += a["bbox"] != b["bbox"]
        if a["rle"] != b["rle"]:
            masks = [mask_utils.decode({"size": list(size), "counts": r["rle"]}) for r in (a, b)]
            pixel_diff = max(pixel_diff, int(np.count_nonzero(masks[0] != masks[1])))
            masks_differ += 1
    out.update({"records_matched_by_point": matched, "max_abs_d_predicted_iou": d_iou, "max_abs_d_stability": d_stab,
                "records_with_other_bbox": bbox_diff, "records_with_other_mask": masks_differ,
                "max_pixels_differing_in_a_mask": pixel_diff})
    return out


def section_generator(args: argparse.Namespace) -> dict[str, Any]:
    """Our generator vs the reference for every (grid, parameter set)."""
    runs = []
    flip = False
    w, h = (int(v) for v in args.size.lower().split("x"))
    size = (h, w)
    for grid in args.grids:
        for name in args.params:
            order = ["reference", "ours"] if not flip else ["ours", "reference"]
            flip = not flip
            timed: dict[str, list[dict[str, Any]]] = {"reference": [], "ours": []}
            for r in range(args.repeats):  # ABBA...: each generator goes first as often as second
                for kind in order if r % 2 == 0 else order[::-1]:
                    timed[kind].append(_subprocess_run(kind, args, grid, name))
            results = {k: min(v, key=lambda x: x["wall_s"]) for k, v in timed.items()}
            if args.identity:
                results["ours_refdec"] = _subprocess_run("ours_refdec", args, grid, name)
            ref, ours = results["reference"], results["ours"]
            entry: dict[str, Any] = {
                "grid": grid, "params": name, "loadavg_1min": _loadavg(),
                "reference": {k: v for k, v in ref.items() if k != "records"},
                "ours": {k: v for k, v in ours.items() if k != "records"},
                "speedup_wall": round(ref["wall_s"] / max(ours["wall_s"], 1e-9), 2),
                "speedup_cpu": round(ref["cpu_s"] / max(ours["cpu_s"], 1e-9), 2),
                "ours_vs_reference": compare(ours["records"], ref["records"], size),
            }
            if args.repeats > 1:
                entry["wall_s_all_runs"] = {k: [x["wall_s"] for x in v] for k, v in timed.items()}
            if args.identity:
                exact = results["ours_refdec"]
                entry["ours_refdec"] = {k: v for k, v in exact.items() if k != "records"}
                entry["ours_refdec_vs_reference"] = compare(exact["records"], ref["records"], size)
            runs.append(entry)
            print(json.dumps(entry), file=sys.stderr, flush=True)
    return {"size": args.size, "weights": args.weights, "threads": args.threads or "default", "runs": runs}


def _pipeline_project(folder: Path, n: int, size: tuple[int, int], boxes: int) -> Path:
    """A folder of ``n`` JPEGs (the golden image resized, shifted per image) whose project holds
    ``boxes`` rectangles per image (a detection dataset); returns the project file."""
    from PIL import Image

    from app.core.model import Annotation
    from app.core.project import Project
    from app.core.shapes import rectangle_parts

    h, w = size
    base = _image(size)
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.roll(base, 37 * i, axis=1)).save(folder / f"img{i:03d}.jpg", quality=92)
    rng = np.random.default_rng(1)
    with Project.open_folder(folder) as project:
        labels = [project.add_label_class(name).id for name in ("car", "person", "dog")]
        for rec in project.images():
            for k in range(boxes):
                x0, y0 = float(rng.integers(0, w * 3 // 4)), float(rng.integers(0, h * 3 // 4))
                bw, bh = float(rng.integers(w // 10, w // 4)), float(rng.integers(h // 10, h // 4))
                pts = ((x0, y0), (min(x0 + bw, w - 1.0), min(y0 + bh, h - 1.0)))
                project.add_annotation(Annotation(rec.id, labels[k % 3], rectangle_parts(*pts), None, shape="rectangle",
                                                  points=pts, source="import"))
        return project.path


def _ellipse(box: Any, h: int, w: int) -> np.ndarray:
    """bool (h, w): the ellipse inscribed in ``box`` (computed inside the box only)."""
    x0, y0, x1, y1 = box
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 1), max((y1 - y0) / 2, 1)
    out = np.zeros((h, w), bool)
    ya, yb = max(int(np.floor(cy - ry)), 0), min(int(np.ceil(cy + ry)) + 1, h)
    xa, xb = max(int(np.floor(cx - rx)), 0), min(int(np.ceil(cx + rx)) + 1, w)
    yy, xx = np.ogrid[ya:yb, xa:xb]
    out[ya:yb, xa:xb] = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
    return out


class _EllipseMasks:
    """A predictor whose box answers are decoded by the real model (masks upsampled as usual),
    then replaced by the ellipse inscribed in the box (see the module doc, --masks ellipse)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_id, self.prompt_kinds = inner.model_id, inner.prompt_kinds
        self.candidates, self.score_name = inner.candidates, inner.score_name

    @property
    def device_name(self) -> str:
        return str(self.inner.device_name)

    def encode(self, image: np.ndarray, should_abort: Any = None) -> Any:
        return self.inner.encode(image, should_abort)

    def predict(self, emb: Any, **kw: Any) -> Any:
        from dataclasses import replace

        pred = self.inner.predict(emb, **kw)
        ellipse = _ellipse(kw["box"], *pred.masks.shape[1:])
        return replace(pred, masks=np.broadcast_to(ellipse, pred.masks.shape).copy())

    def predict_boxes(self, emb: Any, boxes: Any, multimask: bool = False, batch: int | None = None) -> Any:
        from sam_backend.types import BoxPredictions

        got = self.inner.predict_boxes(emb, boxes, multimask, batch)

        def masks(i: int) -> np.ndarray:
            real = got.masks(i)
            return np.broadcast_to(_ellipse(boxes[i], *real.shape[1:]), real.shape).copy()

        return BoxPredictions(got.scores, got.low_res_logits, masks)


def _bench_predictor(weights: str, masks: str, spec: Any) -> Any:
    """The benchmark's predictor, built in a worker process of the ProcessExecutor (module-level:
    picklable with functools.partial)."""
    from sam_backend.predictor import SamPredictor

    predictor: Any = SamPredictor(_model(weights), "mobile_sam")
    return _EllipseMasks(predictor) if masks == "ellipse" else predictor


def _encode_worker(weights: str, files: list[str], conn: Any) -> None:
    """bare_encode_processes: one worker of the image-parallel bare encoder loop (one thread)."""
    import torch

    from app.core.images import load_image
    from sam_backend.predictor import SamPredictor

    torch.set_num_threads(1)
    predictor = SamPredictor(_model(weights), "mobile_sam")
    decoded = [load_image(Path(f)).array for f in files]
    predictor.encode(decoded[0])
    conn.send("ready")
    while conn.recv():
        t = time.perf_counter()
        for img in decoded:
            predictor.encode(img)
        conn.send(time.perf_counter() - t)


def _stages(path: Path, predictor: Any, spec: Any) -> dict[str, Any]:
    """Where one image's time goes (ms per image, wall and process CPU, every stage run one after
    the other in this thread over all the images): what the pipeline overlaps and what it must fit
    beside the encoder."""
    from app.automation.batch import BatchResult, plan_batch, store_result
    from app.automation.boxes import box_annotations, box_of, _as_rle, _chosen
    from app.automation.store import convert_proposal
    from app.automation.api import Proposal
    from app.core.images import load_image
    from app.core.project import Project

    totals: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        t = totals.setdefault(name, [0.0, 0.0])
        t[0] += time.perf_counter() - wall
        t[1] += time.process_time() - cpu
        return out

    with Project.open(path) as project:
        plan = plan_batch(project, "boxes", {}, spec, redo=True)
        for rec in plan.todo:
            image = timed("load_jpeg", lambda: load_image(project.image_path(rec)).array)
            emb = timed("encode", lambda: predictor.encode(image))
            boxes = [box_of(a) for a in box_annotations(list(project.annotations(rec.id)))]
            got = timed("decode_boxes", lambda: predictor.predict_boxes(emb, [list(b) for b in boxes]))
            masks = timed("upsample_masks", lambda: [_chosen(got.masks(i), got.scores[i], False) for i in range(len(boxes))])
            rles = timed("mask_to_rle", lambda: [_as_rle(m) for m in masks])
            props = [Proposal(rle=r[0], score=r[1], extra={"automation": "boxes"}) for r in rles if r is not None]
            conv = timed("convert", lambda: [convert_proposal(p) for p in props])
            result = BatchResult(rec.id, props, None, int(image.shape[1]), int(image.shape[0]))
            timed("store", lambda: store_result(project, plan, result, conv))
    n = len(plan.todo)
    out = {k: {"wall_ms": round(1000 * v[0] / n, 1), "cpu_ms": round(1000 * v[1] / n, 1)} for k, v in totals.items()}
    enc = totals["encode"]
    rest = [v for k, v in totals.items() if k not in ("encode", "load_jpeg")]
    out["besides_encode_vs_encode"] = {"wall": round(sum(v[0] for v in rest) / enc[0], 3),
                                       "cpu": round(sum(v[1] for v in rest) / enc[1], 3)}
    return out


def section_pipeline(args: argparse.Namespace) -> dict[str, Any]:
    """`autolabel --mode boxes` pipeline vs the bare encoder loop (see the module doc)."""
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    from app.automation.batch import LocalExecutor, ModelSpec, plan_batch, run_batch
    from app.automation.process_executor import ProcessExecutor
    from app.core.images import load_image
    from app.core.project import Project
    from sam_backend.predictor import SamPredictor

    w, h = (int(v) for v in args.size.lower().split("x"))
    predictor: Any = SamPredictor(_model(args.weights), "mobile_sam")
    if args.masks == "ellipse":
        predictor = _EllipseMasks(predictor)
    spec = ModelSpec("mobile_sam", None, "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        path = _pipeline_project(Path(tmp) / "data", args.images, (h, w), args.boxes)
        with Project.open(path) as project:
            files = [project.image_path(r) for r in project.images()]
        decoded = [load_image(f).array for f in files]
        predictor.encode(decoded[0])  # warm-up (allocations, kernels)
        extra: dict[str, Any] = {}

        def bare_encode() -> tuple[float, dict[str, Any]]:
            t = time.perf_counter()
            for img in decoded:
                predictor.encode(img)
            return time.perf_counter() - t, {}

        def bare_load_encode() -> tuple[float, dict[str, Any]]:
            t = time.perf_counter()
            for f in files:
                predictor.encode(load_image(f).array)
            return time.perf_counter() - t, {}

        def pipeline() -> tuple[float, dict[str, Any]]:
            with Project.open(path) as project:
                plan = plan_batch(project, "boxes", {}, spec, redo=True)
                t = time.perf_counter()
                summary = run_batch(project, plan, LocalExecutor(predictor=predictor), spec)
                elapsed = time.perf_counter() - t
            assert summary.labelled == args.images and not summary.failures, summary
            return elapsed, {"annotations": summary.annotations}

        def pipeline_processes() -> tuple[float, dict[str, Any]]:
            with Project.open(path) as project:
                plan = plan_batch(project, "boxes", {}, spec, redo=True)
                t = time.perf_counter()
                summary = run_batch(project, plan, procs, spec)
                elapsed = time.perf_counter() - t
            assert summary.labelled == args.images and not summary.failures, summary
            return elapsed, {}

        # the image-parallel bare encoder loop: the same images split between 2 one-thread processes,
        # each timing its half after a warm-up (started once, like the executor's workers per run)
        ctx = multiprocessing.get_context("spawn")
        halves = [[str(f) for f in files[i::2]] for i in range(2)]
        pipes = [ctx.Pipe() for _ in halves]
        encoders = [ctx.Process(target=_encode_worker, args=(args.weights, half, theirs), daemon=True)
                    for half, (_, theirs) in zip(halves, pipes)]
        for proc in encoders:
            proc.start()
        for mine, _ in pipes:
            mine.recv()

        def bare_encode_processes() -> tuple[float, dict[str, Any]]:
            t = time.perf_counter()
            for mine, _ in pipes:
                mine.send(True)
            for mine, _ in pipes:
                mine.recv()
            return time.perf_counter() - t, {}

        # kept between runs (the workers' start-up, measured once below, is not throughput)
        procs = ProcessExecutor(workers=2, threads=1, keep=True,
                                loader=functools.partial(_bench_predictor, args.weights, args.masks))
        t_start = time.perf_counter()
        pipeline_processes()
        extra["process_workers_first_run_s"] = round(time.perf_counter() - t_start, 2)
        kinds: dict[str, Callable[[], tuple[float, dict[str, Any]]]] = {
            "bare_encode": bare_encode, "bare_load_encode": bare_load_encode, "pipeline": pipeline,
            "pipeline_processes": pipeline_processes, "bare_encode_processes": bare_encode_processes}
        order = list(kinds)
        blocks: dict[str, list[float]] = {k: [] for k in kinds}
        for r in range(max(1, args.repeats)):
            for kind in order if r % 2 == 0 else order[::-1]:
                seconds, info = kinds[kind]()
                blocks[kind].append(round(args.images / seconds, 3))
                extra.update(info)
                print(json.dumps({"block": r, "kind": kind, "images_per_s": blocks[kind][-1],
                                  "loadavg_1min": _loadavg()}), file=sys.stderr, flush=True)
        procs.close()
        for mine, _ in pipes:
            mine.send(False)
        for proc in encoders:
            proc.join(10)
        stages = _stages(path, predictor, spec)
    best = {k: max(v) for k, v in blocks.items()}
    return {
        "stages_per_image": stages,
        "size": args.size, "images": args.images, "boxes_per_image": args.boxes, "weights": args.weights,
        "masks": args.masks,
        "threads": args.threads or "default", "loadavg_1min": _loadavg(),
        "images_per_s": best, "images_per_s_all_blocks": blocks,
        "annotations_per_run": extra.get("annotations"),
        "process_workers_first_run_s": extra.get("process_workers_first_run_s"),
        "pipeline_vs_bare_encode": round(best["pipeline"] / best["bare_encode"], 3),
        "pipeline_vs_bare_load_encode": round(best["pipeline"] / best["bare_load_encode"], 3),
        "pipeline_processes_vs_bare_encode": round(best["pipeline_processes"] / best["bare_encode"], 3),
        "pipeline_processes_vs_bare_encode_processes": round(
            best["pipeline_processes"] / best["bare_encode_processes"], 3),
    }


SECTIONS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "generator": section_generator,
    "pipeline": section_pipeline,
}


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=None,
                        help="folder holding the unpacked segment_anything package (section generator)")
    parser.add_argument("--size", default="1500x1000", help="image WIDTHxHEIGHT (default 1500x1000)")
    parser.add_argument("--grids", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--params", nargs="+", choices=sorted(PARAMS), default=["default", "permissive"])
    parser.add_argument("--weights", choices=["random", "golden"], default="random")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads per run (default: torch's choice); 1 makes CPU seconds immune to the machine's load")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per generator and configuration (the fastest counts)")
    parser.add_argument("--identity", action="store_true", help="also run our generator on the reference decoder")
    parser.add_argument("--sections", nargs="+", choices=sorted(SECTIONS), default=["generator"])
    parser.add_argument("--images", type=int, default=8, help="images of the pipeline section (default 8)")
    parser.add_argument("--boxes", type=int, default=5, help="rectangles per image in the pipeline section (default 5)")
    parser.add_argument("--masks", choices=["sam", "ellipse"], default="sam",
                        help="pipeline section: store SAM's masks, or ellipses in the boxes (see the module doc)")
    parser.add_argument("--_run", help=argparse.SUPPRESS)
    parser.add_argument("--_out", help=argparse.SUPPRESS)
    parser.add_argument("--_grid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    if args._run:
        result = run_one(args._run, args.weights, (h, w), args._grid, PARAMS[args._params], args.reference, args.threads)
        with open(args._out, "wb") as f:
            pickle.dump(result, f)
        return 0
    if "generator" in args.sections and args.reference is None:
        parser.error("the generator section needs --reference DIR (the unpacked segment-anything 1.0 wheel)")
    import torch

    out: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "loadavg_1min_start": _loadavg()},
    }
    for name in args.sections:
        out[name] = SECTIONS[name](args)
    out["machine"]["loadavg_1min_end"] = _loadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
