"""PromptSet and scribble sampling."""
from __future__ import annotations

import math

from app.services.prompts import PromptSet, sample_stroke


def test_sample_stroke_spacing_and_endpoints() -> None:
    s = sample_stroke([(0, 0), (100, 0)], spacing=25)
    assert s[0] == (0.0, 0.0) and s[-1] == (100.0, 0.0)
    assert len(s) == 5
    gaps = [math.dist(s[i], s[i + 1]) for i in range(len(s) - 1)]
    assert max(gaps) - min(gaps) < 1e-9


def test_sample_stroke_caps_points_on_long_strokes() -> None:
    s = sample_stroke([(0, 0), (10000, 0), (10000, 10000)], spacing=1, max_points=10)
    assert len(s) == 10
    assert s[-1] == (10000.0, 10000.0)


def test_sample_stroke_follows_corners() -> None:
    s = sample_stroke([(0, 0), (10, 0), (10, 10)], spacing=5)
    assert (10.0, 0.0) in s  # the corner lies on a sample when spacing divides the length
    assert all(x == 10.0 or y == 0.0 for x, y in s)


def test_promptset_accumulates() -> None:
    p = PromptSet()
    assert p.is_empty()
    p = p.with_point(1, 2, 1).with_box(10, 20, 5, 4)
    assert p.box == (5.0, 4.0, 10.0, 20.0)
    p = p.with_stroke([(0, 0), (0, 40)], 0, spacing=10)
    assert p.labels == (1, 0, 0, 0, 0, 0)
    assert len(p.strokes) == 1 and not p.is_empty()
