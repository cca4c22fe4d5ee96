"""Entry point of `sam-labeler` and `python -m app`: GUI by default, sub-commands for headless work.

In a frozen (PyInstaller) build the executable is also the interpreter of the app's worker processes
(multiprocessing's spawned workers, e.g. the accept service app.services.geometry): `freeze_support`.
"""
from __future__ import annotations

import multiprocessing
import sys

from app.cli import main as _cli_main


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code (also used as the gui-script entry)."""
    multiprocessing.freeze_support()  # a spawned worker of a frozen build runs its task and exits here
    args = sys.argv[1:] if argv is None else argv
    code = _cli_main(args)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
