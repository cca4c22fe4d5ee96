"""Entry point of `sam-labeler` and `python -m app`: GUI by default, sub-commands for headless work."""
from __future__ import annotations

import sys

from app.cli import main as _cli_main


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code (also used as the gui-script entry)."""
    code = _cli_main(sys.argv[1:] if argv is None else argv)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
