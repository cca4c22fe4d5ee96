"""Finding untranslated user-visible strings by walking real widgets (used by test_i18n_coverage.py).

A string shown in a non-English UI counts as translated when it contains a CJK character (the test
language is zh_CN) or has no English word at all; an "English word" is a run of two or more ASCII
letters that is not one of the technical names left as they are in every language (ALLOWED_WORDS).
Widgets showing data (file names, ids, key sequences) are skipped when marked with
app.ui.i18n.mark_data (whole widget, or some columns of an item view; headers are always checked).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from PySide6.QtCore import QAbstractItemModel, QAbstractListModel, QModelIndex, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QComboBox, QDialog, QDockWidget, QFileDialog,
                               QGroupBox, QHeaderView, QLabel, QLineEdit, QMainWindow, QMenu, QPlainTextEdit,
                               QTabWidget,
                               QTextEdit, QWidget)

from app.ui.i18n import DATA_PROPERTY

# names that stay as they are in every language (product, formats, units, key names)
ALLOWED_WORDS = frozenset({"SAM", "Labeler", "samlabel", "COCO", "LabelMe", "JSON", "RLE", "IoU", "MB", "GB",
                           "Tab", "Shift", "Ctrl", "Alt", "Esc", "Del", "Segment", "Anything"})
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_WORD = re.compile(r"[A-Za-z]{2,}")
_TAG = re.compile(r"<[^>]+>")
MAX_ROWS = 200


def english_words(text: str) -> list[str]:
    """The English words of `text` that make it look untranslated ([] when it is translated or wordless)."""
    plain = _TAG.sub(" ", text).replace("&&", "").replace("&", "")
    if _CJK.search(plain):
        return []
    return [w for w in _WORD.findall(plain) if w not in ALLOWED_WORDS]


def _data_setting(widget: QWidget) -> object:
    value = widget.property(DATA_PROPERTY)
    return value if value is not None else None


def _is_data(widget: QWidget, root: QWidget) -> bool:
    w: QWidget | None = widget
    while w is not None:
        if _data_setting(w) is True:
            return True
        if w is root:
            return False
        w = w.parentWidget()
    return False


def _model_texts(model: QAbstractItemModel, skip_columns: set[int], where: str) -> Iterator[tuple[str, str]]:
    root = QModelIndex()
    columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount(root)  # private in lists
    if columns > 1:  # a list has no header
        for c in range(columns):
            yield f"{where} header {c}", str(model.headerData(c, Qt.Orientation.Horizontal) or "")
    for r in range(min(model.rowCount(root), MAX_ROWS)):
        for c in range(columns):
            if c in skip_columns:
                continue
            idx = model.index(r, c)
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = model.data(idx, role)
                if isinstance(value, str):
                    yield f"{where} row {r} col {c}", value


def _action_texts(action: QAction, where: str) -> Iterator[tuple[str, str]]:
    if action.isSeparator():
        return
    yield f"{where} > {action.text()!r}", action.text()
    if action.toolTip() != action.text().replace("&", ""):
        yield f"{where} > {action.text()!r} tooltip", action.toolTip()
    menu = action.menu()
    if isinstance(menu, QMenu) and menu.property(DATA_PROPERTY) is not True:
        for sub in menu.actions():
            yield from _action_texts(sub, f"{where} > {action.text()!r}")


def widget_texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) of every user-visible string of `root` and its children (menus, actions, labels,
    buttons, combo items, item views, text views, tooltips, window titles)."""
    name = root.objectName() or type(root).__name__
    yield f"{name} title", root.windowTitle()
    if isinstance(root, QMainWindow):
        for action in root.menuBar().actions():
            yield from _action_texts(action, f"{name} menu")
        for action in root.actions():
            yield from _action_texts(action, f"{name} action")
    for w in [root, *root.findChildren(QWidget)]:
        if w.window() is not root or _is_data(w, root) or isinstance(w, QHeaderView):
            continue  # another window (a dialog: walked on its own), data, headers (checked with their view)
        where = f"{name}/{w.objectName() or type(w).__name__}"
        if isinstance(root, QFileDialog) and isinstance(w, (QAbstractItemView, QComboBox, QLineEdit)):
            continue  # Qt's own file dialog: its views and path boxes show the file system
        if w.toolTip():
            yield f"{where} tooltip", w.toolTip()
        if isinstance(w, QDockWidget):
            yield f"{where} title", w.windowTitle()
        if isinstance(w, QLabel):
            yield where, w.text()
        elif isinstance(w, QAbstractButton):
            yield where, w.text()
        elif isinstance(w, QComboBox):
            for i in range(w.count()):
                yield f"{where} item {i}", w.itemText(i)
        elif isinstance(w, QGroupBox):
            yield where, w.title()
        elif isinstance(w, QTabWidget):
            for i in range(w.count()):
                yield f"{where} tab {i}", w.tabText(i)
        elif isinstance(w, QLineEdit):
            yield f"{where} placeholder", w.placeholderText()
        elif isinstance(w, (QPlainTextEdit, QTextEdit)):
            yield f"{where} placeholder", w.placeholderText()
            for k, line in enumerate(w.toPlainText().splitlines()):
                yield f"{where} line {k}", line
        elif isinstance(w, QMenu):
            for action in w.actions():
                yield from _action_texts(action, where)
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            setting = _data_setting(w)
            skip = set(setting) if isinstance(setting, list) else set()
            yield from _model_texts(w.model(), skip, where)


def untranslated(pairs: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> list[str]:
    """"where: 'text' (words)" for every pair whose text looks untranslated."""
    out = []
    for where, text in pairs:
        words = english_words(text or "")
        if words:
            out.append(f"{where}: {text!r} ({', '.join(words)})")
    return out


def close_dialog(w: QWidget) -> None:
    """Close a dialog the way Cancel would."""
    if isinstance(w, QDialog):
        w.reject()
    else:
        w.close()
