"""Our predictor against the peers' path (X-AnyLabeling / AnyLabeling), side by side in one run; prints JSON.

The peers run SAM as two ONNX graphs in ONNX Runtime (fp32, CPU): the image encoder, fed by numpy
preprocessing (cv2 resize of the longest side to 1024, mean/std normalisation, zero padding,
HWC -> NCHW), and a decoder graph that takes the embedding, the point prompts, a mask prompt
with its flag and the original image size, and upsamples the masks to full resolution inside
the graph (as segment-anything's `SamOnnxModel`); the app thresholds them at 0. Here both graphs
are exported with `torch.onnx` from OUR plain modules with the same random weights as our
predictor, so both paths compute the same function.

Timed, alternating the two paths in blocks within one run (the first run of a block uncounted):
  encode: image (1024x768 RGB) -> embedding, preprocessing included;
  decode: one point -> 3 boolean masks at 4000x3000 (an embedding of a 4000x3000 image); random
  weights answer with noise, so `_object_like` also times our decoder call followed by the
  post-processing of object-like logits (a trained model's answers; the peers' cost is the same).
On CUDA (when available): our predictor in fp32, fp16 and bf16, and ONNX Runtime's CUDA provider
when it is installed.

    python benchmarks/bench_peers.py [--models mobile_sam sam_vit_b] [--repeats 5] [--threads N]
Not a test: numbers depend on the machine and its load (both paths see the same load).
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
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sam_backend  # noqa: E402,F401  (before torch: its thread settings apply as in the app)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from sam_backend import build_model  # noqa: E402
from sam_backend.models.sam import PIXEL_MEAN, PIXEL_STD, Sam  # noqa: E402
from sam_backend.onnx_encoder import export as export_encoder  # noqa: E402
from sam_backend import transforms as T  # noqa: E402
from sam_backend.predictor import SamPredictor, validate_prompts  # noqa: E402

BLOCK = 3
ENCODE_SIZE = (768, 1024)  # H, W
DECODE_SIZE = (3000, 4000)


class PeerDecoder(nn.Module):
    """The peers' decoder graph: embedding + points (+ mask prompt) + original size -> masks at the
    original size (in-graph upsampling), IoU, low-res logits. Points are in model-input pixels."""

    def __init__(self, sam: Sam) -> None:
        super().__init__()
        self.sam = sam

    def forward(self, emb: torch.Tensor, coords: torch.Tensor, labels: torch.Tensor, mask_input: torch.Tensor,
                has_mask: torch.Tensor, orig_size: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pe = self.sam.prompt_encoder
        sparse = pe._embed_points(coords, labels, pad=False)
        dense = has_mask * pe.mask_downscaling(mask_input) + (1 - has_mask) * pe.no_mask_embed.weight.reshape(1, -1, 1, 1)
        masks, iou, _ = self.sam.mask_decoder(emb, pe.get_dense_pe(), sparse, dense)
        low = masks[:, 1:]
        up = F.interpolate(low, (1024, 1024), mode="bilinear", align_corners=False)
        scale = 1024.0 / orig_size.max()
        inp = (orig_size * scale + 0.5).to(torch.int64)
        up = up[..., : inp[0], : inp[1]]
        # the output size is traced as a constant (this torch cannot trace a tensor size): a graph
        # for the benchmark's image size, static shapes (if anything, to the peers' advantage)
        full = F.interpolate(up, (int(orig_size[0]), int(orig_size[1])), mode="bilinear", align_corners=False)
        return full, iou[:, 1:], low


def object_like_logits(seed: int = 0) -> torch.Tensor:
    """(3, 256, 256) low-res logits like a trained SAM's: about +12 in an ellipse (a larger one per
    candidate), -12 outside, a steep ramp between. The peers' decoder cost does not depend on them."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:256, 0:256].astype(np.float32)
    out = [12 * np.tanh(3 * (1 - np.hypot((yy - 110) / (25 * (k + 1)), (xx - 128) / (35 * (k + 1)))))
           + rng.normal(0, 0.3, (256, 256)) for k in range(3)]
    return torch.from_numpy(np.stack(out).astype(np.float32))


