"""Shared fixtures of the format tests: a scene of awkward masks, a project holding it, and the
consumer-side checkers of formats.md re-implemented independently of app.core.formats
(COCO 2.7 with pycocotools itself; LabelMe 1.6/1.8 rules incl. the strict 7.x ones, with
labelme's rasteriser re-written from 1.4/1.5: PIL ImageDraw fill=1 outline=1)."""
from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mu
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from app.core.geometry import mask_to_parts, mask_to_rle
from app.core.model import Annotation, Part
from app.core.project import Project

H, W = 48, 64
Scenes = dict[str, list[tuple[str, np.ndarray]]]
"""image relative path -> [(label, expected HxW bool mask)], bottom-first"""


def disk(cy: float, cx: float, r: float, h: int = H, w: int = W) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def scene_a() -> list[tuple[str, np.ndarray]]:
    """(label, mask) of image a.png: a ring (hole), a two-part object, tiny 1-4 px objects."""
    ring = disk(14, 14, 10) & ~disk(14, 14, 4)
    two = np.zeros((H, W), bool)
    two[4:12, 34:44] = True
    two |= disk(20, 52, 5)
    one_px = np.zeros((H, W), bool)
    one_px[40, 3] = True
    diag = np.zeros((H, W), bool)
    diag[40, 10] = diag[41, 11] = True
    line3 = np.zeros((H, W), bool)
    line3[44, 20:23] = True
    square4 = np.zeros((H, W), bool)
    square4[38:40, 30:32] = True
    return [("猫", ring), ("Größe", two), ("猫", one_px), ("dot", diag), ("dot", line3), ("dot", square4)]


def scene_b() -> list[tuple[str, np.ndarray]]:
    """(label, mask) of image sub/b.jpg: a blob and an overlapping box (hole-free)."""
    blob = disk(24, 30, 15) | disk(10, 40, 7)
    box = np.zeros((H, W), bool)
    box[20:40, 40:60] = True
    return [("Größe", blob), ("box", box)]


MANUAL_TRIANGLE = Part(exterior=((50.0, 30.0), (60.5, 44.25), (45.0, 44.0)))


