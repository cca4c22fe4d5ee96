"""LabelMe JSON export (formats.md section 1). Import lives in app.core.formats.labelme_import.

One ``<image stem>.json`` per annotated image (or image marked done): beside the image (the
default; where labelme looks for it) or under ``out_dir`` mirroring the images' folders.
``imagePath`` is relative to the JSON's folder with '/' separators, ``imageData`` is null,
``imageHeight``/``imageWidth`` are the decoded size after EXIF rotation. Shapes: see
app.core.formats.labelme_write (imported shapes come back as they were; kinds are kept).

Files that exist already are never overwritten blindly:
- a file whose bytes are a version this project imported or exported (app.core.project_files) is
  updated in place: shapes, flags and size are ours, every other key of the file is kept;
- any other existing file (another tool wrote or changed it; or not a LabelMe file) is left alone
  and reported, with what to do (import it first, or export to a separate folder);
- beside the images, a JSON is never written for an image outside the project folder.
``plan_labelme_export`` says all this before anything is written (the dialog shows it).
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from app.core.errors import FormatError
from app.core.formats.common import (ExportReport, Progress, Ticker, posix_relpath, read_json,
                                     write_json_atomic)
from app.core.formats.export_common import export_images, image_size
from app.core.formats.labelme_write import annotation_shapes
from app.core.formats.common import in_read_snapshot
from app.core.model import Annotation, ImageRecord
from app.core.output_guard import OutputGuard

if TYPE_CHECKING:
    from app.core.project import Project

LABELME_MASK_MODES = ("auto", "polygon", "outline", "mask")
LABELME_VERSION = "5.5.0"  # the labelme file format these files were validated against (mask shapes: 5.4+)
FORMAT_ID = "labelme"
_PAGE = 2000


def labelme_document(anns: list[Annotation], labels: dict[int, str], image_rel: str, height: int, width: int,
                     masks: str, skipped: list[tuple[str, str]] | None = None, image: ImageRecord | None = None,
                     report: ExportReport | None = None) -> tuple[dict, int, int]:
    """(document, number of annotations written, number whose holes were filled) for one image.

    ``anns`` bottom-first; ``labels``: label id -> name; ``image_rel``: imagePath to write;
    ``image``: the image record (its flags and what was kept from an imported file).
    Multi-shape instances without a group_id get fresh ids above every group_id used on the image.
    Annotations with an empty or unreadable mask are left out and appended to ``skipped``.
    """
    next_gid = max((a.group_id for a in anns if a.group_id is not None), default=0) + 1
    shapes: list[dict] = []
    written = filled = 0
    counts: dict[str, int] = {}

    def tally(what: str, n: int) -> None:
        counts[what] = counts.get(what, 0) + n

    for ann in anns:
        label = labels.get(ann.label_id)
        if label is None:  # a damaged project: the annotation's label class is gone
            if skipped is not None:
                skipped.append((f"annotation {ann.id} ({image_rel})",
                                f"its label class (id {ann.label_id}) is missing from the project"))
            continue
        try:
            new = annotation_shapes(ann, label, height, width, masks, ann.group_id, tally)
        except ValueError as exc:  # a corrupt stored mask: report it, export the rest
            new, reason = [], f"its stored mask is unreadable ({exc})"
        else:
            reason = "its mask is empty"
        if not new:
            if skipped is not None:
                skipped.append((f"annotation {ann.id} ({image_rel})", reason))
            continue
        if len(new) > 1 and ann.group_id is None:
            for s in new:
                s["group_id"] = next_gid
            next_gid += 1
        shapes.extend(new)
        written += 1
    for what, n in counts.items():
        if "filled" in what:
            filled += n
        if report is not None:
            report.tally(what, n)
    kept = image.extra.get(FORMAT_ID, {}) if image is not None and isinstance(image.extra, dict) else {}
    unread = kept.get("unread") if isinstance(kept, dict) else None
    if isinstance(unread, list) and unread:
        shapes.extend(unread)
        if report is not None:
            report.tally("shape(s) that could not be imported written back as they were", len(unread))
    version = kept.get("version") if isinstance(kept, dict) and isinstance(kept.get("version"), str) else None
    doc: dict[str, Any] = {"version": version or LABELME_VERSION,
                           "flags": dict(image.flags) if image is not None else {}, "shapes": shapes,
                           "imagePath": image_rel, "imageData": None, "imageHeight": int(height),
                           "imageWidth": int(width)}
    keys = kept.get("keys") if isinstance(kept, dict) else None
    if isinstance(keys, dict):
        for k, v in keys.items():
            doc.setdefault(k, v)
    return doc, written, filled


def json_path_for(project: Project, rec: ImageRecord, out_dir: Path | None) -> Path:
    """Where the LabelMe file of an image goes: beside it, or under out_dir at its relative folder
    ('..' components of images outside the project folder are dropped)."""
    image = project.image_path(rec)
    if out_dir is None:
        return image.parent / (image.stem + ".json")
    rel = PurePosixPath(rec.path)
    folder = [p for p in rel.parent.parts if p not in ("..", ".")]
    return Path(out_dir).joinpath(*folder, rel.stem + ".json")


@dataclass
class LabelMePlan:
    """What an export would do, before it does it: per image record id, the target file and its
    action ("new" | "update"), and the refused images with the reason."""

    targets: dict[int, tuple[Path, str]] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def new(self) -> int:
        """Files that do not exist yet."""
        return sum(1 for _, a in self.targets.values() if a == "new")

    @property
    def update(self) -> int:
        """Existing files of ours that will be updated in place."""
        return sum(1 for _, a in self.targets.values() if a == "update")

    def summary(self) -> str:
        """One line for the dialog / the CLI."""
        text = f"{self.new} new LabelMe file(s), {self.update} existing file(s) of this project updated in place"
        if self.refused:
            text += f", {len(self.refused)} existing file(s) of other tools left alone"
        return text + "."


def _existing_action(project: Project, target: Path) -> tuple[str, str]:
    """("new" | "update" | "refuse", reason) for a target path."""
    if not os.path.lexists(target):
        return "new", ""
    if os.path.islink(target) or not os.path.isfile(target):
        return "refuse", f"{target.name} exists and is not a regular file, so it was not touched"
    from app.core.project_files import sha256_file

    try:
        digest, _ = sha256_file(target)
    except OSError as exc:
        return "refuse", f"{target.name} exists and cannot be read ({exc.strerror or exc}), so it was not touched"
    if digest in project.known_file_digests(target):
        return "update", ""
    try:
        data = read_json(target)
    except (FormatError, OSError):
        return "refuse", f"{target.name} exists and is not a LabelMe file, so it was not overwritten"
    if not isinstance(data, dict) or "shapes" not in data:
        return "refuse", f"{target.name} exists and is not a LabelMe file, so it was not overwritten"
    return "refuse", (f"{target.name} was written or changed by another tool (this project did not import this "
                      "version of it), so it was not overwritten: import it first to merge it, or export to a "
                      "separate folder")


def plan_labelme_export(project: Project, out_dir: Path | str | None = None) -> LabelMePlan:
    """Which files an export to ``out_dir`` (None: beside the images) creates, updates or leaves
    alone (see the module doc). Reads only."""
    out = None if out_dir is None else Path(out_dir).absolute()
    plan = LabelMePlan()
    claimed: dict[Path, str] = {}
    root = Path(os.path.abspath(project.root))
    guard = OutputGuard(project)
    for rec, wanted in export_images(project, _PAGE):
        if not wanted:
            continue
        if not os.path.isfile(project.image_path(rec)):
            plan.refused.append((rec.path, "the image file is missing (labelme needs it)"))
            continue
        target = json_path_for(project, rec, out)
        if out is None and not _inside(target, root):
            plan.refused.append((rec.path, "the image is outside the project folder, so no file is written beside it "
                                           "(export to a separate folder to include it)"))
            continue
        if target in claimed:
            plan.refused.append((rec.path, f"{target.name} is already the LabelMe file of {claimed[target]} "
                                           "(same folder and name stem)"))
            continue
        refusal = guard.refusal(target)
        if refusal is not None:
            plan.refused.append((rec.path, refusal))
            continue
        action, reason = _existing_action(project, target)
        if action == "refuse":
            plan.refused.append((rec.path, reason))
            continue
        claimed[target] = rec.path
        plan.targets[rec.id] = (target, action)
    return plan


def _inside(path: Path, root: Path) -> bool:
    try:
        Path(os.path.abspath(path)).relative_to(root)
    except ValueError:
        return False
    return True


def _merge_in_place(target: Path, doc: dict) -> dict:
    """The existing file's content with our keys replaced (shapes, flags, size; imagePath only
    when it does not point at the image any more); every other key is kept."""
    old = read_json(target)
    if not isinstance(old, dict):
        return doc
    merged = dict(old)
    for key in ("shapes", "flags", "imageHeight", "imageWidth"):
        merged[key] = doc[key]
    old_path = old.get("imagePath")
    if not isinstance(old_path, str) or not (target.parent / old_path.replace("\\", "/")).resolve() == \
            (target.parent / doc["imagePath"]).resolve():
        merged["imagePath"] = doc["imagePath"]
    merged.setdefault("imageData", None)
    merged.setdefault("version", doc["version"])
    return merged


def export_labelme(project: Project, out_dir: Path | str | None = None, masks: str = "auto",
                   progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
    """Write one LabelMe JSON per annotated (or done) image; see the module doc.

    Each file is written atomically; on cancel (app.core.formats.common.Cancelled) the files
    written so far stay. ``progress(done, total)`` counts images. The project is read as one
    snapshot; the files written are then recorded in it (when it is writable) so that a later
    export may update them in place.
    """
    written: list[tuple[Path, int]] = []
    try:
        report = _export(project, out_dir, masks, progress, cancel, written)
    finally:
        _record(project, written)
    return report


@in_read_snapshot
def _export(project: Project, out_dir: Path | str | None, masks: str,
            progress: Progress | None, cancel: threading.Event | None, written: list[tuple[Path, int]]
            ) -> ExportReport:
    """export_labelme's work inside one read snapshot; appends (file, annotations) to ``written``."""
    if masks not in LABELME_MASK_MODES:
        raise ValueError(f"LabelMe masks must be one of {', '.join(LABELME_MASK_MODES)} (got {masks!r}).")
    out = None if out_dir is None else Path(out_dir).absolute()
    if out is not None and out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; give a folder for the LabelMe files.")
    report = ExportReport(format="LabelMe")
    plan = plan_labelme_export(project, out)
    report.skipped.extend(plan.refused)
    labels = {lc.id: lc.name for lc in project.label_classes()}
    ticker = Ticker(len(plan.targets), progress, cancel)
    filled_total = 0
    for rec, wanted in export_images(project, _PAGE):
        if not wanted or rec.id not in plan.targets:
            continue
        ticker.tick()
        target, action = plan.targets[rec.id]
        image = project.image_path(rec)
        size = image_size(project, rec)
        if isinstance(size, str):
            report.skipped.append((rec.path, size))
            continue
        doc, n, filled = labelme_document(project.annotations(rec.id), labels, posix_relpath(image, target.parent),
                                          size[0], size[1], masks, report.skipped, rec, report)
        if action == "update":
            doc = _merge_in_place(target, doc)
            report.updated += 1
        write_json_atomic(target, doc, ensure_ascii=False, indent=2)
        report.files.append(target)
        report.images += 1
        report.annotations += n
        filled_total += filled
        written.append((target, n))
    if progress is not None:
        progress(ticker.total, ticker.total)
    return report


def _record(project: Project, written: list[tuple[Path, int]]) -> None:
    """Remember the written files' bytes (a later export updates them in place); best effort: a
    project that cannot take the record (read-only view) just will not update them later."""
    if project.read_only or not written:
        return
    from app.core.errors import ProjectError
    from app.core.project_files import sha256_file

    # the files are written; recording them (so that a later export may overwrite them) is a
    # courtesy that a read-only project or a vanished file may refuse
    with contextlib.suppress(OSError, ProjectError), project.transaction():
        for path, n in written:
            digest, size = sha256_file(path)
            project.record_file(FORMAT_ID, "export", path, digest, size, n)


def labelme_text(doc: dict) -> str:
    """The JSON text export_labelme writes for a document (tests compare with it)."""
    return json.dumps(doc, ensure_ascii=False, indent=2)
