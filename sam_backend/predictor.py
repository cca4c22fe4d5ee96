"""`SamPredictor`: image -> embedding (encode) and embedding + prompts -> candidate masks (predict).

Coordinates are original-image pixels (x right, y down, pixel centres at integer coordinates).
The predictor keeps no per-image state: the ImageEmbedding is the state, so embeddings can be
cached and reused. One thread at a time may use a predictor.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sam_backend import encoders, transforms
from sam_backend.encoders import PRECISIONS, EncoderSetup
from sam_backend.errors import EncodeAborted
from sam_backend.fast.decoder import FastDecoder, ImagePrep
from sam_backend.fast.routes import EncoderRoute
from sam_backend.models.configs import ModelConfig
from sam_backend.models.sam import Sam
from sam_backend.types import BoxPredictions, ImageEmbedding, Prediction

if TYPE_CHECKING:
    from sam_backend.families import Embedding



@dataclass(frozen=True)
class Prompts:
    """Validated prompts in original-image pixels.

    points: float64 (N, 2) x, y or None; labels: int64 (N,) in {0, 1} or None;
    box: float64 (4,) x0, y0, x1, y1 or None; mask_input: float32 (256, 256) logits or None.
    """

    points: np.ndarray | None
    labels: np.ndarray | None
    box: np.ndarray | None
    mask_input: np.ndarray | None


def _as_float_array(value: object, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers, got {value!r:.80}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contain NaN or infinite values")
    return arr


def validate_prompts(points: Sequence[Sequence[float]] | np.ndarray | None, labels: Sequence[int] | np.ndarray | None,
                     box: Sequence[float] | np.ndarray | None, mask_input: np.ndarray | None,
                     low_res: int = 256) -> Prompts:
    """Check and normalise prompts; raise ValueError with one sentence for invalid input.

    low_res: side of the model's square low-resolution mask frame (256 for SAM; 288 for SAM 3)."""
    pts = lab = bx = mask = None
    if points is not None and len(points) > 0:
        pts = _as_float_array(points, "point coordinates")
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"points must be a list of (x, y) pairs, got an array of shape {pts.shape}")
        if labels is None:
            raise ValueError("points need labels: 1 for foreground, 0 for background")
        lab_f = _as_float_array(labels, "point labels").reshape(-1)
        if lab_f.shape[0] != pts.shape[0]:
            raise ValueError(f"got {pts.shape[0]} point(s) but {lab_f.shape[0]} label(s): give one label per point")
        if not np.all(np.isin(lab_f, (0.0, 1.0))):
            raise ValueError("point labels must be 1 (foreground) or 0 (background)")
        lab = lab_f.astype(np.int64)
    elif labels is not None and len(labels) > 0:
        raise ValueError(f"got {len(labels)} label(s) but no points: give one label per point")
    if box is not None:
        bx = _as_float_array(box, "box coordinates").reshape(-1)
        if bx.shape[0] != 4:
            raise ValueError(f"a box is (x0, y0, x1, y1), got {bx.shape[0]} number(s)")
        if bx[2] < bx[0] or bx[3] < bx[1]:
            raise ValueError(f"box corners are reversed ({bx[0]:g}, {bx[1]:g}, {bx[2]:g}, {bx[3]:g}): need x0 <= x1 and y0 <= y1")
    if mask_input is not None:
        mask = np.asarray(mask_input)
        if mask.dtype == np.bool_ or not np.issubdtype(mask.dtype, np.number):
            raise ValueError(f"mask_input must be float low-res logits, not {mask.dtype} values")
        if mask.shape not in ((low_res, low_res), (1, low_res, low_res)):
            raise ValueError(f"mask_input must be 1x{low_res}x{low_res} or {low_res}x{low_res} low-res logits, "
                             f"got shape {mask.shape}")
        mask = mask.reshape(low_res, low_res).astype(np.float32)
        if not np.all(np.isfinite(mask)):
            raise ValueError("mask_input contains NaN or infinite values")
    if pts is None and bx is None and mask is None:
        raise ValueError("no prompt given: add at least one point, a box or a mask_input")
    return Prompts(pts, lab, bx, mask)


