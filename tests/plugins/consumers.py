"""What the consumers of each format check, re-implemented from formats.md and the producers'
documentation, independently of plugins/ (so a shared mistake cannot hide):

- Ultralytics (formats.md 4.2-4.5): ``check_det_dataset``'s data.yaml rules, ``verify_image_label``'s
  row rules (float32 parse, box/segment rows, no mixing, class < nc, coordinates in [-0.01, 1.01]),
  ``polygon2mask`` (float32 * size -> int32 -> cv2.fillPoly);
- Pascal VOC (formats.md 5): palette/L PNGs of the image size, values in {0..N, 255}, the VOC colormap;
- CVAT for images 1.1 (docs "XML annotation format" and CVAT's importer ``load_anno``): the
  structure it needs and its mask RLE (row-major over left/top/width/height, zeros first).
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import yaml
from PIL import Image

# ------------------------------------------------------------------------------------ Ultralytics


def check_det_dataset(yaml_path: Path) -> dict:
    """data.yaml as check_det_dataset(autodownload=False) accepts it (formats.md 4.3)."""
    data = yaml.safe_load(Path(yaml_path).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    for k in ("train", "val"):
        assert k in data, f"data.yaml misses {k!r}"
        assert isinstance(data[k], (str, list))
    names = data["names"]
    if isinstance(names, dict):
        assert sorted(names) == list(range(len(names))), "names indices must be 0..n-1"
        names = [names[i] for i in range(len(names))]
    assert isinstance(names, list) and all(isinstance(n, str) for n in names)
    if "nc" in data:
        assert data["nc"] == len(names)
    if "path" in data:
        assert isinstance(data["path"], str) and os.path.isabs(data["path"]), "a relative path resolves against cwd"
    root = Path(yaml_path).parent
    for k in ("train", "val"):
        for entry in data[k] if isinstance(data[k], list) else [data[k]]:
            assert (root / entry).exists(), f"{k}: {entry} does not exist"
    return {"names": names, "nc": len(names), "root": root, "train": root / data["train"], "val": root / data["val"]}


def img2label(image: Path) -> Path:
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    text = str(image)
    i = text.rfind(sa)
    assert i >= 0
    return Path(os.path.splitext(text[:i] + sb + text[i + len(sa):])[0] + ".txt")


def verify_image_label(image: Path, nc: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(classes, segments) of an image's label file, asserting what makes Ultralytics call the
    file corrupt; segments are float32 (n, 2) normalised (boxes: their 4 values)."""
    with Image.open(image) as im:
        assert min(im.size) >= 10, "images must be at least 10 px per side"
    lb = img2label(image)
    assert lb.is_file(), f"no label file {lb}"
    rows = [x.split() for x in lb.read_text(encoding="utf-8-sig").strip().splitlines() if len(x)]
    if not rows:
        return np.zeros(0), []
    kinds = {("box" if len(r) == 5 else "seg" if len(r) > 6 else "bad") for r in rows}
    assert "bad" not in kinds, f"{lb}: a row with 6 or fewer than 5 tokens"
    assert len(kinds) == 1, f"{lb}: labels mix segment and detection rows"
    classes = np.array([float(r[0]) for r in rows], np.float32)
    assert (classes % 1 == 0).all() and classes.min() >= 0 and classes.max() < nc
    segs = [np.array(r[1:], np.float32).reshape(-1, 2) for r in rows]
    for s in segs:
        assert s.max() <= 1.01 and s.min() >= -0.01, f"{lb}: non-normalised or out of bounds coordinates"
    assert len({tuple(r) for r in rows}) == len(rows), f"{lb}: duplicate rows"
    return classes, segs


def polygon2mask(h: int, w: int, seg: np.ndarray) -> np.ndarray:
    """Ultralytics' rasteriser of one segment row (formats.md 4.4/4.5)."""
    pts = np.asarray((seg * [w, h]).ravel(), dtype=np.int32).reshape(1, -1, 2)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, pts, color=1)
    return mask.astype(bool)


# ------------------------------------------------------------------------------------ Pascal VOC


def voc_colormap(n: int = 256) -> np.ndarray:
    """The VOC bit-interleaved colormap (formats.md 5)."""
    cmap = np.zeros((n, 3), np.uint8)
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


