"""The PySide6 6.12 / CPython 3.11 refcount guard (app.ui._pyside_guard) keeps a long session alive."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import app.ui
from app.ui import _pyside_guard
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel
app_ = QApplication([])
label = QLabel()
class O(QObject):
    s = Signal(int)
o = O()
o.s.connect(lambda v: None)
before = sys.getrefcount(None)
for i in range(50000):
    label.setText("x")
    o.s.emit(i)
print("OK", _pyside_guard.apply(), before - sys.getrefcount(None))
"""


def test_many_void_calls_do_not_abort_the_interpreter() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ok, active, leaked = proc.stdout.split()[-3:]
    assert ok == "OK"
    # either this PySide leaks a reference per void call (then the guard must be active) or it does not
    assert active == "True" or int(leaked) == 0
