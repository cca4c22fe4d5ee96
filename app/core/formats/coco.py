"""COCO instance-segmentation export (formats.md section 2).

Segmentation policy (``masks``):
- ``"auto"`` (default): hole-free instances as pixel-CORNER polygons (exact under pycocotools,
  formats.md 0.1), instances with holes as compressed RLE;
- ``"rle"``: every instance as compressed RLE (exact; nothing is decoded, area/bbox come straight
  from pycocotools on the stored RLE);
- ``"polygon"``: every instance as polygons; holes are filled (reported in the warnings).
Images are those with annotations or marked done (an image never labelled is not a negative
example), in id order. ``area`` is the pixel count of the exported mask, ``bbox`` its [x, y, w, h]
in the corner convention (= pycocotools ``toBbox``); categories follow the label
classes' display order. Line shapes (point, line, linestrip) have no area and are left out
(counted). What a COCO import kept comes back (ids, iscrowd, unchanged segmentations, info,
licenses, supercategory, image and unknown keys: coco_kept and coco_encode say how); ids that
were not imported are allocated above the kept ones, from 1 in a project that never imported
COCO. The file is streamed (constant memory per annotation) and written atomically with
``ensure_ascii=True, allow_nan=False``. Every change is counted in ExportReport.tallies (one line
per kind). Import lives in app.core.formats.coco_import.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Union

import numpy as np
from pycocotools import mask as mask_utils

from app import __version__
from app.core.attributes import to_json
from app.core.batching import chunked
from app.core.formats import coco_kept
from app.core.formats.coco_encode import CHUNK, Chunk, Context, compressed_rle, encode_rows
from app.core.formats.common import in_read_snapshot
from app.core.output_guard import OutputGuard
from app.core.formats.common import ExportReport, Progress, Ticker, atomic_text_writer, dumps, posix_relpath
from app.core.formats.export_common import annotation_crop, export_images, image_size
from app.core.masks import paste
from app.core.model import Annotation, ImageRecord
from app.core.outline import filled_crop, trace_corner_arrays
from app.core.rle import mask_to_rle

if TYPE_CHECKING:
    from app.core.project import Project

Segmentation = Union[list[list[int]], dict]
"""A COCO segmentation: polygons (flat [x1, y1, ...] lists) or a compressed RLE dict."""

COCO_MASK_MODES = ("auto", "rle", "polygon")
_CHUNK = CHUNK  # annotations converted together in a one-process export
_PAGE = 5000


def trace_corner(crop: np.ndarray, x0: int, y0: int) -> tuple[list[list[int]], bool]:
    """(outer polygons as flat [x1, y1, ...] int lists, has_holes) of a bool crop whose top-left
    pixel is (x0, y0); see app.core.outline.trace_corner_arrays."""
    polys, holes = trace_corner_arrays(crop, x0, y0)
    return [p.tolist() for p in polys], holes


def coco_segment(ann: Annotation, height: int, width: int, masks: str, filled: list[int],
                 runs: np.ndarray | None = None) -> tuple[Segmentation, float, list[float]] | str:
    """(segmentation, area, bbox) of one annotation on an image of ``height`` x ``width``, or a
    one-sentence reason why it cannot be exported (empty mask). The id of an annotation whose
    holes had to be filled (``masks="polygon"``) is appended to ``filled``. ``runs``: the stored
    RLE's counts already decoded (optional, see masks.decode_counts_batch). This is the plain
    one-annotation path; export_coco uses app.core.formats.coco_encode, which writes the same."""
    rle = ann.rle
    exact_rle = rle if rle is not None and [int(v) for v in rle["size"]] == [height, width] else None
    if masks == "rle" and exact_rle is not None:
        comp = compressed_rle(exact_rle)
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
    comp = compressed_rle(exact_rle) if exact_rle is not None else mask_to_rle(paste(crop, x0, y0, height, width))
    return comp, area, bbox


def _info(project_name: str) -> dict:
    return {"description": f"{project_name} (exported by SAM Labeler)", "version": __version__,
            "year": int(time.strftime("%Y")), "contributor": "", "url": "",
            "date_created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _categories(project: Project, report: ExportReport) -> tuple[dict[int, int], list[str]]:
    """({label class id: COCO category id}, category objects as JSON text), display order."""
    classes = project.label_classes()
    kept = [coco_kept.of(lc.extra).get("id") for lc in classes]
    ids = coco_kept.Ids("category", max((k for k in kept if coco_kept.valid_id(k)), default=0), report)
    cat_of: dict[int, int] = {}
    texts: list[str] = []
    for lc, kept_id in zip(classes, kept):
        cat_of[lc.id] = ids.take(kept_id)
        texts.append(coco_kept.category_object(cat_of[lc.id], lc.name, lc.extra, report,
                                               to_json(lc.attributes) if lc.attributes else None))
    return cat_of, texts


def _images(project: Project, out_dir: Path, report: ExportReport) -> tuple[dict[int, tuple[int, int, int]], list[str]]:
    """({project image id: (COCO image id, height, width)}, image objects as JSON text in id order)."""
    found: list[tuple[ImageRecord, int, int, dict]] = []
    unlabelled = 0
    for rec, wanted in export_images(project, _PAGE):
        if not wanted:
            unlabelled += 1
            continue
        size = image_size(project, rec)
        if isinstance(size, str):
            report.skipped.append((rec.path, size))
            continue
        found.append((rec, size[0], size[1], coco_kept.of(rec.extra)))
    if unlabelled:
        report.warnings.append(f"{unlabelled} image(s) without annotations and not marked done were left out.")
    kept_ids = [k.get("id") for *_, k in found]
    ids = coco_kept.Ids("image", max((k for k in kept_ids if coco_kept.valid_id(k)), default=0), report)
    sizes: dict[int, tuple[int, int, int]] = {}
    entries: list[tuple[int, str]] = []
    for rec, h, w, kept in found:
        image_id = ids.take(kept.get("id") if kept else None)
        sizes[rec.id] = (image_id, h, w)
        name = kept.get("file_name")
        if not isinstance(name, str) or not name:
            name = posix_relpath(project.image_path(rec), out_dir)
        entries.append((image_id, f'{{"id":{image_id},"file_name":{dumps(name, True)},"height":{h},"width":{w}'
                                   + coco_kept.keys_text(kept.get("keys"), coco_kept.IMAGE_KEYS, report) + "}"))
    entries.sort(key=lambda e: e[0])
    report.images = len(entries)
    return sizes, [text for _, text in entries]


def _chunks(project: Project, ctx: Context, workers: int) -> Iterator[Chunk]:
    """coco_encode.Chunk of every annotation row, in iter_annotations order; the rows are read here,
    once (worker processes get them shipped: app.core.formats.coco_parallel)."""
    rows = project.iter_annotation_rows(batch=10000)
    if workers > 1:
        from app.core.formats.coco_parallel import parallel_chunks

        return parallel_chunks(rows, ctx, workers)
    return (encode_rows(chunk, ctx) for chunk in chunked(rows, _CHUNK))


@in_read_snapshot
def export_coco(project: Project, out_path: Path | str, masks: str = "auto", progress: Progress | None = None,
                cancel: threading.Event | None = None, workers: int | None = None) -> ExportReport:
    """Write the whole project as one COCO JSON file at ``out_path`` (see the module doc).

    Images whose size is unknown are probed; unreadable ones are left out with their annotations
    (reported in ``skipped``). ``progress(done, total)`` counts annotations. ``cancel`` set:
    app.core.formats.common.Cancelled is raised and ``out_path`` is left as it was.
    ``workers``: processes converting annotations (app.core.formats.coco_parallel); None =
    automatic (coco_parallel.auto_workers of the annotations stored without an outline). The
    output is the same.
    """
    if masks not in COCO_MASK_MODES:
        raise ValueError(f"COCO masks must be one of {', '.join(COCO_MASK_MODES)} (got {masks!r}).")
    out_path = Path(out_path).absolute()
    if out_path.is_dir():
        raise ValueError(f"{out_path} is a folder; give the path of the .json file to write.")
    out_path = OutputGuard(project).check(out_path, named=True)  # not the project, an image, a device...
    report = ExportReport(format="COCO")
    cat_of, categories = _categories(project, report)
    sizes, images = _images(project, out_path.parent, report)
    info, licenses, top_keys = coco_kept.top_level(project, _info(project.path.stem), report)
    total = project.annotation_count()
    if workers is None:
        from app.core.formats.coco_parallel import auto_workers

        # rows with a stored outline are only unpacked and written: processes pay off for the others
        workers = auto_workers(round(total * (1.0 - project.outline_coverage())), masks)
    ann_ids = coco_kept.Ids("annotation", project.annotation_extra_max(coco_kept.FORMAT, "id"), report)
    ticker = Ticker(total, progress, cancel)
    filled: list[int] = []
    with atomic_text_writer(out_path, encoding="ascii") as fh:
        fh.write("{" + f'"info":{dumps(info, True)},"licenses":{dumps(licenses, True)}'
                 + coco_kept.keys_text(top_keys, coco_kept.TOP_KEYS, report))
        fh.write(',"categories":[' + ",".join(categories) + '],"images":[' + ",".join(images) + '],"annotations":[')
        n = 0
        results = _chunks(project, Context(sizes, cat_of, masks), workers)
        try:
            for chunk in results:
                n = _write_chunk(fh, chunk, ann_ids, n, report)
                filled.extend(chunk.filled)
                ticker.tick(chunk.done)
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


def _write_chunk(fh: IO[str], chunk: Chunk, ids: coco_kept.Ids, n: int, report: ExportReport) -> int:
    """Write a chunk's annotations numbered by ``ids`` after the ``n`` already written; returns the
    new count, and adds the chunk's skipped items and tallies to the report."""
    if chunk.fragments:
        take = ids.take
        text = ",".join([f'{{"id":{take(k)},' + frag for frag, k in zip(chunk.fragments, chunk.kept_ids)])
        fh.write(("," if n else "") + text)
        n += len(chunk.fragments)
    report.skipped.extend(chunk.skipped)
    for what, count in chunk.tallies.items():
        report.tally(what, count)
    return n
