"""A test automation for segment everything in the window: rectangles with known scores, on the
worker thread, with progress, and (optionally) blocking until cancelled."""
from __future__ import annotations

import threading
from collections.abc import Mapping

import numpy as np

from app.automation.api import AutomationContext, AutomationInput, Progress, Proposal
from app.core.formats.common import Cancelled
from app.core.options import OptionValue
from app.core.rle import mask_to_rle

# x0, y0, x1, y1 (exclusive), predicted IoU, stability; on 160 x 120 images
SPECS: tuple[tuple[int, int, int, int, float, float], ...] = (
    (10, 10, 40, 40, 0.95, 0.97),     # 0: 900 px
    (50, 10, 60, 20, 0.80, 0.90),     # 1: 100 px
    (70, 60, 130, 110, 0.90, 0.85),   # 2: 3000 px
    (75, 65, 95, 85, 0.92, 0.96),     # 3: 400 px, inside 2
    (100, 10, 150, 50, 0.99, 0.99),   # 4: 2000 px
)


def spec_mask(spec: tuple[int, int, int, int, float, float], h: int = 120, w: int = 160) -> np.ndarray:
    x0, y0, x1, y1 = spec[:4]
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


class RectAutomation:
    """Automation "everything" proposing SPECS; ``block``: wait (checking cancel) before answering."""

    id = "everything"
    title = "Rectangles (test)"
    scope = "image"
    needs = frozenset({"points"})
    options = ()

    def __init__(self, block: bool = False) -> None:
        self.block = block
        self.started = threading.Event()
        self.saw_cancel = threading.Event()
        self.threads: list[str] = []
        self.inputs: list[AutomationInput] = []

    def propose(self, ctx: AutomationContext, item: AutomationInput, *, params: Mapping[str, OptionValue],
                progress: Progress | None = None, cancel: threading.Event | None = None) -> list[Proposal]:
        self.threads.append(threading.current_thread().name)
        self.inputs.append(item)
        self.started.set()
        while self.block:
            if cancel is not None and cancel.wait(0.01):
                self.saw_cancel.set()
                raise Cancelled("cancelled")
        h, w = item.image.shape[:2]
        out = []
        for k, spec in enumerate(SPECS):
            out.append(Proposal(mask_to_rle(spec_mask(spec, h, w)), score=spec[4],
                                extra={"automation": "everything", "predicted_iou": spec[4],
                                       "stability_score": spec[5]}))
            if progress is not None:
                progress(k + 1, len(SPECS))
        return out
