"""Running a command so that file permissions apply to it, even when the tests run as root.

Root ignores permission bits (CAP_DAC_OVERRIDE), so a chmod 0444 file or 0555 folder is writable
to it and a "read-only" test would prove nothing. As root, the command is started through
util-linux ``setpriv`` with those capabilities removed from its bounding set: it keeps its uid
(so it can still run the interpreter under /root) but the owner's permission bits now bind it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def unprivileged(cmd: list[str]) -> list[str]:
    """``cmd`` wrapped so that permission bits bind it (see the module doc)."""
    if os.name != "posix" or os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without util-linux setpriv: permissions cannot be enforced")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]


def run_app(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
            restricted: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m app ARGS`` in a subprocess (bound by permissions unless ``restricted`` is False)."""
    cmd = [sys.executable, "-m", "app", *args]
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(unprivileged(cmd) if restricted else cmd, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single "sam-labeler..." line of a failed command's stderr (asserts there is no traceback)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("sam-labeler")]
    assert len(lines) == 1, proc.stderr
    return lines[0]