def read_voc_png(path: Path, size: tuple[int, int], n_values: int) -> np.ndarray:
    """Index array of a VOC PNG after the formats.md 5 checks (PNG, P/L, image size, values,
    VOC palette)."""
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode in ("P", "L")
        assert im.size == size
        arr = np.array(im)
        if im.mode == "P":
            pal = np.array(im.getpalette()[:3 * 256], np.uint8).reshape(-1, 3)
            assert (pal[:n_values + 1] == voc_colormap(n_values + 1)).all(), "not the VOC colormap"
    assert set(np.unique(arr).tolist()) <= set(range(n_values + 1)) | {255}
    return arr


# ------------------------------------------------------------------------------------ CVAT


def cvat_rle_decode(rle: str, left: int, top: int, width: int, height: int, img_h: int, img_w: int) -> np.ndarray:
    """CVAT's mask RLE (issue cvat-ai/cvat#6487): run lengths over the width x height box in
    row-major order, the first run counting background."""
    counts = [int(v) for v in rle.split(",")]
    assert sum(counts) == width * height, "RLE runs must cover the mask box exactly"
    flat = np.zeros(width * height, bool)
    pos, val = 0, False
    for c in counts:
        flat[pos:pos + c] = val
        pos += c
        val = not val
    out = np.zeros((img_h, img_w), bool)
    out[top:top + height, left:left + width] = flat.reshape(height, width)
    return out


def check_cvat_xml(path: Path) -> ET.Element:
    """The structure CVAT's importer (load_anno) and Datumaro's meta parser need."""
    root = ET.parse(path).getroot()
    assert root.tag == "annotations"
    assert root.findtext("version") == "1.1"
    meta = root.find("meta")
    assert meta is not None
    task = meta.find("task")
    assert task is not None
    labels = {lab.findtext("name"): lab for lab in task.iter("label")}
    assert all(labels), "every label has a name"
    for lab in labels.values():
        for attr in lab.iter("attribute"):
            assert attr.findtext("name") and attr.findtext("input_type") in (
                "select", "checkbox", "radio", "number", "text")
    for image in root.iter("image"):
        int(image.get("id"))
        assert image.get("name")
        w, h = int(image.get("width")), int(image.get("height"))
        for el in image:
            assert el.get("label") in labels, f"label {el.get('label')!r} not declared in meta"
            if el.tag == "tag":
                continue
            assert el.get("occluded") in ("0", "1")
            int(el.get("z_order", "0"))
            if el.get("group_id") is not None:
                int(el.get("group_id"))
            for a in el.findall("attribute"):
                assert a.get("name")
            if el.tag == "box":
                xtl, ytl, xbr, ybr = (float(el.get(k)) for k in ("xtl", "ytl", "xbr", "ybr"))
                assert 0 <= xtl <= xbr <= w and 0 <= ytl <= ybr <= h
            elif el.tag in ("polygon", "polyline", "points"):
                pts = [tuple(map(float, p.split(","))) for p in el.get("points").split(";")]
                assert len(pts) >= {"polygon": 3, "polyline": 2, "points": 1}[el.tag]
            elif el.tag == "mask":
                left, top, mw, mh = (int(el.get(k)) for k in ("left", "top", "width", "height"))
                assert left >= 0 and top >= 0 and left + mw <= w and top + mh <= h
                cvat_rle_decode(el.get("rle"), left, top, mw, mh, h, w)
            elif el.tag == "ellipse":
                float(el.get("cx")), float(el.get("cy")), float(el.get("rx")), float(el.get("ry"))
            else:
                raise AssertionError(f"unexpected element {el.tag}")
    return root


# ------------------------------------------------------------------------------------ ISAT


def _orourke(xp: list[int], yp: list[int], x: int, y: int) -> bool:
    """skimage's point test (O'Rourke): vertex, inside, or on an edge."""
    r = l = 0
    x1, y1 = xp[-1] - x, yp[-1] - y
    for xi, yi in zip(xp, yp):
        x0, y0 = xi - x, yi - y
        if x0 == 0 and y0 == 0:
            return True
        if (y0 > 0) != (y1 > 0) and (x0 * y1 - x1 * y0) / (y1 - y0) > 0:
            r += 1
        if (y0 < 0) != (y1 < 0) and (x0 * y1 - x1 * y0) / (y1 - y0) < 0:
            l += 1
        x1, y1 = x0, y0
    return r % 2 == 1 or l % 2 == 1


