"""Export and import dialogs (format, destination/source, mask mode) and the job functions they start.

The jobs run in a background thread (app.ui.jobs.BackgroundJob). Export opens its OWN read-only
connection to the project file in that thread (SQLite connections belong to one thread; read-only
opening is allowed while this window holds the write lock), so the GUI keeps labeling meanwhile.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from app.ui.i18n import mark_data

# (key, English text; shown translated in context "ExportDialog")
FORMATS: tuple[tuple[str, str], ...] = (("coco", QT_TRANSLATE_NOOP("ExportDialog", "COCO (one JSON file)")),
                                        ("labelme", QT_TRANSLATE_NOOP("ExportDialog", "LabelMe (one JSON per image)")))
MASK_MODES: tuple[tuple[str, str], ...] = (
    ("auto", QT_TRANSLATE_NOOP("ExportDialog", "auto — polygons, exact RLE where polygons would lose detail")),
    ("polygon", QT_TRANSLATE_NOOP("ExportDialog", "polygons only")),
    ("rle", QT_TRANSLATE_NOOP("ExportDialog", "exact masks (COCO RLE / LabelMe mask shapes)")),
)


@dataclass(frozen=True)
class ExportChoice:
    """What to export: format "coco" | "labelme", destination (a .json file for COCO, a folder for
    LabelMe), mask mode "auto" | "polygon" | "rle"."""

    format: str
    destination: Path
    masks: str


def default_destination(fmt: str, project_path: Path, last_dir: str) -> Path:
    """Default output: COCO -> <dir>/<project>_coco.json; LabelMe -> <dir>/<project>_labelme/."""
    folder = Path(last_dir) if last_dir and Path(last_dir).is_dir() else project_path.parent
    stem = project_path.stem
    return folder / (f"{stem}_coco.json" if fmt == "coco" else f"{stem}_labelme")


def run_export(project_path: Path, choice: ExportChoice, progress: Callable[[int, int], None],
               cancel: threading.Event) -> Path:
    """Export `project_path` (opened read-only in the CALLING thread) as chosen; returns the destination."""
    from app.core.project import Project

    project = Project.open(project_path, read_only=True)
    try:
        if choice.format == "coco":
            from app.core.formats import export_coco

            export_coco(project, choice.destination, masks=choice.masks, progress=progress, cancel=cancel)
        elif choice.format == "labelme":
            from app.core.formats import export_labelme

            masks = "mask" if choice.masks == "rle" else choice.masks  # LabelMe calls exact masks "mask"
            export_labelme(project, choice.destination, masks=masks, progress=progress, cancel=cancel)
        else:
            raise ValueError(f"unknown export format {choice.format!r}")
    finally:
        project.close()
    return choice.destination


class ExportDialog(QDialog):
    """Asks for format, destination and mask mode; `choice()` after exec()."""

    def __init__(self, project_path: Path, last_dir: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Export annotations"))
        self._project_path = Path(project_path)
        self._last_dir = last_dir
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.format_box = QComboBox(self)
        for key, text in FORMATS:
            self.format_box.addItem(self.tr(text), key)
        self.masks_box = QComboBox(self)
        for key, text in MASK_MODES:
            self.masks_box.addItem(self.tr(text), key)
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
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Export"))
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        browse.clicked.connect(self._browse)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    def choice(self) -> ExportChoice:
        """The current selection."""
        return ExportChoice(self.format_box.currentData(), Path(self.dest_edit.text().strip()).expanduser(),
                            self.masks_box.currentData())

    def set_format(self, fmt: str) -> None:
        """Select a format by key ("coco" | "labelme")."""
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(fmt)))

    def _format_changed(self, _i: int = 0) -> None:
        fmt = self.format_box.currentData()
        self.dest_edit.setText(str(default_destination(fmt, self._project_path, self._last_dir)))
        self.note.setText(self.tr("A single COCO instances file; image paths relative to the project folder.")
                          if fmt == "coco" else self.tr("One LabelMe JSON per image in the destination folder."))

    def _browse(self) -> None:
        if self.format_box.currentData() == "coco":
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Export COCO"), self.dest_edit.text(),
                                                  self.tr("JSON (*.json)"))
        else:
            path = QFileDialog.getExistingDirectory(self, self.tr("Export LabelMe into folder"), self.dest_edit.text())
        if path:
            self.dest_edit.setText(path)

    def _accept(self) -> None:
        if not self.dest_edit.text().strip():
            self.note.setText(self.tr("Choose a destination first."))
            return
        self.accept()


@dataclass(frozen=True)
class ImportChoice:
    """What to import: format "coco" | "labelme", source (COCO .json or LabelMe folder/file), images folder."""

    format: str
    source: Path
    images_dir: Path | None


def run_import(project: Any, choice: ImportChoice) -> Any:
    """Import into the open `project` (GUI thread: the project connection belongs to it); returns the report."""
    if choice.format == "coco":
        from app.core.formats import import_coco

        return import_coco(project, choice.source, choice.images_dir)
    if choice.format == "labelme":
        from app.core.formats import import_labelme

        return import_labelme(project, choice.source, choice.images_dir)
    raise ValueError(f"unknown import format {choice.format!r}")


class ImportDialog(QDialog):
    """Asks for the format and the source file/folder; `choice()` after exec()."""

    def __init__(self, project_root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Import annotations"))
        self._root = Path(project_root)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.format_box = QComboBox(self)
        self.format_box.addItem(self.tr("COCO instances JSON"), "coco")
        self.format_box.addItem(self.tr("LabelMe JSON (a file or a folder of them)"), "labelme")
        self.source_edit = QLineEdit(self)
        browse = QPushButton(self.tr("Browse…"), self)
        row = QHBoxLayout()
        row.addWidget(self.source_edit, 1)
        row.addWidget(browse)
        self.images_edit = QLineEdit(str(self._root), self)
        mark_data(self.images_edit)  # a path
        form.addRow(self.tr("Format"), self.format_box)
        form.addRow(self.tr("Source"), row)
        form.addRow(self.tr("Images folder (COCO)"), self.images_edit)
        lay.addLayout(form)
        note = QLabel(self.tr("Imported annotations are added to the project at once (this is not undoable); "
                              "images they refer to must be in the project folder."), self)
        note.setWordWrap(True)
        lay.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Import"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        browse.clicked.connect(self._browse)

    def choice(self) -> ImportChoice:
        """The current selection."""
        images = self.images_edit.text().strip()
        return ImportChoice(self.format_box.currentData(), Path(self.source_edit.text().strip()).expanduser(),
                            Path(images).expanduser() if images else None)

    def _browse(self) -> None:
        if self.format_box.currentData() == "coco":
            path, _ = QFileDialog.getOpenFileName(self, self.tr("COCO file"), str(self._root), self.tr("JSON (*.json)"))
        else:
            path = QFileDialog.getExistingDirectory(self, self.tr("Folder of LabelMe files"), str(self._root))
        if path:
            self.source_edit.setText(path)
