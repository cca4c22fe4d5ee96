"""Command-line dispatcher. Each sub-command lives in its own module of this package, exposing

    NAME: str                                  the sub-command word
    HELP: str                                  one line for --help
    add_arguments(parser: argparse.ArgumentParser) -> None
    run(args: argparse.Namespace) -> int       exit code

User errors end with one clear line on stderr and a non-zero exit (1), never a traceback: the
errors of app.core/sam_backend, OSError, ValueError (UnicodeError included) and, from hostile
input, sqlite3.Error, RecursionError and MemoryError. Commands that know which file caused such an
error name it themselves (e.g. app.core.project_base.sqlite_errors_as_project_errors); the
dispatcher is the last line of defence.

Any other exception is a bug in this program, not the user's doing: it is NOT reduced to one line,
because the traceback is what makes it fixable. The traceback is printed, then one last line
"sam-labeler: internal error: ...; please report it" (exit 70, EX_SOFTWARE), so the last line
still says what happened.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sqlite3
import sys
import traceback
from types import ModuleType

from app import __version__

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "app.cli.scan_cmd",
    "app.cli.import_cmd",
    "app.cli.export_cmd",
    "app.cli.models_cmd",
    "app.cli.encode_cmd",
    "app.cli.selfcheck_cmd",
    "app.cli.plugins_cmd",
    "app.cli.propagate_cmd",
    "app.cli.video_cmd",
    "app.cli.autolabel_cmd",
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
        "Sub-commands: scan, import, export, models, encode, autolabel, self-check, plugins, propagate, "
        "import-video, desktop.",
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

    return (OSError, ValueError, SamBackendError, CoreError, sqlite3.Error)


INTERNAL_ERROR_EXIT = 70  # sysexits.h EX_SOFTWARE


def _hostile_input_message(exc: BaseException) -> str:
    """One line for failures that hostile or broken input causes outside the checked paths."""
    if isinstance(exc, RecursionError):
        return "the input is nested too deeply to be processed (it is not a valid file of this kind)"
    if isinstance(exc, MemoryError):
        return "out of memory: the input is too large for the memory available"
    if isinstance(exc, sqlite3.Error):
        return f"the project database failed: {exc} (is the file damaged?)"
    return str(exc) or type(exc).__name__


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
    except BrokenPipeError:  # the reader of our output went away (`... | head`): nothing to report
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except _user_error_types() + (RecursionError, MemoryError) as exc:  # one clear line, no traceback
        print(f"sam-labeler: error: {' '.join(_hostile_input_message(exc).splitlines())}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: keep the traceback (see the module doc)
        traceback.print_exc()
        print(f"sam-labeler: internal error: {type(exc).__name__}: {exc}; this is a bug, please report it "
              "with the lines above.", file=sys.stderr)
        return INTERNAL_ERROR_EXIT

