"""Export and import dialogs, listed and dispatched from the format registry (app.extensions), and
the job functions they start.

The export job runs in a background thread (app.ui.jobs.BackgroundJob) with its OWN read-only
connection to the project file (SQLite connections belong to one thread; read-only opening is
allowed while this window holds the write lock), so the GUI keeps labeling meanwhile. Before it
starts, the dialog shows the format's plan (what will be created, updated in place or left alone)
and asks to confirm when existing files would be touched.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.core.formats.api import ON_DUPLICATE, Exporter, ExportPlan, Importer, resolve_mask_mode
from app.core.options import Option, OptionValue
from app.ui.i18n import mark_data

if TYPE_CHECKING:
    from app.core.formats.common import ImportReport
    from app.core.project import Project

# English texts, shown translated in context "ExportDialog"
MASK_TITLES = {
    "auto": QT_TRANSLATE_NOOP("ExportDialog", "auto — polygons, exact masks where polygons would lose detail"),
    "polygon": QT_TRANSLATE_NOOP("ExportDialog", "polygons only (holes filled)"),
    "outline": QT_TRANSLATE_NOOP("ExportDialog", "polygons as drawn (the polygon density you chose)"),
    "rle": QT_TRANSLATE_NOOP("ExportDialog", "exact masks (RLE)"),
    "mask": QT_TRANSLATE_NOOP("ExportDialog", "exact masks (mask shapes)"),
}
DUPLICATE_TITLES = {
    "skip": QT_TRANSLATE_NOOP("ExportDialog", "skip files imported before (default)"),
    "replace": QT_TRANSLATE_NOOP("ExportDialog", "replace what they brought before"),
    "append": QT_TRANSLATE_NOOP("ExportDialog", "import them again as well"),
}


def _tr(text: str) -> str:
    return QCoreApplication.translate("ExportDialog", text)


def exporters() -> list[Exporter]:
    """Every exporter of the registry, built-ins first."""
    from app.extensions import formats

    return [f.exporter for f in formats() if f.exporter is not None]


def importers() -> list[Importer]:
    """Every importer of the registry, built-ins first."""
    from app.extensions import formats

    return [f.importer for f in formats() if f.importer is not None]


@dataclass(frozen=True)
class ExportChoice:
    """What to export: format id, destination (file or folder, as the format needs), mask mode
    (one of the exporter's; "" for formats without masks) and the format's options."""

    format: str
    destination: Path
    masks: str
    options: dict[str, OptionValue] = field(default_factory=dict)


def _exporter(format_id: str) -> Exporter:
    from app.extensions import get_format

    exporter = get_format(format_id).exporter
    if exporter is None:
        raise ValueError(f"the {format_id} format can only be imported.")
    return exporter


def default_destination(format_id: str, project: Project) -> Path:
    """The format's own default destination (the CLI uses the same)."""
    return _exporter(format_id).default_destination(project)


def run_export(project_path: Path, choice: ExportChoice, progress: Callable[[int, int], None],
               cancel: threading.Event) -> Path:
    """Export `project_path` (opened read-only in the CALLING thread) as chosen; returns the destination."""
    from app.core.project import Project

    exporter = _exporter(choice.format)
    project = Project.open(project_path, read_only=True)
    try:
        exporter.run(project, choice.destination, masks=resolve_mask_mode(exporter, choice.masks), options=choice.options,
                     progress=progress, cancel=cancel)
    finally:
        project.close()
    return choice.destination


def export_plan(project_path: Path, choice: ExportChoice) -> ExportPlan:
    """The format's plan for this choice (read-only; quick)."""
    from app.core.project import Project

    project = Project.open(project_path, read_only=True)
    try:
        return _exporter(choice.format).plan(project, choice.destination)
    finally:
        project.close()


class OptionsForm(QFormLayout):
    """Widgets for a list of plug-in Options; ``values()`` reads them back."""

    def __init__(self) -> None:
        super().__init__()
        self._widgets: dict[str, tuple[Option, QWidget]] = {}

    def set_options(self, options: tuple[Option, ...]) -> None:
        """Replace the widgets by those of ``options``."""
        while self.rowCount():
            self.removeRow(0)
        self._widgets = {}
        for opt in options:
            widget: QWidget
            if opt.kind == "bool":
                box = QCheckBox()
                box.setChecked(bool(opt.default))
                widget = box
            elif opt.kind == "choice":
                combo = QComboBox()
                combo.addItems(list(opt.choices))
                combo.setCurrentText(str(opt.default))
                widget = combo
            elif opt.kind == "int":
                spin = QSpinBox()
                spin.setRange(-10**9, 10**9)
                spin.setValue(int(opt.default))
                widget = spin
            elif opt.kind == "float":
                dspin = QDoubleSpinBox()
                dspin.setRange(-1e9, 1e9)
                dspin.setDecimals(3)
                dspin.setValue(float(opt.default))
                widget = dspin
            else:
                widget = QLineEdit(str(opt.default))
            widget.setToolTip(opt.help)
            self.addRow(opt.title, widget)
            self._widgets[opt.name] = (opt, widget)

    def values(self) -> dict[str, OptionValue]:
        """{option name: current value}."""
        out: dict[str, OptionValue] = {}
        for name, (opt, w) in self._widgets.items():
            if isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, QComboBox):
                out[name] = w.currentText()
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                out[name] = w.value()
            elif isinstance(w, QLineEdit):
                out[name] = opt.parse(w.text()) if opt.kind != "str" else w.text()
        return out