class SamPredictor:
    """Runs a SAM-family network on one device.

    Attributes:
        model: the network (eval mode, float32 weights).
        model_id: id of the architecture/weights (e.g. "mobile_sam"); embeddings carry it.
        device: where the network currently lives (changes to CPU after a CUDA out-of-memory fallback).
        precision: the encoder's mode as asked for: "fp32" (exact, default), "bf16", "fp16"
            (CUDA), "int8" (CPU); see sam_backend.encoders and sam_backend.modes.
        engine: "torch" (default) or "onnxruntime" (exact encoder on the CPU; sam_backend.onnx_encoder).
        encoder_setup: what the encoder really runs (precision in effect, exact or not, engine,
            route, device, and a note when a setting could not apply) — for the app to show.
        fast: True (default): the fast routes of `sam_backend.fast` (encoder, decoder, mask
            upsampling); False: the plain modules and the reference post-processing, i.e. the
            reference arithmetic (the benchmarks' naive baseline, parity tests). Same function.
        fallback_reason: None, or one sentence saying why the predictor moved to the CPU.
    The decoder and the mask post-processing are exact in every mode.
    """

    # sam_backend.families.Predictor: what this family takes and answers
    prompt_kinds: frozenset[str] = frozenset({"points", "box", "mask"})
    candidates = 3
    score_name = "predicted IoU"

    def __init__(
        self,
        model: Sam,
        model_id: str,
        device: torch.device | str = "cpu",
        precision: str = "fp32",
        fast: bool = True,
        engine: str = "torch",
    ) -> None:
        encoders.check(precision, engine)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.model_id = model_id
        self.precision = precision
        self.engine = engine
        self.fast = fast
        self.fallback_reason: str | None = None
        self.preprocess_version = transforms.PREPROCESS_VERSION
        self._pe_cache: tuple[torch.Tensor, torch.device, torch.Tensor] | None = None
        self._prep_cache: tuple[tuple[torch.Tensor, ...], ImagePrep, torch.device] | None = None
        self._encoder: EncoderRoute = model.image_encoder
        self._decoder: FastDecoder | None = None
        self.encoder_setup: EncoderSetup
        self._make_routes()

    def _make_routes(self) -> None:
        """The encoder and decoder routes for the model as it is now (device included)."""
        self._encoder, self.encoder_setup = encoders.choose(
            self.model, self.model_id, self.device, self.precision, self.fast, self.engine
        )
        self._decoder = FastDecoder(self.model.mask_decoder) if self.fast else None
        self._prep_cache = None

    @property
    def fast_decoder(self) -> FastDecoder | None:
        """The decoder's fast route (None when this predictor runs the plain reference route);
        batch users such as the automatic mask generator drive it directly."""
        return self._decoder

    @property
    def device_name(self) -> str:
        """Where the network runs, as text ("cpu", "cuda:0")."""
        return str(self.device)

    @property
    def is_hq(self) -> bool:
        """True for SAM-HQ models (embeddings then carry early features)."""
        return bool(self.model.is_hq)

    # ---------------------------------------------------------------- encode
    def encode(self, image: np.ndarray, should_abort: Callable[[], bool] | None = None) -> ImageEmbedding:
        """Encode an image. image: (H, W, 3) uint8 RGB (see transforms.to_rgb_uint8 for the other
        accepted forms). Returns an ImageEmbedding with features (1, 256, 64, 64) float32 on
        `self.device`. Deterministic. A CUDA out-of-memory error moves the model to the CPU
        (warning + `fallback_reason`) and retries there.

        should_abort: optional callback polled (in this thread) before every encoder block and
        before the neck; when it returns True the encode stops and raises EncodeAborted, leaving
        the predictor ready for the next call. It never changes the embedding.
        """
        rgb = transforms.to_rgb_uint8(image)
        # the abortable call only when asked for: the plain call keeps `_encode(rgb)` as before
        run = partial(self._encode, rgb) if should_abort is None else partial(self._encode, rgb, _abort_check(should_abort))
        try:
            return run()
        except torch.cuda.OutOfMemoryError as exc:
            if self.device.type != "cuda":
                raise
            self._fall_back_to_cpu(f"CUDA ran out of memory while encoding an image of {rgb.shape[1]}x{rgb.shape[0]} "
                                   f"px ({str(exc).splitlines()[0][:120]}); continuing on the CPU")
            return run()

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.device.type == "cuda" and self.encoder_setup.precision in ("fp16", "bf16"):
            return torch.autocast("cuda", dtype=PRECISIONS[self.encoder_setup.precision])
        return contextlib.nullcontext()

    def _encode(self, rgb: np.ndarray, check: Callable[[], None] | None = None) -> ImageEmbedding:
        if check is not None:
            check()
        x, input_size = transforms.preprocess(rgb, self.device)
        with torch.inference_mode(), self._autocast():
            feats, early = self._encoder(x, check)
        return ImageEmbedding(
            model_id=self.model_id,
            features=feats.float(),
            original_size=(int(rgb.shape[0]), int(rgb.shape[1])),
            input_size=input_size,
            early_features=tuple(e.float() for e in early),
            preprocess_version=self.preprocess_version,
        )

    def _fall_back_to_cpu(self, reason: str) -> None:
        self.model.to("cpu")
        self.device = torch.device("cpu")
        self._make_routes()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.fallback_reason = reason
        warnings.warn(reason, RuntimeWarning, stacklevel=3)

    def _dense_pe(self) -> torch.Tensor:
        """Position encoding of the 64x64 embedding grid (1, 256, 64, 64), cached per device and
        weight tensor (the predictor's weights are not modified after loading)."""
        gauss = self.model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix
        cached = self._pe_cache
        if cached is None or cached[0] is not gauss or cached[1] != gauss.device:
            cached = (gauss, gauss.device, self.model.prompt_encoder.get_dense_pe())
            self._pe_cache = cached
        return cached[2]

    def _image_prep(
        self,
        emb: ImageEmbedding,
        feats: torch.Tensor,
        dense_pe: torch.Tensor,
        dense: torch.Tensor,
        early: tuple[torch.Tensor, ...],
        cacheable: bool,
    ) -> ImagePrep:
        """Prompt-independent decoder work, remembered for the most recent embedding (every click
        on the same image reuses it). Keyed by the identity of the embedding's tensors, which the
        cache holds on to (so an identity cannot be recycled by a new embedding); embeddings are
        treated as immutable, as everywhere in sam_backend."""
        decoder = self._decoder
        assert decoder is not None
        if not cacheable:
            return decoder.prepare(feats, dense_pe, dense, early, project=False)
        key = (emb.features, *emb.early_features)
        cached = self._prep_cache
        if (
            cached is None
            or cached[2] != self.device
            or len(cached[0]) != len(key)
            or any(a is not b for a, b in zip(cached[0], key))
        ):
            cached = (key, decoder.prepare(feats, dense_pe, dense, early), self.device)
            self._prep_cache = cached
        return cached[1]

    # --------------------------------------------------------------- predict
    def predict(
        self,
        emb: Embedding,
        points: Sequence[Sequence[float]] | np.ndarray | None = None,
        labels: Sequence[int] | np.ndarray | None = None,
        box: Sequence[float] | np.ndarray | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> Prediction:
        """Predict candidate masks for prompts on an encoded image.

        points: N (x, y) original-image pixels (outside the image is allowed); labels: N ints,
        1 = foreground, 0 = background; box: (x0, y0, x1, y1) with x0 <= x1, y0 <= y1;
        mask_input: (1, 256, 256) or (256, 256) float low-res logits (e.g. a previous
        `low_res_logits[k]`). multimask=True gives 3 candidates, False gives 1.
        Invalid prompts raise ValueError with one sentence.
        Returns Prediction(masks bool (C, H, W), scores float32 (C,), low_res_logits float32
        (C, 256, 256)); `pred.logits(k)` gives candidate k's full-resolution float32 logits.
        """
        prompts = validate_prompts(points, labels, box, mask_input)
        if emb.model_id != self.model_id:
            raise ValueError(f"this embedding was made by model {emb.model_id}, not {self.model_id}: re-encode the image")
        if not isinstance(emb, ImageEmbedding):
            raise ValueError(f"this embedding ({type(emb).__name__}) was not made by this predictor: re-encode the image")
        low_res, scores = self._decode(emb, prompts, multimask)
        to_masks = transforms.masks_from_low_res if self.fast else transforms.masks_from_low_res_reference
        masks = to_masks(low_res, emb.input_size, emb.original_size)
        low_cpu = low_res.float().cpu()
        input_size, original_size = emb.input_size, emb.original_size

        def logits(k: int) -> np.ndarray:
            """Full-resolution float32 logits (H, W) of candidate k (the reference arithmetic)."""
            if not 0 <= k < low_cpu.shape[0]:
                raise IndexError(f"candidate {k} does not exist: this prediction has {low_cpu.shape[0]}")
            return transforms.postprocess_logits_reference(low_cpu[k : k + 1], input_size, original_size)[0].numpy()

        return Prediction(masks=masks, scores=scores, low_res_logits=low_cpu.numpy(), _logits_fn=logits)

    def predict_boxes(
        self, emb: Embedding, boxes: Sequence[Sequence[float]] | np.ndarray, multimask: bool = False,
        batch: int | None = None,
    ) -> BoxPredictions:
        """Decode many boxes (x0, y0, x1, y1) of one image: box i's scores, low-res logits and
        ``masks(i)`` are those of ``predict(emb, box=boxes[i], multimask=multimask)``; only the
        masks asked for are upsampled. batch: boxes per decoder call; default 1 on the CPU, where
        the results are then bit-identical to ``predict`` and batching is not faster (measured: 5
        mobile_sam boxes 130 ms in one call, 95 ms one by one), 64 elsewhere (equal to float rounding).
        Invalid boxes raise ValueError (one sentence) before anything is decoded."""
        prompts = [validate_prompts(None, None, b, None) for b in boxes]
        if emb.model_id != self.model_id:
            raise ValueError(f"this embedding was made by model {emb.model_id}, not {self.model_id}: re-encode the image")
        if not isinstance(emb, ImageEmbedding):
            raise ValueError(f"this embedding ({type(emb).__name__}) was not made by this predictor: re-encode the image")
        step = max(1, int(batch) if batch is not None else (1 if self.device.type == "cpu" else 64))
        lows: list[torch.Tensor] = []
        scores: list[np.ndarray] = []
        for start in range(0, len(prompts), step):
            chunk = prompts[start : start + step]
            if len(chunk) == 1:
                low, sc = self._decode(emb, chunk[0], multimask)
                lows.append(low.float().cpu()[None])
                scores.append(sc[None])
            else:
                low_b, sc_b = self._decode_boxes(emb, np.stack([p.box for p in chunk if p.box is not None]), multimask)
                lows.append(low_b)
                scores.append(sc_b)
        c = 3 if multimask else 1
        low_all = torch.cat(lows) if lows else torch.zeros((0, c, 256, 256))
        to_masks = transforms.masks_from_low_res if self.fast else transforms.masks_from_low_res_reference
        input_size, original_size = emb.input_size, emb.original_size
        return BoxPredictions(np.concatenate(scores) if scores else np.zeros((0, c), np.float32), low_all.numpy(),
                              lambda i: to_masks(low_all[i], input_size, original_size))

    def _decode_boxes(self, emb: ImageEmbedding, boxes: np.ndarray, multimask: bool) -> tuple[torch.Tensor, np.ndarray]:
        """Prompt encoder + decoder on B boxes (B, 4) in one call: (low-res logits (B, C, 256, 256)
        float32 on the CPU, scores float32 (B, C))."""
        dev = self.device
        with torch.inference_mode():
            feats = emb.features.to(dev, torch.float32)
            early = tuple(e.to(dev, torch.float32) for e in emb.early_features)
            corners = transforms.scale_coords(boxes.reshape(-1, 2, 2), emb.original_size, emb.input_size)
            pe = self.model.prompt_encoder
            sparse, dense = pe(None, torch.as_tensor(corners.reshape(-1, 4), dtype=torch.float32, device=dev), None)
            tokens = (1, 2, 3) if multimask else (0,)
            if self._decoder is not None:
                dense_pe = self._dense_pe()
                prep = self._image_prep(emb, feats, dense_pe, dense[:1], early, cacheable=True)
                masks, iou, hq = self._decoder(feats, dense_pe, sparse, dense, early, prep, mask_tokens=tokens)
            else:
                masks, iou, hq = self.model.mask_decoder(feats, pe.get_dense_pe(), sparse, dense, early)
                masks = masks[:, list(tokens)]
            if hq is not None:
                masks = masks + hq
            return masks.float().cpu(), iou[:, list(tokens)].float().cpu().numpy().astype(np.float32)

    def _decode(self, emb: ImageEmbedding, prompts: Prompts, multimask: bool) -> tuple[torch.Tensor, np.ndarray]:
        """Run prompt encoder + decoder. Returns (low-res logits (C, 256, 256), scores float32 (C,))."""
        dev = self.device
        with torch.inference_mode():
            feats = emb.features.to(dev, torch.float32)
            early = tuple(e.to(dev, torch.float32) for e in emb.early_features)
            pts = None
            if prompts.points is not None:
                coords = transforms.scale_coords(prompts.points, emb.original_size, emb.input_size)
                pts = (
                    torch.as_tensor(coords, dtype=torch.float32, device=dev)[None],
                    torch.as_tensor(prompts.labels, dtype=torch.int64, device=dev)[None],
                )
            boxes = None
            if prompts.box is not None:
                corners = transforms.scale_coords(prompts.box.reshape(2, 2), emb.original_size, emb.input_size)
                boxes = torch.as_tensor(corners.reshape(1, 4), dtype=torch.float32, device=dev)
            masks_in = None
            if prompts.mask_input is not None:
                masks_in = torch.as_tensor(prompts.mask_input, dtype=torch.float32, device=dev).reshape(1, 1, 256, 256)
            pe = self.model.prompt_encoder
            sparse, dense = pe(pts, boxes, masks_in)
            tokens = (1, 2, 3) if multimask else (0,)
            if self._decoder is not None:
                dense_pe = self._dense_pe()
                prep = self._image_prep(emb, feats, dense_pe, dense, early, cacheable=masks_in is None)
                masks, iou, hq = self._decoder(feats, dense_pe, sparse, dense, early, prep, mask_tokens=tokens)
            else:
                masks, iou, hq = self.model.mask_decoder(feats, pe.get_dense_pe(), sparse, dense, early)
                masks = masks[:, list(tokens)]
            low = masks[0]
            if hq is not None:
                low = low + hq[0]
            return low, iou[0, list(tokens)].float().cpu().numpy().astype(np.float32)


def _abort_check(should_abort: Callable[[], bool]) -> Callable[[], None]:
    """Wrap a should_abort callback into the encoder's `check` (raises EncodeAborted when it says so)."""

    def check() -> None:
        if should_abort():
            raise EncodeAborted("the image encode was aborted for a more urgent request")

    return check


def load_predictor(
    model: str = "mobile_sam",
    checkpoint: str | os.PathLike[str] | None = None,
    device: str = "auto",
    config: ModelConfig | dict[str, Any] | None = None,
    precision: str = "fp32",
    fast: bool = True,
    engine: str = "torch",
) -> SamPredictor:
    """Load a checkpoint into a new SamPredictor (or, for the ids of another family, that family's
    predictor: sam_backend.families.family_for(model).load).

    model: a model id of `MODELS`; checkpoint: a state-dict file, or None for the verified file in
    the model cache (CheckpointMissing when there is none); device: "auto", "cpu", "cuda", "cuda:N",
    "mps"; config: a ModelConfig or dict of overrides for a custom ViT (depth, embed_dim, num_heads,
    global_attn_indexes, window_size); precision: the encoder's mode, "fp32" (exact), "bf16",
    "fp16" (CUDA), "int8" (CPU) (see sam_backend.modes); fast: the fast routes (default) or the
    plain reference arithmetic; engine: "torch" or "onnxruntime" (see SamPredictor).
    Raises CheckpointError (unreadable file, wrong layout), UnknownModel, SamBackendError (device).
    """
    from sam_backend.device import resolve_device
    from sam_backend.models.build import resolve_config
    from sam_backend.models.loading import load_model, read_state_dict
    from sam_backend.registry import get_spec

    if get_spec(model).family != "sam":  # SAM 2.1, SAM 3, EdgeTAM, plugin families
        from sam_backend.errors import SamBackendError
        from sam_backend.families import family_for

        fam = family_for(model)
        if fam is None:
            raise SamBackendError(f"no model family serving {model} is registered (is its plugin installed?)")
        missing = fam.available()
        if missing is not None:
            raise SamBackendError(missing)
        return fam.load(model, checkpoint=None if checkpoint is None else str(checkpoint), device=device,
                        precision=precision)  # type: ignore[return-value]
    encoders.check(precision, engine)
    cfg = resolve_config(model, config)
    dev = resolve_device(device)
    if checkpoint is None:
        from sam_backend.checkpoints import installed_checkpoint

        checkpoint = installed_checkpoint(model)
    state = read_state_dict(checkpoint)
    net = load_model(cfg, state, str(checkpoint))
    return SamPredictor(net, cfg.name, dev, precision, fast, engine)
