"""COCO instance-segmentation export (formats.md section 2).

Segmentation policy (``masks``):
- ``"auto"`` (default): hole-free instances as pixel-CORNER polygons (exact under pycocotools,
  formats.md 0.1), instances with holes as compressed RLE;
- ``"rle"``: every instance as compressed RLE (exact; nothing is decoded, area/bbox come straight
  from pycocotools on the stored RLE);
- ``"polygon"``: every instance as polygons; holes are filled (reported in the warnings).
Images are those with annotations or marked done (an image never labelled is not a negative
example). ``area`` is the pixel count of the exported mask, ``bbox`` its [x, y, w, h] in the corner
convention (= pycocotools ``toBbox``); ``iscrowd`` 0; ids start at 1; categories follow the label
classes' display order (id = position + 1). The file is streamed (constant memory per
annotation) and written atomically with ``ensure_ascii=True, allow_nan=False``.
Import lives in app.core.formats.coco_import.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from app import __version__
from app.core.formats.common import ExportReport, Progress, Ticker, atomic_text_writer, dumps, posix_relpath
from app.core.formats.export_common import annotation_crop, batch_runs, image_size
from app.core.formats.masks import paste
from app.core.model import Annotation
from app.core.rle import mask_to_rle

COCO_MASK_MODES = ("auto", "rle", "polygon")
_PAGE = 5000
_CHUNK = 1000  # annotations whose RLE counts are decoded together


def compressed_rle(rle: dict) -> dict:
    """{"size": [H, W], "counts": str} of a compressed or uncompressed COCO RLE."""
    counts = rle["counts"]
    h, w = (int(v) for v in rle["size"])
    if isinstance(counts, (list, tuple)):
        counts = mask_utils.frPyObjects({"size": [h, w], "counts": [int(c) for c in counts]}, h, w)["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    return {"size": [h, w], "counts": counts}


def trace_corner(crop: np.ndarray, x0: int, y0: int) -> tuple[list[list[int]], bool]:
    """(outer polygons, has_holes) of a bool crop whose top-left pixel is (x0, y0).

    Polygons are flat [x1, y1, ...] integer lists in the COCO pixel-CORNER convention: the exact
    outline of the union of the pixel squares (pixel (c, r) = [c, c+1] x [r, r+1]) of each
    8-connected part, holes filled. Every pixel centre is 0.5 px away from them, so pycocotools
    rasterises them back to exactly the hole-filled mask, and their extents equal ``toBbox``.
    They are app.core.geometry.mask_to_corner_polygons' rings (cv2 contours of the mask upsampled
    2x, 0.25 px inside the pixel edges) rounded onto the pixel corners; diagonally touching pixels
    give a ring that touches itself at a corner. The same cv2 pass tells whether the mask encloses
    background (``has_holes``).
    """
    h, w = crop.shape
    up = np.zeros((2 * h + 4, 2 * w + 4), np.uint8)
    c8 = crop.astype(np.uint8, copy=False)
    for dy in (2, 3):
        for dx in (2, 3):
            up[dy:dy + 2 * h:2, dx:dx + 2 * w:2] = c8
    contours, hier = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parents = hier[0][:, 3]
    polys: list[list[int]] = []
    for c, parent in zip(contours, parents):
        if parent != -1:
            continue
        # upsampled index u -> corner-convention x0 - 0.75 + u / 2 (= k + 0.25 or k + 0.75) -> nearest corner
        v = (c.reshape(-1, 2) + 1) // 2 + (x0 - 1, y0 - 1)
        same = (v == np.concatenate((v[-1:], v[:-1]))).all(axis=1)
        if same.any():  # pinch points: drop repeated corners
            v = v[~same]
        polys.append(v.ravel().tolist())
    return polys, bool((parents != -1).any())


def _filled(crop: np.ndarray) -> np.ndarray:
    """The crop with every enclosed background region filled (what polygons rasterise to)."""
    padded = cv2.copyMakeBorder(crop.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    contours, _ = cv2.findContours(padded, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(padded)
    cv2.drawContours(out, contours, -1, 1, thickness=-1)
    return out[1:-1, 1:-1].astype(bool) | crop.astype(bool)


def coco_segment(ann: Annotation, height: int, width: int, masks: str, filled: list[int],
                 runs: np.ndarray | None = None) -> tuple[Any, float, list[float]] | str:
    """(segmentation, area, bbox) of one annotation on an image of ``height`` x ``width``, or a
    one-sentence reason why it cannot be exported (empty mask). The id of an annotation whose
    holes had to be filled (``masks="polygon"``) is appended to ``filled``. ``runs``: the stored
    RLE's counts already decoded (optional, see export_common.batch_runs)."""
    rle = ann.rle
    exact_rle = rle is not None and [int(v) for v in rle["size"]] == [height, width]
    if masks == "rle" and exact_rle:
        comp = compressed_rle(rle)
        area = float(mask_utils.area(comp))
        if area <= 0:
            return "its mask is empty"
        return comp, area, [float(v) for v in mask_utils.toBbox(comp)]
    got = annotation_crop(ann, height, width, runs)
    if got is None:
        return "its mask is empty"
    crop, x0, y0 = got
    ch, cw = crop.shape
    bbox = [float(x0), float(y0), float(cw), float(ch)]
    area = float(np.count_nonzero(crop))
    if masks != "rle":
        polys, holes = trace_corner(crop, x0, y0)
        if not holes:
            return polys, area, bbox
        if masks == "polygon":
            filled.append(int(ann.id or 0))
            return polys, float(np.count_nonzero(_filled(crop))), bbox
    comp = compressed_rle(rle) if exact_rle else mask_to_rle(paste(crop, x0, y0, height, width))
    return comp, area, bbox


