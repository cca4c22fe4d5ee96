"""Reading, checking and loading checkpoints into SAM-family networks.

A checkpoint is a plain `torch.save` state dict (tensor name -> tensor). It is read with
`torch.load(..., map_location="cpu", weights_only=True)`; floating tensors are cast to float32
(the golden fixtures are stored as float16); names and shapes must match the network exactly.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from sam_backend.errors import CheckpointError
from sam_backend.models.build import build_model
from sam_backend.models.configs import CONFIGS, ModelConfig
from sam_backend.models.sam import Sam

_SHOW = 3


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Load a checkpoint file as {name: tensor} on the CPU, floating tensors cast to float32.

    Raises CheckpointError (one sentence) for a missing, unreadable, truncated or non-state-dict file.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist or is not a file")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for bad files
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{p} is not a readable checkpoint (truncated or corrupt?): {reason}") from exc
    if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for wrapper in ("model", "state_dict"):
            if isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{p} is not a SAM checkpoint: it does not hold a state dict of tensors")
    return {str(k): (v.float() if v.is_floating_point() else v) for k, v in obj.items()}


def layout_of(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """State-dict names -> shapes of a network (works on the meta device)."""
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _official_layout(model_id: str) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        return layout_of(build_model(model_id))


def identify(state: dict[str, torch.Tensor]) -> str | None:
    """The official model id whose layout the state dict matches exactly, or None."""
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    for model_id in CONFIGS:
        if _official_layout(model_id) == shapes:
            return model_id
    return None


def _names(keys: list[str]) -> str:
    more = f" (+{len(keys) - _SHOW} more)" if len(keys) > _SHOW else ""
    return ", ".join(keys[:_SHOW]) + more


def check_layout(expected: dict[str, tuple[int, ...]], state: dict[str, torch.Tensor], what: str, source: str) -> None:
    """Raise CheckpointError naming the first missing / unexpected / mismatched keys, if any."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {expected[k]}" for k in expected if k in state and tuple(state[k].shape) != expected[k]
    ]
    if not (missing or unexpected or mismatched):
        return
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_names(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_names(unexpected)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es): {_names(mismatched)}")
    other = identify(state)
    hint = f"; it looks like a {other} checkpoint" if other is not None and other != what else ""
    raise CheckpointError(f"{source} does not fit model {what} ({'; '.join(problems)}){hint}")


def load_model(cfg: ModelConfig, state: dict[str, torch.Tensor], source: str) -> Sam:
    """Build `cfg` without random initialisation and load `state` into it (strict names and shapes).

    Returns the network on the CPU in eval mode, float32.
    """
    with torch.device("meta"):
        model = build_model(cfg)
    check_layout(layout_of(model), state, cfg.name, source)
    model.load_state_dict(state, strict=True, assign=True)
    model.init_buffers()
    leftover = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if leftover:
        raise CheckpointError(f"internal error: {source} left tensors uninitialised: {_names(leftover)}")
    return model.eval()
