"""Catching what C libraries write straight to the process's stderr (file descriptor 2).

Image libraries under Pillow (older libtiff builds: "TIFFReadDirectory: Warning, Unknown field
with tag ...") print warnings to fd 2 themselves, bypassing Python: during `scan` of a folder of
such files they flooded the terminal between the result lines. ``native_stderr_captured()``
points fd 2 at a temporary file for the duration of a block and hands back the lines written, so
the command can report them on the line of the image concerned. Only for single-threaded
command-line use: fd 2 is process-wide.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

_KEEP = 4096  # bytes of captured text kept per block


@contextlib.contextmanager
def native_stderr_captured() -> Iterator[list[str]]:
    """Yield a list that, after the block, holds the non-empty lines written to fd 2 inside it.
    Does nothing (the list stays empty) where fd 2 cannot be redirected."""
    lines: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield lines
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read(_KEEP).decode("utf-8", "replace")
            lines.extend(ln.strip() for ln in text.splitlines() if ln.strip())
