"""`sam-labeler desktop install|uninstall`: the menu entry, the .samlabel file type and the icons for this
user on a Linux desktop (see app.xdg_install); the bundle's install.sh runs the same command."""
from __future__ import annotations

import argparse
import shlex
import sys

NAME = "desktop"
HELP = "install or remove the menu entry, the .samlabel file type and the icons (Linux, this user)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("install", "uninstall"))
    parser.add_argument("--exec", dest="command", default=None,
                        help="command that starts SAM Labeler, written to the menu entry "
                             "(default: this installation's executable)")
    parser.add_argument("--no-default", action="store_true",
                        help="do not make SAM Labeler the default application for .samlabel files")


def run(args: argparse.Namespace) -> int:
    from app import xdg_install

    if args.action == "install":
        command = shlex.split(args.command) if args.command else None
        report = xdg_install.install(command=command, make_default=not args.no_default)
        root = xdg_install.data_home()
        print(f"Installed the menu entry, the .samlabel file type and icons into {root} "
              f"({len(report.written)} files).")
        print(f"Start command: {' '.join(shlex.quote(a) for a in (command or xdg_install.default_command()))}")
    else:
        report = xdg_install.uninstall()
        print(f"Removed {len(report.removed)} files of the desktop integration.")
    for kept in report.kept:
        print(f"kept: {kept}")
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
