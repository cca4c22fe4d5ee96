"""Languages: the choice (--lang, setting, system), the translation files (complete, compiled, in sync with
the sources) and no unmarked literal in the calls that put text on screen.

The workflow these tests protect is in tools/i18n.py (update -> translate -> `python tools/i18n.py all`).
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QTranslator
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.ui import i18n
from tests.ui.i18n_support import english_words

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "resources" / "translations"
sys.path.insert(0, str(ROOT / "tools"))
import i18n as i18n_tool  # noqa: E402  (tools/i18n.py, the translation workflow)


def _messages(ts: Path) -> list[tuple[str, str, str | None, str | None]]:
    """(context, source, translation, type) of every message of a .ts."""
    out = []
    for ctx in ET.parse(ts).getroot().iter("context"):
        for msg in ctx.iter("message"):
            tr = msg.find("translation")
            out.append((ctx.findtext("name", ""), msg.findtext("source", ""),
                        None if tr is None else (tr.text or ""), None if tr is None else tr.get("type")))
    return out


def test_language_codes_and_the_order_of_the_choice() -> None:
    assert [i18n.normalize(c) for c in ("zh_CN.UTF-8", "zh-CN", "zh-Hans-CN", "zh", "en_GB", "en-US")] == \
        ["zh_CN", "zh_CN", "zh_CN", "zh_CN", "en", "en"]
    assert [i18n.normalize(c) for c in ("zh_TW", "zh-Hant", "zh_HK", "fr_FR", "C", "", None)] == [None] * 7
    assert i18n.system_language(["zh-Hant-TW", "zh-CN", "en"]) == "zh_CN"
    assert i18n.system_language(["fr-FR", "de"]) == "en"  # no translation: the source language
    assert i18n.choose_language("zh_CN", "en", ["en-US"]) == "zh_CN"  # --lang first
    assert i18n.choose_language(None, "zh_CN", ["en-US"]) == "zh_CN"  # then the setting
    assert i18n.choose_language(None, "", ["zh-CN"]) == "zh_CN"  # then the system
    assert i18n.choose_language("system", "en", ["zh-CN"]) == "zh_CN"
    assert i18n.choose_language(None, "xx", ["en"]) == "en"  # a broken setting is ignored
    with pytest.raises(ValueError, match="available: en, zh_CN"):
        i18n.choose_language("klingon", "", ["en"])


def test_an_unknown_lang_is_one_line_and_no_window(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "app", "--lang", "xx"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen",
                                            "SAM_LABELER_HOME": str(tmp_path), "HOME": str(tmp_path)})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["sam-labeler: error: --lang: unknown language 'xx' "
                                                "(available: en, zh_CN, or 'system')"]


def test_switching_language_at_run_time_and_back(qapp) -> None:  # noqa: ARG001
    app = QApplication.instance()
    try:
        assert len(i18n.install_translators(app, "zh_CN")) == 3
        assert QApplication.translate("Actions", "Undo") == "撤销"
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)  # Qt's own strings too
        assert box.button(QDialogButtonBox.StandardButton.Cancel).text() == "取消"
        assert i18n.current_language() == "zh_CN"
    finally:
        assert i18n.install_translators(app, "en") == []
    assert QApplication.translate("Actions", "Undo") == "Undo" and i18n.current_language() == "en"


@pytest.mark.parametrize("ts", sorted(TRANSLATIONS.glob("*.ts")), ids=lambda p: p.name)
def test_every_translation_is_finished_keeps_its_placeholders_and_is_compiled(ts: Path) -> None:
    messages = _messages(ts)
    assert messages
    unfinished = [(c, s) for c, s, t, kind in messages if not t or kind is not None]
    assert unfinished == [], f"untranslated in {ts.name}; translate them, then `python tools/i18n.py all`"
    qm = QTranslator()
    assert qm.load(str(ts.with_suffix(".qm"))), f"{ts.with_suffix('.qm').name} missing: `python tools/i18n.py release`"
    for context, source, translation, _ in messages:
        assert set(re.findall(r"\{\w*\}", translation or "")) == set(re.findall(r"\{\w*\}", source)), (context, source)
        assert qm.translate(context, source) == translation, \
            f"{ts.with_suffix('.qm').name} is stale ({context}: {source!r}): run `python tools/i18n.py release`"


def test_the_catalogue_lists_every_marked_string_of_the_sources(tmp_path: Path) -> None:
    """lupdate over today's sources finds nothing the committed .ts lacks (run `python tools/i18n.py update`)."""
    committed = TRANSLATIONS / "sam_labeler_zh_CN.ts"
    fresh = tmp_path / committed.name
    fresh.write_bytes(committed.read_bytes())
    i18n_tool.update([fresh])
    now = {(c, s) for c, s, _, _ in _messages(fresh)}
    before = {(c, s) for c, s, _, _ in _messages(committed)}
    assert now - before == set(), "strings marked in the sources but not in the .ts: `python tools/i18n.py update`"
    assert before - now == set(), "strings in the .ts no longer in the sources: `python tools/i18n.py update`"
    assert len(now) > 250


