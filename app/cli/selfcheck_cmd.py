"""`sam-labeler self-check`: what runs where, and why (device, torch/CUDA, Qt platform, model cache)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from app.platform_check import XcbProblem, distro_family, missing_libraries, xcb_plugin

NAME = "self-check"
HELP = "report the torch build, GPUs and chosen device, the Qt platform, and the model cache"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="also check that this device can be used "
                                                         "(auto | cpu | cuda | cuda:N | mps)")


def run(args: argparse.Namespace) -> int:
    from sam_backend.device import device_report, format_report, resolve_device

    print("== device ==")
    print(format_report(device_report()))
    status = 0
    if args.device and args.device != "auto":
        try:
            print(f"requested:     {resolve_device(args.device)} is usable")
        except Exception as exc:  # noqa: BLE001 - reported, not raised: the rest of the check still runs
            print(f"requested:     {exc}")
            status = 1
    print("== Qt ==")
    qt_lines, qt_ok = qt_report()
    print("\n".join(qt_lines))
    print("== model cache ==")
    print("\n".join(cache_report()))
    return 1 if not qt_ok else status


def qt_report() -> tuple[list[str], bool]:
    """Lines about PySide6/Qt and the platform plugin the GUI would use; (lines, the GUI can start here:
    PySide6 importable and, on Linux, the X11 plugin's system libraries present)."""
    try:
        pyside = importlib.import_module("PySide6")
        qtcore = importlib.import_module("PySide6.QtCore")
    except ImportError as exc:
        return [f"PySide6:       not importable ({exc}): install it with `pip install PySide6-Essentials`"], False
    lines = [f"PySide6:       {pyside.__version__} (Qt {qtcore.qVersion()})"]
    plugin_dir = Path(pyside.__file__ or ".").parent / "Qt" / "plugins" / "platforms"
    plugins = sorted(p.name.split(".")[0].removeprefix("libq").removeprefix("q") for p in plugin_dir.glob("*q*.*")) \
        if plugin_dir.is_dir() else []
    lines.append(f"plugins:       {', '.join(plugins) if plugins else 'none found in ' + str(plugin_dir)}")
    forced = os.environ.get("QT_QPA_PLATFORM", "").strip()
    if forced:
        lines.append(f"platform:      {forced} (QT_QPA_PLATFORM)")
    elif sys.platform.startswith("linux"):
        if os.environ.get("WAYLAND_DISPLAY"):
            lines.append(f"platform:      wayland (WAYLAND_DISPLAY={os.environ['WAYLAND_DISPLAY']})")
        elif os.environ.get("DISPLAY"):
            lines.append(f"platform:      xcb (DISPLAY={os.environ['DISPLAY']})")
        else:
            lines.append("platform:      no display server (DISPLAY and WAYLAND_DISPLAY unset): the GUI cannot open "
                         "a window here; headless commands work, tests use QT_QPA_PLATFORM=offscreen")
    else:
        lines.append(f"platform:      native ({sys.platform})")
    if not sys.platform.startswith("linux") or "xcb" not in plugins:
        return lines, True
    xcb_line, xcb_ok = xcb_report()
    lines.append(xcb_line)
    # a platform forced to something else (offscreen, wayland) does not need the X11 libraries
    return lines, xcb_ok or bool(forced and not forced.startswith("xcb"))


def xcb_report() -> tuple[str, bool]:
    """(line, ok) about the system libraries of Qt's X11 plugin: all present, or which are missing and the
    command that installs them (not ok: the GUI would abort on an X11 desktop)."""
    plugin = xcb_plugin()
    if plugin is None:
        return "xcb:           no X11 plugin in this PySide6", True
    missing = missing_libraries(plugin)
    if missing is None:
        return "xcb:           cannot check the X11 plugin's system libraries (ldd not found)", True
    if not missing:
        return "xcb:           the X11 plugin's system libraries are all present", True
    hint = XcbProblem(missing=missing, family=distro_family()).hint()
    return "xcb:           " + hint.replace("\n", "\n               "), False


def cache_report() -> list[str]:
    """Lines about the data root, the installed models and the embedding cache location."""
    from sam_backend.checkpoints import install_state
    from sam_backend.paths import embeddings_dir, models_dir
    from sam_backend.registry import MODELS

    lines = [f"models:        {models_dir(create=False)}"]
    installed = []
    for model_id in MODELS:
        state = install_state(model_id)
        if state.status != "missing":
            installed.append(f"{model_id} ({state.status})")
    lines.append(f"installed:     {', '.join(installed) if installed else 'none (run `sam-labeler models download mobile_sam`)'}")
    lines.append(f"embeddings:    {embeddings_dir(create=False)}")
    return lines
