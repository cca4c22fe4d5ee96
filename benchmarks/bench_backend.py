"""Speed of the sam_backend predictor with randomly initialised networks; prints JSON.

For each model: encode time (1 MP and 12 MP images), prompt -> 3 boolean full-resolution masks
(1 MP and 12 MP; decoder alone and post-processing alone too), peak memory. With --naive the same
is measured on a second predictor with the plain routes (`SamPredictor(..., fast=False)`: matmul
attention, unfused BatchNorm, no in-place ops, two plain
interpolations at full resolution), i.e. the reference arithmetic, and speed-ups are reported; the
two paths alternate in blocks of runs so that both see the same machine load (see _measure).
Random weights make noise-like masks with very many boundary pixels (the worst case of the fast
mask upsampling); `post_12mp_smooth_ms` times the same step on smooth, object-like logits.
Not a test: numbers depend on the machine and its load.

    python benchmarks/bench_backend.py [--device cpu] [--repeats 5] [--naive] [--models mobile_sam sam_vit_b]
                                       [--threads N]

Hub ids (sam2.1_hiera_tiny, sam2.1_hiera_small, sam2.1_hiera_base_plus, sam2.1_hiera_large, sam3, edgetam)
are measured through benchmarks/bench_hf.py (transformers models of full size with random weights,
our adapters): encode, decoder, prompt -> 3 masks, and SAM 2.1's propagation frames/s.

Figures: encode_*; decoder_only_* (prompt encoder + mask decoder, low-res logits); post_* (low-res
logits -> 3 full-resolution bool masks); prompt_to_3_masks_* (the public `predict`, both).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sam_backend  # noqa: E402,F401  (before torch: its thread settings apply as in the app)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sam_backend import build_model  # noqa: E402
from sam_backend import transforms as T  # noqa: E402
from sam_backend.device import resolve_device  # noqa: E402
from sam_backend.hub import HUB_MODELS  # noqa: E402
from sam_backend.predictor import SamPredictor, validate_prompts  # noqa: E402

SIZES = {"1mp": (864, 1152), "12mp": (3000, 4000)}


BLOCK = 3  # consecutive runs of one path per block (the first of each block is not counted)


def _measure(paths: dict[str, Callable[[], Any]], repeats: int, device: torch.device) -> dict[str, dict[str, float]]:
    """Time each path's function ("fast", "naive"). The paths alternate in blocks of BLOCK
    runs, so that both see the same machine load; the first run of every block is not counted, so
    that each figure is the path's steady state (as in the app, where one path runs predict after
    predict), not the cost of re-faulting the memory the other path just freed (measured: +9-12 ms
    on the fast prompt -> 3 masks at 12 MP right after a naive run, whose 144 MB of float logits
    glibc hands back to the kernel). Returns {path: {median_ms, p95_ms, cpu_median_ms}} over
    `repeats` counted runs per path."""
    wall: dict[str, list[float]] = {m: [] for m in paths}
    cpu: dict[str, list[float]] = {m: [] for m in paths}
    while any(len(wall[m]) < repeats for m in paths):
        for mode, fn in paths.items():
            for k in range(BLOCK):
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t, c = time.perf_counter(), time.process_time()
                fn()
                if device.type == "cuda":
                    torch.cuda.synchronize()
                if k and len(wall[mode]) < repeats:  # the first run of a block warms up
                    wall[mode].append((time.perf_counter() - t) * 1000)
                    cpu[mode].append((time.process_time() - c) * 1000)
    out = {}
    for mode in paths:
        times = sorted(wall[mode])
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        out[mode] = {
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(p95, 1),
            "cpu_median_ms": round(statistics.median(cpu[mode]), 1),
        }
    return out


def _smooth_logits() -> torch.Tensor:
    yy, xx = np.mgrid[0:256, 0:256]
    return torch.from_numpy(np.stack([
        (40 - np.hypot(yy - 100, xx - 120)) / 4,
        (60 - np.hypot(yy - 90, xx - 140)) / 3 + np.sin(xx / 5),
        (30 - np.abs(yy - 100) - np.abs(xx - 100)) / 2,
    ]).astype(np.float32))


def _figures(predictor: SamPredictor, images: dict[str, np.ndarray]) -> dict[str, Callable[[], Any]]:
    """The timed calls of one predictor (its own route: fast or reference post-processing too)."""
    post = T.masks_from_low_res if predictor.fast else T.masks_from_low_res_reference
    figures: dict[str, Callable[[], Any]] = {}
    for name, image in images.items():
        h, w = image.shape[:2]
        emb = predictor.encode(image)
        point = [(w * 0.5, h * 0.5)]
        prompts = validate_prompts(point, [1], None, None)
        low, _ = predictor._decode(emb, prompts, True)
        figures[f"encode_{name}"] = lambda image=image: predictor.encode(image)
        figures[f"decoder_only_{name}"] = lambda emb=emb, prompts=prompts: predictor._decode(emb, prompts, True)
        figures[f"post_{name}"] = lambda low=low, emb=emb: post(low, emb.input_size, emb.original_size)
        figures[f"prompt_to_3_masks_{name}"] = lambda emb=emb, point=point: predictor.predict(emb, points=point, labels=[1])
    smooth = _smooth_logits()
    figures["post_12mp_smooth"] = lambda: post(smooth, (768, 1024), (3000, 4000))
    return figures


def bench_model(model_id: str, device: torch.device, repeats: int, naive: bool) -> dict[str, Any]:
    """All figures for one model: {figure: {"fast": stats, "naive": stats?, "speedup": x?}}.
    The naive path is a second predictor on the same network with the plain routes (fast=False)."""
    torch.manual_seed(0)
    model = build_model(model_id)
    rng = np.random.default_rng(0)
    images = {name: rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for name, (h, w) in SIZES.items()}
    paths = {"fast": _figures(SamPredictor(model, model_id, device), images)}
    if naive:
        paths["naive"] = _figures(SamPredictor(model, model_id, device, fast=False), images)
    out: dict[str, Any] = {}
    for name in paths["fast"]:
        n = max(2, repeats // 2) if name.startswith("encode") else repeats
        entry: dict[str, Any] = _measure({mode: figs[name] for mode, figs in paths.items()}, n, device)
        if naive:
            entry["speedup"] = round(entry["naive"]["median_ms"] / max(entry["fast"]["median_ms"], 1e-6), 2)
        out[name] = entry
    return out


def _loadavg() -> float | None:
    """1-minute load average of the machine (None where the OS has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmarks, print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps (default cpu)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--naive", action="store_true", help="also measure the naive reference path")
    parser.add_argument("--models", nargs="+", default=["mobile_sam", "sam_vit_b"])
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--frames", type=int, default=6, help="frames propagated for the SAM 2.1 figure (default 6)")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    result: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "repeats": args.repeats,
        "loadavg_1min_start": _loadavg(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "models": {},
    }
    for model_id in args.models:
        result["loadavg_1min_" + model_id] = _loadavg()
        if model_id in HUB_MODELS:
            from benchmarks.bench_hf import bench_hf_model

            result["models"][model_id] = bench_hf_model(model_id, device, args.repeats, _measure, SIZES,
                                                        frames=args.frames)
        else:
            result["models"][model_id] = bench_model(model_id, device, args.repeats, args.naive)
    result["loadavg_1min_end"] = _loadavg()  # other processes on the machine skew every figure
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if device.type == "cuda":
        result["cuda_max_allocated_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
