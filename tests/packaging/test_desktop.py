"""Linux desktop integration: the .desktop entry and the MIME type validate, `sam-labeler desktop install`
into a temporary XDG data folder makes `xdg-mime` map a .samlabel to our type and `xdg-open` (what a
double-click does) start our command on that file; uninstall removes exactly what was installed.

Needs desktop-file-utils, xdg-utils, shared-mime-info and libfile-mimeinfo-perl (`.ci/run` installs them).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app import xdg_install
from app.core.project import Project

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ROOT / "resources" / "desktop"
MIME = "application/x-sam-labeler-project"


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} is missing: apt-get install {package} (.ci/run installs it)"
    return path


@pytest.fixture
def xdg(tmp_path: Path) -> dict[str, str]:
    """An environment whose XDG data and config folders are empty temporary ones (generic desktop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "KDE_", "GNOME_", "DESKTOP_SESSION"))}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_DIRS="/usr/local/share:/usr/share", HOME=str(tmp_path / "home"),
               DISPLAY=":97")  # xdg-open asks for a display (a double-click always has one); nothing draws
    (tmp_path / "home").mkdir()
    return env


def _run(cmd: list[str], env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    project = Project.open_folder(folder)
    path = project.path
    project.close()
    return path


def test_the_desktop_entry_validates() -> None:
    validate = need("desktop-file-validate", "desktop-file-utils")
    proc = subprocess.run([validate, str(DESKTOP / "sam-labeler.desktop")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not [ln for ln in (proc.stdout + proc.stderr).splitlines() if "error" in ln or "warning" in ln]


def test_the_mime_declaration_parses_and_compiles(tmp_path: Path) -> None:
    root = ET.parse(DESKTOP / "sam-labeler.xml").getroot()
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    mime = root.find(f"{ns}mime-type")
    assert mime is not None and mime.get("type") == MIME
    assert [g.get("pattern") for g in mime.iter(f"{ns}glob")] == ["*.samlabel"]
    (tmp_path / "mime" / "packages").mkdir(parents=True)
    shutil.copy(DESKTOP / "sam-labeler.xml", tmp_path / "mime" / "packages")
    proc = subprocess.run([need("update-mime-database", "shared-mime-info"), str(tmp_path / "mime")],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "error" not in proc.stderr.lower(), proc.stderr
    assert f"{MIME}:*.samlabel" in (tmp_path / "mime" / "globs2").read_text()
    assert MIME in (tmp_path / "mime" / "magic").read_bytes().decode("latin-1")


def test_install_maps_projects_to_our_type_and_double_click_starts_us(tmp_path: Path, xdg: dict[str, str]) -> None:
    need("xdg-mime", "xdg-utils")
    need("mimetype", "libfile-mimeinfo-perl")
    recorder = tmp_path / "bin" / "fake sam-labeler"  # a space: the Exec line must quote it
    recorder.parent.mkdir()
    opened = tmp_path / "opened.txt"
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{opened}"\n')
    recorder.chmod(0o755)
    proc = _run([sys.executable, "-m", "app", "desktop", "install", "--exec", f"'{recorder}'"], xdg, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    data = Path(xdg["XDG_DATA_HOME"])
    entry = data / "applications" / "sam-labeler.desktop"
    assert _run([need("desktop-file-validate", "desktop-file-utils"), str(entry)], xdg).returncode == 0
    launcher = data / "sam-labeler" / "launch"  # the space in the command: started through a launcher
    assert f"Exec={launcher} %f" in entry.read_text() and os.access(launcher, os.X_OK)
    assert (data / "icons/hicolor/48x48/apps/sam-labeler.png").is_file()
    assert (data / "icons/hicolor/scalable/mimetypes/application-x-sam-labeler-project.svg").is_file()

    project = _project(tmp_path / "my photos")
    bare = tmp_path / "renamed_project"  # no extension: recognised by the SQLite marker (magic)
    shutil.copy(project, bare)
    other = tmp_path / "other_db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    for desktop in ("", "GNOME"):  # xdg-utils' generic path (mimetype) and GNOME's (gio)
        env = dict(xdg, XDG_CURRENT_DESKTOP=desktop) if desktop else xdg
        if desktop and not shutil.which("gio"):
            continue
        for path, expected in ((project, MIME), (bare, MIME), (other, "application/vnd.sqlite3")):
            out = _run(["xdg-mime", "query", "filetype", str(path)], env).stdout.strip()
            assert out == expected, (desktop or "generic", path.name, out)
    assert _run(["xdg-mime", "query", "default", MIME], xdg).stdout.strip() == "sam-labeler.desktop"

    _run([need("xdg-open", "xdg-utils"), str(project)], xdg)
    deadline = time.monotonic() + 30
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert opened.read_text().splitlines() == [str(project)]


def test_uninstall_removes_what_was_installed_and_nothing_else(tmp_path: Path, xdg: dict[str, str]) -> None:
    proc = _run([sys.executable, "-m", "app", "desktop", "install", "--exec", "/opt/sam/sam-labeler"], xdg, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    data = Path(xdg["XDG_DATA_HOME"])
    mine = sorted(p for p in data.rglob("*") if p.is_file())
    foreign = data / "applications" / "someone-else.desktop"
    foreign.write_text("[Desktop Entry]\n")
    changed = data / "icons/hicolor/16x16/apps/sam-labeler.png"
    changed.write_bytes(b"edited by the user")
    mimeapps = Path(xdg["XDG_CONFIG_HOME"]) / "mimeapps.list"
    assert f"{MIME}=sam-labeler.desktop" in mimeapps.read_text()
    proc = _run([sys.executable, "-m", "app", "desktop", "uninstall"], xdg, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "kept: " in proc.stdout and "16x16" in proc.stdout
    left = {p for p in data.rglob("*") if p.is_file()}
    assert foreign in left and changed in left
    assert not (data / "applications" / "sam-labeler.desktop").exists()
    assert not (data / "mime" / "packages" / "sam-labeler.xml").exists()
    assert not [p for p in left if p.suffix in (".png", ".svg") and p != changed]
    assert len(mine) >= 20 and MIME not in mimeapps.read_text()


def test_install_refuses_to_overwrite_a_file_it_did_not_write(tmp_path: Path) -> None:
    target = tmp_path / "applications" / "sam-labeler.desktop"
    target.parent.mkdir()
    target.write_text("[Desktop Entry]\nName=Something else\n")
    with pytest.raises(xdg_install.DesktopInstallError, match="not written by SAM Labeler"):
        xdg_install.install(tmp_path, ["/x/sam-labeler"], make_default=False, run=lambda _c: 0, which=lambda _t: None)
    assert target.read_text() == "[Desktop Entry]\nName=Something else\n"
    assert not (tmp_path / "mime").exists()  # nothing else written either
    report = xdg_install.install(tmp_path / "fresh", ["/x/sam-labeler"], make_default=False, run=lambda _c: 0,
                                 which=lambda _t: None)
    assert any("update-mime-database not found" in n for n in report.notes)
    again = xdg_install.install(tmp_path / "fresh", ["/y/sam-labeler"], make_default=False, run=lambda _c: 0,
                                which=lambda _t: None)  # ours (recorded): replaced, e.g. by a newer version
    assert "Exec=/y/sam-labeler %f" in (tmp_path / "fresh/applications/sam-labeler.desktop").read_text()
    assert len(again.written) == len(report.written)


def test_exec_lines_quote_as_the_desktop_entry_specification_says() -> None:
    assert xdg_install.exec_quote("/usr/bin/sam-labeler") == "/usr/bin/sam-labeler"
    assert xdg_install.exec_quote("/opt/my apps/sam") == '"/opt/my apps/sam"'
    assert xdg_install.exec_quote('/a"b$c') == '"/a\\\\"b\\\\$c"'  # \" and \$, each backslash doubled in the file
    assert xdg_install.exec_quote("50%") == "50%%"
    entry = xdg_install.desktop_entry(["/opt/my apps/sam-labeler"])
    assert 'Exec="/opt/my apps/sam-labeler" %f' in entry
    assert 'Exec="/opt/my apps/sam-labeler" --new-window' in entry
    assert "TryExec=/opt/my apps/sam-labeler" in entry
