"""Image flags: the project's image-level flags (LabelMe's file-level ``flags``, e.g. from labelme's
``--flags``) as check boxes for one image; new names can be declared for the whole project.
`edit()` gives one undoable edit or None."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from app.core import edits
from app.core.image_edits import SetImageFlagNames, SetImageFlags
from app.core.model import ImageRecord
from app.ui.i18n import mark_data


class ImageFlagsDialog(QDialog):
    """Check boxes for ``names`` (the project's image flags) and the flags ``image`` carries."""

    def __init__(self, image: ImageRecord, names: list[str], declared: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Image flags"))
        self._image = image
        self._declared = list(declared)
        lay = QVBoxLayout(self)
        title = QLabel(image.path, self)
        mark_data(title)
        lay.addWidget(title)
        hint = QLabel(self.tr("Flags of the whole image (LabelMe “flags”). A new name is offered for every "
                              "image of the project."), self)
        hint.setObjectName("HintLabel")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.list = QListWidget(self)
        mark_data(self.list)  # the user's flag names
        for name in sorted(set(names) | set(image.flags)):
            self._add(name, bool(image.flags.get(name, False)))
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.new_name = QLineEdit(self)
        self.new_name.setPlaceholderText(self.tr("New flag name"))
        add = QPushButton(self.tr("Add flag"), self)
        row.addWidget(self.new_name, 1)
        row.addWidget(add)
        lay.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        lay.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        add.clicked.connect(self.add_typed)
        self.new_name.returnPressed.connect(self.add_typed)
        self._added: list[str] = []
        if self.list.count():
            self.list.setCurrentRow(0)

    def _add(self, name: str, on: bool) -> None:
        it = QListWidgetItem(name)
        it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        it.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.list.addItem(it)

    def add_typed(self) -> None:
        """Add the typed name (checked) and declare it for the project on OK."""
        name = self.new_name.text().strip()
        if name and not self.list.findItems(name, Qt.MatchFlag.MatchExactly):
            self._add(name, True)
            self._added.append(name)
        self.new_name.clear()

    def flags(self) -> dict[str, bool]:
        """{name: on} for every listed flag (a flag off is written false, as labelme does)."""
        return {self.list.item(k).text(): self.list.item(k).checkState() == Qt.CheckState.Checked
                for k in range(self.list.count())}

    def edit(self) -> edits.Edit | None:
        """One undoable edit: the new names declared and the image's flags (None when nothing changed)."""
        parts: list[edits.Edit] = []
        new_names = [n for n in self._added if n not in self._declared]
        if new_names:
            parts.append(SetImageFlagNames(self._declared + new_names))
        flags = self.flags()
        if flags != dict(self._image.flags) and (any(flags.values()) or bool(self._image.flags)):
            parts.append(SetImageFlags(self._image.id, flags))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else edits.CompoundEdit("Change image flags", parts)
