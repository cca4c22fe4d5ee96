"""F1 cheat sheet: every action with its CURRENT shortcut(s), grouped, plus the mouse gestures."""
from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from app.services.actions import ACTIONS, FIXED_KEYS
from app.services.tr_noop import QT_TRANSLATE_NOOP

translate = QCoreApplication.translate
_C = "CheatSheet"  # translation context of the texts below (English sources, shown translated)
GROUP_TITLES = {
    "navigate": QT_TRANSLATE_NOOP("CheatSheet", "Navigation"),
    "tools": QT_TRANSLATE_NOOP("CheatSheet", "Tools"),
    "candidates": QT_TRANSLATE_NOOP("CheatSheet", "Candidates"),
    "labels": QT_TRANSLATE_NOOP("CheatSheet", "Labels"),
    "edit": QT_TRANSLATE_NOOP("CheatSheet", "Edit"),
    "file": QT_TRANSLATE_NOOP("CheatSheet", "File"),
    "view": QT_TRANSLATE_NOOP("CheatSheet", "View"),
    "tools_menu": QT_TRANSLATE_NOOP("CheatSheet", "Model and settings"),
    "help": QT_TRANSLATE_NOOP("CheatSheet", "Help"),
    "mouse": QT_TRANSLATE_NOOP("CheatSheet", "Mouse"),
}

MOUSE_HELP: tuple[tuple[str, str], ...] = (
    (QT_TRANSLATE_NOOP("CheatSheet", "Left click (point tool S)"),
     QT_TRANSLATE_NOOP("CheatSheet", "foreground point")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Right click (point tool S)"),
     QT_TRANSLATE_NOOP("CheatSheet", "background point")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Drag (box tool B)"),
     QT_TRANSLATE_NOOP("CheatSheet", "box prompt")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Left / right drag (scribble tool R)"),
     QT_TRANSLATE_NOOP("CheatSheet", "foreground / background stroke")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Space tap"),
     QT_TRANSLATE_NOOP("CheatSheet", "accept the current candidate")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Space + drag, middle drag"),
     QT_TRANSLATE_NOOP("CheatSheet", "pan")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Mouse wheel"),
     QT_TRANSLATE_NOOP("CheatSheet", "zoom around the cursor")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Click a shape (edit tool E)"),
     QT_TRANSLATE_NOOP("CheatSheet", "select it; new prompts then refine it")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Right click a shape (edit tool E)"),
     QT_TRANSLATE_NOOP("CheatSheet", "its menu: label, vertices, details, order, delete")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Drop a folder, image or .samlabel on the window"),
     QT_TRANSLATE_NOOP("CheatSheet", "open it")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Hover an image in the images list"),
     QT_TRANSLATE_NOOP("CheatSheet", "its thumbnail, size, status and annotation count")),
    (QT_TRANSLATE_NOOP("CheatSheet", "Copy images into the project folder"),
     QT_TRANSLATE_NOOP("CheatSheet", "they appear in the list (Settings: watch the image folder)")),
)


def shortcut_rows(registry: Any) -> list[tuple[str, str, str]]:
    """(group, action text, "Key1, Key2") for every action, in ACTIONS order, with the live shortcuts."""
    rows: list[tuple[str, str, str]] = []
    for action_id, spec in ACTIONS.items():
        seqs = list(registry.action(action_id).shortcuts())
        seqs += [QKeySequence.fromString(k, QKeySequence.SequenceFormat.PortableText) for k in FIXED_KEYS.get(action_id, ())]
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in seqs if not s.isEmpty())
        rows.append((spec.group, spec.title(), keys or "—"))
    return rows


def cheatsheet_html(registry: Any) -> str:
    """The cheat sheet as a small HTML document (two-column tables per group)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for group, text, keys in shortcut_rows(registry):
        groups.setdefault(group, []).append((text, keys))
    # rows are (what it does, keys): the keys column comes first in the table, as for the shortcuts
    groups["mouse"] = [(translate(_C, what), translate(_C, keys)) for keys, what in MOUSE_HELP]
    out = ["<html><body>"]
    for group, rows in groups.items():
        title = translate(_C, GROUP_TITLES[group]) if group in GROUP_TITLES else group.replace("_", " ").title()
        out.append(f"<h3>{html.escape(title)}</h3><table cellspacing='0' cellpadding='3'>")
        for text, keys in rows:
            out.append(f"<tr><td width='220'><b>{html.escape(keys)}</b></td><td>{html.escape(text)}</td></tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "".join(out)


class CheatSheetDialog(QDialog):
    """Non-modal window listing the shortcuts (F1)."""

    def __init__(self, registry: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        self.resize(560, 640)
        lay = QVBoxLayout(self)
        self.browser = QTextBrowser(self)
        self.browser.setHtml(cheatsheet_html(registry))
        lay.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)
