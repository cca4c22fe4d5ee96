"""ONNX Runtime as an optional execution engine of our own image encoders (`engine="onnxruntime"`).

The plain encoder module is exported once per model, weights and torch version with `torch.onnx`
(written atomically into `<data root>/onnx/`), loaded into an ONNX Runtime CPU session, and
verified against the torch route on a fixed input before it is used: a mismatch beyond
VERIFY_TOL (or any export / session error) raises OnnxEngineError, and the predictor keeps its
torch route. A passed verification is remembered beside the export (`.verified.json`, with the
ONNX Runtime version), so later loads skip the two reference encodes (seconds for ViT-H). Needs the optional packages `onnx` and `onnxruntime` (extra `onnx`).

Measured on the benchmark machine, this engine is not faster than the default torch route
(benchmarks/bench_peers.py), so it is never chosen by default; it exists for CPUs where ONNX
Runtime's kernels win, and it is how bench_peers builds the peers' path.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sam_backend.errors import SamBackendError

VERIFY_TOL = 1e-3  # max |onnx - torch| of the embedding on the verification input
OPSET = 17


class OnnxEngineError(SamBackendError):
    """The ONNX Runtime engine cannot be used for this encoder (one sentence why)."""


def available() -> str | None:
    """None when onnx and onnxruntime import, else the reason they do not."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        return f"ONNX Runtime is not installed ({exc.name}); install the 'onnx' extra"
    return None


def weights_fingerprint(module: nn.Module) -> str:
    """sha1 of the module's parameter and buffer names, shapes and bytes (identifies an export)."""
    h = hashlib.sha1()
    for name, t in sorted(module.state_dict().items()):
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class _Export(nn.Module):
    """The encoder as an export-friendly module: image -> (embedding, *early features)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats, early = self.encoder(x)
        return (feats, *early)


def export(encoder: nn.Module, path: Path) -> None:
    """Export the plain encoder (a deep copy: exporting must not touch the predictor's module) to
    `path`, atomically; input (1, 3, 1024, 1024) float32."""
    import copy

    module = _Export(copy.deepcopy(encoder).to("cpu").float().eval())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notices about Python control flow on shapes
            torch.onnx.export(module, (torch.zeros(1, 3, 1024, 1024),), tmp, dynamo=False, opset_version=OPSET,
                              input_names=["image"], do_constant_folding=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class OnnxEncoder:
    """An encoder route run by ONNX Runtime: `route(x, check)` as the torch routes.

    `check` is polled before the run only (ONNX Runtime runs the network in one call)."""

    def __init__(self, session: Any, n_early: int, path: Path) -> None:
        self.session = session
        self.n_early = n_early
        self.path = path

    def __call__(
        self, x: torch.Tensor, check: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Encode a normalised padded batch (1, 3, 1024, 1024) float32 (on the CPU)."""
        if check is not None:
            check()
        outs = self.session.run(None, {"image": np.ascontiguousarray(x.detach().float().cpu().numpy())})
        feats = torch.from_numpy(outs[0])
        return feats, tuple(torch.from_numpy(o) for o in outs[1 : 1 + self.n_early])


def load(
    encoder: nn.Module, model_id: str, folder: Path, reference: Callable[..., tuple[torch.Tensor, tuple[torch.Tensor, ...]]],
    threads: int = 0,
) -> OnnxEncoder:
    """The verified ONNX Runtime route of `encoder` (exported into `folder` unless already there).

    reference: the torch route the export is checked against. Raises OnnxEngineError."""
    reason = available()
    if reason is not None:
        raise OnnxEngineError(reason)
    import onnxruntime as ort

    tag = f"{model_id}-{weights_fingerprint(encoder)[:16]}-torch{torch.__version__.split('+')[0]}-opset{OPSET}"
    path = folder / f"{tag}.onnx"
    try:
        if not path.is_file():
            export(encoder, path)
        options = ort.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # export and ONNX Runtime raise many types; all mean "not usable here"
        raise OnnxEngineError(f"the ONNX Runtime engine could not be set up for {model_id}: {str(exc).splitlines()[0][:160]}") from exc
    stamp = path.with_suffix(".verified.json")
    n_outputs = len(session.get_outputs())
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no or a bad stamp: verify again below
        if json.loads(stamp.read_text()).get("onnxruntime") == ort.__version__:
            return OnnxEncoder(session, n_outputs - 1, path)
    diff = verify(OnnxEncoder(session, n_outputs - 1, path), reference)
    if not diff <= VERIFY_TOL:  # also catches NaN
        raise OnnxEngineError(f"the ONNX Runtime export of {model_id} differs from torch by {diff:.3g} (> {VERIFY_TOL}); using torch")
    try:
        stamp.write_text(json.dumps({"onnxruntime": ort.__version__, "max_abs_diff": diff}))
    except OSError:
        pass  # verified again next time
    return OnnxEncoder(session, n_outputs - 1, path)


def verify(route: OnnxEncoder, reference: Callable[..., tuple[torch.Tensor, tuple[torch.Tensor, ...]]]) -> float:
    """Largest |onnx - torch| over the embedding and early features of a fixed random image."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, 1024, 1024, generator=g)
    with torch.inference_mode():
        want, want_early = reference(x)
    got, got_early = route(x)
    if len(got_early) != len(want_early):
        return float("inf")
    return max([float((got - want).abs().max())] + [float((a - b).abs().max()) for a, b in zip(got_early, want_early)])
