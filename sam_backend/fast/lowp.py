"""Low-precision encoder routes: the opt-in fast modes (not exact; see sam_backend.modes).

bf16: a bfloat16 copy of the encoder run by its fast route (BatchNorm folded in float32 first);
      needs native bfloat16 arithmetic (AVX512-BF16 / AMX, ARM BF16), elsewhere it is emulated
      and slower than float32.
int8: a copy of the encoder whose Linear layers are dynamically quantised to int8 (weights per
      tensor, activations per call; the convolutions, attention products and norms stay float32),
      packed by whichever of torch's quantised engines is faster on this CPU.
Both return float32 embeddings, so the decoder and every cache are unchanged.
"""
from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

from sam_backend.fast.routes import EncoderRoute, encoder_route
from sam_backend.fast.tiny_vit import FastTinyViT


class CastRoute:
    """Runs a route in another dtype: the image is cast in, the outputs cast back to float32."""

    def __init__(self, route: EncoderRoute, dtype: torch.dtype) -> None:
        self.route = route
        self.dtype = dtype

    def __call__(
        self, x: torch.Tensor, check: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """As the wrapped route, float32 in and out."""
        feats, early = self.route(x.to(self.dtype), check)
        return feats.float(), tuple(e.float() for e in early)


def bf16_route(encoder: nn.Module) -> EncoderRoute:
    """The encoder's fast route on a bfloat16 copy of it (the encoder itself is not changed)."""
    enc = copy.deepcopy(encoder)
    route = encoder_route(enc)  # folds BatchNorm while the copy is still float32
    enc.to(torch.bfloat16)
    if isinstance(route, FastTinyViT):
        route.cast_(torch.bfloat16)
    return CastRoute(route, torch.bfloat16)


def _quantize(module: nn.Module, engine: str) -> nn.Module:
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine  # only while packing: the packed weights keep their engine
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's notice that it moves to torchao
            return torch.ao.quantization.quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8)
    finally:
        torch.backends.quantized.engine = old


def int8_engine() -> str:
    """The faster of torch's int8 engines on this CPU, by one timed product (~50 ms, once)."""
    global _ENGINE
    if _ENGINE is None:
        supported = torch.backends.quantized.supported_engines
        engines: list[str] = [e for e in ("onednn", "x86", "fbgemm") if e in supported] or [e for e in ("qnnpack",) if e in supported]
        lin = nn.Sequential(nn.Linear(512, 1024)).eval()
        x = torch.randn(1024, 512)
        best = (float("inf"), engines[0] if engines else "none")
        with torch.inference_mode():
            for engine in engines:
                q = _quantize(copy.deepcopy(lin), engine)
                q(x)
                t = time.perf_counter()
                for _ in range(3):
                    q(x)
                best = min(best, (time.perf_counter() - t, engine))
        _ENGINE = best[1]
    return _ENGINE


_ENGINE: str | None = None


def int8_route(encoder: nn.Module) -> EncoderRoute:
    """The encoder's fast route on a copy whose Linear layers are int8 (dynamic quantisation)."""
    engine = int8_engine()
    if engine == "none":
        raise RuntimeError("this torch build has no int8 engine")
    return encoder_route(_quantize(copy.deepcopy(encoder), engine))
