"""Widgets of SAM Labeler: main window, canvas, docks, dialogs."""
