"""QT_TRANSLATE_NOOP with a real type: marks an English source string for Qt's lupdate (which finds
the call by its name) and returns it unchanged, typed `str` (PySide6's stub says `object`)."""
from __future__ import annotations


def QT_TRANSLATE_NOOP(context: str, source: str) -> str:  # noqa: N802 - the name lupdate looks for
    """`source`, unchanged (translated later with QCoreApplication.translate(context, source))."""
    del context
    return source
