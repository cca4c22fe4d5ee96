"""Which image-encoder route a predictor runs, from its device, precision, route and engine.

precision (the encoder's mode, see sam_backend.modes for the figures):
  "fp32"  exact: float32 arithmetic, low-res logits within 1e-3 of the reference (the default);
  "bf16"  CPU: a bfloat16 copy of the encoder (`fast.lowp`); CUDA: autocast to bfloat16;
  "fp16"  CUDA: autocast to float16 (on the CPU the encoder runs fp32, with a warning);
  "int8"  CPU: the encoder's Linear layers dynamically quantised (on CUDA: fp32, with a warning).
engine: "torch" (default) or "onnxruntime" (exact mode on the CPU only; `onnx_encoder`).
fast=False runs the plain modules (the reference arithmetic; float32, or CUDA autocast).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from sam_backend.fast.routes import EncoderRoute, encoder_route
from sam_backend.models.sam import Sam

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16, "int8": torch.qint8}
ENGINES = ("torch", "onnxruntime")


@dataclass(frozen=True)
class EncoderSetup:
    """What a predictor's encoder really runs (for the app to show).

    precision: the precision in effect ("fp32", "bf16", "fp16", "int8"); exact: whether
    embeddings keep parity with the reference (fp32); engine: "torch" or "onnxruntime";
    route: "fast" or "reference"; device: e.g. "cpu"; note: one sentence when something asked
    for is not in effect (and why), else "".
    """

    precision: str
    exact: bool
    engine: str
    route: str
    device: str
    note: str = ""

    def describe(self) -> str:
        """e.g. "exact fp32, torch fast route on cpu" or "approximate bf16, ... (note)"."""
        kind = "exact" if self.exact else "approximate"
        text = f"{kind} {self.precision}, {self.engine} {self.route} route on {self.device}"
        return f"{text} ({self.note})" if self.note else text


def check(precision: str, engine: str) -> None:
    """Raise ValueError (one sentence) for an unknown precision or engine."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: choose fp32, bf16, fp16 or int8")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose torch or onnxruntime")


def choose(model: Sam, model_id: str, device: torch.device, precision: str, fast: bool, engine: str) -> tuple[EncoderRoute, EncoderSetup]:
    """The encoder route for these settings, and what it runs. Settings that cannot apply here
    fall back to fp32 / torch with a warning (and the reason in `EncoderSetup.note`)."""
    check(precision, engine)
    enc = model.image_encoder
    dev = device.type
    note = ""
    effective = precision
    if dev == "cuda":
        if precision == "int8":
            note, effective = "int8 runs on the CPU only; the encoder runs fp32 on CUDA", "fp32"
    elif precision == "fp16":
        note, effective = f"precision fp16 is only used on CUDA; running the encoder in fp32 on {dev}", "fp32"
    elif precision in ("bf16", "int8") and not fast:
        raise ValueError(f"the reference route runs fp32 only; precision {precision} needs the fast route")
    elif precision in ("bf16", "int8") and dev != "cpu":
        note, effective = f"precision {precision} runs on the CPU and CUDA only; running fp32 on {dev}", "fp32"
    elif precision == "bf16":
        from sam_backend import torch_private

        if not torch_private.cpu_has_bf16():
            note = "this CPU has no native bfloat16 arithmetic: bf16 is emulated and slower than fp32 here"
    route_kind = "fast" if fast else "reference"
    route: EncoderRoute = encoder_route(enc) if fast else enc
    if dev == "cpu" and effective == "bf16":
        from sam_backend.fast.lowp import bf16_route

        route = bf16_route(enc)
    elif dev == "cpu" and effective == "int8":
        from sam_backend.fast.lowp import int8_route

        route = int8_route(enc)
    used_engine = "torch"
    if engine == "onnxruntime":
        if dev == "cpu" and effective == "fp32":
            from sam_backend import onnx_encoder
            from sam_backend.paths import data_root

            try:
                route = onnx_encoder.load(enc, model_id, data_root() / "onnx", route)
                used_engine = "onnxruntime"
            except onnx_encoder.OnnxEngineError as exc:
                note = str(exc)
        else:
            note = "the ONNX Runtime engine runs the exact (fp32) encoder on the CPU only; using torch"
    if note:
        warnings.warn(note, stacklevel=3)
    setup = EncoderSetup(effective, effective == "fp32", used_engine, route_kind, str(device), note)
    return route, setup
