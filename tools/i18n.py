"""Translations of the user interface: one command to collect, check and compile them.

    python tools/i18n.py update     # collect the marked strings of app/ and plugins/ into
                                    #   resources/translations/sam_labeler_<lang>.ts (Qt's lupdate)
    python tools/i18n.py check      # list the strings still untranslated (exit 1 if any)
    python tools/i18n.py release    # compile the .ts files into the .qm files the app loads (lrelease)
    python tools/i18n.py all        # update, release, then check: the usual command after UI changes
    python tools/i18n.py update --add fr   # start a new language (also add it to app.ui.i18n.LANGUAGES)

Workflow after changing user-visible strings: `python tools/i18n.py update`, translate the new entries
of each .ts (Qt Linguist: `pyside6-linguist resources/translations/sam_labeler_zh_CN.ts`, or any editor:
fill <translation> and remove type="unfinished"), then `python tools/i18n.py all`. Commit the .ts and
.qm files: the tests (tests/ui/test_i18n*.py) fail while a string is untranslated or a .qm is stale.
Strings of Qt's own dialogs that Qt's catalogue leaves untranslated go into qt_extra_<lang>.ts (by hand).

The .ts files carry no source locations (`-locations none`), so moving code does not touch them and
merges stay clean; strings that disappeared from the sources are dropped (`-no-obsolete`).
Tools: `pyside6-lupdate`/`pyside6-lrelease` (PySide6-Essentials ships them), else Qt's `lupdate`/`lrelease`.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "resources" / "translations"
CATALOG = "sam_labeler"
EXTRA_CATALOG = "qt_extra"
SOURCE_DIRS = ("app", "plugins")


def tool(name: str) -> str:
    """Path of Qt's `lupdate`/`lrelease`: PySide6's wrapper or binary, else Qt's own (SystemExit if none)."""
    candidates = [f"pyside6-{name}"]
    try:
        import PySide6

        pyside_dir = Path(PySide6.__file__).parent
        candidates += [str(pyside_dir / name), str(pyside_dir / "Qt" / "libexec" / name)]
    except ImportError:
        pass
    candidates += [name, f"/usr/lib/qt6/bin/{name}", f"/usr/lib/qt6/libexec/{name}"]
    for c in candidates:
        found = shutil.which(c) if "/" not in c else (c if Path(c).is_file() else None)
        if found:
            return found
    raise SystemExit(f"Qt's {name} not found: install PySide6-Essentials (pip) or Qt's linguist tools")


def sources(root: Path = ROOT) -> list[Path]:
    """The Python files whose marked strings are collected (sorted, so that runs are reproducible)."""
    return sorted(p for d in SOURCE_DIRS for p in (root / d).rglob("*.py") if "__pycache__" not in p.parts)


def ts_files(folder: Path = TRANSLATIONS) -> list[Path]:
    """Every sam_labeler_<lang>.ts (collected from the sources by `update`)."""
    return sorted(folder.glob(f"{CATALOG}_*.ts"))


def extra_ts_files(folder: Path = TRANSLATIONS) -> list[Path]:
    """Every qt_extra_<lang>.ts: hand-kept translations of Qt's own strings that Qt's catalogues lack
    (compiled and checked, never updated from the sources)."""
    return sorted(folder.glob(f"{EXTRA_CATALOG}_*.ts"))


def update(ts: list[Path], root: Path = ROOT) -> None:
    """Run lupdate over the sources into each .ts (created when missing)."""
    lupdate = tool("lupdate")
    files = [str(p.relative_to(root)) for p in sources(root)]
    for t in ts:
        t.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([lupdate, "-locations", "none", "-no-obsolete", "-silent", *files, "-ts", str(t)],
                       cwd=root, check=True)


def release(ts: list[Path]) -> None:
    """Compile each .ts into the .qm beside it."""
    lrelease = tool("lrelease")
    for t in ts:
        subprocess.run([lrelease, "-silent", str(t), "-qm", str(t.with_suffix(".qm"))], check=True)


def unfinished(ts: Path) -> list[tuple[str, str]]:
    """(context, source) of every message of `ts` without a finished translation."""
    out: list[tuple[str, str]] = []
    for ctx in ET.parse(ts).getroot().iter("context"):
        name = ctx.findtext("name", "")
        for msg in ctx.iter("message"):
            tr = msg.find("translation")
            if tr is None or tr.get("type") in ("unfinished", "vanished", "obsolete") or not (tr.text or "").strip():
                if tr is None or tr.get("type") not in ("vanished", "obsolete"):
                    out.append((name, msg.findtext("source", "")))
    return out


def check(ts: list[Path]) -> int:
    """Print the untranslated strings of each .ts; 1 when there are any."""
    missing = 0
    for t in ts:
        todo = unfinished(t)
        missing += len(todo)
        for ctx, src in todo:
            print(f"{t.name}: untranslated [{ctx}] {src!r}")
    if missing:
        print(f"{missing} untranslated string(s): translate them in the .ts file(s), then run "
              "`python tools/i18n.py all`", file=sys.stderr)
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("update", "check", "release", "all"))
    parser.add_argument("--add", metavar="LANG", help="with update: create sam_labeler_LANG.ts")
    args = parser.parse_args(argv)
    ts = ts_files()
    if args.add:
        ts = sorted(set(ts) | {TRANSLATIONS / f"{CATALOG}_{args.add}.ts"})
    if args.command in ("update", "all"):
        update(ts)
    if args.command in ("release", "all"):
        release(ts + extra_ts_files())
    if args.command in ("check", "all"):
        return check(ts + extra_ts_files())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
