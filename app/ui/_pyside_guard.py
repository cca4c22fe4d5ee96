"""Work-around for a reference-counting defect of PySide6/shiboken6 6.12 on CPython < 3.12.

Measured here (PySide6 6.12.0, Python 3.11.7): every call of a Qt method returning void drops one
reference to `None` (e.g. 1000 x `QLabel.setText` -> refcount(None) - 1000), and `Signal.emit` drops
one to `True`; after a few thousand calls CPython aborts with "Fatal Python error: none_dealloc /
bool_dealloc". Python 3.12 made these singletons immortal (PEP 683), which is what shiboken 6.12
assumes. On older CPython we emulate that: their reference counts are raised by 2**40 once, so the
leaked decrements can never reach zero (the count is a Py_ssize_t; nothing else reads its value).
Nothing is done on CPython >= 3.12, on other interpreters, or with shiboken6 older than 6.12.
"""
from __future__ import annotations

import ctypes
import sys

_BOOST = 1 << 40
_applied = False


def _affected_shiboken() -> bool:
    try:
        import shiboken6
    except ImportError:
        return False
    version = getattr(shiboken6, "__version_info__", None)
    if not version:
        return False
    return tuple(int(v) for v in version[:2]) >= (6, 12)


def apply() -> bool:
    """Make None/True/False effectively immortal when needed; True when the guard is (now) active."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12) or not _affected_shiboken():
        return False
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += _BOOST  # ob_refcnt is the first field
    _applied = True
    return True
