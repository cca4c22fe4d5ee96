"""Mask -> COCO conversion in several processes, for large exports (design.md: 1 000 000
annotations in < 60 s).

Decoding RLE crops and tracing outlines costs ~0.1 ms per annotation in one core (for annotations
stored without their COCO segmentation, i.e. by older versions; see coco_segment), so large
projects are split into tasks of about TASK_ANNOTATIONS annotations (ranges of whole images, in
project image-id order, the order of Project.iter_annotations). Each worker process opens the
project read-only (allowed while the caller holds it open for writing), reads its range with
Project.iter_annotation_rows and returns one text block of finished annotation objects, numbered
as if nothing before it were skipped; the caller writes the blocks in task order (renumbering a
block only after a skipped annotation), so the file is identical to a one-process export.
Processes are started with "spawn" (safe from a GUI process that runs threads).
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.formats.coco_encode import Block, encode_block, item_of_annotation, item_of_row, row_coco

TASK_ANNOTATIONS = 4000
MIN_ANNOTATIONS = 50_000  # below this, starting processes costs more than it saves
MAX_WORKERS = 8

_state: dict[str, Any] = {}


def auto_workers(total_annotations: int, masks: str) -> int:
    """Processes to use: 1 for small exports and plain RLE export (nothing is decoded); else up to
    MAX_WORKERS (a frozen build works too: its entry point calls multiprocessing.freeze_support()), leaving one core free from 3 cores on. ``total_annotations``: those
    whose segmentation must be computed (export_coco leaves out those stored with one: writing
    those out is faster in one process than shipping their text between processes)."""
    cores = os.cpu_count() or 1
    if masks == "rle" or total_annotations < MIN_ANNOTATIONS or cores < 2:
        return 1
    # the calling process only reads fragments and writes them: on 2 cores both convert
    return min(MAX_WORKERS, cores if cores <= 2 else cores - 1)


def _init(path: str, sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int], masks: str) -> None:
    from app.core.project import Project

    _state["project"] = Project.open(Path(path), read_only=True)
    _state["args"] = (sizes, cat_of, masks)


def _work(task: tuple[int, int, int]) -> Block:
    """Block of the annotations of images first <= id <= last (images not in sizes are skipped),
    numbered from first_id."""
    project = _state["project"]
    sizes, cat_of, masks = _state["args"]
    first, last, first_id = task
    rows = getattr(project, "iter_annotation_rows", None)
    if rows is not None:
        items = [item_of_row(r) for r in rows(first, last, coco=row_coco(masks))]
    else:
        items = [item_of_annotation(a) for i in range(first, last + 1) for a in project.annotations(i)]
    return encode_block(items, sizes, cat_of, masks, first_id)


def _tasks(counts: dict[int, int], sizes: dict[int, tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """(first image id, last image id, id of its first COCO annotation if no annotation before it
    is skipped), in order, of about TASK_ANNOTATIONS annotations each."""
    tasks: list[tuple[int, int, int]] = []
    first: int | None = None
    n = 0
    exported = 0  # annotations of exported images before the current task
    task_exported = 0
    for image_id in sorted(counts):
        if first is None:
            first = image_id
        n += counts[image_id]
        if image_id in sizes:
            task_exported += counts[image_id]
        if n >= TASK_ANNOTATIONS:
            tasks.append((first, image_id, exported + 1))
            exported += task_exported
            first, n, task_exported = None, 0, 0
    if first is not None:
        tasks.append((first, max(counts), exported + 1))
    return tasks


def parallel_fragments(project: Any, sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int],
                       masks: str, workers: int) -> Iterator[Block]:
    """Blocks (coco_encode.Block) of every annotation, in iter_annotations order, numbered as if no
    annotation were skipped (the caller renumbers a block when some were: coco_encode.renumber).

    Annotations of images missing from ``sizes`` are counted but not converted. Closing the
    generator (e.g. on cancel) terminates the worker processes.
    """
    tasks = _tasks(project.annotation_counts_by_image(), sizes)
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(processes=workers, initializer=_init, initargs=(str(project.path), sizes, cat_of, masks))
    try:
        yield from pool.imap(_work, tasks)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
