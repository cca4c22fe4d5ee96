"""Figures of the transformers families (SAM 2.1, SAM 3 tracker, EdgeTAM) for bench_backend.py.

Full-size networks from the library's config classes with random weights (the official SAM 2.1 size
configs of sam_backend.hf.convert; SAM 3's default tracker config), driven through our adapters:
encode (the image is resized to the model's square input, so 1 MP and 12 MP cost the same there),
prompt -> 3 full-resolution masks at 1 MP and 12 MP, and propagation frames/s with the video model
(one object, 1 MP frames). Not a test.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _image_model(model_id: str) -> torch.nn.Module:
    if model_id.startswith("sam2.1_"):
        from transformers import Sam2Config, Sam2Model

        from sam_backend.hf.convert import official_config

        video = official_config(model_id)
        cfg = Sam2Config(vision_config=video.vision_config, prompt_encoder_config=video.prompt_encoder_config.to_dict(),
                         mask_decoder_config=video.mask_decoder_config.to_dict())
        return Sam2Model(cfg).eval()
    if model_id == "sam3":
        from transformers import Sam3TrackerConfig, Sam3TrackerModel

        return Sam3TrackerModel(Sam3TrackerConfig()).eval()
    if model_id == "edgetam":
        from transformers import EdgeTamConfig, EdgeTamModel

        return EdgeTamModel(EdgeTamConfig()).eval()  # needs timm (RepViT backbone)
    raise ValueError(f"no benchmark config for {model_id}")


def _video_model(model_id: str) -> torch.nn.Module | None:
    if not model_id.startswith("sam2.1_"):
        return None
    from transformers import Sam2VideoModel

    from sam_backend.hf.convert import official_config

    return Sam2VideoModel(official_config(model_id)).eval()


def bench_hf_model(model_id: str, device: torch.device, repeats: int,
                   measure: Callable[..., dict[str, Any]], sizes: dict[str, tuple[int, int]],
                   frames: int = 6) -> dict[str, Any]:
    """{figure: stats} like bench_backend.bench_model, plus propagation_fps_1mp for SAM 2.1."""
    from sam_backend.hf import HF_FAMILIES
    from sam_backend.hf.predictor import HfSamPredictor
    from sam_backend.hub import get_hub_spec

    family = HF_FAMILIES[get_hub_spec(model_id).family]
    try:
        torch.manual_seed(0)
        model = _image_model(model_id)
    except (ImportError, ModuleNotFoundError) as exc:
        return {"skipped": f"cannot build {model_id} here: {exc}"}
    out: dict[str, Any] = {"params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1)}
    predictor = HfSamPredictor(model, model_id, family, device)
    rng = np.random.default_rng(0)
    figures: dict[str, Callable[[], Any]] = {}
    for name, (h, w) in sizes.items():
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        emb = predictor.encode(image)
        point = [(w * 0.5, h * 0.5)]
        if name == "1mp":
            figures["encode_1mp"] = lambda image=image: predictor.encode(image)
            inputs = predictor.model_inputs(emb, point, [1])
            maps = [*emb.early_features, emb.features]

            def decoder_only(inputs: dict = inputs, maps: list = maps) -> Any:
                with torch.inference_mode():
                    return predictor.model(image_embeddings=maps, multimask_output=True, **inputs)

            figures["decoder_only"] = decoder_only
        figures[f"prompt_to_3_masks_{name}"] = lambda emb=emb, point=point: predictor.predict(emb, points=point,
                                                                                                 labels=[1])
    for name, fn in figures.items():
        n = max(2, repeats // 2) if name.startswith("encode") else repeats
        out[name] = measure({"fast": fn}, n, device)["fast"]  # bench_backend._measure: {path: figures}
    del predictor, model
    video = _video_model(model_id)
    if video is not None:
        out["propagation_1mp"] = _propagation(video, model_id, device, frames, sizes["1mp"])
    return out


def _propagation(model: torch.nn.Module, model_id: str, device: torch.device, frames: int,
                 size: tuple[int, int]) -> dict[str, Any]:
    from sam_backend.hf.video import VideoPropagator
    from sam_backend.propagation import PropagationPlan

    h, w = size
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(2)]
    mask = np.zeros((h, w), bool)
    mask[h // 4: h // 2, w // 4: w // 2] = True
    prop = VideoPropagator(model, model_id, "sam2", device)
    start = time.perf_counter()
    n = 0
    for _ in prop.propagate(lambda i: images[i % 2], PropagationPlan(frames + 1, 0), {1: mask}, threshold=0.0):
        n += 1
    elapsed = time.perf_counter() - start  # includes the anchor frame's encode + memory
    return {"frames": n, "seconds": round(elapsed, 2), "frames_per_s": round(n / elapsed, 3),
            "ms_per_frame": round(1000 * elapsed / max(n, 1), 1)}
