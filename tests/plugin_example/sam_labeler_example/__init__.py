"""An example SAM Labeler plugin: the "csv-boxes" format (one CSV row per annotation with area:
image path, label, x0, y0, x1, y1 in pixel-centre coordinates), import and export.

Everything a plugin needs comes from the application's plug-in API (docs/plugins.md):
app.extensions.api.Plugin, app.core.formats.api (Format, Exporter/Importer protocols, ExportPlan),
app.core.options.Option, app.core.formats.common (reports, Ticker, atomic writing) and
app.core.formats.import_common.ImportSession.
"""
from __future__ import annotations

import csv
import io
import threading
from collections.abc import Mapping
from pathlib import Path

from app.core.formats.api import ExportPlan, Format
from app.core.formats.common import ExportReport, ImportReport, Progress, Ticker, atomic_text_writer
from app.core.formats.import_common import ImportSession
from app.core.options import Option, OptionValue, resolve_options
from app.extensions.api import Plugin

HEADER = ["image", "label", "x0", "y0", "x1", "y1"]


def _bbox(ann) -> tuple[float, float, float, float] | None:  # noqa: ANN001 - an app.core.model.Annotation
    """Inclusive pixel-centre box: of the exact mask when there is one, else of the vertices."""
    if ann.rle is not None:
        from app.core.geometry import mask_bbox, rle_to_mask

        box = mask_bbox(rle_to_mask(ann.rle))
        return None if box is None else tuple(float(v) for v in box)
    pts = [p for part in ann.parts for p in part.exterior] or list(ann.points)
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


class CsvBoxesExporter:
    id = "csv-boxes"
    title = "CSV boxes (example plugin)"
    file_filter = "CSV (*.csv)"
    destination = "file"
    mask_modes: tuple[str, ...] = ()
    options = (Option("delimiter", "Delimiter", "choice", ",", choices=(",", ";", "tab")),)

    def default_destination(self, project) -> Path:  # noqa: ANN001
        return project.root / f"{project.path.stem}.boxes.csv"

    def plan(self, project, dest: Path) -> ExportPlan:  # noqa: ANN001
        exists = Path(dest).exists()
        return ExportPlan(f"{'Replace' if exists else 'Write'} {dest}.", touches_existing=exists)

    def run(self, project, dest: Path, *, masks: str, options: Mapping[str, OptionValue],  # noqa: ANN001
            progress: Progress | None = None, cancel: threading.Event | None = None) -> ExportReport:
        opts = resolve_options(self.options, options)
        delim = "\t" if opts["delimiter"] == "tab" else str(opts["delimiter"])
        report = ExportReport(format="CSV boxes")
        labels = {lc.id: lc.name for lc in project.label_classes()}
        images = project.images()
        ticker = Ticker(len(images), progress, cancel)
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delim, lineterminator="\n")
        writer.writerow(HEADER)
        for rec in images:
            ticker.tick()
            anns = project.annotations(rec.id)
            for ann in anns:
                box = _bbox(ann)
                if box is None:
                    report.tally("annotation(s) without coordinates skipped")
                    continue
                writer.writerow([rec.path, labels[ann.label_id], *(f"{v:g}" for v in box)])
                report.annotations += 1
            report.images += bool(anns)
        with atomic_text_writer(Path(dest)) as fh:
            fh.write(buf.getvalue())
        report.files.append(Path(dest))
        return report


class CsvBoxesImporter:
    id = "csv-boxes"
    title = "CSV boxes (example plugin)"
    file_filter = "CSV (*.csv)"
    source = "file"
    options: tuple[Option, ...] = ()

    def run(self, project, src: Path, *, images_dir: Path | None, options: Mapping[str, OptionValue],  # noqa: ANN001
            on_duplicate: str = "skip", progress: Progress | None = None,
            cancel: threading.Event | None = None) -> ImportReport:
        report = ImportReport(format="CSV boxes")
        rows = list(csv.reader(Path(src).read_text(encoding="utf-8").splitlines()))
        ticker = Ticker(len(rows), progress, cancel)
        with project.transaction():
            session = ImportSession(project, report, self.id, on_duplicate)
            if not session.begin_file(Path(src)):
                return report
            for i, row in enumerate(rows[1:], 2):
                ticker.tick()
                try:
                    image, label, x0, y0, x1, y1 = row[0], row[1], *map(float, row[2:6])
                except (ValueError, IndexError):
                    report.skip(f"row {i}", "it is not image,label,x0,y0,x1,y1")
                    continue
                rec = session.image((images_dir or project.root) / image)
                if isinstance(rec, str):
                    report.skip(f"row {i}", rec)
                    continue
                session.add(rec.id, session.label_id(label), shape="rectangle", points=((x0, y0), (x1, y1)))
            session.end_file()
        report.images = len({r[0] for r in rows[1:] if r})
        return report


CSV_BOXES = Format(id="csv-boxes", title="CSV boxes", exporter=CsvBoxesExporter(), importer=CsvBoxesImporter())
plugin = Plugin(id="csv_boxes", title="CSV boxes example", version="1.0.0",
                description="Boxes as CSV rows; an example of the plug-in API.", formats=(CSV_BOXES,))
