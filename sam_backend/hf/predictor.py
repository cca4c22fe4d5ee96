"""HfSamPredictor: the SamPredictor contract on a ``transformers`` SAM 2.1 / SAM 3 tracker / EdgeTAM model.

The network is the library's own model; this module only turns our inputs into its inputs and its
outputs into ours:
- encode: RGB uint8 (H, W, 3) -> float in [0, 1] -> bilinear resize (antialiased, like the library's
  image processor) to the model's square input (1024 for SAM 2.1 / EdgeTAM, 1008 for SAM 3; the
  aspect ratio is NOT kept, unlike SAM 1) -> normalise -> ``model.get_image_embeddings``. The result
  is an ImageEmbedding: ``features`` = the image embedding, ``early_features`` = the two
  high-resolution maps the mask decoder adds while upscaling.
- predict: original-image pixels are scaled by (S / W, S / H) (the processor's coordinate rule), a box
  becomes the model's ``input_boxes``, mask_input is the model's own low-res frame (the whole image,
  stretched: 256x256 for SAM 2.1, 288x288 for SAM 3) -> ``model(image_embeddings=...)`` ->
  ``pred_masks`` (low-res logits) and ``iou_scores``. Full-resolution masks/logits: bilinear resize of
  the low-res logits to (H, W) (align_corners=False), threshold 0 (the processor's post_process_masks).

torch and transformers are imported with this module; sam_backend.hf.__init__ stays light.
"""
from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from sam_backend import transforms
from sam_backend.errors import CheckpointError, EncodeAborted
from sam_backend.hf import HF_FAMILIES, HfFamily
from sam_backend.predictor import PRECISIONS, validate_prompts
from sam_backend.types import ImageEmbedding, Prediction

if TYPE_CHECKING:
    from sam_backend.families import Embedding

PREPROCESS_VERSION = 1
"""Bumps when this module's preprocessing changes (part of every embedding cache key)."""


