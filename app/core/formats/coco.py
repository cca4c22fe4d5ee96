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

import numpy as np
from pycocotools import mask as mask_utils

from app import __version__
from app.core.batching import chunked
from app.core.formats.common import ExportReport, Progress, Ticker, atomic_text_writer, dumps, posix_relpath
from app.core.formats.common import in_read_snapshot
from app.core.formats.coco_encode import (CHUNK, Block, Chunk, Item, block_of, compressed_rle, encode_items, item_of_annotation,
                                         item_of_row, renumber, row_coco)
from app.core.formats.coco_trace import filled_crop, trace_corner_arrays
from app.core.formats.export_common import annotation_crop, export_images, image_size
from app.core.formats.masks import paste
from app.core.model import Annotation
from app.core.output_guard import OutputGuard
from app.core.rle import mask_to_rle

COCO_MASK_MODES = ("auto", "rle", "polygon")
_CHUNK = CHUNK  # annotations converted together in a one-process export
_PAGE = 5000


def trace_corner(crop: np.ndarray, x0: int, y0: int) -> tuple[list[list[int]], bool]:
    """(outer polygons as flat [x1, y1, ...] int lists, has_holes) of a bool crop whose top-left
    pixel is (x0, y0); see app.core.formats.coco_trace.trace_corner_arrays."""
    polys, holes = trace_corner_arrays(crop, x0, y0)
    return [p.tolist() for p in polys], holes


def coco_segment(ann: Annotation, height: int, width: int, masks: str, filled: list[int],
                 runs: np.ndarray | None = None) -> tuple[Any, float, list[float]] | str:
    """(segmentation, area, bbox) of one annotation on an image of ``height`` x ``width``, or a
    one-sentence reason why it cannot be exported (empty mask). The id of an annotation whose
    holes had to be filled (``masks="polygon"``) is appended to ``filled``. ``runs``: the stored
    RLE's counts already decoded (optional, see masks.decode_counts_batch). This is the plain
    one-annotation path; export_coco uses app.core.formats.coco_encode, which writes the same."""
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
            return polys, float(np.count_nonzero(filled_crop(crop))), bbox
    comp = compressed_rle(rle) if exact_rle else mask_to_rle(paste(crop, x0, y0, height, width))
    return comp, area, bbox


def encode_chunk(anns: list[Annotation], sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int],
                 masks: str) -> Chunk:
    """COCO annotation objects of ``anns`` (``sizes``: project image id -> (COCO image id, H, W);
    annotations of images not in ``sizes`` are left out silently: their image was reported)."""
    return encode_items([item_of_annotation(a) for a in anns], sizes, cat_of, masks)


def _info(project_name: str) -> dict:
    return {"description": f"{project_name} (exported by SAM Labeler)", "version": __version__,
            "year": int(time.strftime("%Y")), "contributor": "", "url": "",
            "date_created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _serial_blocks(items: Iterator[Item], sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int],
                   masks: str) -> Iterator[Block]:
    """coco_encode.Block of every CHUNK items, numbered from 1 (the one-process export)."""
    first_id = 1
    for chunk in chunked(items, _CHUNK):
        block = block_of(encode_items(chunk, sizes, cat_of, masks), first_id)
        first_id += block[1]
        yield block


def _write_list_open(fh: IO[str], key: str, first: bool) -> None:
    fh.write(("" if first else ",") + f'"{key}":[')


@in_read_snapshot
def export_coco(project: Any, out_path: Path | str, masks: str = "auto", progress: Progress | None = None,
                cancel: threading.Event | None = None, workers: int | None = None) -> ExportReport:
    """Write the whole project as one COCO JSON file at ``out_path`` (see the module doc).

    Images whose size is unknown are probed; unreadable ones are left out with their annotations
    (reported in ``skipped``). ``progress(done, total)`` counts annotations. ``cancel`` set:
    app.core.formats.common.Cancelled is raised and ``out_path`` is left as it was.
    ``workers``: processes converting masks (app.core.formats.coco_parallel); None = automatic
    (several when many annotations have no stored COCO segmentation (rows of older versions) and
    the CPU has several cores, else 1). The output is the same.
    """
    if masks not in COCO_MASK_MODES:
        raise ValueError(f"COCO masks must be one of {', '.join(COCO_MASK_MODES)} (got {masks!r}).")
    out_path = Path(out_path).absolute()
    if out_path.is_dir():
        raise ValueError(f"{out_path} is a folder; give the path of the .json file to write.")
    out_path = OutputGuard(project).check(out_path, named=True)  # not the project, an image, a device...
    report = ExportReport(format="COCO")
    classes = project.label_classes()
    cat_of = {lc.id: i + 1 for i, lc in enumerate(classes)}
    categories = [{"id": i + 1, "name": lc.name, "supercategory": ""} for i, lc in enumerate(classes)]
    sizes: dict[int, tuple[int, int, int]] = {}  # project image id -> (coco id, height, width)
    images: list[dict] = []
    unlabelled = 0
    for rec, wanted in export_images(project, _PAGE):
        if not wanted:
            unlabelled += 1
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

        coverage = getattr(project, "coco_cache_coverage", None)
        # stored segmentations are only written out: processes pay off for the others only
        workers = auto_workers(round(total * (1.0 - coverage())) if coverage is not None else total, masks)
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
            rows = getattr(project, "iter_annotation_rows", None)
            items = (map(item_of_row, rows(batch=10000, coco=row_coco(masks))) if rows is not None
                     else map(item_of_annotation, project.iter_annotations(batch=10000)))
            results = _serial_blocks(items, sizes, cat_of, masks)
        try:
            for block in results:
                text, count, _, skipped, holes, done = renumber(block, n + 1)
                if count:
                    fh.write(("," if n else "") + text)
                    n += count
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
