"""Automations: tools that propose annotations for an image or a set of images (segment everything,
boxes -> masks, text prompts), run off the GUI thread and reviewed before they are stored.

Qt-free: imports app.core and sam_backend (the families' protocols), never PySide6, app.services or
app.ui. The GUI runs automations on the inference worker (app.services); the CLI (`autolabel`) and
cluster executors run them directly. See app.automation.api for the protocol.
"""