class HfSamPredictor:
    """A transformers SAM-2-style image model on one device (used by one thread at a time).

    model: Sam2Model, Sam3TrackerModel or EdgeTamModel (eval mode); model_id: our id (embeddings carry
    it); family: which HfFamily; image_mean/image_std: normalisation (the snapshot's preprocessor
    config, else the family's default).
    """

    prompt_kinds: frozenset[str] = frozenset({"points", "box", "mask"})
    candidates = 3

    def __init__(self, model: torch.nn.Module, model_id: str, family: HfFamily | str = "sam2",
                 device: torch.device | str = "cpu", precision: str = "fp32",
                 image_mean: Sequence[float] | None = None, image_std: Sequence[float] | None = None) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}: choose fp32, fp16 or bf16")
        self.family = HF_FAMILIES[family] if isinstance(family, str) else family
        self.score_name = self.family.score_name
        self.device = torch.device(device)
        # a transformers model class picked by family at run time (Sam2Model, Sam3TrackerModel,
        # EdgeTamModel): prompt_encoder, get_image_embeddings and its outputs have no common static type
        loaded: Any = model.to(self.device).eval()
        self.model = loaded
        self.model_id = model_id
        self.precision = precision
        self.fallback_reason: str | None = None
        self.preprocess_version = PREPROCESS_VERSION
        pe = self.model.prompt_encoder
        self.image_size = int(pe.input_image_size)
        self.low_res = int(pe.mask_input_size[0])
        mean = image_mean if image_mean is not None else self.family.image_mean
        std = image_std if image_std is not None else self.family.image_std
        self._mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self._abort: Callable[[], bool] | None = None
        self._hook_blocks()

    @property
    def device_name(self) -> str:
        """Where the network runs ("cpu", "cuda:0")."""
        return str(self.device)

    # ---------------------------------------------------------------- encode
    def pixel_values(self, rgb: np.ndarray) -> torch.Tensor:
        """The model input (1, 3, S, S) float32 on the device for an (H, W, 3) uint8 RGB image."""
        return pixel_values(rgb, self.image_size, self._mean, self._std, self.device)

    def encode(self, image: np.ndarray, should_abort: Callable[[], bool] | None = None) -> ImageEmbedding:
        """Encode an image (see transforms.to_rgb_uint8 for the accepted forms). should_abort is polled
        before every block of the image encoder; True stops with EncodeAborted."""
        rgb = transforms.to_rgb_uint8(image)
        try:
            return self._encode(rgb, should_abort)
        except torch.cuda.OutOfMemoryError as exc:
            if self.device.type != "cuda":
                raise
            self._fall_back_to_cpu(f"CUDA ran out of memory while encoding an image of {rgb.shape[1]}x{rgb.shape[0]} "
                                   f"px ({str(exc).splitlines()[0][:120]}); continuing on the CPU")
            return self._encode(rgb, should_abort)

    def _encode(self, rgb: np.ndarray, should_abort: Callable[[], bool] | None) -> ImageEmbedding:
        if should_abort is not None and should_abort():
            raise EncodeAborted("the image encode was aborted for a more urgent request")
        self._abort = should_abort
        try:
            with torch.inference_mode(), self._autocast():
                maps = self.model.get_image_embeddings(self.pixel_values(rgb))
        finally:
            self._abort = None
        maps = [m.float() for m in maps]
        return ImageEmbedding(model_id=self.model_id, features=maps[-1], original_size=(int(rgb.shape[0]),
                              int(rgb.shape[1])), input_size=(self.image_size, self.image_size),
                              early_features=tuple(maps[:-1]), preprocess_version=self.preprocess_version)

    def _hook_blocks(self) -> None:
        """Poll ``self._abort`` before every block of the image encoder (forward pre-hooks on the
        ModuleLists of blocks; a hook costs one attribute read when no encode is abortable)."""

        def check(_module: torch.nn.Module, _args: object) -> None:
            abort = self._abort
            if abort is not None and abort():
                raise EncodeAborted("the image encode was aborted for a more urgent request")

        encoder = getattr(self.model, "vision_encoder", None)
        if encoder is None:
            return
        for module in encoder.modules():
            if isinstance(module, torch.nn.ModuleList):
                for block in module:
                    block.register_forward_pre_hook(check)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.device.type == "cuda" and self.precision != "fp32":
            return torch.autocast("cuda", dtype=PRECISIONS[self.precision])
        return contextlib.nullcontext()

    def _fall_back_to_cpu(self, reason: str) -> None:
        self.model.to("cpu")
        self.device = torch.device("cpu")
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.fallback_reason = reason
        warnings.warn(reason, RuntimeWarning, stacklevel=3)

    # --------------------------------------------------------------- predict
    def model_inputs(self, emb: Embedding, points: Sequence[Sequence[float]] | np.ndarray | None = None,
                     labels: Sequence[int] | np.ndarray | None = None, box: Sequence[float] | np.ndarray | None = None,
                     mask_input: np.ndarray | None = None) -> dict[str, torch.Tensor | None]:
        """The keyword inputs of ``model(...)`` for prompts in original-image pixels (validated)."""
        prompts = validate_prompts(points, labels, box, mask_input, low_res=self.low_res)
        h, w = emb.original_size
        scale = np.array([self.image_size / w, self.image_size / h])
        dev = self.device
        out: dict[str, torch.Tensor | None] = {"input_points": None, "input_labels": None, "input_boxes": None,
                                               "input_masks": None}
        if prompts.points is not None:
            out["input_points"] = torch.as_tensor(prompts.points * scale, dtype=torch.float32, device=dev)[None, None]
            out["input_labels"] = torch.as_tensor(prompts.labels, dtype=torch.int32, device=dev)[None, None]
        if prompts.box is not None:
            corners = prompts.box.reshape(2, 2) * scale
            out["input_boxes"] = torch.as_tensor(corners.reshape(1, 1, 4), dtype=torch.float32, device=dev)
        if prompts.mask_input is not None:
            out["input_masks"] = torch.as_tensor(prompts.mask_input, dtype=torch.float32, device=dev)[None, None]
        return out

    def predict(self, emb: Embedding, points: Sequence[Sequence[float]] | np.ndarray | None = None,
                labels: Sequence[int] | np.ndarray | None = None, box: Sequence[float] | np.ndarray | None = None,
                mask_input: np.ndarray | None = None, multimask: bool = True) -> Prediction:
        """Candidate masks for prompts on an encoded image (the SamPredictor.predict contract; mask_input
        is ``low_res`` x ``low_res`` logits in this model's frame, e.g. a previous ``low_res_logits[k]``)."""
        inputs = self.model_inputs(emb, points, labels, box, mask_input)
        if emb.model_id != self.model_id:
            raise ValueError(f"this embedding was made by model {emb.model_id}, not {self.model_id}: re-encode the image")
        if not isinstance(emb, ImageEmbedding):
            raise ValueError(f"this embedding ({type(emb).__name__}) was not made by this predictor: re-encode the image")
        maps = [t.to(self.device, torch.float32) for t in (*emb.early_features, emb.features)]
        with torch.inference_mode():
            out = self.model(image_embeddings=maps, multimask_output=multimask, **inputs)
        low = out.pred_masks[0, 0].float().cpu()
        scores = out.iou_scores[0, 0].float().cpu().numpy().astype(np.float32)
        size = emb.original_size
        masks = np.stack([upscale_logits(low[k], size).numpy() > 0.0 for k in range(low.shape[0])])

        def logits(k: int) -> np.ndarray:
            if not 0 <= k < low.shape[0]:
                raise IndexError(f"candidate {k} does not exist: this prediction has {low.shape[0]}")
            return upscale_logits(low[k], size).numpy()

        return Prediction(masks=masks, scores=scores, low_res_logits=low.numpy(), _logits_fn=logits)


