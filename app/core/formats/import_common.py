"""What every importer uses: finding/registering images and label classes, recognising files
imported before, and turning imported shapes into stored annotations (``ImportSession``).

An importer wraps its whole run in ``project.transaction()`` (a failure or a cancel stores
nothing), opens an ``ImportSession``, and for each annotation file it reads calls
``begin_file(path)`` (False: a duplicate to skip), ``add(...)`` per instance, then ``flush()``.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.core.errors import CoreError
from app.core.formats.common import ImportReport
from app.core.model import Annotation, FileRecord, ImageRecord, Part, Point

if TYPE_CHECKING:
    from app.core.project import Project


def first_existing(candidates: Iterable[Path]) -> Path | None:
    """The first candidate that is an existing regular file (absolute), or None."""
    for c in candidates:
        if c is not None and os.path.isfile(c):
            return Path(os.path.abspath(c))
    return None


def _when(rec: FileRecord) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.time))


class ImportSession:
    """Caches label classes and images of ``project`` during one import, counts what it adds,
    and handles files imported before (``on_duplicate``: "skip" | "replace" | "append").

    All methods write through the project; the caller wraps the whole import in one transaction.
    """

    def __init__(self, project: Project, report: ImportReport, format_id: str = "",
                 on_duplicate: str = "skip") -> None:
        if on_duplicate not in ("skip", "replace", "append"):
            raise ValueError(f"on_duplicate must be skip, replace or append (got {on_duplicate!r}).")
        self.project = project
        self.report = report
        self.format_id = format_id or report.format.lower()
        self.on_duplicate = on_duplicate
        self._labels: dict[str, int] = {}
        self._next_z: dict[int, int] = {}
        self.pending: list[Annotation] = []
        self.file_id: int | None = None
        self._file_count = 0

    # ------------------------------------------------------------------ files
    def begin_file(self, path: Path, digest: tuple[str, int] | None = None) -> bool:
        """Start one annotation file. ``digest``: (sha256, size) of its bytes when the caller has
        them (else the file is hashed). Returns False when the project already imported this file
        (same path or same bytes, same format) and on_duplicate is "skip" (reported); with
        "replace" the annotations it brought before are deleted first (counted in
        report.replaced). Annotations added until the next begin_file carry this file's record."""
        from app.core.project_files import sha256_file

        self.end_file()
        sha, size = digest if digest is not None else sha256_file(path)
        earlier = self.project.file_records(format_id=self.format_id, role="import", path=path, sha256=sha)
        if earlier:
            last = earlier[-1]
            if self.on_duplicate == "skip":
                self.report.duplicates += 1
                self.report.skip(str(path), f"it was already imported on {_when(last)} (as {last.path}); "
                                            "choose on-duplicate replace or append to import it again")
                return False
            if self.on_duplicate == "replace":
                for rec in earlier:
                    self.report.replaced += self.project.delete_annotations_of_file(rec.id)
            else:
                self.report.tally(f"file(s) imported again although already imported (on-duplicate append)")
        self.file_id = self.project.record_file(self.format_id, "import", path, sha, size).id
        self._file_count = 0
        return True

    def end_file(self) -> None:
        """Store what is pending and record how many annotations the current file brought."""
        self.flush()
        if self.file_id is not None and self._file_count:
            self.project.set_file_annotations(self.file_id, self._file_count)
        self.file_id = None
        self._file_count = 0

    # ------------------------------------------------------------------ classes, images
    def label_id(self, name: str, extra: dict | None = None) -> int:
        """Id of the label class ``name`` (stripped), created when missing (counted; ``extra``
        stored with a new class, e.g. {"coco": {"id": 3, "supercategory": "animal"}})."""
        key = name.strip()
        if key not in self._labels:
            lc = self.project.label_by_name(key)
            if lc is None:
                lc = self.project.add_label_class(key, extra=extra)
                self.report.labels_created += 1
            self._labels[key] = lc.id
        return self._labels[key]

    def image(self, path: Path, size: tuple[int, int] | None = None) -> ImageRecord | str:
        """The project image for the file ``path`` (absolute), registered when new.

        ``size`` (height, width) is used when the file cannot be decoded; otherwise the file is
        probed for its size after EXIF rotation. Returns a one-sentence reason instead when the
        image cannot be used.
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

    # ------------------------------------------------------------------ annotations
    def add(self, image_id: int, label_id: int, mask: np.ndarray | None = None, *, shape: str = "mask",
            rle: dict | None = None, parts: Sequence[Part] | None = None, points: Sequence[Point] = (),
            group_id: int | None = None, score: float | None = None, description: str = "",
            flags: dict | None = None, attributes: dict | None = None, extra: dict | None = None) -> None:
        """Queue one annotation.

        ``mask`` (HxW bool): its exact RLE is stored (``rle`` may be given instead); ``parts``
        default to the mask's outline (shape "mask") - give the source's own vertices for shape
        "polygon". Rectangles and circles without ``parts`` get their polygon from ``points``;
        point/line/linestrip shapes take ``points`` only.
        """
        from app.core.geometry import mask_to_parts, mask_to_rle
        from app.core.shapes import shape_parts

        if mask is not None and rle is None:
            rle = mask_to_rle(mask)
        if parts is None:
            if shape in ("rectangle", "circle", "point", "line", "linestrip"):
                parts = shape_parts(shape, points)
            elif mask is not None:
                parts = mask_to_parts(mask)
            else:
                parts = ()
        self.pending.append(Annotation(
            image_id=image_id, label_id=label_id, parts=tuple(parts), rle=rle, group_id=group_id,
            z=self.next_z(image_id), source="import", score=score, extra=dict(extra or {}), shape=shape,
            points=tuple((float(x), float(y)) for x, y in points), description=description or "",
            flags=dict(flags or {}), attributes=dict(attributes or {}), file_id=self.file_id))
        self._file_count += 1

    def flush(self) -> None:
        """Store the queued annotations (one bulk insert) and count them."""
        if self.pending:
            self.report.annotations += self.project.bulk_insert_annotations(self.pending)
            self.pending = []


ImportContext = ImportSession  # the name used before the format registry
