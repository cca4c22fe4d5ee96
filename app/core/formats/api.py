"""The format plug-in API: what an importer or exporter of annotation files provides.

A format is one object (usually one module) registered in app.core.formats.registry: LabelMe and
COCO are built in, the others come from plugins (``plugins/`` and third-party packages, entry-point
group ``sam_labeler.plugins``; see docs/plugins.md). The export and import dialogs and the CLI list
and dispatch from the registry only, so a new format is one file.

Everything here is Qt-free; ``run`` is called in a worker thread (GUI) or the main thread (CLI),
with a ``progress(done, total)`` callback and a ``threading.Event`` that cancels (the format raises
app.core.formats.common.Cancelled when it is set).

Rules every format follows (the built-ins and tests/plugin_example show how):
- an exporter writes each file through ``app.core.formats.common.write_json_atomic`` /
  ``atomic_writer`` after ``check_output(...)`` accepted the path (never over the project, its
  images, a device or a FIFO; never over a file another tool wrote, see ``ExistingFiles``);
- an importer stores everything through an ``ImportSession`` (one transaction: a failure or a
  cancel stores nothing), reports every skipped item with a reason, and keeps what it does not
  understand in the ``extra`` fields so that its exporter can write it back.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from app.core.formats.common import ExportReport, ImportReport, Progress
from app.core.options import Option, OptionValue, resolve_options

if TYPE_CHECKING:
    from app.core.project import Project

DestinationKind = Literal["file", "folder"]
"""An exporter writes one file (COCO) or a folder of files (LabelMe, YOLO, VOC)."""
SourceKind = Literal["file", "folder", "file_or_folder"]
"""An importer reads one file (COCO), a folder (YOLO, VOC) or either (LabelMe, ISAT)."""
OnDuplicate = Literal["skip", "replace", "append"]
"""What an import does with a file this project already imported: skip it (default), replace
what it brought, or import it again as well."""
ON_DUPLICATE: tuple[str, ...] = ("skip", "replace", "append")
@dataclass(frozen=True)
class ExportPlan:
    """What an export would do: ``summary`` (one line for the user) and whether it would replace or
    update files that exist already (the dialog then asks before it starts)."""

    summary: str
    touches_existing: bool = False


@runtime_checkable
class Exporter(Protocol):
    """Writes a project (or part of it) in one format.

    id: the format id (CLI ``--format``), e.g. "coco"; title: for menus ("COCO (one JSON file)");
    file_filter: a Qt file-dialog filter ("COCO JSON (*.json)"); destination: "file" | "folder";
    mask_modes: the mask policies it supports, the default first (e.g. ("auto", "polygon", "rle"));
    () for formats without masks (boxes only); options: its own settings.
    """

    id: str
    title: str
    file_filter: str
    destination: DestinationKind
    mask_modes: tuple[str, ...]
    options: tuple[Option, ...]

    def default_destination(self, project: Project) -> Path:
        """Where the export goes when the user does not say (CLI and dialogs use the same)."""

    def plan(self, project: Project, dest: Path) -> ExportPlan:
        """What an export to ``dest`` would create, update or leave alone, before anything is
        written (the dialog shows it and asks when existing files are touched; the CLI prints it)."""

    def run(self, project: Project, dest: Path, *, masks: str, options: Mapping[str, OptionValue],
            progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
        """Write the export; the report lists files, counts, skipped items and warnings."""


@runtime_checkable
class Importer(Protocol):
    """Reads annotation files of one format into a project.

    id, title, file_filter as for Exporter; source: "file" | "folder" | "file_or_folder".
    """

    id: str
    title: str
    file_filter: str
    source: SourceKind
    options: tuple[Option, ...]

    def run(self, project: Project, src: Path, *, images_dir: Path | None, options: Mapping[str, OptionValue],
            on_duplicate: OnDuplicate = "skip", progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        """Import ``src`` (one transaction); ``images_dir``: where to look for the images."""


EXACT_MODES = ("rle", "mask")
"""The two names of "exact masks" (COCO says rle, LabelMe says mask): either is accepted."""


def resolve_mask_mode(exporter: Exporter, wanted: str | None) -> str:
    """The exporter's mask mode for what the user asked (None or "": its default, the first; "rle"
    and "mask" are the same request); ValueError (one sentence) when the format has no such mode."""
    modes = exporter.mask_modes
    if not wanted:
        return modes[0] if modes else ""
    if wanted in modes:
        return wanted
    if wanted in EXACT_MODES:
        for m in EXACT_MODES:
            if m in modes:
                return m
    if not modes:
        raise ValueError(f"the {exporter.id} format writes no masks; leave out the mask mode.")
    raise ValueError(f"the {exporter.id} format's mask modes are {', '.join(modes)} (got {wanted!r}).")


@dataclass(frozen=True)
class Format:
    """A registered format: its id and title, and its exporter and/or importer."""

    id: str
    title: str
    exporter: Exporter | None = None
    importer: Importer | None = None


FormatFactory = Callable[[], Format]
