"""Speed of text prompts (Grounded-SAM) with randomly initialised networks at full size; prints JSON.

- detector_ms: one ``detect`` (processor + forward + scores) per image for the Grounding DINO
  tiny (Swin-T + BERT-base) and base (Swin-B + BERT-base) configurations, 900 queries, the
  processor's 800/1333 resize, a 4-phrase prompt;
- sam_decode_ms_per_box: ``predict(box=...)`` (three candidates at full resolution) per box;
- pipeline: images/s of the whole batch path (``autolabel``'s): load -> detect -> SAM encode ->
  decode the kept boxes -> convert -> store in a project, keeping the ``--boxes`` best boxes per
  image (random weights score every box alike, often exactly 1.0, so thresholds cannot pick n);
- autocast (CUDA only): fp16 / bf16 autocast against fp32: kept boxes, phrases, box IoU, speed;
- sam3_ms (``--sam3``): one forward of transformers' SAM 3 (image + text) at its 1008 px input.
Random weights: the timings are those of the real architectures; the boxes are meaningless.
Not a test: numbers depend on the machine and its load (printed with them).

    python benchmarks/bench_text.py [--device cpu] [--repeats 3] [--configs tiny base] [--sam-models mobile_sam]
                                    [--images 3] [--boxes 10] [--sam3] [--threads N]
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = "cat. dog. traffic light. fire hydrant"
PHRASES = ("cat", "dog", "traffic light", "fire hydrant")
SIZE = (960, 1280)  # (H, W) of the benchmark images


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _image(seed: int) -> np.ndarray:
    """An object-like picture: gradient, disks and rectangles."""
    rng = np.random.default_rng(seed)
    h, w = SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 255 // w), (yy * 255 // h), np.full_like(xx, 90)], -1).astype(np.uint8)
    for _ in range(6):
        cx, cy, r = rng.integers(100, w - 100), rng.integers(100, h - 100), rng.integers(30, 140)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.integers(0, 255, 3)
    return img


def _tokenizer() -> Any:
    """A BERT-base sized word-piece tokenizer (30522 entries) without the network: the real words of
    the prompt plus filler entries."""
    from transformers import BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "cat", "dog", "traffic", "light", "fire", "hydrant"]
    vocab = {w: i for i, w in enumerate(words)}
    for i in range(len(words), 30522):
        vocab[f"filler{i}"] = i
    return BertTokenizerFast(vocab=vocab, do_lower_case=True)


def _config(name: str) -> Any:
    """Grounding DINO tiny / base architectures (IDEA-Research/grounding-dino-tiny / -base)."""
    from transformers import BertConfig, GroundingDinoConfig, SwinConfig

    if name == "tiny":
        swin = SwinConfig(embed_dim=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7,
                          image_size=224, out_indices=[2, 3, 4])
    else:
        swin = SwinConfig(embed_dim=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32], window_size=12,
                          image_size=384, out_indices=[2, 3, 4])
    return GroundingDinoConfig(backbone_config=swin, text_config=BertConfig())


def _detector(name: str, device: str) -> Any:
    from transformers import GroundingDinoForObjectDetection, GroundingDinoImageProcessorPil, GroundingDinoProcessor

    from sam_backend.detectors.grounding_dino import GroundingDinoDetector

    torch.manual_seed(0)
    model = GroundingDinoForObjectDetection(_config(name))
    processor = GroundingDinoProcessor(image_processor=GroundingDinoImageProcessorPil(), tokenizer=_tokenizer())
    det = GroundingDinoDetector(model, processor, f"grounding-dino-{name}", device)
    det.params_m = sum(p.numel() for p in model.parameters()) / 1e6
    return det


def _median_ms(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return round(statistics.median(times), 1)


def bench_detectors(configs: list[str], device: str, repeats: int) -> dict[str, Any]:
    from sam_backend.detectors import parse_prompt

    phrases = parse_prompt(PROMPT)
    img = _image(0)
    out: dict[str, Any] = {}
    for name in configs:
        gc.collect()
        det = _detector(name, device)
        det.detect(img, phrases)  # warm-up
        out[name] = {"detector_ms": _median_ms(lambda: det.detect(img, phrases), repeats),
                     "params_m": round(det.params_m, 1), "load": _load()}
        del det
        gc.collect()
    return out


def _sam(model_id: str, device: str) -> Any:
    from sam_backend import SamPredictor, build_model

    torch.manual_seed(0)
    return SamPredictor(build_model(model_id), model_id, device)


def bench_decode(models: list[str], device: str, repeats: int) -> dict[str, Any]:
    img = _image(1)
    rng = np.random.default_rng(3)
    out: dict[str, Any] = {}
    for model_id in models:
        sam = _sam(model_id, device)
        emb = sam.encode(img)
        boxes = []
        for _ in range(max(5, repeats * 3)):
            x0, y0 = rng.uniform(0, SIZE[1] - 300), rng.uniform(0, SIZE[0] - 300)
            boxes.append((x0, y0, x0 + rng.uniform(40, 300), y0 + rng.uniform(40, 300)))
        sam.predict(emb, box=boxes[0])  # warm-up
        times = []
        for box in boxes:
            t0 = time.perf_counter()
            sam.predict(emb, box=box)
            times.append((time.perf_counter() - t0) * 1000.0)
        out[model_id] = {"sam_decode_ms_per_box": round(statistics.median(times), 1), "load": _load()}
    return out


def bench_pipeline(model_id: str, device: str, n_images: int, n_boxes: int) -> dict[str, Any]:
    """The autolabel path over n images, with the thresholds chosen to keep n_boxes per image."""
    from PIL import Image

    from app.automation.api import AutomationInput
    from app.automation.context import LocalContext
    from app.automation.store import store_proposals
    from app.automation.text_prompt import detect_text
    from app.core.images import load_image
    from app.core.project import Project

    det = _detector("tiny", device)
    ctx = LocalContext(_sam(model_id, device), loader=lambda *a, **k: det)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "imgs"
        folder.mkdir()
        for i in range(n_images + 1):
            Image.fromarray(_image(10 + i)).save(folder / f"img{i}.png")
        project = Project.open_folder(folder)
        try:
            recs = project.images()
            det.detect(load_image(project.image_path(recs[0])).array, PHRASES)  # warm-up
            # random weights score every box alike (often exactly 1.0): the n best queries are kept
            # instead of thresholding; the path is otherwise the automation's
            params = {"prompt": PROMPT, "box_threshold": 0.0, "text_threshold": 0.0, "detector": "x"}
            stored = 0
            phases: dict[str, float] = {"propose_s": 0.0, "store_s": 0.0}
            t0 = time.perf_counter()
            for rec in recs[1:]:
                image = load_image(project.image_path(rec)).array
                t1 = time.perf_counter()
                item = AutomationInput(image, rec.id)
                session = detect_text(ctx, item, params)
                raw = session.raw
                top = np.argsort(-raw.scores, kind="stable")[:n_boxes]
                session.raw = replace(raw, boxes=raw.boxes[top], scores=raw.scores[top],
                                      phrase_scores=raw.phrase_scores[top])
                props = session.proposals(ctx.predictor, ctx.embedding(item), 0.0, 0.0)
                t2 = time.perf_counter()
                stored += len(store_proposals(project, rec.id, props).annotations)
                phases["propose_s"] += t2 - t1
                phases["store_s"] += time.perf_counter() - t2
            total = time.perf_counter() - t0
        finally:
            project.close()
    return {"sam_model": model_id, "detector": "tiny", "images": n_images, "image_size": list(SIZE),
            "boxes_per_image": round(stored / n_images, 1), "images_per_s": round(n_images / total, 3),
            "s_per_image": round(total / n_images, 2), **{k: round(v / n_images, 2) for k, v in phases.items()},
            "load": _load()}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 1.0


def bench_autocast(configs: list[str], device: str, repeats: int) -> dict[str, Any]:
    """CUDA only: detector ms and agreement of the kept boxes (0.35 / 0.25) under fp16 / bf16 autocast
    with fp32: same query kept, same phrase, box IoU; the default stays fp32 unless they agree."""
    from sam_backend.detectors import parse_prompt

    phrases = parse_prompt(PROMPT)
    out: dict[str, Any] = {}
    for name in configs:
        det = _detector(name, device)
        for seed in range(3):
            img = _image(20 + seed)
            det.precision = "fp32"
            ref = det.detect(img, phrases)
            kept = {d.index: d for d in ref.select(0.35, 0.25)}
            for precision in ("fp16", "bf16"):
                det.precision = precision
                got = det.detect(img, phrases)
                mine = {d.index: d for d in got.select(0.35, 0.25)}
                row = out.setdefault(name, {}).setdefault(precision, {"kept_fp32": 0, "kept_same": 0,
                                                                      "phrase_same": 0, "min_iou": 1.0})
                row["kept_fp32"] += len(kept)
                row["kept_same"] += len(kept.keys() & mine.keys())
                for q in kept.keys() & mine.keys():
                    row["phrase_same"] += kept[q].phrase == mine[q].phrase
                    row["min_iou"] = min(row["min_iou"], _iou(np.array(kept[q].box), np.array(mine[q].box)))
                row["max_score_diff"] = max(row.get("max_score_diff", 0.0),
                                            float(np.abs(got.scores - ref.scores).max()))
        for precision in ("fp32", "fp16", "bf16"):
            det.precision = precision
            img = _image(20)
            det.detect(img, phrases)
            out[name].setdefault(precision, {})["detector_ms"] = _median_ms(lambda: det.detect(img, phrases), repeats)
        del det
        gc.collect()
    return out


def bench_sam3(device: str, repeats: int) -> dict[str, Any]:
    from transformers import Sam3Config, Sam3Model

    torch.manual_seed(0)
    model = Sam3Model(Sam3Config()).to(device).eval()
    params_m = sum(p.numel() for p in model.parameters()) / 1e6
    pixels = torch.randn(1, 3, 1008, 1008, device=device)
    ids = torch.randint(1, 49000, (1, 8), device=device)
    mask = torch.ones_like(ids)

    def run() -> None:
        with torch.inference_mode():
            model(pixel_values=pixels, input_ids=ids, attention_mask=mask)

    run()
    return {"sam3_ms": _median_ms(run, repeats), "params_m": round(params_m, 1), "load": _load()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--configs", nargs="*", default=["tiny", "base"])
    ap.add_argument("--sam-models", nargs="*", default=["mobile_sam", "sam_vit_b"])
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--boxes", type=int, default=10)
    ap.add_argument("--sam3", action="store_true")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    report: dict[str, Any] = {"machine": platform.platform(), "cpu_threads": torch.get_num_threads(),
                              "torch": torch.__version__, "device": args.device, "load_start": _load()}
    import transformers

    report["transformers"] = transformers.__version__
    report["detectors"] = bench_detectors(args.configs, args.device, args.repeats)
    report["sam_decode"] = bench_decode(args.sam_models, args.device, args.repeats)
    if args.images > 0:
        report["pipeline"] = bench_pipeline(args.sam_models[0], args.device, args.images, args.boxes)
    if args.device.startswith("cuda"):
        report["autocast"] = bench_autocast(args.configs, args.device, args.repeats)
    if args.sam3:
        report["sam3"] = bench_sam3(args.device, args.repeats)
    report["load_end"] = _load()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
