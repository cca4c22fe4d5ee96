"""SAM prompts as the application collects them (Qt-free values, shared by the canvas and the worker).

Coordinates: original-image pixels, x right, y down, pixel centres at integer coordinates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

FOREGROUND = 1
BACKGROUND = 0


@dataclass(frozen=True)
class PromptSet:
    """The prompts for one decode request.

    points/labels: clicks and scribble samples, label 1 = foreground, 0 = background.
    box: (x0, y0, x1, y1) with x0 <= x1, y0 <= y1, or None.
    strokes: the raw scribble strokes (label, points) kept for drawing; their samples are already in `points`.
    """

    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    strokes: tuple[tuple[int, tuple[tuple[float, float], ...]], ...] = ()

    def is_empty(self) -> bool:
        """True when there is nothing to decode."""
        return not self.points and self.box is None

    def with_point(self, x: float, y: float, label: int) -> "PromptSet":
        """A copy with one more point."""
        return PromptSet(self.points + ((float(x), float(y)),), self.labels + (int(label),), self.box, self.strokes)

    def with_box(self, x0: float, y0: float, x1: float, y1: float) -> "PromptSet":
        """A copy with the box replaced (corners normalised so x0 <= x1 and y0 <= y1)."""
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        return PromptSet(self.points, self.labels, tuple(float(v) for v in box), self.strokes)  # type: ignore[arg-type]

    def with_stroke(self, stroke: Sequence[tuple[float, float]], label: int, spacing: float = 16.0,
                    max_points: int = 24) -> "PromptSet":
        """A copy with a scribble stroke added: the stroke is kept and its samples appended as points."""
        samples = sample_stroke(stroke, spacing=spacing, max_points=max_points)
        pts = tuple((float(x), float(y)) for x, y in stroke)
        return PromptSet(
            self.points + samples,
            self.labels + (int(label),) * len(samples),
            self.box,
            self.strokes + ((int(label), pts),),
        )


def sample_stroke(stroke: Sequence[tuple[float, float]], spacing: float = 16.0,
                  max_points: int = 24) -> tuple[tuple[float, float], ...]:
    """Points sampled evenly along a polyline (image px), first and last included.

    The spacing is widened when the stroke is long so that at most `max_points` samples come out
    (SAM degrades with very many points). A single-point stroke gives that point.
    """
    pts = [(float(x), float(y)) for x, y in stroke]
    if not pts:
        return ()
    seg = [math.dist(pts[i], pts[i + 1]) for i in range(len(pts) - 1)]
    total = sum(seg)
    if total == 0.0:
        return (pts[0],)
    n = max(2, min(max_points, int(total / max(spacing, 1e-6)) + 1))
    step = total / (n - 1)
    out: list[tuple[float, float]] = []
    i, acc = 0, 0.0
    for k in range(n):
        target = min(k * step, total)
        while i < len(seg) - 1 and acc + seg[i] < target:
            acc += seg[i]
            i += 1
        t = 0.0 if seg[i] == 0 else (target - acc) / seg[i]
        t = min(max(t, 0.0), 1.0)
        (xa, ya), (xb, yb) = pts[i], pts[i + 1]
        out.append((xa + t * (xb - xa), ya + t * (yb - ya)))
    return tuple(out)
