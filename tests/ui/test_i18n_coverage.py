"""Every user-visible string of the window, menus, actions, docks, dialogs and status messages is
translated in zh_CN: found by walking the real widgets of a labeling session (not a hand list).

When this fails after a UI change: mark the new string (`self.tr(...)` / `translate(ctx, ...)`, see
app/ui/i18n.py), run `python tools/i18n.py update`, translate the new entries of
resources/translations/sam_labeler_zh_CN.ts, then `python tools/i18n.py all`. A widget that shows data
(file names, ids) rather than sentences is marked with app.ui.i18n.mark_data instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from PySide6.QtCore import QTimer, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QApplication, QDialog, QLabel, QMenu, QWidget

from app.ui import i18n
from tests.ui.i18n_support import close_dialog, english_words, untranslated, widget_texts
from tests.ui.window_support import RecordingPredictor, click_image, key, make_images, open_window, wait_candidates

OPENED_BY_THE_WINDOW = {"SettingsDialog", "ExportDialog", "ImportDialog", "ModelManagerDialog", "CheatSheetDialog",
                        "QMessageBox", "QFileDialog", "QInputDialog"}


@pytest.fixture
def zh_cn() -> Iterator[list[str]]:
    """The application in Simplified Chinese (ours and Qt's catalogues); English again afterwards."""
    app = QApplication.instance()
    loaded = i18n.install_translators(app, "zh_CN")
    try:
        yield loaded
    finally:
        i18n.install_translators(app, "en")


class DialogCatcher:
    """Walks and cancels every dialog that appears (modal ones too: it polls from their event loop)."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.kinds: set[str] = set()
        self._done: list[QDialog] = []  # held, so that a later dialog cannot reuse a closed one's id
        self._timer = QTimer()
        self._timer.setInterval(20)
        self._timer.timeout.connect(self.sweep)
        self._timer.start()

    def sweep(self) -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QDialog) and w.isVisible() and not any(w is d for d in self._done):
                self._done.append(w)
                self.kinds.add(type(w).__name__)
                self.texts += list(widget_texts(w))
                close_dialog(w)

    def stop(self) -> None:
        self._timer.stop()


def _menu_actions(actions: list[QAction]) -> Iterator[QAction]:
    for a in actions:
        menu = a.menu()
        if isinstance(menu, QMenu):
            if menu.property(i18n.DATA_PROPERTY) is not True:
                yield from _menu_actions(menu.actions())
        elif not a.isSeparator():
            yield a


def test_the_whole_ui_is_translated_in_zh_cn(qtbot, tmp_path: Path, zh_cn: list[str]) -> None:
    assert [Path(f).name for f in zh_cn] == ["sam_labeler_zh_CN.qm", "qt_extra_zh_CN.qm", "qtbase_zh_CN.qm"]
    win = open_window(qtbot, make_images(tmp_path / "照片", n=3), RecordingPredictor(radius=10))
    catcher = DialogCatcher()
    try:
        click_image(win, 80, 60)  # candidates (strip captions) and an accepted annotation (annotation list)
        wait_candidates(qtbot, win)
        key(win, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: win.annotations_dock.list.count() == 1, timeout=5000)
        texts = list(widget_texts(win))
        actions = {id(a): a for a in [*win.actions(), *_menu_actions(win.menuBar().actions())]}
        triggered = 0
        for action in actions.values():
            if action is win.registry.action("quit"):
                continue
            action.trigger()  # a dialog it opens is walked and cancelled by the catcher
            qtbot.wait(30)
            catcher.sweep()
            triggered += 1
        for dock in (win.images_dock, win.labels_dock, win.annotations_dock, win.banner):
            for button in dock.findChildren(QAbstractButton):
                if button.isEnabled() and button.text():  # (the View menu's toggles may have hidden the docks)
                    button.click()
                    qtbot.wait(30)
                    catcher.sweep()
        texts += catcher.texts
        texts += [("status message", m) for m in win.status.history]
        texts += list(widget_texts(win))
    finally:
        catcher.stop()
        win.close()
    assert triggered >= 30 and len(win.status.history) >= 10
    assert OPENED_BY_THE_WINDOW <= catcher.kinds, catcher.kinds  # the walk reached every dialog
    problems = untranslated(texts)
    assert problems == [], ("untranslated in zh_CN (mark the string, then `python tools/i18n.py update`, "
                            "translate, `python tools/i18n.py all`):\n" + "\n".join(problems))


def test_the_walk_finds_an_unmarked_string(qtbot, zh_cn: list[str]) -> None:
    """The checker itself: an English label, tooltip or combo item is reported; data-marked widgets are not."""
    root = QWidget()
    qtbot.addWidget(root)
    QLabel("Hello world", root)
    translated = QLabel(QApplication.translate("Actions", "Undo"), root)
    translated.setToolTip("Shows the undo history")
    data = QLabel("image_001.png", root)
    i18n.mark_data(data)
    problems = untranslated(widget_texts(root))
    assert any("'Hello world'" in p for p in problems)
    assert any("'Shows the undo history'" in p for p in problems)
    assert not any("image_001" in p for p in problems)
    assert english_words("撤销 Ctrl+Z") == [] and english_words("x 12  y 40") == []
    assert english_words("SAM Labeler") == [] and english_words("Open &project") == ["Open", "project"]
