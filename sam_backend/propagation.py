"""Propagating masks through a sequence of frames (Qt-free, no torch at import).

A *propagator* takes object masks on one anchor frame and carries them forward and backward through
the frames with a video model's memory (SAM 2's video predictor and its relatives), yielding each
frame's masks and per-object scores. The application stores them as proposals (source
"propagated", the object id as group id); see app/cli/propagate_cmd.py.

Frames are read on demand (``FrameSource``: index -> RGB uint8 array), so a sequence of any length is
never held in memory at once.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from sam_backend.errors import SamBackendError

FrameSource = Callable[[int], np.ndarray]
"""index -> (H, W, 3) uint8 RGB frame (every frame of a sequence has the same size)."""
ProgressFn = Callable[[int, int], None]
"""progress(frames done, frames to do)."""


class PropagationCancelled(SamBackendError):
    """The caller's ``should_cancel`` said stop; frames yielded before stay valid."""


@dataclass(frozen=True)
class FrameMasks:
    """One propagated frame.

    frame: its index; masks: object id -> bool (H, W) mask; scores: object id -> score in [0, 1]
    (the model's probability that the object is present on this frame); stopped: object ids whose score
    fell below the threshold on this frame (their masks are not in ``masks``; they are not carried
    further in this direction); direction: +1 forward, -1 backward.
    """

    frame: int
    masks: dict[int, np.ndarray]
    scores: dict[int, float]
    stopped: tuple[int, ...] = ()
    direction: int = 1


@dataclass(frozen=True)
class PropagationPlan:
    """Which frames a propagation visits: ``forward`` frames after the anchor and ``backward`` before it
    (None: to the end / start of the sequence), clipped to the sequence."""

    frame_count: int
    anchor: int
    forward: int | None = None
    backward: int | None = None
    forward_frames: list[int] = field(init=False)
    backward_frames: list[int] = field(init=False)

    def __post_init__(self) -> None:
        if not 0 <= self.anchor < self.frame_count:
            raise ValueError(f"the anchor frame {self.anchor} is outside the sequence of {self.frame_count} frames")
        for name in ("forward", "backward"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be a number of frames >= 0, not {value}")
        last = self.frame_count - 1 if self.forward is None else min(self.frame_count - 1, self.anchor + self.forward)
        first = 0 if self.backward is None else max(0, self.anchor - self.backward)
        object.__setattr__(self, "forward_frames", list(range(self.anchor + 1, last + 1)))
        object.__setattr__(self, "backward_frames", list(range(self.anchor - 1, first - 1, -1)))

    @property
    def total(self) -> int:
        """Frames to visit (the anchor itself is not counted: its masks are the input)."""
        return len(self.forward_frames) + len(self.backward_frames)


@runtime_checkable
class Propagator(Protocol):
    """A loaded video model. ``propagate`` yields FrameMasks for the plan's frames, forward first
    (anchor+1, anchor+2, ...) then backward (anchor-1, anchor-2, ...)."""

    model_id: str

    def propagate(self, frames: FrameSource, plan: PropagationPlan, objects: dict[int, np.ndarray], *,
                  threshold: float = 0.5, progress: ProgressFn | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> Iterator[FrameMasks]:
        """objects: object id -> bool (H, W) mask on the anchor frame. Raises PropagationCancelled."""


def load_propagator(model_id: str, checkpoint: str | None = None, device: str = "auto") -> Propagator:
    """The propagator of ``model_id``'s family (SAM 2.1, SAM 3, EdgeTAM). SamBackendError (one sentence)
    when the family has none or is not available."""
    from sam_backend.families import family_for
    from sam_backend.registry import get_spec

    get_spec(model_id)
    fam = family_for(model_id)
    if fam is None or fam.load_propagator is None:
        raise SamBackendError(f"{model_id} cannot propagate masks through frames: use a SAM 2.1 model "
                              "(e.g. sam2.1_hiera_tiny)")
    missing = fam.available()
    if missing is not None:
        raise SamBackendError(missing)
    return fam.load_propagator(model_id, checkpoint=checkpoint, device=device)