class ExportDialog(QDialog):
    """Asks for format, destination, mask mode and the format's options; `choice()` after exec().
    Formats come from the registry (built-ins and plugins)."""

    def __init__(self, project: Project, last_dir: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Export annotations"))
        self._project = project
        self._last_dir = last_dir
        self._exporters = exporters()
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.format_box = QComboBox(self)
        for exp in self._exporters:
            self.format_box.addItem(exp.title, exp.id)
        mark_data(self.format_box)  # format names come from the plugins
        self.masks_box = QComboBox(self)
        self.dest_edit = QLineEdit(self)
        mark_data(self.dest_edit)  # a path
        browse = QPushButton(self.tr("Browse…"), self)
        row = QHBoxLayout()
        row.addWidget(self.dest_edit, 1)
        row.addWidget(browse)
        form.addRow(self.tr("Format"), self.format_box)
        form.addRow(self.tr("Destination"), row)
        form.addRow(self.tr("Masks"), self.masks_box)
        lay.addLayout(form)
        self.options = OptionsForm()
        lay.addLayout(self.options)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        mark_data(self.note)  # the format's plan line (app.core messages are English)
        lay.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Export"))
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        browse.clicked.connect(self._browse)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    def exporter(self) -> Exporter:
        """The selected format's exporter."""
        return self._exporters[max(0, self.format_box.currentIndex())]

    def choice(self) -> ExportChoice:
        """The current selection."""
        return ExportChoice(self.format_box.currentData(), Path(self.dest_edit.text().strip()).expanduser(),
                            self.masks_box.currentData() or "", self.options.values())

    def set_format(self, fmt: str) -> None:
        """Select a format by id."""
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(fmt)))

    def _format_changed(self, _i: int = 0) -> None:
        exp = self.exporter()
        self.masks_box.clear()
        for mode in exp.mask_modes:
            self.masks_box.addItem(_tr(MASK_TITLES[mode]) if mode in MASK_TITLES else mode, mode)
        self.masks_box.setEnabled(bool(exp.mask_modes))
        self.options.set_options(exp.options)
        self.dest_edit.setText(str(exp.default_destination(self._project)))
        self.note.setText(exp.plan(self._project, Path(self.dest_edit.text())).summary)

    def _browse(self) -> None:
        exp = self.exporter()
        if exp.destination == "file":
            path, _ = QFileDialog.getSaveFileName(self, exp.title, self.dest_edit.text(), exp.file_filter)
        else:
            path = QFileDialog.getExistingDirectory(self, exp.title, self.dest_edit.text())
        if path:
            self.dest_edit.setText(path)
            self.note.setText(exp.plan(self._project, Path(path)).summary)

    def _accept(self) -> None:
        if not self.dest_edit.text().strip():
            self.note.setText(self.tr("Choose a destination first."))
            return
        self.accept()