def write_image(path: Path, fmt: str = "PNG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(path.name))
    Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(path, format=fmt)


def build_project(root: Path) -> tuple[Project, Scenes]:
    """A project in ``root`` with a.png (scene_a) and sub/b.jpg (scene_b + one manual polygon,
    no RLE). Returns (open project, {image rel path: [(label, expected mask)] bottom-first})."""
    write_image(root / "a.png")
    write_image(root / "sub" / "b.jpg", "JPEG")
    project = Project.create(root / "proj.samlabel")
    scenes = {"a.png": scene_a(), "sub/b.jpg": scene_b()}
    for name in ("猫", "Größe", "dot", "box", "unused"):
        project.add_label_class(name)
    for rel, objs in scenes.items():
        img = project.add_image(rel, W, H)
        for z, (label, m) in enumerate(objs):
            project.add_annotation(Annotation(image_id=img.id, label_id=project.label_by_name(label).id,
                                              parts=mask_to_parts(m), rle=mask_to_rle(m), z=z, source="sam"))
    img_b = project.image_by_path("sub/b.jpg")
    from app.core.geometry import parts_to_mask

    project.add_annotation(Annotation(image_id=img_b.id, label_id=project.label_by_name("box").id,
                                      parts=(MANUAL_TRIANGLE,), z=5))
    scenes["sub/b.jpg"] = scenes["sub/b.jpg"] + [("box", parts_to_mask((MANUAL_TRIANGLE,), H, W))]
    return project, scenes


def pil_polygon(points: object, h: int, w: int) -> np.ndarray:
    """labelme's rasterisation of polygon vertices (PIL, fill=1, outline=1)."""
    from PIL import ImageDraw

    im = Image.fromarray(np.zeros((h, w), np.uint8))
    ImageDraw.Draw(im).polygon([(float(x), float(y)) for x, y in points], outline=1, fill=1)  # type: ignore[union-attr]
    return np.asarray(im).astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float((a & b).sum()) / float((a | b).sum())


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Background not 4-connected to the image border becomes foreground (numpy flood fill)."""
    bg = ~np.pad(mask.astype(bool), 1)
    reach = np.zeros_like(bg)
    reach[0, :] = reach[-1, :] = reach[:, 0] = reach[:, -1] = True
    reach &= bg
    while True:
        grown = reach.copy()
        grown[1:, :] |= reach[:-1, :]
        grown[:-1, :] |= reach[1:, :]
        grown[:, 1:] |= reach[:, :-1]
        grown[:, :-1] |= reach[:, 1:]
        grown &= bg
        if (grown == reach).all():
            break
        reach = grown
    return ~reach[1:-1, 1:-1]


# ------------------------------------------------------------------------------ COCO (2.7)

def validate_coco(path: Path) -> COCO:
    """formats.md 2.7 checks 1-3 and 5; returns the loaded pycocotools COCO object."""
    d = json.loads(Path(path).read_text(encoding="ascii"))
    assert isinstance(d.get("info"), dict)
    assert all(isinstance(d.get(k), list) for k in ("images", "annotations", "categories", "licenses"))
    for k in ("images", "annotations", "categories"):
        ids = [x["id"] for x in d[k]]
        assert all(type(i) is int and i >= 1 for i in ids) and len(set(ids)) == len(ids), k
    imgs = {i["id"]: i for i in d["images"]}
    cats = {c["id"] for c in d["categories"]}
    for a in d["annotations"]:
        im = imgs[a["image_id"]]
        assert a["category_id"] in cats and type(a["iscrowd"]) is int and a["iscrowd"] in (0, 1)
        x, y, w, h = a["bbox"]
        assert all(math.isfinite(v) for v in a["bbox"]) and w > 0 and h > 0
        assert x >= 0 and y >= 0 and x + w <= im["width"] + 1e-6 and y + h <= im["height"] + 1e-6
        assert a["area"] > 0
        s = a["segmentation"]
        if isinstance(s, list):
            assert s and all(len(p) >= 6 and len(p) % 2 == 0 for p in s)
        else:
            assert s["size"] == [im["height"], im["width"]]
            assert isinstance(s["counts"], str) or sum(s["counts"]) == im["height"] * im["width"]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    for a in coco.anns.values():
        im = coco.imgs[a["image_id"]]
        rle = coco.annToRLE(a)
        m = coco.annToMask(a).astype(bool)
        assert m.shape == (im["height"], im["width"]) and m.any()
        area = float(mu.area(rle))
        assert abs(a["area"] - area) <= max(1.0, 0.02 * area)
        assert np.allclose(a["bbox"], mu.toBbox(rle), atol=1.0)
    dts = [dict(image_id=a["image_id"], category_id=a["category_id"], segmentation=coco.annToRLE(a), score=1.0)
           for a in coco.dataset["annotations"] if not a["iscrowd"]]
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(dts)), "segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert abs(ev.stats[0] - 1.0) < 1e-9, f"self-evaluation AP {ev.stats[0]}"  # 1.0 up to float rounding
    return coco


# ------------------------------------------------------------------------------ LabelMe (1.4-1.9)

EXACT_POINTS = {"point": 1, "rectangle": 2, "line": 2, "circle": 2, "mask": 2, "oriented_rectangle": 4}
SHAPE_TYPES = {"polygon", "rectangle", "circle", "line", "point", "linestrip", "points", "mask",
               "oriented_rectangle"}


def labelme_rasterise(shape: dict, h: int, w: int) -> np.ndarray:
    """labelme's shape_to_mask / shapes_to_label semantics (formats.md 1.4, 1.5)."""
    st = shape["shape_type"]
    if st == "mask":
        (x1, y1), (x2, y2) = np.asarray(shape["points"]).astype(int)
        crop = np.asarray(Image.open(io.BytesIO(base64.b64decode(shape["mask"])))).astype(bool)
        out = np.zeros((h, w), bool)
        out[y1:y2 + 1, x1:x2 + 1] = crop  # raises on a mis-sized crop, like labelme
        return out
    im = Image.fromarray(np.zeros((h, w), np.uint8))
    draw = ImageDraw.Draw(im)
    xy = [tuple(p) for p in shape["points"]]
    if st == "rectangle":
        draw.rectangle(xy, outline=1, fill=1)  # labelme 5.x passes points unsorted: must be sorted
    elif st in ("polygon", "oriented_rectangle"):
        assert len(xy) > 2
        draw.polygon(xy=xy, outline=1, fill=1)
    elif st == "circle":
        (cx, cy), (px, py) = xy
        d = math.hypot(cx - px, cy - py)
        draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
    elif st in ("line", "linestrip"):
        draw.line(xy=xy, fill=1, width=10)  # labelme's line_width=10
    elif st == "point":
        (cx, cy), = xy
        draw.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], outline=1, fill=1)  # point_size=5
    else:
        raise AssertionError(f"unexpected shape_type {st}")
    return np.asarray(im).astype(bool)


