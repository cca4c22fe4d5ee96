"""`sam-labeler import SRC --format ID [--project P.samlabel] [--images DIR] [--on-duplicate skip|replace|append]
[--option NAME=VALUE ...]`.

ID: any importable format of the registry (app.extensions): coco, labelme, and the plugins' (yolo-seg,
yolo-det, voc, isat, mask-png, cvat, third-party). SRC: what that format reads (a COCO JSON file;
a LabelMe JSON file or folder, searched recursively; a dataset folder).
--on-duplicate: what to do with a file this project imported before (same path or same bytes):
skip it (default; reported), replace what it brought, or import it again as well.
--project: the project to import into; created when it does not exist. Default: the project the
GUI opens for the image folder, i.e. ``F/<name of F>.samlabel`` where F is --images when given,
else SRC's folder (SRC itself when it is a folder).
--images: where the images are. COCO: ``file_name`` is looked up under it (default: the JSON's
folder, then the project folder). LabelMe: looked up there when ``imagePath`` (relative to the
JSON) does not exist.
The import is one transaction: on any error nothing is stored (and a project this command created
is removed again, as it is when nothing at all could be imported). The summary and every skipped
item's reason are printed on stdout.
"""
from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from app.cli.export_cmd import ProgressLine, print_report

NAME = "import"
HELP = "Import annotations (COCO, LabelMe, YOLO, VOC, ISAT, mask PNG, CVAT, plugins' formats) into a project."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `import`."""
    from app.core.formats.api import ON_DUPLICATE
    from app.extensions import formats

    ids = [f.id for f in formats() if f.importer is not None]
    parser.add_argument("src", help="the annotation file or folder to import")
    parser.add_argument("--format", required=True, choices=ids, help="input format")
    parser.add_argument("--on-duplicate", default="skip", choices=ON_DUPLICATE,
                        help="a file this project imported before: skip it (default), replace what it brought, "
                             "or import it again as well")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="a format option (repeatable)")
    parser.add_argument("--project", default=None,
                        help="the .samlabel project, created when missing (default: F/<name of F>.samlabel, "
                             "F = --images if given, else the folder of SRC; the project the GUI opens for F)")
    parser.add_argument("--images", default=None, help="folder holding the images")


def default_project_path(src: Path, images: Path | None) -> Path:
    """``F/<F's name>.samlabel`` with F = images, else src's folder (src when it is a folder)."""
    folder = images if images is not None else (src if src.is_dir() else src.parent)
    folder = folder.absolute()
    return folder / f"{folder.name}.samlabel"


def _remove_project_files(path: Path) -> None:
    for leftover in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm"), Path(str(path) + "-journal"),
                     Path(str(path) + ".lock")):
        with contextlib.suppress(OSError):
            leftover.unlink()


def run(args: argparse.Namespace) -> int:
    """Import; 0 on success (skipped items are reported, not errors). A project this command
    created is removed again when the import fails or stores nothing (exit 1 then)."""
    from app.core.errors import DiskFull
    from app.core.options import parse_assignments
    from app.core.project import Project
    from app.core.project_base import sqlite_errors_as_project_errors
    from app.extensions import get_format

    fmt = get_format(args.format)
    importer = fmt.importer
    if importer is None:
        raise ValueError(f"the {fmt.id} format can only be exported.")
    options = parse_assignments(importer.options, args.option)
    src = Path(args.src).absolute()
    if not src.exists():
        raise ValueError(f"{src} does not exist.")
    if importer.source == "file" and not src.is_file():
        raise ValueError(f"{src} is not a file; {fmt.title} annotations are one file.")
    if importer.source == "folder" and not src.is_dir():
        raise ValueError(f"{src} is not a folder; {fmt.title} annotations are a folder.")
    images = Path(args.images).absolute() if args.images else None
    if images is not None and not images.is_dir():
        raise ValueError(f"{images} is not a folder.")
    path = Path(args.project).absolute() if args.project else default_project_path(src, images)
    created = not path.exists()
    project = Project.create(path) if created else Project.open(path)
    progress = ProgressLine(f"importing {fmt.id}")
    keep = False
    try:
        with sqlite_errors_as_project_errors(path):
            report = importer.run(project, src, images_dir=images, options=options,
                                  on_duplicate=args.on_duplicate, progress=progress)
        keep = not created or report.images > 0 or report.annotations > 0
    except DiskFull:
        raise DiskFull(f"disk full: nothing was imported into {path}; free some space and run the import "
                       "again.") from None
    finally:
        progress.finish()
        try:
            project.close()
        finally:
            if created and not keep:
                _remove_project_files(path)
    print_report(report)
    if not keep:
        raise ValueError(f"nothing could be imported from {src}; the project {path} was not created.")
    if created:
        print(f"Created the project {path}.")
    return 0
