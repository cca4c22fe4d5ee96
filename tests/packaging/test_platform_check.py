"""The X11 (xcb) check: missing system libraries are named with the command that installs them, before
Qt would abort the process (app.platform_check, `sam-labeler self-check`, the launcher)."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.platform_check import (XcbProblem, distro_family, missing_libraries, xcb_expected, xcb_plugin,
                                xcb_problem)

ROOT = Path(__file__).resolve().parents[2]
LDD_OUT = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f31)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f31)
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
"""


def test_missing_libraries_are_read_from_ldd_in_order_without_repeats() -> None:
    assert missing_libraries(Path("p.so"), lambda _p: LDD_OUT) == \
        ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxkbcommon-x11.so.0")
    assert missing_libraries(Path("p.so"), lambda _p: "\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == ()
    assert missing_libraries(Path("p.so"), lambda _p: None) is None  # no ldd: unknown, not "all fine"


def test_the_hint_names_the_packages_of_the_distribution() -> None:
    missing = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxkbcommon-x11.so.0")
    assert XcbProblem(missing, 0).install_command() == \
        "sudo apt install libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0"
    assert XcbProblem(missing, 1).install_command() == "sudo dnf install xcb-util-cursor xcb-util-wm libxkbcommon-x11"
    assert XcbProblem(missing, 2).install_command() == "sudo pacman -S xcb-util-cursor xcb-util-wm libxkbcommon-x11"
    hint = XcbProblem(missing, 0).hint()
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxkbcommon-x11.so.0" in hint
    assert hint.endswith("sudo apt install libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0")
    unknown = XcbProblem(("libxcb-cursor.so.0", "libweird.so.3"), 0)
    assert unknown.install_command() is None and "libweird.so.3" in unknown.hint()
    assert XcbProblem(missing, None).install_command() is None  # unknown distribution: no guessed command


def test_distribution_family_from_os_release() -> None:
    assert distro_family('ID=ubuntu\nID_LIKE=debian\n') == 0
    assert distro_family('ID="linuxmint"\nID_LIKE="ubuntu debian"\n') == 0
    assert distro_family('ID=fedora\n') == 1
    assert distro_family('ID="rocky"\nID_LIKE="rhel centos fedora"\n') == 1
    assert distro_family('ID=arch\n') == 2 and distro_family('ID=manjaro\nID_LIKE=arch\n') == 2
    assert distro_family('ID=gentoo\n') is None


def test_when_qt_will_use_xcb() -> None:
    assert xcb_expected({"DISPLAY": ":0"}, "linux")
    assert xcb_expected({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not xcb_expected({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not xcb_expected({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux")
    assert not xcb_expected({"DISPLAY": ":0"}, "win32")
    assert xcb_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert xcb_problem({}) == XcbProblem(no_display=True)
    found = xcb_problem({"DISPLAY": ":0"}, plugin=Path("p.so"), ldd=lambda _p: LDD_OUT)
    assert found is not None and found.missing[0] == "libxcb-cursor.so.0"
    assert xcb_problem({"DISPLAY": ":0"}, plugin=Path("p.so"), ldd=lambda _p: "") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb plugin exists on Linux only")
def test_a_real_plugin_whose_libraries_cannot_be_found_is_reported(tmp_path: Path) -> None:
    """A copy of the real xcb plugin away from its Qt libraries: ldd really cannot resolve them."""
    assert shutil.which("ldd"), "ldd (libc-bin) is needed"
    plugin = xcb_plugin()
    assert plugin is not None and plugin.is_file()
    copy = tmp_path / "platforms" / plugin.name
    copy.parent.mkdir()
    shutil.copy2(plugin, copy)
    problem = xcb_problem({"DISPLAY": ":0"}, plugin=copy)
    assert problem is not None and "libQt6XcbQpa.so.6" in problem.missing
    assert problem.install_command() is None and "libQt6XcbQpa.so.6" in problem.hint()


def test_self_check_prints_the_install_command_and_fails(monkeypatch, capsys) -> None:
    from app.cli import selfcheck_cmd

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(selfcheck_cmd, "xcb_plugin", lambda: Path("/x/libqxcb.so"))
    monkeypatch.setattr(selfcheck_cmd, "missing_libraries", lambda _p: ("libxcb-cursor.so.0", "libxcb-icccm.so.4"))
    monkeypatch.setattr(selfcheck_cmd, "distro_family", lambda: 0)
    parser = argparse.ArgumentParser()
    selfcheck_cmd.add_arguments(parser)
    assert selfcheck_cmd.run(parser.parse_args([])) == 1
    out = capsys.readouterr().out
    assert "missing system libraries libxcb-cursor.so.0, libxcb-icccm.so.4" in out
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in out
    monkeypatch.setattr(selfcheck_cmd, "missing_libraries", lambda _p: ())
    assert selfcheck_cmd.run(parser.parse_args([])) == 0
    assert "the X11 plugin's system libraries are all present" in capsys.readouterr().out


def test_the_launcher_explains_instead_of_aborting(tmp_path: Path) -> None:
    """No display at all: one explanation and exit 1, where Qt would abort (SIGABRT, a core dump)."""
    proc = subprocess.run([sys.executable, "-m", "app"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(tmp_path), "HOME": str(tmp_path), "SAM_LABELER_HOME": str(tmp_path)})
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("sam-labeler: No display: DISPLAY and WAYLAND_DISPLAY are unset")
    assert "Traceback" not in proc.stderr
