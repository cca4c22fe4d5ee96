"""The installed Qt binding survives a long session (guards the PySide6 version pin in pyproject.toml).

PySide6 6.12.0 on CPython 3.11 drops one reference to None on every void Qt call and to True on
every Signal.emit; after a few thousand calls Python aborts with "none_dealloc".
"""
from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel
app_ = QApplication([])
label = QLabel()
class O(QObject):
    s = Signal(int)
o = O()
o.s.connect(lambda v: None)
none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
for i in range(20000):
    label.setText("x")
    o.s.emit(i)
print(none_before - sys.getrefcount(None), true_before - sys.getrefcount(True))
"""


def test_void_calls_and_emits_keep_reference_counts() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lost_none, lost_true = (int(v) for v in out.stdout.split())
    assert abs(lost_none) < 100 and abs(lost_true) < 100
