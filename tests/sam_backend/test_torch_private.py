"""The private torch entry points (sam_backend.torch_private) still exist in this torch and compute
what their public equivalents compute; nothing else in sam_backend reaches into torch's privates.

A torch upgrade that removes or changes one of them fails here, by name."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from sam_backend import torch_private

ROOT = Path(__file__).resolve().parents[2] / "sam_backend"
PRIVATE = re.compile(r"torch\.ops\.|torch\._(?!_)|\._version\b|torch\.nn\.functional\._|\bF\._")


def test_every_private_operator_is_present() -> None:
    assert torch_private.MISSING == (), (
        f"torch {torch.__version__} lacks {', '.join(torch_private.MISSING)}: the fast routes now use "
        "slower public fallbacks; update sam_backend/torch_private.py for this torch"
    )


def test_no_other_module_uses_private_torch() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        if path.name == "torch_private.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if PRIVATE.search(code):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def _with_and_without(monkeypatch: pytest.MonkeyPatch, name: str, fn):  # type: ignore[no-untyped-def]
    """fn() with the private operator, then with its public fallback."""
    first = fn()
    monkeypatch.setitem(torch_private.RESOLVED, name, None)
    return first, fn()


def test_gelu_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(5, 7, generator=torch.Generator().manual_seed(0)) * 3
    expected = F.gelu(x)

    def run() -> torch.Tensor:
        y = x.clone()
        out = torch_private.gelu_(y)
        assert out.data_ptr() == y.data_ptr()
        return y

    for got in _with_and_without(monkeypatch, "gelu_", run):
        torch.testing.assert_close(got, expected, atol=0, rtol=0)


def test_upsample_with_scale_is_a_crop_of_the_full_resize(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(1, 2, 16, 16, generator=torch.Generator().manual_seed(2))
    expected = F.interpolate(x, (64, 64), mode="bilinear", align_corners=False)[:, :, :40, :52]

    def run() -> torch.Tensor:
        return torch_private.upsample_bilinear2d_scaled(x, (40, 52), 4.0, 4.0)

    for got in _with_and_without(monkeypatch, "upsample_bilinear2d", run):
        assert got.shape == (1, 2, 40, 52)
        torch.testing.assert_close(got, expected, atol=0, rtol=0)


def test_fused_onednn_operators(monkeypatch: pytest.MonkeyPatch) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 8, 9, 7, generator=g).contiguous(memory_format=torch.channels_last)
    w, b = torch.randn(6, 8, 3, 3, generator=g), torch.randn(6, generator=g)
    other = torch.randn(1, 6, 5, 4, generator=g)
    t, wl, bl = torch.randn(5, 8, generator=g), torch.randn(4, 8, generator=g), torch.randn(4, generator=g)
    tother = torch.randn(5, 4, generator=g)
    expected = [
        F.gelu(F.conv2d(x, w, b, 2, 1)), F.conv2d(x, w, None, 1, 0),
        F.conv2d(x, w, b, 2, 1) + other, F.gelu(F.linear(t, wl, bl)), F.linear(t, wl) , F.linear(t, wl, bl) + tother,
    ]

    def run() -> list[torch.Tensor]:
        with torch.inference_mode():
            return [
                torch_private.conv2d_act(x, w, b, (2, 2), (1, 1), 1, gelu=True),
                torch_private.conv2d_act(x, w, None, (1, 1), (0, 0), 1, gelu=False),
                torch_private.conv2d_add(x, other, w, b, (2, 2), (1, 1), 1),
                torch_private.linear_act(t, wl, bl, gelu=True),
                torch_private.linear_act(t, wl, None, gelu=False),
                torch_private.linear_add(t, tother, wl, bl),
            ]

    for name in ("conv_pointwise", "conv_pointwise.binary", "linear_pointwise", "linear_pointwise.binary"):
        assert torch_private.RESOLVED[name] is not None, name
    fused = run()
    for op in ("conv_pointwise", "conv_pointwise.binary", "linear_pointwise", "linear_pointwise.binary"):
        monkeypatch.setitem(torch_private.RESOLVED, op, None)
    public = run()
    for got, pub, want in zip(fused, public, expected):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
        torch.testing.assert_close(pub, want, atol=1e-5, rtol=0)


def test_bf16_capability_is_a_boolean() -> None:
    assert torch_private.cpu_has_bf16() in (True, False)
