"""Signals in the end-to-end tests that interrupt a CLI child process."""
from __future__ import annotations

import signal


def sigint_as_in_a_terminal() -> None:
    """Popen preexec_fn for a child that must react to Ctrl+C. A test runner started as a background
    job without job control (``cmd &`` in a script) ignores SIGINT; its children inherit that, and
    Python then never raises KeyboardInterrupt. Restore the default that a terminal's Ctrl+C finds."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
