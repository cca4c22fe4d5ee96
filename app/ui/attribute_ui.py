"""Flags and attributes (issue 13), wired into the main window by one call:

* the flag/attribute schema of a label class (app.ui.dialogs.attribute_schema): labels dock row menu
  "Flags and attributes…", key (action ``label_attributes``), Tools menu;
* image flags (app.ui.dialogs.image_flags): key (action ``image_flags``), Image menu, images list
  row menu;
* the annotations list shows the annotations hidden with their label class as hidden.

Every change is an undoable edit pushed on the window's undo stack.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QPoint
from PySide6.QtWidgets import QDialog, QMenu

from app.core import edits
from app.core.model import ImageRecord
from app.ui.dialogs.attribute_schema import AttributeSchemaDialog, focus_first
from app.ui.dialogs.image_flags import ImageFlagsDialog

translate = QCoreApplication.translate


class AttributeFeatures(QObject):
    """Opens the schema and image flags dialogs and pushes their edits."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        act = window.registry.action
        act("label_attributes").triggered.connect(lambda _c=False: self.edit_schema(None))
        act("image_flags").triggered.connect(lambda _c=False: self.edit_image_flags(None))
        window.labels_dock.attributesRequested.connect(self.edit_schema)
        window.images_dock.rowMenuRequested.connect(self._image_row_menu)
        window.labels_dock.hiddenLabelsChanged.connect(window.annotations_dock.set_hidden_labels)
        image_menu = getattr(window, "image_menu", None)
        if image_menu is not None:
            image_menu.addSeparator()
            image_menu.addAction(act("image_flags"))
        tools_menu = getattr(window, "tools_menu", None)
        if tools_menu is not None:
            tools_menu.addAction(act("label_attributes"))

    def _push(self, edit: edits.Edit) -> bool:
        project = self.window.project
        if project is None or project.read_only:
            self.window.status.show_message(translate("AttributeFeatures", "The project is open read-only."))
            return False
        self.window.controller.after_accepts(lambda: self.window.undo.push(edit))
        return True

    # ------------------------------------------------------------------ label class schema
    def schema_dialog(self, label_id: int | None) -> AttributeSchemaDialog | None:
        """The schema dialog of a class (None: the current label), built, not shown; None without one."""
        project = self.window.project
        if project is None:
            return None
        if label_id is None:
            current = self.window.labels_dock.current_class()
            label_id = current.id if current is not None else self.window.controller.label_id
        lc = next((c for c in project.label_classes() if c.id == label_id), None)
        if lc is None:
            self.window.status.show_message(translate("AttributeFeatures", "Choose a label class first (keys 1–9)."))
            return None
        dialog = AttributeSchemaDialog(lc, self.window)
        focus_first(dialog)
        return dialog

    def edit_schema(self, label_id: int | None) -> None:
        """Edit the flags and attributes of a label class (one undoable edit)."""
        dialog = self.schema_dialog(label_id)
        if dialog is not None and dialog.exec() == QDialog.DialogCode.Accepted:
            edit = dialog.edit()
            if edit is not None:
                self._push(edit)

    # ------------------------------------------------------------------ image flags
    def flags_dialog(self, image: ImageRecord | None) -> ImageFlagsDialog | None:
        """The image flags dialog of ``image`` (None: the current image), built, not shown."""
        project = self.window.project
        image = image if image is not None else self.window.controller.image
        if project is None or image is None:
            self.window.status.show_message(translate("AttributeFeatures", "Open an image first."))
            return None
        fresh = project.image(image.id)
        return ImageFlagsDialog(fresh, project.image_flag_names(), project.declared_image_flags(), self.window)

    def edit_image_flags(self, image: ImageRecord | None) -> None:
        """Edit the flags of an image (one undoable edit)."""
        dialog = self.flags_dialog(image)
        if dialog is not None and dialog.exec() == QDialog.DialogCode.Accepted:
            edit = dialog.edit()
            if edit is not None:
                self._push(edit)

    def image_row_menu(self, row: int) -> QMenu | None:
        """The images list menu of a row (built, not shown)."""
        rec = self.window.images_dock.model.record(row)
        if rec is None:
            return None
        menu = QMenu(self.window)
        menu.addAction(translate("AttributeFeatures", "Open this image"), lambda: self.window.images_dock.imageActivated.emit(row))
        menu.addAction(translate("AttributeFeatures", "Image flags…"), lambda: self.edit_image_flags(rec))
        return menu

    def _image_row_menu(self, row: int, pos: QPoint) -> None:
        menu = self.image_row_menu(row)
        if menu is not None:
            menu.exec(pos)


def install_attribute_features(window: Any) -> AttributeFeatures:
    """Create and wire the flags and attributes features (called once by the main window)."""
    return AttributeFeatures(window)
