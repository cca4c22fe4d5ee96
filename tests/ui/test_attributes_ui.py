"""Issue 13: flags and attributes per label class (schema editor, Details dialog widgets, defaults),
image flags, and two display defects (dark theme check boxes, annotations hidden with their label)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QLineEdit

from app.core import attributes as at
from app.core.model import Annotation, LabelClass, Part
from app.services.actions import cheatsheet_rows
from app.ui.dialogs.annotation_details import AnnotationDetailsDialog
from app.ui.dialogs.attribute_schema import DEFAULT, KIND, NAME, OPTIONS, AttributeSchemaDialog
from app.ui.dialogs.image_flags import ImageFlagsDialog
from app.ui.docks.labels_dock import LabelsDock
from app.ui.theme import apply_theme
from tests.ui.window_support import RecordingPredictor, click_image, key, make_images, open_window, wait_candidates

SCHEMA = (at.spec("occluded", "flag", True), at.spec("note", "text", "n/a"),
          at.spec("count", "number", 2), at.spec("colour", "choice", "red", ("red", "blue")))
SQUARE = (Part(((1.0, 1.0), (8.0, 1.0), (8.0, 8.0), (1.0, 8.0))),)


def _accept_at(qtbot, win, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    click_image(win, x, y)
    wait_candidates(qtbot, win)
    key(win, Qt.Key.Key_Return)
    key(win, Qt.Key.Key_Escape)
    win.controller.flush()


# ------------------------------------------------------------------ display defects

def test_an_unchecked_label_box_is_visible_in_the_dark_theme(qtbot, qapp) -> None:  # type: ignore[no-untyped-def]
    apply_theme(qapp, "dark")
    dock = LabelsDock()
    qtbot.addWidget(dock)
    dock.resize(300, 200)
    dock.set_classes([LabelClass(1, "cat", "#e6194b", 0), LabelClass(2, "dog", "#3cb44b", 1)], None)
    dock.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    dock.show()
    qtbot.waitExposed(dock)
    img = dock.list.viewport().grab().toImage()
    row = dock.list.visualItemRect(dock.list.item(0))
    icon_x = dock.list.visualItemRect(dock.list.item(0)).left() + 20  # the indicator comes before the swatch
    base = QColor("#1e1f22").lightness()
    contrast = max(abs(img.pixelColor(x, y).lightness() - base)
                   for x in range(row.left(), icon_x) for y in range(row.top(), row.bottom() + 1))
    assert contrast >= 60, f"the unchecked box differs from the background by {contrast} only"


def test_annotations_hidden_with_their_label_show_as_hidden(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), RecordingPredictor(radius=6))
    win.labels_dock.addRequested.emit("cat", "")
    win.labels_dock.addRequested.emit("dog", "")
    cat, dog = win.project.label_classes()
    key(win, Qt.Key.Key_1)
    _accept_at(qtbot, win, 30, 30)
    _accept_at(qtbot, win, 120, 30)
    key(win, Qt.Key.Key_2)
    _accept_at(qtbot, win, 30, 90)
    anns = {a.id: a.label_id for a in win.controller.annotations()}
    lst = win.annotations_dock.list
    rows = {lst.item(k).data(Qt.ItemDataRole.UserRole): lst.item(k) for k in range(lst.count())}
    own_hidden = next(i for i, lab in anns.items() if lab == cat.id)
    win.annotations_dock.set_visible(own_hidden, False)  # hidden by itself first

    def checked() -> dict[int, bool]:
        return {i: it.checkState() == Qt.CheckState.Checked for i, it in rows.items()}

    win.labels_dock.set_label_visible(cat.id, False)
    rows = {lst.item(k).data(Qt.ItemDataRole.UserRole): lst.item(k) for k in range(lst.count())}
    assert checked() == {i: lab == dog.id for i, lab in anns.items()}
    cat_rows = [it for i, it in rows.items() if anns[i] == cat.id]
    assert all(not it.flags() & Qt.ItemFlag.ItemIsUserCheckable for it in cat_rows)
    win.labels_dock.set_label_visible(cat.id, True)  # each comes back with its own state
    rows = {lst.item(k).data(Qt.ItemDataRole.UserRole): lst.item(k) for k in range(lst.count())}
    assert checked() == {i: i != own_hidden for i in anns}
    assert all(it.flags() & Qt.ItemFlag.ItemIsUserCheckable for it in rows.values())
    hidden_items = {i for i, it in win.canvas._layer.items.items() if not it.isVisible()}
    assert hidden_items == {own_hidden}
    win.close()


# ------------------------------------------------------------------ schema editor

def test_schema_editor_builds_a_valid_undoable_schema(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), RecordingPredictor(radius=6))
    win.labels_dock.addRequested.emit("car", "")
    car = win.project.label_classes()[0]
    seen: list[str] = []

    def answer(dlg: AttributeSchemaDialog) -> int:  # what a person does in the dialog
        r = dlg.add_row(at.spec("occluded", "flag"))
        dlg.table.cellWidget(r, DEFAULT).setChecked(True)
        r = dlg.add_row(at.spec("colour", "flag"))
        dlg.table.cellWidget(r, KIND).setCurrentIndex(at.KINDS.index("choice"))  # the default becomes a choice
        options = dlg.table.cellWidget(r, OPTIONS)
        assert options.isEnabled()
        options.setText("red, blue")
        options.editingFinished.emit()
        default = dlg.table.cellWidget(r, DEFAULT)
        assert isinstance(default, QComboBox) and [default.itemData(k) for k in range(3)] == ["", "red", "blue"]
        default.setCurrentIndex(2)
        r = dlg.add_row(at.spec("count", "number", 1.5))
        assert isinstance(dlg.table.cellWidget(r, DEFAULT), QDoubleSpinBox)
        dlg.table.setCurrentCell(r, NAME)
        dlg.move_current(-1)
        assert [s.name for s in dlg.schema()] == ["occluded", "count", "colour"]
        dlg.table.cellWidget(0, NAME).setText("count")  # a repeated name is refused with its reason
        dlg.accept()
        seen.append(dlg.problem.text())
        dlg.table.cellWidget(0, NAME).setText("occluded")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(AttributeSchemaDialog, "exec", answer)
    menu = win.labels_dock.context_menu(0)
    next(a for a in menu.actions() if a.text() == "Flags and attributes…").trigger()
    assert "used twice" in seen[0]
    got = win.project.label_class(car.id).attributes
    assert got == (at.spec("occluded", "flag", True), at.spec("count", "number", 1.5),
                   at.spec("colour", "choice", "blue", ("red", "blue")))
    key(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.project.label_class(car.id).attributes == ()
    monkeypatch.setattr(AttributeSchemaDialog, "exec", lambda dlg: (seen.append(dlg.windowTitle()), 0)[1])
    key(win, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert seen[-1] == "Flags and attributes of “car”"  # the key opens it for the current label
    assert win.registry.action("label_attributes") in win.tools_menu.actions()
    win.close()


# ------------------------------------------------------------------ details dialog and defaults

def test_new_annotations_get_defaults_and_details_show_schema_widgets(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=1), RecordingPredictor(radius=6))
    win.labels_dock.addRequested.emit("car", "")
    win.labels_dock.addRequested.emit("bus", "")
    car, bus = win.project.label_classes()
    from app.core import edits

    win.undo.push(edits.SetLabelAttributes(car.id, SCHEMA))
    key(win, Qt.Key.Key_1)
    _accept_at(qtbot, win, 40, 40)
    ann = win.controller.annotations()[0]
    assert ann.flags == {"occluded": True} and ann.attributes == {"note": "n/a", "count": 2, "colour": "red"}
    win.project.update_annotation(ann.with_(attributes={**ann.attributes, "imported": {"k": [1, 2]}}))
    win.undo.projectChanged.emit(None)
    ann = win.project.annotation(ann.id)
    dlg = AnnotationDetailsDialog(ann, [], win, win.project.label_class(car.id).attributes)
    qtbot.addWidget(dlg)
    w = dlg.schema_widgets
    assert isinstance(w["occluded"], QCheckBox) and w["occluded"].isChecked()
    assert isinstance(w["note"], QLineEdit) and w["note"].text() == "n/a"
    assert isinstance(w["count"], QDoubleSpinBox) and w["count"].value() == 2
    assert isinstance(w["colour"], QComboBox) and w["colour"].currentData() == "red"
    assert set(dlg.other_attributes) == {"imported"}  # what the schema does not name is shown, kept
    w["occluded"].setChecked(False)
    w["note"].setText("behind a tree")
    w["count"].setValue(5)
    w["colour"].setCurrentIndex(w["colour"].findData("blue"))
    dlg.group.setValue(3)
    edit = dlg.edit()
    assert edit is not None
    win.undo.push(edit)
    after = win.project.annotation(ann.id)
    assert after.group_id == 3 and after.flags == {"occluded": False}
    assert after.attributes == {"note": "behind a tree", "count": 5, "colour": "blue", "imported": {"k": [1, 2]}}
    key(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step for all of it
    assert win.project.annotation(ann.id) == ann
    bad = AnnotationDetailsDialog(ann, [], win, SCHEMA)
    qtbot.addWidget(bad)
    bad.other_attributes["imported"].setText("{not json")
    bad.accept()
    assert bad.result() != QDialog.DialogCode.Accepted and "imported" in bad.problem.text()
    win.undo.push(edits.Relabel(ann.id, bus.id))  # another label: the values stay
    assert win.project.annotation(ann.id).attributes == ann.attributes
    win.close()


def test_details_keep_values_the_schema_widgets_cannot_show(qtbot) -> None:  # type: ignore[no-untyped-def]
    ann = Annotation(1, 1, SQUARE, id=5, attributes={"count": "many", "colour": "green", "note": "x"})
    dlg = AnnotationDetailsDialog(ann, [], None, SCHEMA)
    qtbot.addWidget(dlg)
    assert "count" in dlg.other_attributes and "count" not in dlg.schema_widgets  # text in a number attribute
    assert dlg.schema_widgets["colour"].currentData() == "green"  # a value no longer among the options
    values = dlg.attribute_values()
    assert values["count"] == "many" and values["colour"] == "green" and values["note"] == "x"


# ------------------------------------------------------------------ image flags

def test_image_flags_by_key_menu_and_list_menu(qtbot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, make_images(tmp_path / "imgs", n=2), RecordingPredictor(radius=6))
    image = win.controller.image

    def answer(self: ImageFlagsDialog) -> int:
        self.new_name.setText("blurry")
        self.add_typed()
        self.new_name.setText("night")
        self.add_typed()
        self.list.findItems("night", Qt.MatchFlag.MatchExactly)[0].setCheckState(Qt.CheckState.Unchecked)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ImageFlagsDialog, "exec", answer)
    key(win, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.project.image(image.id).flags == {"blurry": True, "night": False}
    assert win.project.declared_image_flags() == ["blurry", "night"]
    key(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step: flags and names
    assert win.project.image(image.id).flags == {} and win.project.declared_image_flags() == []
    key(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    other = win.images_dock.model.record(1)
    dlg = win.attribute_features.flags_dialog(other)  # the second image is offered the project's names
    qtbot.addWidget(dlg)
    assert [dlg.list.item(k).text() for k in range(dlg.list.count())] == ["blurry", "night"]
    assert all(dlg.list.item(k).checkState() == Qt.CheckState.Unchecked for k in range(dlg.list.count()))
    assert dlg.edit() is None  # nothing checked on an image without flags: nothing written
    menu = win.attribute_features.image_row_menu(1)
    assert [a.text() for a in menu.actions()] == ["Open this image", "Image flags…"]
    assert win.registry.action("image_flags") in win.image_menu.actions()
    from app.ui.dialogs.settings_dialog import SettingsDialog

    settings = SettingsDialog(win.registry, win.settings, win)  # Settings lists (and remaps) the new keys
    qtbot.addWidget(settings)
    shown = {settings.table.item(r, 0).text(): settings.table.item(r, 1).text() for r in range(settings.table.rowCount())}
    assert shown["Image flags…"] == "Ctrl+Shift+I"
    assert shown["Flags and attributes of the label class…"] == "Ctrl+Shift+A"
    win.close()


def test_f1_lists_the_new_keys() -> None:
    rows = {text: keys for _group, text, keys in cheatsheet_rows()}
    assert rows["Image flags…"] == "Ctrl+Shift+I"
    assert rows["Flags and attributes of the label class…"] == "Ctrl+Shift+A"