Chunk = tuple[list[str], list[tuple[str, str]], list[int], int]
"""(JSON fragments: an annotation object without its leading '{' and id, skipped items,
ids of annotations whose holes were filled, number of annotations looked at)."""


def encode_chunk(anns: list[Annotation], sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int],
                 masks: str) -> Chunk:
    """COCO annotation objects of ``anns`` (``sizes``: project image id -> (COCO image id, H, W);
    annotations of images not in ``sizes`` are left out silently: their image was reported)."""
    all_runs = batch_runs(anns) if masks != "rle" else [None] * len(anns)
    fragments: list[str] = []
    skipped: list[tuple[str, str]] = []
    filled: list[int] = []
    for ann, runs in zip(anns, all_runs):
        where = sizes.get(ann.image_id)
        if where is None:
            continue
        coco_img, h, w = where
        try:
            got = coco_segment(ann, h, w, masks, filled, runs)
        except ValueError as exc:  # a corrupt stored mask: report it, export the rest
            got = f"its stored mask is unreadable ({exc})"
        if isinstance(got, str):
            skipped.append((f"annotation {ann.id}", got))
            continue
        seg, area, bbox = got
        fragments.append(dumps({"image_id": coco_img, "category_id": cat_of[ann.label_id], "segmentation": seg,
                                "area": area, "bbox": bbox, "iscrowd": 0}, True)[1:])
    return fragments, skipped, filled, len(anns)


