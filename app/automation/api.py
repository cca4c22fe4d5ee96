"""The automation protocol: an image in, proposals out.

An ``Automation`` (registered in app.automation.registry; built-ins and plugins) proposes
annotations for one image given an ``AutomationContext`` (the current predictor, cached embeddings,
a detector when it needs one). Proposals are plain data; nothing is stored until the user accepts
them (GUI: one undo step) or a batch run stores them with ``source="auto"``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from app.core.model import Annotation, Part, Point
from app.core.options import Option, OptionValue
from sam_backend.families import Embedding, Predictor

AutomationScope = Literal["image", "images"]
"""Runs on the current image only, or also as a batch over many images."""
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Proposal:
    """One proposed annotation on one image (not stored).

    rle: the exact mask as COCO compressed RLE at the image's size (mask/polygon proposals), or
    None for vector shapes (then ``shape``/``points``/``parts`` say what it is). label: a label class
    name (a text prompt's phrase), or None for "the current label". score: the number shown and
    filtered on (predicted IoU for SAM). group_id: e.g. the object id of a propagated track.
    extra: what else is worth keeping with the annotation (JSON), e.g. {"predicted_iou": ...,
    "stability_score": ..., "phrase": "cat", "box": [x0, y0, x1, y1], "automation": "everything"}.
    """

    rle: dict | None
    label: str | None = None
    score: float | None = None
    shape: str = "mask"
    points: tuple[Point, ...] = ()
    parts: tuple[Part, ...] = ()
    group_id: int | None = None
    extra: dict = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class AutomationInput:
    """One image to work on: its pixels (H, W, 3 uint8 RGB, EXIF-rotated), its project id (None
    outside a project), its existing annotations and the project's label names by id."""

    image: np.ndarray
    image_id: int | None = None
    annotations: Sequence[Annotation] = ()
    labels: Mapping[int, str] = field(default_factory=dict)


@runtime_checkable
class AutomationContext(Protocol):
    """What an automation may use. ``predictor``: the loaded segmentation model (any family);
    ``embedding(item)``: the item's embedding for that predictor (from the caches, else encoded)."""

    @property
    def predictor(self) -> Predictor:
        """The current segmentation model."""

    def embedding(self, item: AutomationInput) -> Embedding:
        """The embedding of ``item.image`` for ``predictor`` (cached per image)."""


@runtime_checkable
class Automation(Protocol):
    """A tool that proposes annotations.

    id: e.g. "everything", "boxes", "text" (CLI ``autolabel --mode ID``); title; scope; needs: the
    prompt kinds it needs from the predictor (sam_backend.families.PromptKind), e.g. {"points"};
    options: its settings (the dialogs build widgets from them, the CLI takes --option NAME=VALUE).
    """

    id: str
    title: str
    scope: AutomationScope
    needs: frozenset[str]
    options: tuple[Option, ...]

    def propose(self, ctx: AutomationContext, item: AutomationInput, *, params: Mapping[str, OptionValue],
                progress: Progress | None = None, cancel: threading.Event | None = None) -> list[Proposal]:
        """The proposals for one image (raises app.core.formats.common.Cancelled when cancelled)."""
