"""The built-in formats, LabelMe and COCO, as registry entries (app.core.formats.api.Format).

Each class adapts the module that does the work (labelme.py / labelme_import.py, coco.py /
coco_import.py) to the Exporter / Importer protocol; the registry (app.extensions) lists them first.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.formats.api import DestinationKind, ExportPlan, Format, OnDuplicate, SourceKind
from app.core.formats.common import ExportReport, ImportReport, Progress
from app.core.options import Option, OptionValue, resolve_options

if TYPE_CHECKING:
    from app.core.project import Project


class LabelMeExporter:
    """LabelMe JSON, one file per image: beside the images (the default: the project folder, where
    labelme looks for them; files of other tools are never overwritten) or under a folder."""

    id = "labelme"
    title = "LabelMe (one JSON per image)"
    file_filter = "LabelMe JSON folder"
    destination: DestinationKind = "folder"
    mask_modes: tuple[str, ...] = ("auto", "polygon", "outline", "mask")  # app.core.formats.labelme.LABELME_MASK_MODES
    options: tuple[Option, ...] = ()

    def default_destination(self, project: Project) -> Path:
        """A project inside its image folder: that folder (each JSON beside its image, labelme's
        habit). A project outside it (the GUI's default): ``<project folder>/<name>_labelme``, so the
        image folder stays untouched unless the person chooses it."""
        if project.image_root == project.root:
            return project.root
        return project.root / f"{project.path.stem}_labelme"

    def plan(self, project: Project, dest: Path) -> ExportPlan:
        """New files, files of ours updated in place, files of other tools left alone."""
        from app.core.formats.labelme import plan_labelme_export

        out = None if Path(dest).absolute() == project.root else dest
        where = "beside the images" if out is None else f"in {dest}"
        plan = plan_labelme_export(project, out)
        return ExportPlan(f"LabelMe {where}: {plan.summary()}", touches_existing=plan.update > 0)

    def run(self, project: Project, dest: Path, *, masks: str, options: Mapping[str, OptionValue],
            progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
        """Export as LabelMe (app.core.formats.labelme.export_labelme)."""
        from app.core.formats.labelme import export_labelme

        resolve_options(self.options, options)
        out = None if Path(dest).absolute() == project.root else dest
        return export_labelme(project, out, masks=masks, progress=progress, cancel=cancel)


class LabelMeImporter:
    """LabelMe / X-AnyLabeling JSON: one file, or every JSON under a folder."""

    id = "labelme"
    title = "LabelMe / X-AnyLabeling JSON"
    file_filter = "LabelMe JSON (*.json)"
    source: SourceKind = "file_or_folder"
    options: tuple[Option, ...] = ()

    def run(self, project: Project, src: Path, *, images_dir: Path | None, options: Mapping[str, OptionValue],
            on_duplicate: OnDuplicate = "skip", progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        """Import LabelMe files (app.core.formats.labelme_import.import_labelme)."""
        from app.core.formats.labelme_import import import_labelme

        resolve_options(self.options, options)
        return import_labelme(project, src, images_dir, progress=progress, cancel=cancel, on_duplicate=on_duplicate)


class CocoExporter:
    """COCO instance segmentation, one JSON file."""

    id = "coco"
    title = "COCO (one JSON file)"
    file_filter = "COCO JSON (*.json)"
    destination: DestinationKind = "file"
    mask_modes: tuple[str, ...] = ("auto", "polygon", "rle")
    options: tuple[Option, ...] = ()

    def default_destination(self, project: Project) -> Path:
        """``<project folder>/<project name>.coco.json``."""
        return project.root / f"{project.path.stem}.coco.json"

    def plan(self, project: Project, dest: Path) -> ExportPlan:
        """Whether the file is new or replaced."""
        return file_plan(dest, "COCO file")

    def run(self, project: Project, dest: Path, *, masks: str, options: Mapping[str, OptionValue],
            progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
        """Export as COCO (app.core.formats.coco.export_coco)."""
        from app.core.formats.coco import export_coco

        resolve_options(self.options, options)
        return export_coco(project, dest, masks=masks, progress=progress, cancel=cancel)


class CocoImporter:
    """COCO instance segmentation (polygons, RLE, boxes), one JSON file."""

    id = "coco"
    title = "COCO JSON"
    file_filter = "COCO JSON (*.json)"
    source: SourceKind = "file"
    options: tuple[Option, ...] = ()

    def run(self, project: Project, src: Path, *, images_dir: Path | None, options: Mapping[str, OptionValue],
            on_duplicate: OnDuplicate = "skip", progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        """Import a COCO file (app.core.formats.coco_import.import_coco)."""
        from app.core.formats.coco_import import import_coco

        resolve_options(self.options, options)
        return import_coco(project, src, images_dir, progress=progress, cancel=cancel, on_duplicate=on_duplicate)


def file_plan(dest: Path, what: str) -> ExportPlan:
    """The plan of a one-file export: a new file, or replacing an existing one."""
    dest = Path(dest)
    if dest.exists():
        return ExportPlan(f"The {what} {dest} exists and will be replaced.", touches_existing=True)
    return ExportPlan(f"A new {what} {dest} will be written.")


LABELME = Format(id="labelme", title="LabelMe", exporter=LabelMeExporter(), importer=LabelMeImporter())
COCO = Format(id="coco", title="COCO", exporter=CocoExporter(), importer=CocoImporter())
BUILTIN_FORMATS: tuple[Format, ...] = (LABELME, COCO)
