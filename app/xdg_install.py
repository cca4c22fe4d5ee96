"""Linux desktop integration for one user (freedesktop.org / XDG): the menu entry, the `.samlabel` file
type and the icons, so that the app appears in the desktop's menu and a double-click on a project (what
`xdg-open x.samlabel` does) starts it on that project.

`install(...)` writes into the XDG data folder ($XDG_DATA_HOME, default ~/.local/share):

    applications/sam-labeler.desktop                     Exec= the command that starts this installation
    mime/packages/sam-labeler.xml                        application/x-sam-labeler-project for *.samlabel
    icons/hicolor/<N>x<N>/apps/sam-labeler.png           and scalable/apps/sam-labeler.svg
    icons/hicolor/<N>x<N>/mimetypes/application-x-sam-labeler-project.png   (and .svg)

then refreshes the desktop's caches (update-mime-database, update-desktop-database) and makes the app
the default for its type (xdg-mime). The written files and their SHA-256 are recorded in
`sam-labeler/desktop-install.json` there: a file that exists and is not ours (or was changed since) is
never overwritten nor removed. `uninstall(...)` removes what the record lists and still matches.
No Qt: used by the `sam-labeler desktop` sub-command and by the bundle's install script.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.resource_files import resource

APP_ID = "sam-labeler"
DESKTOP_FILE = f"{APP_ID}.desktop"
MIME_TYPE = "application/x-sam-labeler-project"
MIME_ICON = MIME_TYPE.replace("/", "-")
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
RECORD = Path(APP_ID) / "desktop-install.json"
LAUNCHER = Path(APP_ID) / "launch"

Runner = Callable[[Sequence[str]], int]


class DesktopInstallError(ValueError):
    """The installation was refused or failed (one sentence; nothing half-written is left)."""


@dataclass
class Report:
    """What install/uninstall did: files written or removed, files left alone, tool notes (one line each)."""

    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def data_home(env: dict[str, str] | None = None) -> Path:
    """$XDG_DATA_HOME (absolute), else ~/.local/share."""
    env = dict(os.environ) if env is None else env
    value = env.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def default_command() -> list[str]:
    """The command that starts this installation: the bundle's executable, the `sam-labeler` script of
    this Python environment, else this Python running the app from its folder."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    script = Path(sys.executable).parent / APP_ID
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which(APP_ID)
    if found:
        return [str(Path(found).resolve())]
    root = Path(__file__).resolve().parents[1]
    return ["/usr/bin/env", f"PYTHONPATH={root}", str(Path(sys.executable).resolve()), "-m", "app"]


def exec_quote(arg: str) -> str:
    """One argument of a desktop entry's Exec key (Desktop Entry Specification, "The Exec key"): quoted
    when needed, with the key-file escaping of backslashes, and % doubled."""
    arg = arg.replace("%", "%%")
    if re.fullmatch(r"[A-Za-z0-9_./:+,=@%-]+", arg):
        return arg
    inner = re.sub(r'(["`$\\])', r"\\\1", arg)
    return '"' + inner.replace("\\", "\\\\") + '"'


def desktop_entry(command: Sequence[str]) -> str:
    """resources/desktop/sam-labeler.desktop with Exec/TryExec pointing at `command` (list of arguments)."""
    text = resource("desktop", DESKTOP_FILE).read_text(encoding="utf-8")
    cmd = " ".join(exec_quote(a) for a in command)
    out: list[str] = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "Exec":
            args = value.split(" ", 1)[1] if " " in value else ""
            line = f"Exec={cmd} {args}".rstrip()
        elif key == "TryExec":
            line = f"TryExec={command[0]}"
        out.append(line)
    return "\n".join(out) + "\n"


def _needs_quoting(arg: str) -> bool:
    return exec_quote(arg) != arg.replace("%", "%%")


def planned_files(command: Sequence[str], root: Path) -> dict[Path, bytes]:
    """Relative path under the data folder `root` -> content, for everything `install` writes.

    A command that would need quoting in the Exec line (a space in the bundle's folder) is started through
    a small launcher script in `root`: xdg-utils' fallback for desktops it does not know splits Exec
    lines at spaces, whatever the quotes.
    """
    icons = resource("icons")
    files: dict[Path, bytes] = {}
    if any(_needs_quoting(a) for a in command) and not _needs_quoting(str(root / LAUNCHER)):
        files[LAUNCHER] = ("#!/bin/sh\n# SAM Labeler's start command (written by `sam-labeler desktop install`)\n"
                           f"exec {' '.join(shlex.quote(a) for a in command)} \"$@\"\n").encode("utf-8")
        command = [str(root / LAUNCHER)]
    files |= {
        Path("applications") / DESKTOP_FILE: desktop_entry(command).encode("utf-8"),
        Path("mime") / "packages" / f"{APP_ID}.xml": resource("desktop", f"{APP_ID}.xml").read_bytes(),
    }
    for name, kind in ((APP_ID, "apps"), (MIME_ICON, "mimetypes")):
        for size in ICON_SIZES:
            files[Path("icons", "hicolor", f"{size}x{size}", kind, f"{name}.png")] = \
                (icons / "png" / f"{name}-{size}.png").read_bytes()
        files[Path("icons", "hicolor", "scalable", kind, f"{name}.svg")] = (icons / f"{name}.svg").read_bytes()
    return files


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_record(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / RECORD).read_text(encoding="utf-8"))
        files = data.get("files", {}) if isinstance(data, dict) else {}
        return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_atomic(path: Path, data: bytes, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o755 if executable else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _run(cmd: Sequence[str]) -> int:
    try:
        return subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                              check=False).returncode
    except (OSError, subprocess.SubprocessError):
        return -1


