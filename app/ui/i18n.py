"""Languages of the user interface: which one to use, and the Qt translators that provide it.

The source strings are English; other languages are Qt translation files built from
`resources/translations/sam_labeler_<lang>.ts` (see `tools/i18n.py` for the one-command workflow).
Qt's own dialogs and buttons (file dialogs, OK/Cancel, Yes/No) come from Qt's `qtbase_<lang>.qm`,
which PySide6 ships.

Choice, first that applies: `--lang` on the command line, the Settings choice (`settings.language`,
"" = follow the system), the system locale (LANGUAGE / LC_ALL / LC_MESSAGES / LANG on Linux). A
language without a translation falls back to English. A new language: add it to LANGUAGES and run
`python tools/i18n.py update --add LANG`.

Marking strings (lupdate finds these forms):
- in QObject subclasses: `self.tr("Open project…")` (context = the class that defines the method);
- elsewhere: `translate("Context", "text")` with `translate = QCoreApplication.translate`;
- module-level constants: `QT_TRANSLATE_NOOP("Context", "text")`, translated where shown.
Placeholders are Python's: `self.tr("Opened {name}").format(name=...)` (translations keep them).
Widgets that show data rather than sentences (file names, model ids, key sequences) are marked with
`mark_data(widget[, columns])` so that the untranslated-string test skips their contents.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QWidget

from app.resource_files import resource

# language code -> its own name (shown untranslated in the Settings choice, as every program does)
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}
SOURCE_LANGUAGE = "en"
CATALOG = "sam_labeler"
EXTRA_CATALOG = "qt_extra"  # our translations of Qt's own strings that Qt's catalogue lacks
QT_CATALOGS = ("qtbase",)
DATA_PROPERTY = "i18nData"

_installed: list[QTranslator] = []


def normalize(code: str | None) -> str | None:
    """A supported language code for `code` ("zh-CN", "zh_CN.UTF-8", "zh-Hans", "en_GB" ...), else None.

    Traditional Chinese (zh_TW, zh_HK, zh-Hant) is not Simplified Chinese: None.
    """
    if not code:
        return None
    c = code.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    if not c or c in ("c", "posix"):
        return None
    parts = c.split("_")
    if parts[0] == "en":
        return "en"
    if parts[0] == "zh":
        rest = set(parts[1:])
        if rest & {"tw", "hk", "mo", "hant"}:
            return None
        return "zh_CN"
    for known in LANGUAGES:
        if known.lower() == c:
            return known
    return None


def system_language(ui_languages: Iterable[str] | None = None) -> str:
    """The first supported language of the system's preferred UI languages, else English."""
    langs = list(QLocale.system().uiLanguages()) if ui_languages is None else list(ui_languages)
    for lang in langs:
        found = normalize(lang)
        if found is not None:
            return found
    return SOURCE_LANGUAGE


def choose_language(cli: str | None, setting: str | None, ui_languages: Iterable[str] | None = None) -> str:
    """The language to use: `cli` (--lang; "system" = the system's), else `setting` ("" / "system" = follow
    the system), else the system's.

    ValueError (one sentence listing the choices) for a --lang that is not supported; an unsupported
    setting (a hand-edited file) is ignored.
    """
    if cli == "system":
        return system_language(ui_languages)
    if cli:
        found = normalize(cli)
        if found is None:
            raise ValueError(f"--lang: unknown language '{cli}' (available: {', '.join(LANGUAGES)}, or 'system')")
        return found
    if setting and setting != "system":
        found = normalize(setting)
        if found is not None:
            return found
    return system_language(ui_languages)


def translation_file(lang: str) -> str:
    """Path of the application's compiled translation for `lang` (may not exist)."""
    return str(resource("translations", f"{CATALOG}_{lang}.qm"))


def install_translators(app: QCoreApplication, lang: str) -> list[str]:
    """Make `lang` the language of `app`: remove translators installed earlier, install the application's
    and Qt's catalogues for `lang`, and set the default QLocale. Returns the files loaded (none for
    English); a missing file is skipped (those strings stay English)."""
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    QLocale.setDefault(QLocale(lang))
    if lang == SOURCE_LANGUAGE:
        return []
    loaded: list[str] = []
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    ours = str(resource("translations"))
    for name, folder in [(f"{CATALOG}_{lang}", ours), (f"{EXTRA_CATALOG}_{lang}", ours)] + \
            [(f"{cat}_{lang}", qt_dir) for cat in QT_CATALOGS]:
        translator = QTranslator(app)
        if translator.load(name, folder):
            app.installTranslator(translator)
            _installed.append(translator)
            loaded.append(translator.filePath())
    return loaded


def current_language() -> str:
    """The language installed by the last install_translators call."""
    return normalize(QLocale().name()) or SOURCE_LANGUAGE


def mark_data(widget: QWidget, columns: Sequence[int] | None = None) -> None:
    """Mark a widget whose contents are data (file names, ids, key sequences), not sentences to translate:
    all of it, or only the given columns of an item view (its headers are still checked)."""
    widget.setProperty(DATA_PROPERTY, list(columns) if columns is not None else True)