def pixel_values(rgb: np.ndarray, size: int, mean: torch.Tensor, std: torch.Tensor,
                 device: torch.device) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (1, 3, size, size) float32: [0, 1], bilinear antialiased resize of the whole
    image to the square (the library's image/video processors), then (x - mean) / std."""
    x = torch.from_numpy(np.ascontiguousarray(rgb)).to(device).permute(2, 0, 1)[None].float() / 255.0
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return (x - mean.to(device).view(1, 3, 1, 1)) / std.to(device).view(1, 3, 1, 1)


def upscale_logits(low: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(h, w) low-res logits -> (H, W) float32 logits: bilinear, align_corners=False (the image frame is
    the whole low-res square; nothing to crop)."""
    return F.interpolate(low[None, None].float(), size=size, mode="bilinear", align_corners=False)[0, 0]


# ------------------------------------------------------------------------------------ loading
@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers' load-time chatter (model-type notes, weight progress bars) off, restored afterwards."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def read_normalisation(folder: Path) -> tuple[list[float] | None, list[float] | None]:
    """image_mean / image_std of a snapshot's preprocessor_config.json (None when absent)."""
    for name in ("preprocessor_config.json", "processor_config.json"):
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        data = data.get("image_processor", data) if isinstance(data, dict) else {}
        mean, std = data.get("image_mean"), data.get("image_std")
        if isinstance(mean, list) and isinstance(std, list) and len(mean) == len(std) == 3:
            return [float(v) for v in mean], [float(v) for v in std]
    return None, None


def load_model_class(class_name: str, folder: Path) -> torch.nn.Module:
    """``transformers.<class_name>.from_pretrained(folder)`` in eval mode; CheckpointError (one sentence)."""
    import transformers

    cls = getattr(transformers, class_name)
    try:
        with quiet_transformers():
            model = cls.from_pretrained(str(folder))
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise CheckpointError(f"cannot load {folder} as {class_name}: {first}") from exc
    return model.eval()


def snapshot_for(model_id: str, checkpoint: str | os.PathLike[str] | None) -> Path:
    """The folder to load: ``checkpoint`` (a snapshot folder or its config.json) or the verified install."""
    if checkpoint is None:
        from sam_backend.hub import installed_snapshot

        return installed_snapshot(model_id)
    folder = Path(checkpoint).expanduser()
    if folder.is_file() and folder.name == "config.json":
        folder = folder.parent
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder} is not a model snapshot folder (it holds no config.json)")
    return folder


def load_hf_predictor(model_id: str, checkpoint: str | os.PathLike[str] | None = None, device: str = "auto",
                      precision: str = "fp32") -> HfSamPredictor:
    """Load ``model_id`` (a sam_backend.hub id of a transformers family) into an HfSamPredictor.

    checkpoint: a snapshot folder, or None for the verified install in the model cache
    (CheckpointMissing otherwise). Raises CheckpointError, UnknownModel, SamBackendError (device).
    """
    from sam_backend.device import resolve_device
    from sam_backend.hub import get_hub_spec

    spec = get_hub_spec(model_id)
    family = HF_FAMILIES[spec.family]
    folder = snapshot_for(model_id, checkpoint)
    dev = resolve_device(device)
    model = load_model_class(family.image_class, folder)
    mean, std = read_normalisation(folder)
    return HfSamPredictor(model, model_id, family, dev, precision, mean, std)