def _refresh(root: Path, report: Report, run: Runner, which: Callable[[str], str | None]) -> None:
    """Rebuild the MIME database and the desktop-file cache of `root` (the desktop reads those)."""
    if which("update-mime-database"):
        if run(["update-mime-database", str(root / "mime")]) != 0:
            report.notes.append("update-mime-database failed: the file type may not be recognised yet")
    else:
        report.notes.append("update-mime-database not found: install shared-mime-info, then run "
                            f"`update-mime-database {root / 'mime'}` so that .samlabel files are recognised")
    if which("update-desktop-database"):
        run(["update-desktop-database", str(root / "applications")])
    with contextlib.suppress(OSError):
        os.utime(root / "icons" / "hicolor")  # icon caches compare folder times


def install(root: Path | None = None, command: Sequence[str] | None = None, make_default: bool = True,
            run: Runner = _run, which: Callable[[str], str | None] = shutil.which) -> Report:
    """Install the menu entry, file type and icons into `root` (default: the XDG data folder).

    DesktopInstallError (nothing written) when a file there exists that this installer did not write.
    """
    if not sys.platform.startswith("linux") and root is None:
        raise DesktopInstallError("desktop integration is for Linux desktops; on Windows and macOS the "
                                  "installer registers the .samlabel file type")
    root = data_home() if root is None else root
    files = planned_files(command or default_command(), root)
    record = _read_record(root)
    foreign = []
    for rel, data in files.items():
        target = root / rel
        if target.exists():
            current = _sha(target.read_bytes())
            if current != _sha(data) and record.get(str(rel)) != current:
                foreign.append(str(target))
    if foreign:
        raise DesktopInstallError(f"{foreign[0]} exists and was not written by SAM Labeler's installer; "
                                  "move it away and run the installation again")
    report = Report()
    for rel, data in files.items():
        _write_atomic(root / rel, data, executable=rel == LAUNCHER)
        report.written.append(root / rel)
    stale = set(record) - {str(r) for r in files}  # left by an older version: remove if unchanged
    for rel_s in sorted(stale):
        _remove_if_ours(root, rel_s, record[rel_s], report)
    _write_atomic(root / RECORD, json.dumps({"files": {str(r): _sha(d) for r, d in files.items()}},
                                            indent=1, sort_keys=True).encode("utf-8"))
    _refresh(root, report, run, which)
    if make_default and which("xdg-mime"):
        if run(["xdg-mime", "default", DESKTOP_FILE, MIME_TYPE]) != 0:
            report.notes.append("xdg-mime could not make SAM Labeler the default for .samlabel files")
    return report


def _remove_if_ours(root: Path, rel: str, sha: str, report: Report) -> None:
    target = root / rel
    try:
        if _sha(target.read_bytes()) != sha:
            report.kept.append(f"{target} (changed since it was installed)")
            return
        target.unlink()
        report.removed.append(target)
    except FileNotFoundError:
        return
    except OSError as exc:
        report.kept.append(f"{target} ({exc.strerror or exc})")


def uninstall(root: Path | None = None, run: Runner = _run,
              which: Callable[[str], str | None] = shutil.which) -> Report:
    """Remove what `install` recorded (files changed since are kept and listed) and our default-app entry."""
    root = data_home() if root is None else root
    record = _read_record(root)
    report = Report()
    if not record:
        report.notes.append(f"nothing to remove: no installation record in {root / RECORD}")
        return report
    for rel, sha in sorted(record.items()):
        _remove_if_ours(root, rel, sha, report)
    with contextlib.suppress(OSError):
        (root / RECORD).unlink()
    with contextlib.suppress(OSError):
        (root / RECORD).parent.rmdir()
    _forget_default(report)
    _refresh(root, report, run, which)
    return report


def mimeapps_file(env: dict[str, str] | None = None) -> Path:
    """$XDG_CONFIG_HOME/mimeapps.list (where `xdg-mime default` writes the user's choice)."""
    env = dict(os.environ) if env is None else env
    value = env.get("XDG_CONFIG_HOME", "")
    return (Path(value) if value and os.path.isabs(value) else Path.home() / ".config") / "mimeapps.list"


def _forget_default(report: Report) -> None:
    """Remove `MIME_TYPE=sam-labeler.desktop` from the user's mimeapps.list (other lines untouched)."""
    path = mimeapps_file()
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except OSError:
        return
    kept = [ln for ln in lines if ln.strip() != f"{MIME_TYPE}={DESKTOP_FILE};"
            and ln.strip() != f"{MIME_TYPE}={DESKTOP_FILE}"]
    if len(kept) != len(lines):
        _write_atomic(path, "".join(kept).encode("utf-8"))
        report.notes.append(f"removed the default application for {MIME_TYPE} from {path}")
