"""Widgets of SAM Labeler: main window, canvas, docks, dialogs.

Importing this package applies a guard against a PySide6 6.12 reference-counting defect on
CPython < 3.12 (see app.ui._pyside_guard).
"""
from app.ui import _pyside_guard

_pyside_guard.apply()
