"""`sam-labeler export P.samlabel --format coco|labelme [--out PATH] [--masks auto|polygon|rle|mask]`.

COCO: one JSON file (default ``<project folder>/<project name>.coco.json``); ``--masks`` auto
(polygons, RLE for objects with holes), rle (all exact RLE) or polygon (holes filled).
LabelMe: one JSON per annotated image, beside the images (default) or under ``--out`` (a folder,
mirroring the images' folders); ``--masks`` auto (polygons, mask shapes for objects with holes),
mask (all exact mask shapes) or polygon. ``rle`` and ``mask`` both mean "exact" and are accepted
for either format. A project in use by another instance is opened read-only. A progress line is
written to stderr; the summary, skipped items and warnings to stdout.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

NAME = "export"
HELP = "Export a project's annotations as COCO (one JSON) or LabelMe (one JSON per image)."


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


def print_report(report: object, out: TextIO | None = None) -> None:
    """Summary line, one line per kind of counted change (report.tally_lines), then one line per
    skipped item and per warning."""
    out = out if out is not None else sys.stdout
    print(report.summary(), file=out)  # type: ignore[attr-defined]
    for line in getattr(report, "tally_lines", lambda: [])():
        print(line, file=out)
    for what, why in report.skipped:  # type: ignore[attr-defined]
        print(f"skipped {what}: {why}", file=out)
    for warning in report.warnings:  # type: ignore[attr-defined]
        print(f"warning: {warning}", file=out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `export`."""
    parser.add_argument("project", help="the .samlabel project file")
    parser.add_argument("--format", required=True, choices=("coco", "labelme"), help="output format")
    parser.add_argument("--out", default=None,
                        help="COCO: the .json file to write (default <project folder>/<name>.coco.json); "
                             "LabelMe: a folder (default: each JSON beside its image)")
    parser.add_argument("--masks", default="auto", choices=("auto", "polygon", "rle", "mask"),
                        help="auto (default): polygons, exact masks for objects with holes; polygon: "
                             "polygons only (holes filled); rle / mask: exact masks for every object")


def _open_for_export(path: Path) -> object:
    from app.core.errors import ProjectLocked
    from app.core.project import Project

    try:
        return Project.open(path)
    except ProjectLocked:
        print(f"sam-labeler: {path} is open in another instance; exporting from a read-only view.",
              file=sys.stderr)
        return Project.open(path, read_only=True)


def run(args: argparse.Namespace) -> int:
    """Export; 0 on success (skipped items are reported, not errors)."""
    from app.core.formats import export_coco, export_labelme

    path = Path(args.project)
    if not path.exists():
        raise ValueError(f"{path} does not exist.")
    if not path.is_file():
        raise ValueError(f"{path} is not a project file (it is a folder).")
    project = _open_for_export(path)
    progress = ProgressLine("exporting annotations" if args.format == "coco" else "exporting images")
    try:
        if args.format == "coco":
            out = Path(args.out) if args.out else project.root / f"{project.path.stem}.coco.json"
            masks = "rle" if args.masks == "mask" else args.masks
            report = export_coco(project, out, masks=masks, progress=progress)
        else:
            masks = "mask" if args.masks == "rle" else args.masks
            report = export_labelme(project, Path(args.out) if args.out else None, masks=masks, progress=progress)
    finally:
        progress.finish()
        project.close()
    print_report(report)
    return 0
