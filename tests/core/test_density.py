"""app.core.density: polygon density of a mask's stored outline (Auto, exact, or a tolerance in px)."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from shapely.geometry import Polygon

from app.core import codec
from app.core.density import TOLERANCE_STEPS, check_tolerance, mask_to_parts_at, step_tolerance, vertex_count
from app.core.geometry import mask_to_parts, parts_to_mask
from app.core.mask_convert import PackedMask, convert_mask, convert_packed
from app.core.rle import mask_to_rle, rle_to_mask
from app.services import geometry_work
from app.services.geometry_work import preview_outline, resimplify


def _wobbly(h: int = 300, w: int = 400, seed: int = 0) -> np.ndarray:
    """A star-like blob with a hole, a noisy rim and a separate island."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    ang = np.arctan2(yy - h / 2, xx - w / 2)
    r = np.hypot(yy - h / 2, xx - w / 2)
    m = r < 100 + 12 * np.sin(7 * ang) + rng.normal(0, 0.8, (h, w))
    m &= ~(np.hypot(yy - h / 2, xx - w / 2 - 30) < 18)  # a hole
    m[10:40, 10:60] = True  # an island
    return m


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vertex_count_never_grows_with_the_tolerance(seed: int) -> None:
    mask = _wobbly(seed=seed)
    counts = [vertex_count(mask_to_parts_at(mask, t)) for t in TOLERANCE_STEPS]
    assert all(a >= b for a, b in zip(counts, counts[1:])), counts
    assert counts[0] > 5 * counts[-1]  # the ladder spans a real range of densities


@pytest.mark.parametrize("seed", range(6))
def test_exact_mode_round_trips_the_mask(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = _wobbly(120, 160, seed) if seed % 2 else rng.random((70, 90)) > 0.6  # pixel noise too
    parts = mask_to_parts_at(mask, 0)
    assert np.array_equal(parts_to_mask(parts, *mask.shape), mask)
    assert parts == mask_to_parts(mask, simplify=False)


def test_auto_is_todays_conversion() -> None:
    mask = _wobbly()
    assert mask_to_parts_at(mask, None) == mask_to_parts(mask)
    assert convert_mask(mask).geometry == codec.encode_parts(mask_to_parts(mask))


@pytest.mark.parametrize("tol", [0.5, 1.0, 3.0, 10.0])
def test_simplified_rings_stay_within_the_tolerance(tol: float) -> None:
    mask = _wobbly()
    exact = mask_to_parts(mask, simplify=False)
    got = mask_to_parts_at(mask, tol)
    assert len(got) == len(exact)  # one part per part: no island lost, none split
    for e, g in zip(exact, got):
        ge, ee = Polygon(g.exterior), Polygon(e.exterior)
        assert ge.is_valid and ge.exterior.hausdorff_distance(ee.exterior) <= tol + 1e-9
        assert len(g.holes) == len(e.holes)


def test_a_speck_at_a_large_tolerance_keeps_a_valid_polygon() -> None:
    mask = np.zeros((20, 20), bool)
    mask[5, 5] = True  # a one-pixel speck: its exact outline is a small octagon
    parts = mask_to_parts_at(mask, 10.0)
    assert len(parts) == 1 and Polygon(parts[0].exterior).is_valid and Polygon(parts[0].exterior).area > 0


def test_a_heavy_part_is_simplified_without_the_topology_check() -> None:
    rng = np.random.default_rng(3)
    mask = np.zeros((300, 300), bool)
    mask[20:280, 20:280] = True
    holes = rng.integers(30, 270, size=(80, 2))
    for y, x in holes:  # 80 separate 2x2 holes: more than the 32 rings of the topology-checked path
        mask[y:y + 2, x:x + 2] = False
    exact = mask_to_parts(mask, simplify=False)
    assert len(exact[0].holes) > 32
    got = mask_to_parts_at(mask, 2.0)
    assert got and all(Polygon(p.exterior, p.holes).is_valid for p in got)
    assert vertex_count(got) < vertex_count(exact)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, 51.0, True, "2", [1.0]])
def test_bad_tolerances_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        check_tolerance(bad)
    with pytest.raises(ValueError):
        mask_to_parts_at(np.ones((4, 4), bool), bad)  # type: ignore[arg-type]
    assert check_tolerance(2) == 2.0 and check_tolerance(None) is None


def test_convert_mask_keeps_the_exact_rle_at_every_density() -> None:
    mask = _wobbly(150, 200)
    for tol in (None, 0.0, 2.0, 10.0):
        got = pickle.loads(pickle.dumps(convert_packed(PackedMask.of(mask), tol)))
        assert got.rle == mask_to_rle(mask) and np.array_equal(rle_to_mask(got.rle), mask)
        assert got.geometry == codec.encode_parts(mask_to_parts_at(mask, tol))
        assert got.outline is not None and got.outline.source is got.rle


def test_step_tolerance_walks_the_ladder() -> None:
    up, t = [], None
    for _ in range(len(TOLERANCE_STEPS) + 1):
        t = step_tolerance(t, +1)
        up.append(t)
    assert up == [*TOLERANCE_STEPS, TOLERANCE_STEPS[-1]]
    assert step_tolerance(0.0, -1) is None and step_tolerance(None, -1) is None
    assert step_tolerance(0.7, +1) == 1.0 and step_tolerance(0.7, -1) == 0.5
    assert step_tolerance(20.0, +1) == 20.0 and step_tolerance(20.0, -1) == 10.0


def test_a_huge_preview_draws_the_largest_rings_within_the_limit(monkeypatch) -> None:
    monkeypatch.setattr(geometry_work, "MAX_PREVIEW_VERTICES", 200)
    monkeypatch.setattr(geometry_work, "MAX_PREVIEW_DOTS", 50)
    mask = _wobbly(150, 200)
    parts = mask_to_parts_at(mask, 0.0)
    shown = preview_outline(PackedMask.of(mask), 0.0)
    largest = max((r for p in parts for r in (p.exterior, *p.holes)), key=len)
    assert len(largest) > 200  # drawn through every k-th vertex, then smaller rings while they fit
    assert shown.vertices == vertex_count(parts) and 150 <= shown.drawn <= 200
    assert tuple(shown.lines[0]) == largest[0] and tuple(shown.lines[2]) == largest[3]
    assert len(shown.dots) == 0  # too many to tell apart


def test_worker_functions_preview_and_resimplify() -> None:
    mask = _wobbly(150, 200)
    parts = mask_to_parts_at(mask, 3.0)
    shown = pickle.loads(pickle.dumps(preview_outline(PackedMask.of(mask), 3.0)))
    assert shown.vertices == shown.drawn == vertex_count(parts) and shown.parts == len(parts)
    want = set()  # every edge of every ring, as drawLines pairs
    for p in parts:
        for ring in (p.exterior, *p.holes):
            want |= {(ring[k], ring[(k + 1) % len(ring)]) for k in range(len(ring))}
    got = {(tuple(a), tuple(b)) for a, b in shown.lines.reshape(-1, 2, 2).tolist()}
    assert got == want and len(shown.dots) == shown.vertices
    rle = mask_to_rle(mask)
    done = pickle.loads(pickle.dumps(resimplify(((7, rle), (8, mask_to_rle(np.zeros_like(mask)))), 0.0)))
    assert [d.annotation_id for d in done] == [7]  # the empty mask gives nothing
    assert done[0].rle == rle and done[0].parts == mask_to_parts(mask, simplify=False)
    assert done[0].outline is not None and done[0].outline.source is done[0].rle