def validate_labelme(path: Path) -> tuple[dict, dict[tuple, np.ndarray]]:
    """The loader checks of 1.6 (5.9-7.1, strictest), 1.8 and 1.9 steps 1, 2 and 4.

    Returns (document, {(label, group_id or shape index): union mask}).
    """
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    for k in ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"):
        assert k in raw, f"missing top-level key {k!r}"
    assert isinstance(raw["flags"], dict) and all(isinstance(v, bool) for v in raw["flags"].values())
    assert "\\" not in raw["imagePath"]
    assert type(raw["imageHeight"]) is int and type(raw["imageWidth"]) is int
    image = Path(path).parent / raw["imagePath"]
    assert raw["imageData"] is None and image.is_file(), f"imagePath {raw['imagePath']} does not resolve"
    with Image.open(image) as im:
        from PIL import ImageOps

        im = ImageOps.exif_transpose(im)
        assert (raw["imageHeight"], raw["imageWidth"]) == (im.height, im.width)
    h, w = raw["imageHeight"], raw["imageWidth"]
    instances: dict[tuple, np.ndarray] = {}
    for i, s in enumerate(raw["shapes"]):
        assert isinstance(s["label"], str)
        st = s["shape_type"]
        assert st in SHAPE_TYPES and st != "points"
        pts = s["points"]
        assert isinstance(pts, list) and pts
        assert all(isinstance(p, list) and len(p) == 2 for p in pts)
        assert all(type(v) in (int, float) and math.isfinite(v) for p in pts for v in p)
        assert s.get("group_id") is None or type(s["group_id"]) is int
        assert isinstance(s.get("description", ""), str)
        assert s.get("flags") is None or isinstance(s["flags"], dict)
        if st in EXACT_POINTS:
            assert len(pts) == EXACT_POINTS[st]
        if st == "polygon":
            assert len(pts) >= 3
        assert (s.get("mask") is not None) == (st == "mask")  # absent = null
        if st == "rectangle":
            (xa, ya), (xb, yb) = pts
            assert xa <= xb and ya <= yb, "rectangle corners must be [[xmin,ymin],[xmax,ymax]] for labelme 5.x"
        if st == "mask":
            (x1, y1), (x2, y2) = pts
            assert all(float(v).is_integer() for v in (x1, y1, x2, y2))
            crop = np.asarray(Image.open(io.BytesIO(base64.b64decode(s["mask"]))))
            assert crop.ndim == 2 and crop.shape == (y2 - y1 + 1, x2 - x1 + 1)
            assert 0 <= x1 <= x2 < w and 0 <= y1 <= y2 < h
        m = labelme_rasterise(s, h, w)
        assert m.any(), f"shape {i} rasterises to nothing"
        key = (s["label"], s["group_id"]) if s["group_id"] is not None else (s["label"], f"#{i}")
        instances[key] = instances.get(key, np.zeros((h, w), bool)) | m
    return raw, instances


def random_mask(rng: np.random.Generator, h: int, w: int, kind: int) -> np.ndarray:
    """A random test mask of one of four kinds (noise, a pixel, a ring, rectangles)."""
    m = np.zeros((h, w), bool)
    if kind == 0:  # noise: many parts, holes, diagonal pinches
        m = rng.random((h, w)) < rng.uniform(0.1, 0.7)
    elif kind == 1:  # one pixel, often on the border or in a corner
        m[int(rng.choice([0, h - 1, rng.integers(0, h)])), int(rng.choice([0, w - 1, rng.integers(0, w)]))] = True
    elif kind == 2:  # a ring (a hole) touching the borders
        m[:, :] = True
        if h > 2 and w > 2:
            m[1:-1, 1:-1] = False
            m[h // 2, :] = rng.random() < 0.5
    elif kind == 3:  # rectangles, some touching borders, some apart (multi-part)
        for _ in range(int(rng.integers(1, 4))):
            y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
            m[y0:y0 + int(rng.integers(1, h + 1)), x0:x0 + int(rng.integers(1, w + 1))] = True
    return m