# calls that put their string arguments on screen
_TEXT_METHODS = {"setText", "setToolTip", "setWindowTitle", "setPlaceholderText", "setStatusTip", "setTitle",
                 "setLabelText", "setSuffix", "setPrefix", "setFormat", "addMenu", "addAction", "addItem",
                 "addItems", "addRow", "setHorizontalHeaderLabels", "show_message", "set_saved", "set_text",
                 "setPlainText", "setHtml", "addToolBar"}
_TEXT_CLASSES = {"QAction", "QLabel", "QPushButton", "QToolButton", "QCheckBox", "QRadioButton", "QGroupBox",
                 "QMenu", "QProgressDialog", "QDockWidget", "QListWidgetItem", "QTableWidgetItem"}
_DIALOG_CLASSES = {"QMessageBox", "QInputDialog", "QFileDialog", "QColorDialog"}
_SIGNALS = {"message", "failed"}


def _literal_words(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return english_words(node.value)
    if isinstance(node, ast.JoinedStr):
        return english_words(" ".join(v.value for v in node.values
                                      if isinstance(v, ast.Constant) and isinstance(v.value, str)))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [w for elt in node.elts for w in _literal_words(elt)]
    return []


_FIRST_ARG_ONLY = {"addItem", "addRow", "addAction"}  # (text, data / widget / slot)


def _shown_args(call: ast.Call) -> list[ast.AST]:
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr in _FIRST_ARG_ONLY:
        return list(call.args[:1])
    return [*call.args, *(k.value for k in call.keywords)]


def _shows_text(call: ast.Call) -> bool:
    f = call.func
    if isinstance(f, ast.Name):
        return f.id in _TEXT_CLASSES
    if isinstance(f, ast.Attribute):
        if f.attr in _TEXT_METHODS:
            return True
        if f.attr == "emit" and isinstance(f.value, ast.Attribute) and f.value.attr in _SIGNALS:
            return True
        if isinstance(f.value, ast.Name) and f.value.id in _DIALOG_CLASSES:
            return True
        if f.attr == "__init__" and isinstance(f.value, ast.Call) and getattr(f.value.func, "id", "") == "super":
            return True
    return False


def unmarked_literals(paths: list[Path]) -> list[tuple[Path, int, str]]:
    """(file, line, source text) of every English string literal passed straight to a call that shows it."""
    out = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _shows_text(node):
                for arg in _shown_args(node):
                    if _literal_words(arg):
                        out.append((path, node.lineno, ast.unparse(arg)))
    return sorted(out)


def test_no_unmarked_literal_reaches_the_screen() -> None:
    files = sorted((ROOT / "app" / "ui").rglob("*.py")) + sorted((ROOT / "app" / "services").rglob("*.py"))
    problems = [f"{p.relative_to(ROOT)}:{line}: {text}" for p, line, text in unmarked_literals(files)]
    assert problems == [], "wrap these in self.tr()/translate() (app/ui/i18n.py):\n" + "\n".join(problems)


def test_the_literal_check_catches_what_it_should(tmp_path: Path) -> None:
    src = tmp_path / "bad.py"
    src.write_text('label.setText("Hello there")\nself.message.emit(f"Opened {n} images")\n'
                   'QMessageBox.question(self, "Delete?", text)\nlabel.setText(self.tr("Fine"))\n'
                   'label.setObjectName("StatusField")\nlabel.setText(f"x {x}  y {y}")\n'
                   'QAction("Quit", self)\n', encoding="utf-8")
    assert [(line, text) for _, line, text in unmarked_literals([src])] == [
        (1, "'Hello there'"), (2, "f'Opened {n} images'"), (3, "'Delete?'"), (7, "'Quit'")]
