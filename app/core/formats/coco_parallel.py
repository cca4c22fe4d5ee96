"""Mask -> COCO conversion in several processes, for large exports (design.md: 1 000 000
annotations in < 60 s).

Decoding RLE crops and tracing outlines costs ~0.1 ms per annotation in one core, so large
projects are split into tasks of about TASK_ANNOTATIONS annotations (whole images, in project
image-id order, the order of Project.iter_annotations). Each worker process opens the project
read-only (allowed while the caller holds it open for writing) and returns JSON fragments; the
caller writes them in task order, so the file is identical to a one-process export. Processes are
started with "spawn" (safe from a GUI process that runs threads).
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.formats.coco import Chunk, encode_chunk

TASK_ANNOTATIONS = 4000
MIN_ANNOTATIONS = 50_000  # below this, starting processes costs more than it saves
MAX_WORKERS = 8

_state: dict[str, Any] = {}


def auto_workers(total_annotations: int, masks: str) -> int:
    """Processes to use: 1 for small exports, plain RLE export (nothing is decoded) and frozen
    (PyInstaller) builds, whose entry point would have to call multiprocessing.freeze_support();
    else up to MAX_WORKERS, leaving one core free."""
    cores = os.cpu_count() or 1
    if masks == "rle" or total_annotations < MIN_ANNOTATIONS or cores < 3 or getattr(sys, "frozen", False):
        return 1
    return max(1, min(MAX_WORKERS, cores - 1))


def _init(path: str, sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int], masks: str) -> None:
    from app.core.project import Project

    _state["project"] = Project.open(Path(path), read_only=True)
    _state["args"] = (sizes, cat_of, masks)


def _work(image_ids: list[int]) -> Chunk:
    project = _state["project"]
    sizes, cat_of, masks = _state["args"]
    anns = [a for image_id in image_ids for a in project.annotations(image_id)]
    return encode_chunk(anns, sizes, cat_of, masks)


def _tasks(counts: dict[int, int]) -> list[list[int]]:
    tasks: list[list[int]] = []
    current: list[int] = []
    n = 0
    for image_id in sorted(counts):
        current.append(image_id)
        n += counts[image_id]
        if n >= TASK_ANNOTATIONS:
            tasks.append(current)
            current, n = [], 0
    if current:
        tasks.append(current)
    return tasks


def parallel_fragments(project: Any, sizes: dict[int, tuple[int, int, int]], cat_of: dict[int, int],
                       masks: str, workers: int) -> Iterator[Chunk]:
    """Chunks (as encode_chunk returns them) of every annotation, in iter_annotations order.

    Annotations of images missing from ``sizes`` are counted but not converted. Closing the
    generator (e.g. on cancel) terminates the worker processes.
    """
    counts = project.annotation_counts_by_image()
    skipped_images = sum(n for image_id, n in counts.items() if image_id not in sizes)
    tasks = _tasks({i: n for i, n in counts.items() if i in sizes})
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(processes=workers, initializer=_init, initargs=(str(project.path), sizes, cat_of, masks))
    try:
        yield from pool.imap(_work, tasks)
        if skipped_images:
            yield [], [], [], skipped_images
        pool.close()
    finally:
        pool.terminate()
        pool.join()
