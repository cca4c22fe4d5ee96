"""Settings dialog: theme and language, single-window behaviour, remappable shortcuts (conflicts shown
live, OK refused while any), prefetch count, embedding cache size and disk cache switch, folder watching.

Shortcut cells hold key sequences in Qt's portable text ("Ctrl+Shift+Z"); several alternatives are
separated by ";" (e.g. "Ctrl+Shift+Z; Ctrl+Y"); an empty cell removes the shortcut.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHeaderView, QLabel,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.services.actions import ACTIONS, FIXED_KEYS, find_conflicts
from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.ui.i18n import LANGUAGES, mark_data
from app.ui.theme import THEMES, normalize_theme

SEPARATOR = ";"
THEME_TEXT = {"dark": QT_TRANSLATE_NOOP("SettingsDialog", "Dark"),
              "light": QT_TRANSLATE_NOOP("SettingsDialog", "Light")}


def parse_keys(text: str) -> tuple[str, ...]:
    """"Ctrl+Shift+Z; Ctrl+Y" -> ("Ctrl+Shift+Z", "Ctrl+Y") normalised to portable text.

    Raises ValueError naming the part Qt does not understand.
    """
    out: list[str] = []
    for part in (p.strip() for p in text.split(SEPARATOR)):
        if not part:
            continue
        seq = QKeySequence.fromString(part, QKeySequence.SequenceFormat.PortableText)
        norm = seq.toString(QKeySequence.SequenceFormat.PortableText)
        if seq.isEmpty() or not norm:
            problem = QCoreApplication.translate("SettingsDialog", "“{keys}” is not a key sequence Qt understands")
            raise ValueError(problem.format(keys=part))
        out.append(norm)
    return tuple(out)


class SettingsDialog(QDialog):
    """Edits a copy of the values; `mapping()` / `values()` give the result after exec()."""

    def __init__(self, registry: Any, settings: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.resize(640, 760)
        self._ids = list(ACTIONS)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.theme_box = QComboBox(self)
        for theme in THEMES:
            self.theme_box.addItem(self.tr(THEME_TEXT[theme]), theme)
        self.theme_box.setCurrentIndex(max(0, self.theme_box.findData(normalize_theme(settings.theme))))
        self.language_box = QComboBox(self)
        self.language_box.addItem(self.tr("System default"), "")
        for code, name in LANGUAGES.items():
            self.language_box.addItem(name, code)  # each language in its own name
        self.language_box.setCurrentIndex(max(0, self.language_box.findData(settings.language)))
        self.language_box.setToolTip(self.tr("Takes effect the next time SAM Labeler starts"))
        mark_data(self.language_box)  # language names are written in their own language
        self.reuse_window = QCheckBox(self.tr("Open projects from the desktop in the running window"), self)
        self.reuse_window.setChecked(bool(settings.reuse_window))
        self.reuse_window.setToolTip(self.tr("Off: every double-clicked project opens a new window"))
        form.addRow(self.tr("Theme"), self.theme_box)
        form.addRow(self.tr("Language"), self.language_box)
        form.addRow("", self.reuse_window)
        self.prefetch = QSpinBox(self)
        self.prefetch.setRange(0, 10)
        self.prefetch.setValue(int(settings.prefetch_count))
        self.prefetch.setToolTip(self.tr("Images on each side of the current one that are pre-encoded while idle"))
        self.cache_mb = QSpinBox(self)
        self.cache_mb.setRange(0, 65536)
        self.cache_mb.setSuffix(self.tr(" MB"))
        self.cache_mb.setValue(int(settings.memory_cache_mb))
        self.disk_cache = QCheckBox(self.tr("Keep embeddings on disk between sessions"), self)
        self.disk_cache.setChecked(bool(settings.disk_cache))
        form.addRow(self.tr("Prefetch neighbours"), self.prefetch)
        form.addRow(self.tr("Embedding memory cache"), self.cache_mb)
        form.addRow("", self.disk_cache)
        self.watch_folder = QCheckBox(self.tr("Watch the image folder: new images appear in the list at once"), self)
        self.watch_folder.setChecked(bool(getattr(settings, "watch_folder", True)))
        self.watch_folder.setToolTip(self.tr("Off: images copied into the folder appear the next time the "
                                             "folder is opened"))
        form.addRow("", self.watch_folder)
        lay.addLayout(form)
        lay.addWidget(QLabel(self.tr("Shortcuts (double-click to edit; separate alternatives with “;”):"), self))
        self.table = QTableWidget(len(self._ids), 3, self)
        self.table.setHorizontalHeaderLabels([self.tr("Action"), self.tr("Shortcut"), self.tr("Also (fixed)")])
        mark_data(self.table, columns=(1, 2))  # key sequences
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        for r, action_id in enumerate(self._ids):
            title = QTableWidgetItem(ACTIONS[action_id].title())
            title.setFlags(title.flags() & ~Qt.ItemFlag.ItemIsEditable)
            title.setToolTip(self.tr("Action id: {id}").format(id=action_id))
            self.table.setItem(r, 0, title)
            seqs = registry.action(action_id).shortcuts()
            text = f"{SEPARATOR} ".join(s.toString(QKeySequence.SequenceFormat.PortableText) for s in seqs)
            self.table.setItem(r, 1, QTableWidgetItem(text))
            fixed = QTableWidgetItem(", ".join(
                QKeySequence.fromString(k, QKeySequence.SequenceFormat.PortableText).toString(
                    QKeySequence.SequenceFormat.NativeText) for k in FIXED_KEYS.get(action_id, ())))
            fixed.setFlags(fixed.flags() & ~Qt.ItemFlag.ItemIsEditable)
            if fixed.text():
                fixed.setToolTip(self.tr("Handled by the canvas; cannot be changed"))
            self.table.setItem(r, 2, fixed)
        lay.addWidget(self.table, 1)
        self.conflicts_label = QLabel(self)
        self.conflicts_label.setWordWrap(True)
        self.conflicts_label.setObjectName("ProblemLabel")  # look: resources/styles/*.qss
        lay.addWidget(self.conflicts_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        defaults = QPushButton(self.tr("Restore default shortcuts"), self)
        self.buttons.addButton(defaults, QDialogButtonBox.ButtonRole.ResetRole)
        defaults.clicked.connect(self.restore_defaults)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.table.itemChanged.connect(lambda _it: self.check())
        self.check()

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        """A cell of the shortcut table (every cell is filled in the constructor)."""
        item = self.table.item(row, column)
        if item is None:
            raise LookupError(f"no shortcut table cell ({row}, {column})")
        return item

    def set_keys(self, action_id: str, text: str) -> None:
        """Set the shortcut cell of an action (as if typed)."""
        self._cell(self._ids.index(action_id), 1).setText(text)

    def restore_defaults(self) -> None:
        """Fill every shortcut cell with the action's default keys."""
        for r, action_id in enumerate(self._ids):
            self._cell(r, 1).setText(f"{SEPARATOR} ".join(ACTIONS[action_id].default_keys))

    def mapping(self) -> dict[str, tuple[str, ...]]:
        """action id -> key sequences (portable text). Raises ValueError for an unreadable cell."""
        return {a: parse_keys(self._cell(r, 1).text()) for r, a in enumerate(self._ids)}

    def values(self) -> dict[str, Any]:
        """The non-shortcut settings: prefetch_count, memory_cache_mb, disk_cache, theme, language, reuse_window,
        watch_folder."""
        return {"prefetch_count": self.prefetch.value(), "memory_cache_mb": self.cache_mb.value(),
                "disk_cache": self.disk_cache.isChecked(), "theme": self.theme_box.currentData(),
                "language": self.language_box.currentData(), "reuse_window": self.reuse_window.isChecked(),
                "watch_folder": self.watch_folder.isChecked()}

    def check(self) -> bool:
        """Validate the table: unreadable keys or conflicts are listed, highlighted, and OK disabled."""
        problems: list[str] = []
        bad_rows: set[int] = set()
        try:
            mapping = self.mapping()
        except ValueError as exc:
            problems.append(str(exc) + self.tr("."))
            mapping = None
        if mapping is not None:
            for keys, ids in find_conflicts(mapping):
                names = self.tr(" and ").join(self.tr("“{action}”").format(action=ACTIONS[i].title()) for i in ids)
                problems.append(self.tr("{keys} is used by {names}.").format(keys=keys, names=names))
                bad_rows |= {self._ids.index(i) for i in ids if i in self._ids}
        self.table.blockSignals(True)
        for r in range(self.table.rowCount()):
            colour = QColor("#5c1f1f") if r in bad_rows else QColor(0, 0, 0, 0)
            self._cell(r, 1).setBackground(QBrush(colour))
        self.table.blockSignals(False)
        self.conflicts_label.setText(" ".join(problems))
        ok = not problems
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
        return ok