def isat_fill_polygon(points: list, h: int, w: int) -> np.ndarray:
    """ISAT's VOC.fill_polygon: vertices truncated with int(), skimage.draw.polygon (the real one
    when installed, else the same point test written out)."""
    seg = [(int(p[1]), int(p[0])) for p in points]
    out = np.zeros((h, w), bool)
    try:
        from skimage.draw import polygon
    except ImportError:
        rows, cols = [r for r, _ in seg], [c for _, c in seg]
        for r in range(max(0, min(rows)), min(h - 1, max(rows)) + 1):
            for c in range(max(0, min(cols)), min(w - 1, max(cols)) + 1):
                out[r, c] = _orourke(cols, rows, c, r)
        return out
    rr, cc = polygon([r for r, _ in seg], [c for _, c in seg], (h, w))
    out[rr, cc] = True
    return out


def isat_voc(json_dir: Path, out_dir: Path, instance: bool) -> dict[str, np.ndarray]:
    """{json stem: index PNG} as ISAT's own VOC writer paints it (``ISAT.formats.voc``, when
    isat-sam is installed) or as formats.md 3.5 describes it (ascending layer, later wins,
    index = position in isat.yaml, or the group in instance mode)."""
    import json

    try:
        from ISAT.formats.voc import VOC
    except ImportError:
        VOC = None
    if VOC is not None:
        import contextlib
        import io

        with contextlib.redirect_stderr(io.StringIO()):
            v = VOC()
            v.is_instance = instance
            v.read_from_ISAT(str(json_dir))
            v.save_to_voc(str(out_dir))
        return {p.stem: np.array(Image.open(p)) for p in Path(out_dir).glob("*.png")}
    cates = [e["name"] for e in yaml.safe_load((json_dir / "isat.yaml").read_text(encoding="utf-8"))["label"]]
    out = {}
    for f in Path(json_dir).glob("*.json"):
        d = json.loads(f.read_text(encoding="utf-8"))
        h, w = d["info"]["height"], d["info"]["width"]
        img = np.zeros((h, w), np.uint8)
        for o in sorted(d["objects"], key=lambda o: o["layer"]):
            value = int(o["group"]) if instance else (cates.index(o["category"]) if o["category"] in cates else 0)
            img[isat_fill_polygon(o["segmentation"], h, w)] = value
        out[f.stem] = img
    return out


def check_isat_file(path: Path, image_size: tuple[int, int]) -> tuple[dict, int]:
    """formats.md 3.6 checks 1-3 (schema, types, validator rules, derived fields); returns the
    document and the number of polygons ISAT's validator would warn about as invalid (shapely)."""
    import json

    from shapely.geometry import Polygon

    d = json.loads(Path(path).read_text(encoding="utf-8"))
    info = d["info"]
    assert info["description"] == "ISAT" and isinstance(info["name"], str)
    assert type(info["width"]) is int and type(info["height"]) is int
    assert (info["width"], info["height"]) == image_size
    invalid = 0
    for o in d["objects"]:
        assert set(o) >= {"category", "group", "segmentation", "area", "layer", "bbox", "iscrowd", "note"}
        assert isinstance(o["category"], str) and type(o["group"]) is int
        assert isinstance(o["layer"], float) and isinstance(o["area"], float)
        assert type(o["iscrowd"]) is bool and isinstance(o["note"], str)
        pts = np.array(o["segmentation"], float)
        assert len(pts) >= 3, "ISAT's validator: a polygon needs at least 3 vertices"
        assert pts[:, 0].min() >= 0 and pts[:, 1].min() >= 0
        assert pts[:, 0].max() <= info["width"] and pts[:, 1].max() <= info["height"]
        assert np.allclose(o["bbox"], [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()], atol=1)
        shoelace = abs(np.dot(pts[:, 0], np.roll(pts[:, 1], -1)) - np.dot(pts[:, 1], np.roll(pts[:, 0], -1))) / 2
        assert abs(o["area"] - shoelace) <= 0.02 * max(shoelace, 1.0)
        if not Polygon(pts).is_valid:
            invalid += 1
    return d, invalid
