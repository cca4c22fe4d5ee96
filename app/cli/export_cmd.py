"""`sam-labeler export P.samlabel --format ID [--out PATH] [--masks MODE] [--option NAME=VALUE ...]`.

Every format of the registry (app.extensions: LabelMe and COCO built in, YOLO, VOC, ISAT, mask PNG,
CVAT and third-party ones from plugins) is exported the same way: ``--out`` defaults to the
format's own default destination (COCO: ``<project folder>/<project name>.coco.json``; LabelMe:
beside the images), ``--masks`` to the format's first mask mode; ``rle`` and ``mask`` both mean
"exact masks" and are accepted for either. Before anything is written, one line says what will be
created, updated in place or left alone. The project is opened for reading (Project.open_for_reading: a read-only file
or folder, or a project in use by another instance, exports fine) and read as one snapshot; outputs
that are the project, its side files, an image, a device or an unnamed symbolic link are refused
(app.core.output_guard).
A progress line is written to stderr; the summary, counted changes, skipped items and warnings to
stdout.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from app.core.formats.api import Exporter
    from app.core.formats.common import ExportReport, ImportReport
    from app.core.project import Project

from app.cli.text import one_line

NAME = "export"
HELP = "Export a project's annotations (COCO, LabelMe, YOLO, VOC, ISAT, mask PNG, CVAT, plugins' formats)."


class ProgressLine:
    """``progress(done, total)`` callable that keeps one updating line on a stream (stderr).

    On a terminal it rewrites the line in place (at most 10 times a second); otherwise it prints
    a line at every 10 % step. ``finish()`` ends the line.
    """

    def __init__(self, what: str, stream: TextIO | None = None) -> None:
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._last_decile = -1
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        text = f"{self.what}: {done}/{total}" if total else f"{self.what}: {done}"
        if self._tty:
            now = time.monotonic()
            if now - self._last < 0.1 and done < total:
                return
            self._last = now
            self.stream.write("\r" + text)
            self._shown = True
        else:
            decile = (10 * done // total) if total else 0
            if decile == self._last_decile:
                return
            self._last_decile = decile
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End an in-place line with a newline."""
        if self._tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()


def print_report(report: ExportReport | ImportReport, out: TextIO | None = None) -> None:
    """Summary line, one line per kind of counted change, then one line per skipped item and per
    warning."""
    out = out if out is not None else sys.stdout
    print(one_line(report.summary()), file=out)
    for line in report.tally_lines():
        print(f"note: {one_line(line)}", file=out)
    for what, why in report.skipped:
        print(f"skipped {one_line(str(what))}: {one_line(str(why))}", file=out)
    for warning in report.warnings:
        print(f"warning: {one_line(str(warning))}", file=out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `export`."""
    from app.extensions import formats

    ids = [f.id for f in formats() if f.exporter is not None]
    parser.add_argument("project", help="the .samlabel project file")
    parser.add_argument("--format", required=True, choices=ids, help="output format")
    parser.add_argument("--out", default=None,
                        help="where to write: a file or a folder as the format needs (default: the format's "
                             "default, e.g. <project folder>/<name>.coco.json; LabelMe: beside the images)")
    parser.add_argument("--masks", default=None,
                        help="mask mode of the format (default: its first): auto = polygons, exact masks for "
                             "objects with holes; polygon = polygons only (holes filled), traced exactly from the "
                             "masks; outline = the polygons as drawn in the app (at the polygon density chosen "
                             "there; LabelMe, YOLO); rle / mask = exact masks")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="a format option (repeatable); `sam-labeler plugins list` shows each format's options")


def _open_for_export(path: Path) -> Project:
    """The project, opened for reading (Project.open_for_reading): a read-only file or folder and
    a project in use by another instance export fine."""
    from app.core.project import Project

    project, holder = Project.open_for_reading(path)
    if holder is not None:
        print(f"sam-labeler: {path} is in use by another instance ({holder}); exporting from a read-only "
              "view of what it has saved.", file=sys.stderr)
    return project


def run(args: argparse.Namespace) -> int:
    """Export; 0 on success (skipped items are reported, not errors)."""
    from app.core.formats.api import resolve_mask_mode
    from app.core.options import parse_assignments
    from app.extensions import get_format
    from app.core.project_base import sqlite_errors_as_project_errors

    fmt = get_format(args.format)
    exporter = fmt.exporter
    if exporter is None:
        raise ValueError(f"the {fmt.id} format can only be imported.")
    options = parse_assignments(exporter.options, args.option)
    masks = resolve_mask_mode(exporter, args.masks)
    path = Path(args.project)
    if not path.exists():
        raise ValueError(f"{path} does not exist.")
    if not path.is_file():
        raise ValueError(f"{path} is not a project file (it is a folder).")
    project = _open_for_export(path)
    try:
        with sqlite_errors_as_project_errors(path):
            dest = Path(args.out).absolute() if args.out else exporter.default_destination(project)
            print(one_line(exporter.plan(project, dest).summary), file=sys.stderr)
            progress = ProgressLine(f"exporting {fmt.id}")
            try:
                report = exporter.run(project, dest, masks=masks, options=options, progress=progress)
            finally:
                progress.finish()
    finally:
        project.close()
    print_report(report)
    return 0
