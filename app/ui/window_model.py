"""The window's model: loading the chosen model at start (or the first-run banner when it is not
installed), the model manager (one per window), and the model state shown in the status bar and
banner. Messages keep the MainWindow translation context."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from app.ui.dialogs.model_manager import ModelManagerDialog
from app.ui.gc_tuning import freeze_long_lived

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

translate = QCoreApplication.translate


def start_model(window: MainWindow, model_id: str | None = None, checkpoint: str | None = None,
                device: str | None = None) -> None:
    """Load a model in the worker when a checkpoint is available, else show the first-run banner.
    The encoder's speed mode is the one chosen in the model manager for the saved model (exact by
    default, and for another model asked for on the command line: a mode belongs to its model)."""
    settings = window.settings
    precision = settings.precision if model_id in (None, settings.model_id) else "fp32"
    model_id = model_id or settings.model_id
    device = device or settings.device
    if checkpoint is None:
        from app.services.models import install_state

        try:
            missing = install_state(model_id).status == "missing"
        except (KeyError, ValueError, OSError) as exc:
            on_model_state(window, "none", "")
            window.status.show_message(f"{exc}", error=True)
            return
        if missing:
            on_model_state(window, "none", "")
            return
    window.inference.load_model(model_id, checkpoint, device, precision)


def open_model_manager(window: MainWindow) -> None:
    """Tools > Model manager (one dialog per window: its download keeps running while hidden)."""
    if window.manager is None:
        settings = window.settings
        window.manager = ModelManagerDialog(settings.model_id, settings.device, window, settings.precision)
        window.manager.useRequested.connect(lambda m, d, p: use_model(window, m, d, p))
    window.manager.refresh()
    window.manager.show()
    window.manager.raise_()


def use_model(window: MainWindow, model_id: str, device: str, precision: str = "fp32") -> None:
    """The model manager's choice: remembered in the settings and loaded in the worker."""
    settings = window.settings
    settings.model_id, settings.device, settings.precision = model_id, device, precision
    window._save_settings()
    window.inference.load_model(model_id, None, device, precision)


def on_model_state(window: MainWindow, state: str, text: str) -> None:
    """The worker's model state: status bar, banner, and the labeling controller once ready."""
    window.status.set_model(state, text)
    window.banner.setVisible(state in ("none", "error"))
    if state == "error":
        window.banner.set_text(translate("MainWindow", "The SAM model could not be loaded ({reason}) — manual tools "
                                                       "work; open the model manager.").format(reason=text))
    elif state == "ready":
        freeze_long_lived()  # the model's objects are long-lived: keep them out of full GC passes
        window.controller.model_ready()