def peer_preprocess(image: np.ndarray) -> np.ndarray:
    """The peers' numpy preprocessing: (H, W, 3) uint8 -> (1, 3, 1024, 1024) float32."""
    h, w = image.shape[:2]
    scale = 1024 / max(h, w)
    nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
    x = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    x = (x - np.array(PIXEL_MEAN, np.float32)) / np.array(PIXEL_STD, np.float32)
    x = np.pad(x, ((0, 1024 - nh), (0, 1024 - nw), (0, 0)))
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def peer_sessions(sam: Sam, folder: Path, providers: list[str], threads: int, spin: bool = True) -> tuple[Any, Any]:
    """ONNX Runtime sessions of the exported encoder and decoder graphs."""
    import onnxruntime as ort

    enc_path, dec_path = folder / "encoder.onnx", folder / f"decoder_{DECODE_SIZE[0]}x{DECODE_SIZE[1]}.onnx"
    if not enc_path.is_file():
        export_encoder(sam.image_encoder, enc_path)
    if not dec_path.is_file():
        args = (torch.zeros(1, 256, 64, 64), torch.zeros(1, 2, 2), torch.ones(1, 2, dtype=torch.int64),
                torch.zeros(1, 1, 256, 256), torch.zeros(1), torch.tensor([float(DECODE_SIZE[0]), float(DECODE_SIZE[1])]))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(PeerDecoder(sam).eval(), args, str(dec_path), dynamo=False, opset_version=17,
                              input_names=["emb", "coords", "labels", "mask_input", "has_mask", "orig_size"],
                              output_names=["masks", "iou", "low"], dynamic_axes={"coords": {1: "n"}, "labels": {1: "n"}})
    options = ort.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
    if not spin:  # idle ONNX Runtime threads sleep at once (as ours do); the peers keep the default
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return (ort.InferenceSession(str(enc_path), options, providers=providers),
            ort.InferenceSession(str(dec_path), options, providers=providers))


def _stats(times: list[float]) -> dict[str, float]:
    t = sorted(times)
    return {"median_ms": round(statistics.median(t), 1), "p95_ms": round(t[int(round(0.95 * (len(t) - 1)))], 1)}


def alternate(paths: dict[str, Callable[[], Any]], repeats: int, sync: Callable[[], None] = lambda: None) -> dict[str, dict[str, float]]:
    """Time the paths in alternating blocks of BLOCK runs, the first run of a block uncounted."""
    times: dict[str, list[float]] = {k: [] for k in paths}
    while any(len(v) < repeats for v in times.values()):
        for name, fn in paths.items():
            for k in range(BLOCK):
                sync()
                t = time.perf_counter()
                fn()
                sync()
                if k and len(times[name]) < repeats:
                    times[name].append((time.perf_counter() - t) * 1000)
    return {k: _stats(v) for k, v in times.items()}


