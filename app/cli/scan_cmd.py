"""`sam-labeler scan DIR|P.samlabel|IMAGE`: list images with their decoded size or why they cannot be read.

One line per image, tab-separated:  PATH  WIDTHxHEIGHT  FORMAT  [notes]   or   PATH  UNREADABLE  reason
then a summary line "N images: N ok, N unreadable". A PATH with a line break, tab, invisible
character or undecodable byte is written in double quotes with backslash escapes (app.cli.text);
warnings of Pillow and of the C libraries under it go into the notes of their image's line
instead of onto stderr. Sizes are after EXIF rotation. The exit code is
0 even when some images are unreadable; it is 1 only when PATH itself does not exist or is not a
folder, project or image file.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from app.cli.native_stderr import native_stderr_captured
from app.cli.text import one_line, quote_name
from app.core.errors import ImageLoadError
from app.core.images import IMAGE_EXTENSIONS, ImageInfo, load_image, probe_image

NAME = "scan"
HELP = "list the images of a folder or project with their decoded size and format, or why they cannot be read"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments: PATH and --header-only."""
    parser.add_argument("path", help="image folder (searched recursively), .samlabel project, or one image file")
    parser.add_argument(
        "--header-only",
        action="store_true",
        help="read only the image headers (fast, but truncated pixel data is not detected)",
    )


def _folder_images(root: Path) -> Iterator[tuple[str, Path, tuple[int, int] | None]]:
    from app.core.sync import scan_image_files

    for rel in scan_image_files(root, IMAGE_EXTENSIONS):
        yield rel, root / rel, None


def _project_images(path: Path) -> Iterator[tuple[str, Path, tuple[int, int] | None]]:
    from app.core.project import Project
    from app.core.project_base import sqlite_errors_as_project_errors

    project, _holder = Project.open_for_reading(path)
    try:
        with sqlite_errors_as_project_errors(path):
            records = project.images()
        items = [(rec.path, project.image_path(rec), (rec.width, rec.height)) for rec in records]
    finally:
        project.close()
    yield from items


def _describe(info: ImageInfo, stored: tuple[int, int] | None) -> str:
    notes = list(info.notes)
    if stored is not None and stored != (0, 0) and stored != (info.width, info.height):
        notes.append(f"the project records {stored[0]}x{stored[1]}")
    text = f"{info.width}x{info.height}\t{info.format}"
    return text + ("\t" + one_line("; ".join(notes)) if notes else "")


def run(args: argparse.Namespace) -> int:
    """Print one line per image and the summary; 1 only when the path is missing or unusable."""
    path = Path(args.path)
    if not path.exists():
        print(f"sam-labeler scan: error: {quote_name(str(path))} does not exist", file=sys.stderr)
        return 1
    if path.is_dir():
        items = _folder_images(path)
    elif path.suffix.lower() == ".samlabel":
        items = _project_images(path)
    elif path.is_file():
        items = iter([(path.name, path, None)])
    else:
        print(f"sam-labeler scan: error: {quote_name(str(path))} is neither a folder, a .samlabel project nor a file",
              file=sys.stderr)
        return 1
    ok = bad = 0
    for rel, file_path, stored in items:
        name = quote_name(rel)
        try:
            with native_stderr_captured() as native:
                info = probe_image(file_path) if args.header_only else load_image(file_path).info
        except ImageLoadError as exc:
            bad += 1
            print(f"{name}\tUNREADABLE\t{one_line(exc.reason)}")
            continue
        if native:
            more = f" (+{len(native) - 2} more)" if len(native) > 2 else ""
            info = replace(info, notes=info.notes + ("library messages: " + "; ".join(native[:2]) + more,))
        ok += 1
        print(f"{name}\t{_describe(info, stored)}")
    total = ok + bad
    print(f"{total} image{'s' if total != 1 else ''}: {ok} ok, {bad} unreadable")
    return 0
