"""Dialogs: model manager, export, import, settings (shortcuts), cheat sheet."""