def bench_cpu(model_id: str, repeats: int, threads: int, folder: Path, spin: bool) -> dict[str, Any]:
    torch.manual_seed(0)
    sam = build_model(model_id)
    ours = SamPredictor(sam, model_id, "cpu")
    enc_sess, dec_sess = peer_sessions(sam, folder / model_id, ["CPUExecutionProvider"], threads, spin)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*ENCODE_SIZE, 3), dtype=np.uint8)
    big = rng.integers(0, 256, (*DECODE_SIZE, 3), dtype=np.uint8)
    emb = ours.encode(big)
    emb_np = emb.features.numpy()
    h, w = DECODE_SIZE
    point = [(w * 0.5, h * 0.5)]
    scale = 1024 / max(h, w)
    peer_in = {"emb": emb_np, "coords": np.array([[[w * 0.5 * scale, h * 0.5 * scale], [0.0, 0.0]]], np.float32),
               "labels": np.array([[1, -1]], np.int64), "mask_input": np.zeros((1, 1, 256, 256), np.float32),
               "has_mask": np.zeros(1, np.float32), "orig_size": np.array([h, w], np.float32)}

    def peer_encode() -> Any:
        return enc_sess.run(None, {"image": peer_preprocess(image)})[0]

    def peer_decode() -> np.ndarray:
        return dec_sess.run(None, peer_in)[0][0] > 0

    # random weights answer with noise (an outline everywhere); a trained model answers with objects:
    # ours on object-like logits = the same decoder call + the post-processing of such logits
    prompts = validate_prompts(point, [1], None, None)
    objects = object_like_logits()

    def ours_object_like() -> np.ndarray:
        ours._decode(emb, prompts, True)
        return T.masks_from_low_res(objects, emb.input_size, emb.original_size)

    ours_masks = ours.predict(emb, points=point, labels=[1]).masks
    peer_masks = peer_decode()
    agree = float(np.mean(ours_masks == peer_masks))  # same function: only pixels at |logit| ~ 0 may differ
    enc = alternate({"peers": peer_encode, "ours": lambda: ours.encode(image)}, max(2, repeats // 2))
    dec = alternate({"peers": peer_decode, "ours": lambda: ours.predict(emb, points=point, labels=[1])}, repeats)
    obj = alternate({"peers": peer_decode, "ours": ours_object_like}, repeats)
    return {
        "encode_1024x768": {**enc, "speedup": round(enc["peers"]["median_ms"] / enc["ours"]["median_ms"], 2)},
        "point_to_3_masks_4000x3000": {**dec, "speedup": round(dec["peers"]["median_ms"] / dec["ours"]["median_ms"], 2)},
        "point_to_3_masks_4000x3000_object_like": {
            **obj, "speedup": round(obj["peers"]["median_ms"] / obj["ours"]["median_ms"], 2)},
        "mask_pixels_agreeing": round(agree, 6),
        "ours_setup": ours.encoder_setup.describe(),
    }


def bench_cuda(model_id: str, repeats: int, folder: Path) -> dict[str, Any]:
    """Our predictor on CUDA in fp32 / fp16 / bf16, and ONNX Runtime's CUDA provider if installed."""
    import onnxruntime as ort

    torch.manual_seed(0)
    sam = build_model(model_id)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*ENCODE_SIZE, 3), dtype=np.uint8)
    big = rng.integers(0, 256, (*DECODE_SIZE, 3), dtype=np.uint8)
    sync = torch.cuda.synchronize
    enc_paths: dict[str, Callable[[], Any]] = {}
    dec_paths: dict[str, Callable[[], Any]] = {}
    h, w = DECODE_SIZE
    point = [(w * 0.5, h * 0.5)]
    for precision in ("fp32", "fp16", "bf16"):
        p = SamPredictor(sam, model_id, "cuda", precision=precision)
        emb = p.encode(big)
        enc_paths[f"ours_{precision}"] = lambda p=p: p.encode(image)
        dec_paths[f"ours_{precision}"] = lambda p=p, emb=emb: p.predict(emb, points=point, labels=[1])
    if "CUDAExecutionProvider" in ort.get_available_providers():
        enc_sess, dec_sess = peer_sessions(sam.cpu(), folder / model_id, ["CUDAExecutionProvider"], 0)
        sam.cuda()
        emb_np = SamPredictor(sam, model_id, "cuda").encode(big).features.cpu().numpy()
        scale = 1024 / max(h, w)
        peer_in = {"emb": emb_np, "coords": np.array([[[w * 0.5 * scale, h * 0.5 * scale], [0.0, 0.0]]], np.float32),
                   "labels": np.array([[1, -1]], np.int64), "mask_input": np.zeros((1, 1, 256, 256), np.float32),
                   "has_mask": np.zeros(1, np.float32), "orig_size": np.array([h, w], np.float32)}
        enc_paths["peers_ort_cuda"] = lambda: enc_sess.run(None, {"image": peer_preprocess(image)})
        dec_paths["peers_ort_cuda"] = lambda: dec_sess.run(None, peer_in)[0][0] > 0
    return {"encode_1024x768": alternate(enc_paths, repeats, sync),
            "point_to_3_masks_4000x3000": alternate(dec_paths, repeats, sync),
            "onnxruntime_providers": ort.get_available_providers()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["mobile_sam", "sam_vit_b"])
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per path (encode: half as many)")
    ap.add_argument("--threads", type=int, default=0, help="threads of both paths (default: each library's choice)")
    ap.add_argument("--cache", default=None, help="folder for the exported graphs (default: a temporary one)")
    ap.add_argument("--ort-no-spin", action="store_true",
                    help="let ONNX Runtime's idle threads sleep (not the peers' default; a check that the ratios do not "
                         "come from its spinning threads alone)")
    args = ap.parse_args(argv)
    import onnxruntime as ort

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    folder = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="bench_peers_"))
    out: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "torch": torch.__version__,
        "onnxruntime": ort.__version__, "torch_threads": torch.get_num_threads(),
        "ort_spinning": not args.ort_no_spin,
        "loadavg_1min_start": round(os.getloadavg()[0], 2), "cpu": {},
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
    for model_id in args.models:
        out["cpu"][model_id] = bench_cpu(model_id, args.repeats, args.threads, folder, not args.ort_no_spin)
        out[f"loadavg_1min_after_{model_id}"] = round(os.getloadavg()[0], 2)
    if torch.cuda.is_available():
        out["cuda"] = {m: bench_cuda(m, args.repeats, folder) for m in args.models}
    out["loadavg_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