def _info(project_name: str) -> dict:
    return {"description": f"{project_name} (exported by SAM Labeler)", "version": __version__,
            "year": int(time.strftime("%Y")), "contributor": "", "url": "",
            "date_created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _chunks(items: Iterator[Annotation], size: int) -> Iterator[list[Annotation]]:
    chunk: list[Annotation] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_list_open(fh: IO[str], key: str, first: bool) -> None:
    fh.write(("" if first else ",") + f'"{key}":[')


def export_coco(project: Any, out_path: Path | str, masks: str = "auto", progress: Progress | None = None,
                cancel: threading.Event | None = None, workers: int | None = None) -> ExportReport:
    """Write the whole project as one COCO JSON file at ``out_path`` (see the module doc).

    Images whose size is unknown are probed; unreadable ones are left out with their annotations
    (reported in ``skipped``). ``progress(done, total)`` counts annotations. ``cancel`` set:
    app.core.formats.common.Cancelled is raised and ``out_path`` is left as it was.
    ``workers``: processes converting masks (app.core.formats.coco_parallel); None = automatic
    (several for large projects when the CPU has several cores, else 1). The output is the same.
    """
    if masks not in COCO_MASK_MODES:
        raise ValueError(f"COCO masks must be one of {', '.join(COCO_MASK_MODES)} (got {masks!r}).")
    out_path = Path(out_path).absolute()
    if out_path.is_dir():
        raise ValueError(f"{out_path} is a folder; give the path of the .json file to write.")
    report = ExportReport(format="COCO")
    classes = project.label_classes()
    cat_of = {lc.id: i + 1 for i, lc in enumerate(classes)}
    categories = [{"id": i + 1, "name": lc.name, "supercategory": ""} for i, lc in enumerate(classes)]
    sizes: dict[int, tuple[int, int, int]] = {}  # project image id -> (coco id, height, width)
    images: list[dict] = []
    counts = project.annotation_counts_by_image()
    unlabelled = 0
    offset = 0
    while True:
        page = project.images(offset=offset, limit=_PAGE)
        if not page:
            break
        offset += len(page)
        for rec in page:
            if not counts.get(rec.id) and rec.status != "done":
                unlabelled += 1  # not yet labelled: it would become a false "nothing here" example
                continue
            size = image_size(project, rec)
            if isinstance(size, str):
                report.skipped.append((rec.path, size))
                continue
            h, w = size
            coco_id = len(images) + 1
            sizes[rec.id] = (coco_id, h, w)
            images.append({"id": coco_id, "file_name": posix_relpath(project.image_path(rec), out_path.parent),
                           "height": h, "width": w})
    report.images = len(images)
    if unlabelled:
        report.warnings.append(f"{unlabelled} image(s) without annotations and not marked done were left out.")
    total = project.annotation_count()
    if workers is None:
        from app.core.formats.coco_parallel import auto_workers

        workers = auto_workers(total, masks)
    ticker = Ticker(total, progress, cancel)
    filled: list[int] = []
    with atomic_text_writer(out_path, encoding="ascii") as fh:
        fh.write("{" + f'"info":{dumps(_info(project.path.stem), True)},"licenses":[]')
        _write_list_open(fh, "categories", False)
        fh.write(",".join(dumps(c, True) for c in categories) + "]")
        _write_list_open(fh, "images", False)
        fh.write(",".join(dumps(i, True) for i in images) + "]")
        _write_list_open(fh, "annotations", False)
        n = 0
        if workers > 1:
            from app.core.formats.coco_parallel import parallel_fragments

            results = parallel_fragments(project, sizes, cat_of, masks, workers)
        else:
            results = (encode_chunk(chunk, sizes, cat_of, masks)
                       for chunk in _chunks(project.iter_annotations(batch=10000), _CHUNK))
        try:
            for fragments, skipped, holes, done in results:
                for frag in fragments:
                    n += 1
                    fh.write(("," if n > 1 else "") + f'{{"id":{n},' + frag)
                report.skipped.extend(skipped)
                filled.extend(holes)
                ticker.tick(done)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
        fh.write("]}\n")
    report.annotations = n
    if filled:
        report.warnings.append(
            f"{len(filled)} annotation(s) have holes that polygons cannot hold; they were exported filled "
            f"(the auto or rle mask mode keeps them; annotation ids {', '.join(map(str, filled[:10]))}"
            f"{' ...' if len(filled) > 10 else ''}).")
    report.files.append(out_path)
    if progress is not None:
        progress(ticker.total, ticker.total)
    return report
