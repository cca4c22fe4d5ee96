"""Command-line dispatcher. Each sub-command lives in its own module of this package, exposing

    NAME: str                                  the sub-command word
    HELP: str                                  one line for --help
    add_arguments(parser: argparse.ArgumentParser) -> None
    run(args: argparse.Namespace) -> int       exit code

User errors end with one clear line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from app import __version__

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "app.cli.scan_cmd",
    "app.cli.import_cmd",
    "app.cli.export_cmd",
    "app.cli.models_cmd",
    "app.cli.encode_cmd",
    "app.cli.selfcheck_cmd",
    "app.cli.desktop_cmd",
)


def _load_subcommands() -> dict[str, ModuleType]:
    mods: dict[str, ModuleType] = {}
    for name in SUBCOMMAND_MODULES:
        mod = importlib.import_module(name)
        mods[mod.NAME] = mod
    return mods


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sam-labeler",
        description="Label images with masks and polygons, assisted by Segment Anything. "
        "Sub-commands: scan, import, export, models, encode, self-check, desktop.",
    )
    p.add_argument("--version", action="version", version=f"sam-labeler {__version__}")
    p.add_argument("path", nargs="?", help="image folder or .samlabel project to open")
    p.add_argument("--model", help="model id to use (see `sam-labeler models list`)")
    p.add_argument("--checkpoint", help="checkpoint file for --model (instead of the model cache)")
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--lang", default=None, help="user interface language: en | zh_CN | system "
                                                "(default: the Settings choice, else the system's)")
    p.add_argument("--new-window", action="store_true",
                   help="open PATH in a new window even when SAM Labeler is already running")
    return p


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that are the user's to fix: reported as one line, never as a traceback."""
    from app.core.errors import CoreError
    from sam_backend.errors import SamBackendError

    return (OSError, ValueError, SamBackendError, CoreError)


def main(argv: list[str]) -> int:
    """Parse argv (without the program name) and run the GUI or a sub-command."""
    subcommands = _load_subcommands()
    try:
        if argv and argv[0] in subcommands:
            mod = subcommands[argv[0]]
            parser = argparse.ArgumentParser(prog=f"sam-labeler {mod.NAME}", description=mod.HELP)
            mod.add_arguments(parser)
            args = parser.parse_args(argv[1:])
            return int(mod.run(args))
        args = _gui_parser().parse_args(argv)
        from app.ui.launch import run_gui

        return int(run_gui(args))
    except KeyboardInterrupt:
        print("sam-labeler: interrupted", file=sys.stderr)
        return 130
    except _user_error_types() as exc:  # one clear line, no traceback
        print(f"sam-labeler: error: {exc}", file=sys.stderr)
        return 1
