"""Mask -> COCO conversion in several processes, for large exports (design.md: 1 000 000
annotations in < 60 s).

Decoding RLE crops and tracing outlines costs ~0.1 ms per annotation in one core (for annotations
stored without their COCO segmentation, i.e. by older versions; see coco_segment), so large
projects are split into tasks of about TASK_ANNOTATIONS annotations (ranges of whole images, in
project image-id order, the order of Project.iter_annotations). The caller reads each range with
Project.iter_annotation_rows - inside its read transaction, so the whole file is one snapshot of
the project even while another process commits (a worker reading through its own connection
would see a later state) - and ships the rows to a worker process, which returns one text block
of finished annotation objects, numbered as if nothing before it were skipped; the caller writes
the blocks in task order (renumbering a block only after a skipped annotation), so the file is
identical to a one-process export.
Processes are started with "spawn" (safe from a GUI process that runs threads).
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterator
from typing import Any

from app.core.formats.coco_encode import Block, encode_block, item_of_annotation, item_of_row, row_coco

TASK_ANNOTATIONS = 4000
MIN_ANNOTATIONS = 50_000  # below this, starting processes costs more than it saves
MAX_WORKERS = 8
IN_FLIGHT_PER_WORKER = 2  # tasks shipped ahead per worker: keeps them busy, bounds memory

_state: dict[str, Any] = {}


def auto_workers(total_annotations: int, masks: str) -> int:
    """Processes to use: 1 for small exports, plain RLE export (nothing is decoded) and frozen
    (PyInstaller) builds, whose entry point would have to call multiprocessing.freeze_support();
    else up to MAX_WORKERS, leaving one core free from 3 cores on. ``total_annotations``: those
    whose segmentation must be computed (export_coco leaves out those stored with one: writing
    those out is faster in one process than shipping their text between processes)."""
    cores = os.cpu_count() or 1
    if masks == "rle" or total_annotations < MIN_ANNOTATIONS or cores < 2 or getattr(sys, "frozen", False):
        return 1
    # the calling process only reads fragments and writes them: on 2 cores both convert
    return min(MAX_WORKERS, cores if cores <= 2 else cores - 1)


def _init(sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int], masks: str) -> None:
    _state["args"] = (sizes, cat_of, masks)


def _work(task: tuple[list[tuple], bool, int]) -> Block:
    """Block of the shipped annotations (rows of Project.iter_annotation_rows, or Items when
    ``is_items``; those of images not in sizes are skipped), numbered from first_id."""
    sizes, cat_of, masks = _state["args"]
    rows, is_items, first_id = task
    items = rows if is_items else [item_of_row(r) for r in rows]
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


def _payloads(project: Any, tasks: list[tuple[int, int, int]], masks: str) -> Iterator[tuple[list[tuple], bool, int]]:
    """What each task's worker needs, read by the caller (in its read transaction, so every
    worker converts the same snapshot of the project)."""
    rows_of = getattr(project, "iter_annotation_rows", None)
    for first, last, first_id in tasks:
        if rows_of is not None:
            yield list(rows_of(first, last, coco=row_coco(masks))), False, first_id
        else:
            items = [item_of_annotation(a) for i in range(first, last + 1) for a in project.annotations(i)]
            yield items, True, first_id


def parallel_fragments(project: Any, sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int],
                       masks: str, workers: int) -> Iterator[Block]:
    """Blocks (coco_encode.Block) of every annotation, in iter_annotations order, numbered as if no
    annotation were skipped (the caller renumbers a block when some were: coco_encode.renumber).

    The rows are read here, through ``project`` (one snapshot when the caller holds a read
    transaction, see common.in_read_snapshot), and shipped to the workers, at most
    IN_FLIGHT_PER_WORKER tasks per worker ahead of the one being written (bounded memory).
    Annotations of images missing from ``sizes`` are counted but not converted. Closing the
    generator (e.g. on cancel) terminates the worker processes.
    """
    tasks = _tasks(project.annotation_counts_by_image(), sizes)
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(processes=workers, initializer=_init, initargs=(sizes, cat_of, masks))
    try:
        pending: deque[Any] = deque()
        for payload in _payloads(project, tasks, masks):
            pending.append(pool.apply_async(_work, (payload,)))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        pool.close()
    finally:
        pool.terminate()
        pool.join()
