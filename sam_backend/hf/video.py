"""VideoPropagator: masks carried through frames by a transformers video model (Sam2VideoModel,
Sam3TrackerVideoModel, EdgeTamVideoModel) — the Propagator of sam_backend.propagation.

The model and its inference session are the library's. This module only
- feeds frames on demand: the session's frame store is a lazy mapping that preprocesses frame i when
  the model asks for it (the library keeps every preprocessed frame of a video in memory: 12 MB a
  frame at 1024 px), and drops per-frame outputs the model can no longer use (older than its memory
  and object-pointer windows, except around the anchor, which a later backward pass still reads);
- adds the anchor masks as the processor does (bilinear antialiased resize to the model input,
  threshold 0.5), runs the anchor frame, then frames anchor+1.. (forward) and anchor-1.. (reverse);
- turns each frame's low-res logits into full-size masks (bilinear, > 0) and object score logits into
  probabilities (sigmoid), and stops an object in a direction once its probability is below the
  threshold.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from sam_backend.hf import HF_FAMILIES, HfFamily
from sam_backend.hf.predictor import load_model_class, pixel_values, read_normalisation, snapshot_for, upscale_logits
from sam_backend.propagation import FrameMasks, FrameSource, ProgressFn, PropagationCancelled, PropagationPlan


class _VideoSession(Protocol):
    """What this module uses of the library's video inference session (Sam2VideoInferenceSession
    and its siblings, found by name at run time)."""

    video_height: int
    video_width: int
    obj_with_new_inputs: list[int]
    processed_frames: dict[int, torch.Tensor]
    output_dict_per_obj: dict[int, dict[str, dict[int, object]]]

    def obj_id_to_idx(self, obj_id: int) -> int: ...

    def add_mask_inputs(self, obj_idx: int, frame_idx: int, inputs: torch.Tensor) -> None: ...

    def remove_point_inputs(self, obj_idx: int, frame_idx: int) -> None: ...


class _FrameOutput(Protocol):
    """What this module reads of the video model's output for one frame."""

    object_ids: list[int]
    pred_masks: torch.Tensor
    object_score_logits: torch.Tensor


class _LazyFrames(dict):  # type: ignore[type-arg]
    """The session's ``processed_frames``: frame i is read and preprocessed when first asked for; only
    the most recent frame is kept (the model caches its image features itself)."""

    def __init__(self, count: int, load: Callable[[int], torch.Tensor]) -> None:
        super().__init__()
        self._count = count
        self._load = load

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and 0 <= key < self._count

    def __getitem__(self, key: int) -> torch.Tensor:
        if not dict.__contains__(self, key):
            dict.clear(self)
            dict.__setitem__(self, key, self._load(key))
        return dict.__getitem__(self, key)


