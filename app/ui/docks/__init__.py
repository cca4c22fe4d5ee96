"""Dock widgets of the main window: images, label classes, annotations of the current image."""
