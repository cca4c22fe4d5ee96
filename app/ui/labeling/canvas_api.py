"""What the labeling controller needs of the canvas (app.ui.canvas.view.CanvasView satisfies it)."""
from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Protocol

import numpy as np
from PySide6.QtCore import SignalInstance

from app.core.model import Annotation
from app.services.prompts import PromptSet
from app.ui.canvas.overlay import PendingMasks
from app.ui.canvas.prepared import PreparedGeometry


class Canvas(Protocol):
    """The canvas as the labeling loop drives it: image, annotations, candidate overlay, prompts.

    Signals (payloads): promptsChanged(PromptSet), polygonFinished(tuple[Part, ...]),
    geometryEdited(int annotation id, tuple[Part, ...]), annotationSelected(int | None), acceptRequested().
    """

    @property
    def promptsChanged(self) -> SignalInstance: ...  # noqa: N802 - Qt signal names
    @property
    def polygonFinished(self) -> SignalInstance: ...  # noqa: N802
    @property
    def geometryEdited(self) -> SignalInstance: ...  # noqa: N802
    @property
    def annotationSelected(self) -> SignalInstance: ...  # noqa: N802
    @property
    def acceptRequested(self) -> SignalInstance: ...  # noqa: N802

    def set_image(self, rgb: np.ndarray) -> None:
        """Show an (H, W, 3) uint8 image."""

    def clear_image(self) -> None:
        """Show nothing (and forget prompts, candidate, annotations)."""

    def set_annotations(self, anns: list[Annotation], colors: dict[int, str],
                        hidden: AbstractSet[int] = frozenset(),
                        drawing: Mapping[int, PreparedGeometry] | None = None) -> None:
        """Draw these annotations (label id -> colour; hidden ids are not drawn; drawing: data
        computed off the GUI thread for some of them, by id)."""

    def select_annotation(self, ann_id: int | None) -> None:
        """Highlight one annotation (None clears)."""

    def set_candidate(self, mask: np.ndarray | None, color: str) -> None:
        """Show a bool (H, W) candidate mask over the image (None hides it)."""

    def prompts(self) -> PromptSet:
        """The prompts placed on the current image."""

    def clear_prompts(self) -> None:
        """Remove every prompt (no signal)."""

    def restore_prompts(self, prompts: PromptSet) -> None:
        """Show these prompts as the current ones (no signal)."""

    def push_prompts(self, prompts: PromptSet) -> None:
        """Replace the prompts as a user edit would (emits promptsChanged)."""

    @property
    def pending(self) -> PendingMasks:
        """Accepted masks shown until their stored geometry is drawn."""