class VideoPropagator:
    """A transformers video model on one device (one propagation at a time)."""

    def __init__(self, model: torch.nn.Module, model_id: str, family: HfFamily | str = "sam2",
                 device: torch.device | str = "cpu", image_mean: list[float] | None = None,
                 image_std: list[float] | None = None) -> None:
        self.family = HF_FAMILIES[family] if isinstance(family, str) else family
        self.device = torch.device(device)
        # a transformers video model class picked by family at run time: its attributes (config,
        # the session protocol) are that family's, with no common static type to name
        loaded: Any = model.to(self.device).eval()
        self.model = loaded
        self.model_id = model_id
        self.image_size = int(self.model.config.image_size) if isinstance(self.model.config.image_size, int) \
            else int(self.model.config.image_size[0])
        self._mean = torch.tensor(image_mean if image_mean is not None else self.family.image_mean)
        self._std = torch.tensor(image_std if image_std is not None else self.family.image_std)
        cfg = self.model.config
        self.keep = max(int(cfg.num_maskmem), int(cfg.max_object_pointers_in_encoder)) + 1

    def new_session(self, frames: FrameSource, frame_count: int) -> _VideoSession:
        """The library's inference session for ``frame_count`` frames read on demand from ``frames``."""
        module = importlib.import_module(type(self.model).__module__)
        session_cls = getattr(module, self.family.video_class.replace("Model", "InferenceSession"))
        session = session_cls(inference_device=self.device, inference_state_device=self.device,
                              video_storage_device=self.device, dtype=torch.float32)
        shape: list[tuple[int, int]] = []

        def load(i: int) -> torch.Tensor:
            rgb = frames(i)
            if not shape:
                shape.append((int(rgb.shape[0]), int(rgb.shape[1])))
            elif (rgb.shape[0], rgb.shape[1]) != shape[0]:
                raise ValueError(f"frame {i} is {rgb.shape[1]}x{rgb.shape[0]} px, the sequence is "
                                 f"{shape[0][1]}x{shape[0][0]}: every frame must have the same size")
            return pixel_values(rgb, self.image_size, self._mean, self._std, self.device)[0]

        session.processed_frames = _LazyFrames(frame_count, load)
        return session

    def add_masks(self, session: _VideoSession, frame: int, objects: dict[int, np.ndarray]) -> None:
        """Anchor masks (object id -> bool (H, W)) on ``frame``, as the library's processor adds them."""
        first = next(iter(objects.values()))
        session.video_height, session.video_width = int(first.shape[0]), int(first.shape[1])
        for obj_id, mask in objects.items():
            obj_idx = session.obj_id_to_idx(int(obj_id))
            m = torch.as_tensor(np.asarray(mask, dtype=bool), device=self.device).float()[None, None]
            if m.shape[-2:] != (self.image_size, self.image_size):
                m = F.interpolate(m, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False,
                                  antialias=True)
                m = (m >= 0.5).float()
            session.add_mask_inputs(obj_idx, frame, m)
            session.remove_point_inputs(obj_idx, frame)
        session.obj_with_new_inputs = [int(i) for i in objects]

    def propagate(self, frames: FrameSource, plan: PropagationPlan, objects: dict[int, np.ndarray], *,
                  threshold: float = 0.5, progress: ProgressFn | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> Iterator[FrameMasks]:
        """See sam_backend.propagation.Propagator.propagate."""
        if not objects:
            raise ValueError("nothing to propagate: give at least one object mask on the anchor frame")
        shapes = {np.asarray(m).shape for m in objects.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError("every anchor mask must be a 2-D mask of the frame's size")
        size = next(iter(shapes))
        session = self.new_session(frames, plan.frame_count)
        done = 0
        with torch.inference_mode():
            self.add_masks(session, plan.anchor, objects)
            self.model(session, frame_idx=plan.anchor)
            for direction, order in ((1, plan.forward_frames), (-1, plan.backward_frames)):
                alive = set(int(i) for i in objects)
                for idx in order:
                    if should_cancel is not None and should_cancel():
                        raise PropagationCancelled(f"propagation cancelled after {done} of {plan.total} frames")
                    out = self.model(session, frame_idx=idx, reverse=direction < 0)
                    self._forget_old(session, idx, plan.anchor)
                    result = self._frame_result(out, idx, size, alive, threshold, direction)
                    alive -= set(result.stopped)
                    done += 1
                    if progress is not None:
                        progress(done, plan.total)
                    yield result
                    if not alive:
                        done += len(order) - order.index(idx) - 1  # the rest of this direction is skipped
                        if progress is not None:
                            progress(done, plan.total)
                        break

    def _frame_result(self, out: _FrameOutput, idx: int, size: tuple[int, int], alive: set[int], threshold: float,
                      direction: int) -> FrameMasks:
        ids = [int(i) for i in out.object_ids]
        logits = out.pred_masks.float()
        probs = torch.sigmoid(out.object_score_logits.float().reshape(-1)).cpu().numpy()
        masks: dict[int, np.ndarray] = {}
        scores: dict[int, float] = {}
        stopped = []
        for k, obj_id in enumerate(ids):
            if obj_id not in alive:
                continue
            scores[obj_id] = float(probs[k])
            if probs[k] < threshold:
                stopped.append(obj_id)
                continue
            masks[obj_id] = (upscale_logits(logits[k].reshape(logits.shape[-2:]).cpu(), size) > 0).numpy()
        return FrameMasks(idx, masks, scores, tuple(stopped), direction)

    def _forget_old(self, session: _VideoSession, current: int, anchor: int) -> None:
        """Drop outputs of frames the model cannot read any more: further than ``keep`` from the current
        frame and from the anchor (the library reads at most num_maskmem memories and
        max_object_pointers_in_encoder pointers back; the backward pass starts at the anchor)."""
        keep = self.keep
        for per_obj in session.output_dict_per_obj.values():
            outputs = per_obj["non_cond_frame_outputs"]
            for f in [f for f in outputs if abs(f - current) > keep and abs(f - anchor) > keep]:
                del outputs[f]


def load_video_propagator(model_id: str, checkpoint: str | os.PathLike[str] | None = None,
                          device: str = "auto") -> VideoPropagator:
    """Load ``model_id``'s video model (the same snapshot as its image model) into a VideoPropagator."""
    from sam_backend.device import resolve_device
    from sam_backend.hub import get_hub_spec

    spec = get_hub_spec(model_id)
    family = HF_FAMILIES[spec.family]
    folder: Path = snapshot_for(model_id, checkpoint)
    model = load_model_class(family.video_class, folder)
    mean, std = read_normalisation(folder)
    return VideoPropagator(model, model_id, family, resolve_device(device), mean, std)
