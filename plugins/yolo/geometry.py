"""YOLO geometry: an annotation's rings, rings joined into one line by zero-width bridges, and the
line grammar of Ultralytics (formats.md 4.2).

Coordinates written are ``(x + 0.5) / W, (y + 0.5) / H`` for pixel-centre x, y (formats.md 0.1):
Ultralytics parses them as float32, multiplies by W/H and truncates to int32 before cv2.fillPoly,
which gives back exactly x and y. Box rows are ``xc yc w h`` of the box in pixel-corner
coordinates (pixel i spans [i, i + 1]).

Rings of a mask are cv2 contours through the centres of boundary pixels (CHAIN_APPROX_SIMPLE,
lossless for fillPoly): outer contours and, for holes, cv2's hole contours (through the object
pixels around each hole). Several rings become one polygon by a chain of bridges: the walk goes
around each ring, over to the next one at the pair of nearest vertices, around it, and back the
same way, so each bridge is traversed twice (zero width). cv2.fillPoly fills such a walk with the
even-odd rule - holes stay empty, islands filled - and draws each bridge as a 1-pixel line.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

Ring = np.ndarray  # (n, 2) float64 x, y in pixel-centre image coordinates
Group = tuple[Ring, list[Ring]]  # an outer ring and its hole rings

MAX_TOKENS = 2_000_000  # per line: more is not a label file (bounds memory on hostile input)


def mask_groups(crop: np.ndarray, x0: int, y0: int, holes: bool) -> list[Group]:
    """Outer contours of a tight bool crop at image offset (x0, y0), each with its hole contours
    (``holes``: False gives outer rings only, holes filled)."""
    padded = np.pad(crop.astype(np.uint8), 1)
    mode = cv2.RETR_CCOMP if holes else cv2.RETR_EXTERNAL
    contours, hier = cv2.findContours(padded, mode, cv2.CHAIN_APPROX_SIMPLE)
    if hier is None:
        return []
    offset = np.array([x0 - 1, y0 - 1], np.float64)
    rings = [c.reshape(-1, 2).astype(np.float64) + offset for c in contours]
    groups: dict[int, Group] = {}
    for i, ring in enumerate(rings):
        if hier[0][i][3] == -1:
            groups[i] = (ring, [])
    for i, ring in enumerate(rings):
        parent = int(hier[0][i][3])
        if parent != -1 and parent in groups:
            groups[parent][1].append(ring)
    return list(groups.values())


def _nearest_pair(a: Ring, b: Ring) -> tuple[int, int]:
    """Indices (i, j) of the closest vertices a[i], b[j] (exact, computed in chunks)."""
    best, bi, bj = math.inf, 0, 0
    step = max(1, 4_000_000 // max(1, len(b)))
    for s in range(0, len(a), step):
        d = ((a[s:s + step, None, :] - b[None, :, :]) ** 2).sum(axis=-1)
        k = int(d.argmin())
        i, j = divmod(k, d.shape[1])
        if d[i, j] < best:
            best, bi, bj = float(d[i, j]), s + i, j
    return bi, bj


def order_groups(groups: list[Group]) -> list[Group]:
    """Groups in a greedy nearest-neighbour order of their box centres, the largest first (short
    bridges between consecutive ones)."""
    if len(groups) <= 2:
        return sorted(groups, key=lambda g: -len(g[0]))
    centres = np.array([(g[0].min(axis=0) + g[0].max(axis=0)) / 2 for g in groups])
    left = list(range(len(groups)))
    cur = max(left, key=lambda i: float(np.ptp(groups[i][0], axis=0).prod()))
    out = [cur]
    left.remove(cur)
    while left:
        d = ((centres[left] - centres[cur]) ** 2).sum(axis=1)
        cur = left.pop(int(d.argmin()))
        out.append(cur)
    return [groups[i] for i in out]


def join_rings(rings: list[Ring]) -> Ring:
    """One closed walk through every ring, consecutive rings joined at their nearest vertices by
    a bridge walked there and back (see the module doc). One ring is returned as it is."""
    if len(rings) == 1:
        return rings[0]
    head: list[np.ndarray] = []
    tail: list[np.ndarray] = []
    entry = 0
    for i in range(len(rings) - 1):
        a, b = _nearest_pair(rings[i], rings[i + 1])
        rot = np.roll(rings[i], -entry, axis=0)
        pos = (a - entry) % len(rings[i])
        head.append(rot[:pos + 1])
        tail.append(np.vstack([rot[pos:], rot[:1]]))
        entry = b
    last = np.roll(rings[-1], -entry, axis=0)
    walk = np.vstack(head + [np.vstack([last, last[:1]])] + tail[::-1])
    return walk[:-1]  # the walk ends where it started; the polygon closes itself


def at_least_three(ring: Ring) -> Ring:
    """A ring of 1 or 2 points (a one-pixel speck, a two-pixel line) with its last point repeated
    up to 3 points: Ultralytics reads 2-point rows as boxes (formats.md 4.2)."""
    if len(ring) >= 3:
        return ring
    return np.vstack([ring, np.repeat(ring[-1:], 3 - len(ring), axis=0)])


def number(v: float) -> str:
    """%.6f without trailing zeros ("0.5", "0", "0.123457")."""
    text = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def seg_line(class_index: int, ring: Ring, width: int, height: int) -> str:
    """``cls x1 y1 ...`` of a pixel-centre ring: (x + 0.5) / W clipped to [0, 1]."""
    xy = np.clip((at_least_three(ring) + 0.5) / np.array([width, height], np.float64), 0.0, 1.0)
    return f"{int(class_index)} " + " ".join(number(float(v)) for v in xy.ravel())


def box_line(class_index: int, box: tuple[float, float, float, float], width: int, height: int) -> str:
    """``cls xc yc w h`` of a box (x0, y0, x1, y1) in pixel-corner coordinates, clipped to the image."""
    x0, y0, x1, y1 = (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3]))
    vals = ((x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height)
    return f"{int(class_index)} " + " ".join(number(v) for v in vals)


def parse_line(text: str) -> tuple[int, np.ndarray] | str:
    """(class index, values float64) of one non-blank label line, or why it is not a YOLO row:
    a box row has 4 values, a polygon row an even number >= 6 (formats.md 4.2)."""
    tokens = text.replace(",", " , ").split()
    if "," in tokens:
        return "it is separated by commas, not spaces"
    if len(tokens) > MAX_TOKENS:
        return f"it has more than {MAX_TOKENS} numbers"
    try:
        vals = np.array([float(t) for t in tokens], np.float64)
    except ValueError:
        return "it holds something that is not a number"
    if not np.isfinite(vals).all():
        return "it holds a non-finite number"
    cls = float(vals[0])
    if cls < 0 or cls % 1 != 0:
        return f"its class index {tokens[0]} is not a whole number >= 0"
    n = len(vals) - 1
    if n != 4 and (n < 6 or n % 2):
        return f"it has {n} coordinates (a box row has 4, a polygon row an even number of at least 6)"
    coords = vals[1:]
    if coords.max(initial=0.0) > 1.01 or coords.min(initial=0.0) < -0.01:
        return "its coordinates are not normalised to [0, 1] (pixel coordinates?)"
    return int(cls), coords
