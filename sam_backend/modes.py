"""The encoder modes a user can choose, with their measured cost and benefit (for the model manager).

    from sam_backend.modes import encoder_modes
    for mode in encoder_modes("mobile_sam", device="cpu"):
        mode.precision, mode.title, mode.exact, mode.available, mode.reason, mode.speedup, mode.mask_iou

`precision` is what `load_predictor(..., precision=...)` takes. The figures come from
benchmarks/bench_modes.py (`--write` stores them in modes_measured.json beside this file): the
encode speed-up against exact fp32 on the machine named in `measured_on`, and the IoU of the
three candidate masks against fp32's on the golden image's prompts and on several photos (mean
and worst). They are None for a model that was not measured (e.g. no weights were available).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FIGURES = Path(__file__).with_name("modes_measured.json")

_MODES = {
    "fp32": ("Exact (float32)", True, "Reference parity (low-res logits within 1e-3). The default."),
    "bf16": ("Fast bfloat16", False, "Encoder in bfloat16; needs a CPU with native bfloat16 (AVX512-BF16/AMX) "
             "or a CUDA GPU. Masks differ slightly from exact along uncertain edges."),
    "int8": ("Fast int8 (CPU)", False, "Encoder's linear layers in int8 (dynamic quantisation); works on any "
             "x86/ARM CPU. Masks differ more than bfloat16's."),
    "fp16": ("Fast float16 (CUDA)", False, "Encoder in float16 autocast on a CUDA GPU."),
}


MODE_IDS: tuple[str, ...] = tuple(_MODES)
"""The encoder modes by id, exact first (what `load_predictor(precision=)` takes; importing this
module does not import torch)."""


@dataclass(frozen=True)
class EncoderMode:
    """One choice of encoder precision for a model on a device.

    available: whether it runs as meant here (False: it falls back or is slower, see reason);
    speedup: measured encode time of fp32 / this mode's (None when not measured); mask_iou /
    min_iou: mean / worst IoU of its masks against fp32's; measured_on: the machine of the figures;
    iou_weights: "random" when the IoU was measured with random weights (no trained weights were at
    hand: their noise-like masks are not a trained model's), "trained" otherwise, None if unknown.
    """

    precision: str
    title: str
    exact: bool
    description: str
    available: bool
    reason: str
    speedup: float | None
    mask_iou: float | None
    min_iou: float | None
    measured_on: str | None
    iou_weights: str | None = None

    def label(self) -> str:
        """One line for a list, e.g. "Fast bfloat16 - 2.5x faster, masks 99.1% IoU (worst 95.0%)"."""
        parts = [self.title]
        if self.speedup is not None:
            parts.append(f"{self.speedup:.1f}x faster" if not self.exact else "reference")
        if self.mask_iou is not None and not self.exact:
            worst = f" (worst {self.min_iou * 100:.1f}%)" if self.min_iou is not None else ""
            weights = " with random weights" if self.iou_weights == "random" else ""
            parts.append(f"masks {self.mask_iou * 100:.1f}% IoU{worst}{weights}")
        text = " - ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]
        return text if self.available else f"{text} [{self.reason}]"


def measured() -> dict[str, object]:
    """The shipped figures ({} when the file is missing or unreadable)."""
    try:
        data = json.loads(FIGURES.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _availability(precision: str, device: str) -> tuple[bool, str]:
    kind = device.split(":")[0]
    if precision == "fp32":
        return True, ""
    if precision == "fp16":
        return (kind == "cuda", "" if kind == "cuda" else "CUDA only")
    if precision == "int8":
        return (kind == "cpu", "" if kind == "cpu" else "CPU only")
    if kind == "cuda":
        return True, ""
    if kind != "cpu":
        return False, f"not on {kind}"
    from sam_backend import torch_private

    if torch_private.cpu_has_bf16():
        return True, ""
    return False, "this CPU has no native bfloat16: slower than fp32 here"


def _family_limits(model_id: str, precision: str, device: str) -> tuple[bool, str] | None:
    """Why a mode does not work for the model's family (None: no family limit). The transformers
    families (SAM 2.1, SAM 3, EdgeTAM, detectors) run float16 / bfloat16 only as CUDA autocast and
    have no int8 route (sam_backend.hf.predictor)."""
    from sam_backend.registry import MODELS

    spec = MODELS.get(model_id)
    if spec is None or spec.family == "sam" or precision == "fp32":
        return None
    if precision == "int8":
        return False, "not for this model family"
    if device.split(":")[0] != "cuda":
        return False, "CUDA only for this model family"
    return None


def encoder_modes(model_id: str, device: str = "cpu") -> list[EncoderMode]:
    """Every encoder mode for `model_id` on `device` ("cpu", "cuda", "cuda:1", "mps"), exact first,
    with availability here and the measured figures (see the module docstring). Imports torch."""
    data = measured()
    models = data.get("models", {}) if isinstance(data.get("models"), dict) else {}
    figures = models.get(model_id, {}) if isinstance(models, dict) else {}
    kind = device.split(":")[0]
    out = []
    for precision, (title, exact, description) in _MODES.items():
        available, reason = _family_limits(model_id, precision, device) or _availability(precision, device)
        fig = figures.get(precision, {}) if isinstance(figures, dict) and kind == data.get("device", "cpu") else {}
        fig = fig if isinstance(fig, dict) else {}
        out.append(EncoderMode(
            precision, title, exact, description, available, reason,
            fig.get("speedup"), fig.get("mask_iou"), fig.get("min_iou"),
            str(data.get("machine")) if fig else None,
            str(figures["iou_weights"]) if fig and isinstance(figures, dict) and "iou_weights" in figures else None,
        ))
    return out
