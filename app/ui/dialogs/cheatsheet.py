"""F1 cheat sheet: every action with its CURRENT shortcut(s), grouped, plus the mouse gestures."""
from __future__ import annotations

import html
from typing import Any

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from app.services.actions import ACTIONS

GROUP_TITLES = {"navigate": "Navigation", "tools": "Tools", "candidates": "Candidates", "labels": "Labels",
                "edit": "Edit", "file": "File", "view": "View", "tools_menu": "Model and settings",
                "help": "Help", "mouse": "Mouse"}

MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("Left click (point tool S)", "foreground point"),
    ("Right click (point tool S)", "background point"),
    ("Drag (box tool B)", "box prompt"),
    ("Left / right drag (scribble tool R)", "foreground / background stroke"),
    ("Space tap", "accept the current candidate"),
    ("Space + drag, middle drag", "pan"),
    ("Mouse wheel", "zoom around the cursor"),
    ("Click a shape (edit tool E)", "select it; new prompts then refine it"),
)


def shortcut_rows(registry: Any) -> list[tuple[str, str, str]]:
    """(group, action text, "Key1, Key2") for every action, in ACTIONS order, with the live shortcuts."""
    rows: list[tuple[str, str, str]] = []
    for action_id, spec in ACTIONS.items():
        seqs = registry.action(action_id).shortcuts()
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in seqs if not s.isEmpty())
        rows.append((spec.group, spec.text, keys or "—"))
    return rows


def cheatsheet_html(registry: Any) -> str:
    """The cheat sheet as a small HTML document (two-column tables per group)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for group, text, keys in shortcut_rows(registry):
        groups.setdefault(group, []).append((text, keys))
    groups["mouse"] = list(MOUSE_HELP)
    out = ["<html><body>"]
    for group, rows in groups.items():
        title = GROUP_TITLES.get(group, group.replace("_", " ").title())
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
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 640)
        lay = QVBoxLayout(self)
        self.browser = QTextBrowser(self)
        self.browser.setHtml(cheatsheet_html(registry))
        lay.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)
