"""Will Qt's X11 (xcb) platform plugin load? Found out BEFORE Qt tries, because Qt aborts the whole
process (qFatal) when no platform plugin can be loaded, with a message that names the plugin but not
the missing system library nor the package that provides it.

`xcb_problem()` returns None when the GUI can start here (or xcb is not the platform Qt will use),
else an `XcbProblem` whose `hint()` is the sentence and the exact install command for this distribution
(`sam-labeler self-check` prints it; the launcher shows it instead of a bare abort). No Qt widgets are
imported: only QtCore's QLibraryInfo, to find the plugin folder (also inside a PyInstaller bundle).

The missing libraries are read from `ldd` on the plugin (transitive, with the plugin's RPATH and the
bundle's LD_LIBRARY_PATH; ~10 ms), so every missing library is named, not only the first.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

# soname -> package providing it on (Debian/Ubuntu, Fedora/RHEL, Arch). The libraries Qt 6's xcb plugin
# links that a minimal desktop or container image commonly lacks.
PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
}
# every package the xcb plugin needs on Debian/Ubuntu (what the README's Install section lists)
DEBIAN_ALL = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-image0", "libxcb-render-util0",
              "libxkbcommon-x11-0", "libxcb-xinerama0")
_FAMILIES = {"debian": 0, "ubuntu": 0, "fedora": 1, "rhel": 1, "centos": 1, "arch": 2}
_INSTALL = ("sudo apt install {}", "sudo dnf install {}", "sudo pacman -S {}")


@dataclass(frozen=True)
class XcbProblem:
    """Why the xcb plugin cannot load: the missing shared libraries (sonames) and the distribution family
    (0 Debian/Ubuntu, 1 Fedora/RHEL, 2 Arch, None unknown); or `no_display`."""

    missing: tuple[str, ...] = ()
    family: int | None = 0
    no_display: bool = False

    def install_command(self) -> str | None:
        """The exact command that installs the missing libraries, or None for an unknown distribution."""
        if self.family is None or not self.missing:
            return None
        packages: list[str] = []
        for soname in self.missing:
            known = PACKAGES.get(soname)
            if known is None:
                return None  # a library we cannot map: say which file is missing instead of guessing
            if known[self.family] not in packages:
                packages.append(known[self.family])
        return _INSTALL[self.family].format(" ".join(packages))

    def hint(self) -> str:
        """One paragraph for a person: what is missing and the command that fixes it."""
        if self.no_display:
            return ("No display: DISPLAY and WAYLAND_DISPLAY are unset, so the window cannot open here. "
                    "Start SAM Labeler from a desktop session (headless commands such as `sam-labeler export` work "
                    "anywhere; QT_QPA_PLATFORM=offscreen runs the GUI without a screen).")
        libs = ", ".join(self.missing)
        command = self.install_command()
        fix = (f"Install them with:\n    {command}" if command else
               "Install the packages of your distribution that provide these files.")
        return (f"Qt's X11 platform plugin (xcb) cannot load: missing system librar"
                f"{'y' if len(self.missing) == 1 else 'ies'} {libs}. {fix}")


def distro_family(os_release: str | None = None) -> int | None:
    """0 Debian/Ubuntu, 1 Fedora/RHEL, 2 Arch (from /etc/os-release ID and ID_LIKE), None otherwise."""
    if os_release is None:
        try:
            os_release = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    ids: list[str] = []
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("ID", "ID_LIKE"):
            ids += value.strip().strip("\"'").lower().split()
    for name in ids:
        if name in _FAMILIES:
            return _FAMILIES[name]
    return None


def xcb_plugin() -> Path | None:
    """The xcb platform plugin file of the PySide6 in use (None when PySide6 ships none here)."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    found = sorted(plugins.glob("libqxcb*.so*"))
    return found[0] if found else None


def ldd_output(library: Path) -> str | None:
    """`ldd LIBRARY`'s output, or None when ldd is not installed or fails to run."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        return subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def missing_libraries(plugin: Path, ldd: Callable[[Path], str | None] = ldd_output) -> tuple[str, ...] | None:
    """Sonames `ldd` reports as "not found" for `plugin` (transitively), in first-seen order; None when
    ldd is unavailable (then nothing is known)."""
    out = ldd(plugin)
    if out is None:
        return None
    missing: list[str] = []
    for m in re.finditer(r"^\s*(\S+)\s*=>\s*not found", out, flags=re.MULTILINE):
        if m.group(1) not in missing:
            missing.append(m.group(1))
    return tuple(missing)


def xcb_expected(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """True when Qt will try the xcb plugin: Linux, QT_QPA_PLATFORM unset or xcb, not a Wayland session."""
    env = os.environ if env is None else env
    if not (platform or sys.platform).startswith("linux"):
        return False
    forced = env.get("QT_QPA_PLATFORM", "").strip()
    if forced:
        return forced.split(":")[0] == "xcb"
    return not (env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE", "") == "wayland")


def xcb_problem(env: Mapping[str, str] | None = None, plugin: Path | None = None,
                ldd: Callable[[Path], str | None] = ldd_output) -> XcbProblem | None:
    """None when the GUI can start (or Qt will not use xcb here), else what stops it."""
    env = os.environ if env is None else env
    if not xcb_expected(env):
        return None
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return XcbProblem(no_display=True)
    plugin = plugin if plugin is not None else xcb_plugin()
    if plugin is None:
        return None
    missing = missing_libraries(plugin, ldd)
    if not missing:
        return None
    return XcbProblem(missing=missing, family=distro_family())


def show_startup_error(text: str) -> None:
    """Show `text` where a person who double-clicked the app can see it: stderr, and a desktop dialog
    tool when one is installed (Qt itself cannot open a window here). Best effort, never raises."""
    print(f"sam-labeler: {text}", file=sys.stderr)
    title = "SAM Labeler cannot start"
    for cmd in (["zenity", "--error", "--no-markup", f"--title={title}", f"--text={text}"],
                ["kdialog", "--title", title, "--error", text],
                ["xmessage", "-center", f"{title}\n\n{text}"],
                ["notify-send", "-u", "critical", title, text]):
        if shutil.which(cmd[0]):
            try:
                subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
                return
            except OSError:
                continue