@dataclass(frozen=True)
class ImportChoice:
    """What to import: format id, source (file or folder, as the format reads), images folder,
    what to do with files imported before, and the format's options."""

    format: str
    source: Path
    images_dir: Path | None
    on_duplicate: str = "skip"
    options: dict[str, OptionValue] = field(default_factory=dict)


def run_import(project: Project, choice: ImportChoice) -> ImportReport:
    """Import into the open `project` (GUI thread: the project connection belongs to it); returns the report."""
    from app.extensions import get_format

    importer = get_format(choice.format).importer
    if importer is None:
        raise ValueError(f"the {choice.format} format can only be exported.")
    if choice.on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on-duplicate must be one of {', '.join(ON_DUPLICATE)}.")
    return importer.run(project, choice.source, images_dir=choice.images_dir, options=choice.options,
                        on_duplicate=choice.on_duplicate)  # type: ignore[arg-type]


class ImportDialog(QDialog):
    """Asks for the format, the source file/folder, the images folder and what to do with files
    imported before; `choice()` after exec()."""

    def __init__(self, project_root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Import annotations"))
        self._root = Path(project_root)
        self._importers = importers()
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.format_box = QComboBox(self)
        for imp in self._importers:
            self.format_box.addItem(imp.title, imp.id)
        mark_data(self.format_box)  # format names come from the plugins
        self.source_edit = QLineEdit(self)
        browse = QPushButton(self.tr("Browse…"), self)
        row = QHBoxLayout()
        row.addWidget(self.source_edit, 1)
        row.addWidget(browse)
        self.images_edit = QLineEdit(str(self._root), self)
        self.duplicate_box = QComboBox(self)
        for key in ON_DUPLICATE:
            self.duplicate_box.addItem(_tr(DUPLICATE_TITLES[key]), key)
        mark_data(self.images_edit)  # a path
        form.addRow(self.tr("Format"), self.format_box)
        form.addRow(self.tr("Source"), row)
        form.addRow(self.tr("Images folder"), self.images_edit)
        form.addRow(self.tr("Files imported before"), self.duplicate_box)
        lay.addLayout(form)
        self.options = OptionsForm()
        lay.addLayout(self.options)
        note = QLabel(self.tr("Imported annotations are added to the project at once (this is not undoable); "
                              "images they refer to must be in the project folder."), self)
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Import"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        browse.clicked.connect(self._browse)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    def importer(self) -> Importer:
        """The selected format's importer."""
        return self._importers[max(0, self.format_box.currentIndex())]

    def _format_changed(self, _i: int = 0) -> None:
        self.options.set_options(self.importer().options)

    def choice(self) -> ImportChoice:
        """The current selection."""
        images = self.images_edit.text().strip()
        return ImportChoice(self.format_box.currentData(), Path(self.source_edit.text().strip()).expanduser(),
                            Path(images).expanduser() if images else None, self.duplicate_box.currentData(),
                            self.options.values())

    def _browse(self) -> None:
        imp = self.importer()
        if imp.source == "folder":
            path = QFileDialog.getExistingDirectory(self, imp.title, str(self._root))
        else:
            path, _ = QFileDialog.getOpenFileName(self, imp.title, str(self._root), imp.file_filter)
        if path:
            self.source_edit.setText(path)
