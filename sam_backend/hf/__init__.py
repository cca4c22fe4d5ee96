"""SAM 2.1, SAM 3 (points and boxes) and EdgeTAM through ``transformers`` (an optional extra).

The families registered here serve hub snapshots (sam_backend.hub) with the same predictor contract
as our SAM 1 engine: ``encode`` once per image into an ImageEmbedding (the image embedding as
``features``, the decoder's high-resolution maps as ``early_features``), ``predict`` with points,
box and mask_input into three candidates with predicted IoU. Sequence propagation (a video model
carrying masks from frame to frame) lives in sam_backend.hf.video.

Importing this package is cheap: neither torch nor transformers is imported until a model loads.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sam_backend.families import ModelFamily, Predictor
    from sam_backend.propagation import Propagator

EXTRA = "sam2"
INSTALL_HINT = 'pip install "sam-labeler[sam2]"'
TRANSFORMERS_MIN = (5, 0)


@dataclass(frozen=True)
class HfFamily:
    """What differs between the transformers families: the image model class and its video (tracking)
    class, the config model types each snapshot may declare, and the default normalisation."""

    id: str
    title: str
    image_class: str
    video_class: str
    image_mean: tuple[float, float, float]
    image_std: tuple[float, float, float]
    score_name: str = "predicted IoU"


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HF_FAMILIES: dict[str, HfFamily] = {
    "sam2": HfFamily("sam2", "SAM 2.1 (Hiera)", "Sam2Model", "Sam2VideoModel", IMAGENET_MEAN, IMAGENET_STD),
    "sam3": HfFamily("sam3", "SAM 3 (points and boxes)", "Sam3TrackerModel", "Sam3TrackerVideoModel",
                     (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "edgetam": HfFamily("edgetam", "EdgeTAM", "EdgeTamModel", "EdgeTamVideoModel", IMAGENET_MEAN, IMAGENET_STD),
}


def missing_dependency() -> str | None:
    """None when transformers (and huggingface_hub) are importable in a usable version, else one
    sentence saying how to enable the families. Does not import them."""
    for name in ("transformers", "huggingface_hub"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a finder that refuses the name: not importable either
            found = False
        if not found:
            return f"{name} is not installed: run {INSTALL_HINT} to use SAM 2.1, SAM 3 and EdgeTAM"
    try:
        from importlib.metadata import version

        parts = tuple(int(p) for p in version("transformers").split(".")[:2])
    except (ValueError, ImportError):
        return None
    except Exception:  # noqa: BLE001 - metadata of a broken install
        return None
    if parts < TRANSFORMERS_MIN:
        return (f"transformers {'.'.join(map(str, parts))} is too old (need >= 5.0): run "
                f'pip install -U "sam-labeler[sam2]"')
    return None


def _edgetam_missing() -> str | None:
    missing = missing_dependency()
    if missing is not None:
        return missing
    try:
        timm = importlib.util.find_spec("timm")
    except (ImportError, ValueError):
        timm = None
    if timm is None:
        return ("EdgeTAM's RepViT image encoder comes from timm, which is not installed: run "
                "pip install timm (it needs a torchvision that matches your torch)")
    return None


def builtin_families() -> list[ModelFamily]:
    """The ModelFamily entries of this package (registered by sam_backend.families)."""
    from sam_backend.families import ModelFamily
    from sam_backend.hub_specs import HUB_MODELS

    out = []
    for fam in HF_FAMILIES.values():
        ids = tuple(mid for mid, spec in HUB_MODELS.items() if spec.family == fam.id)

        def load(model_id: str, *, checkpoint: str | None = None, device: str = "auto",
                 precision: str = "fp32") -> Predictor:
            from sam_backend.hf.predictor import load_hf_predictor

            return load_hf_predictor(model_id, checkpoint=checkpoint, device=device, precision=precision)

        def load_propagator(model_id: str, *, checkpoint: str | None = None, device: str = "auto") -> Propagator:
            from sam_backend.hf.video import load_video_propagator

            return load_video_propagator(model_id, checkpoint=checkpoint, device=device)

        out.append(ModelFamily(
            id=fam.id, title=fam.title, kind="segmenter", model_ids=ids,
            prompt_kinds=frozenset({"points", "box", "mask"}), load=load, score_name=fam.score_name,
            requires=EXTRA, available=_edgetam_missing if fam.id == "edgetam" else missing_dependency,
            load_propagator=load_propagator))
    return out
