"""Helpers shared by the COCO and LabelMe importers: finding/registering images, label classes,
and turning an imported HxW mask into a stored Annotation (exact RLE + pixel-centre polygons)."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import CoreError
from app.core.formats.common import ImportReport
from app.core.model import Annotation, ImageRecord


def first_existing(candidates: Iterable[Path]) -> Path | None:
    """The first candidate that is an existing file (absolute), or None."""
    for c in candidates:
        if c is not None and os.path.isfile(c):
            return Path(os.path.abspath(c))
    return None


class ImportContext:
    """Caches label classes and images of ``project`` during one import and counts what it adds.

    All methods write through the project; the caller wraps the whole import in one transaction.
    """

    def __init__(self, project: Any, report: ImportReport) -> None:
        self.project = project
        self.report = report
        self._labels: dict[str, int] = {}
        self._next_z: dict[int, int] = {}
        self.pending: list[Annotation] = []

    def label_id(self, name: str) -> int:
        """Id of the label class ``name`` (stripped), created when missing (counted)."""
        key = name.strip()
        if key not in self._labels:
            lc = self.project.label_by_name(key)
            if lc is None:
                lc = self.project.add_label_class(key)
                self.report.labels_created += 1
            self._labels[key] = lc.id
        return self._labels[key]

    def image(self, path: Path, size: tuple[int, int] | None = None) -> ImageRecord | str:
        """The project image for the file ``path`` (absolute), registered when new.

        ``size`` (height, width) is used when the file cannot be decoded (embedded LabelMe image
        data); otherwise the file is probed for its size after EXIF rotation. Returns a
        one-sentence reason instead when the image cannot be used.
        """
        project = self.project
        try:
            rel = project.relative_path(path)
        except ValueError as exc:
            return str(exc)
        rec = project.image_by_path(rel)
        if rec is not None and rec.width > 0 and rec.height > 0:
            return rec
        if os.path.isfile(path):
            from app.core.images import probe_image

            try:
                info = probe_image(path)
            except (CoreError, OSError, ValueError) as exc:
                return f"the image cannot be read ({exc})"
            h, w = int(info.height), int(info.width)
        elif size is not None:
            h, w = size
        else:
            return f"the image file {path} does not exist"
        if rec is None:
            rec = project.add_image(rel, width=w, height=h)
            self.report.images_added += 1
        else:
            project.set_image_size(rec.id, w, h)
            rec = project.image(rec.id)
        return rec

    def next_z(self, image_id: int) -> int:
        """A z above every annotation of the image (existing and imported so far)."""
        if image_id not in self._next_z:
            existing = self.project.annotations(image_id)
            self._next_z[image_id] = max((a.z for a in existing), default=-1) + 1
        z = self._next_z[image_id]
        self._next_z[image_id] = z + 1
        return z

    def add(self, image_id: int, label_id: int, mask: np.ndarray, group_id: int | None = None,
            score: float | None = None, extra: dict | None = None) -> None:
        """Queue an annotation for the HxW bool ``mask`` (exact RLE + simplified polygons)."""
        from app.core.geometry import mask_to_parts, mask_to_rle

        self.pending.append(Annotation(
            image_id=image_id, label_id=label_id, parts=mask_to_parts(mask), rle=mask_to_rle(mask),
            group_id=group_id, z=self.next_z(image_id), source="import", score=score, extra=extra or {}))

    def flush(self) -> None:
        """Store the queued annotations (one bulk insert) and count them."""
        if self.pending:
            self.report.annotations += self.project.bulk_insert_annotations(self.pending)
            self.pending = []
