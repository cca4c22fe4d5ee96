"""Checkpoint files for the install/verify tests of models without a published checksum.

``layout_checkpoint(model_id, seed)``: the bytes of a ``torch.save`` state dict with exactly the
official tensors of ``model_id`` (names and shapes of build_model's network, float32 random
values from ``seed``), i.e. what the real file looks like to every check that needs no checksum.
``foreign_checkpoint(size)``: an ordinary torch.save file of about ``size`` bytes whose tensors are
not a SAM network (the 40 MB file of issue 8, defect 6).
"""
from __future__ import annotations

import io

import torch

from sam_backend.models.build import build_model


def layout_checkpoint(model_id: str = "sam_hq_vit_tiny", seed: int = 0) -> bytes:
    with torch.device("meta"):
        shapes = build_model(model_id).state_dict()
    gen = torch.Generator().manual_seed(seed)
    state = {k: (torch.randn(v.shape, generator=gen) if v.is_floating_point() else torch.zeros(v.shape, dtype=v.dtype))
             for k, v in shapes.items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def foreign_checkpoint(size: int) -> bytes:
    gen = torch.Generator().manual_seed(1)
    buf = io.BytesIO()
    torch.save({"encoder.weight": torch.randn(size // 8, generator=gen), "head.bias": torch.randn(size // 8, generator=gen)},
               buf)
    return buf.getvalue()
