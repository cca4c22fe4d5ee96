"""Automation > Auto-label images… (Ctrl+Shift+L): the window side of batch auto-labelling.

Installed as a window extension (app.ui.extensions.UI_EXTENSIONS). Opens the BatchDialog for the
open project with the inference service's model; while a run stores images, the images list
patches their records ("to review") and the current image's annotations are reloaded when it is
one of them. Shutdown cancels a run and waits for its thread.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMenu

from app.automation.batch import ModelSpec
from app.services.batch_jobs import BatchAutolabelJob

translate = QCoreApplication.translate


def automation_menu(window: Any) -> QMenu:
    """The window's Automation menu, made (before Help) the first time it is asked for."""
    menu = getattr(window, "automation_menu", None)
    if isinstance(menu, QMenu):
        return menu
    bar = window.menuBar()
    menu = QMenu(translate("Menus", "&Automation"), bar)
    actions = bar.actions()
    if actions:
        bar.insertMenu(actions[-1], menu)  # before Help
    else:
        bar.addMenu(menu)
    window.automation_menu = menu
    return menu


def model_spec(window: Any) -> ModelSpec:
    """The model the inference service was asked to load (else the settings' model)."""
    requested = getattr(window.inference, "requested_model", lambda: None)()
    if requested is not None:
        model_id, checkpoint, device, precision = requested
        return ModelSpec(model_id, checkpoint, device, precision)
    return ModelSpec(window.settings.model_id, None, window.settings.device, window.settings.precision)


def selected_image_ids(window: Any) -> list[int]:
    """The images selected in the images list (the current image when none is)."""
    from app.ui.docks.images_dock import ImageRole

    view = window.images_dock.view
    ids = [rec.id for idx in view.selectionModel().selectedIndexes() if (rec := idx.data(ImageRole)) is not None]
    if not ids and window.controller.image is not None:
        ids = [window.controller.image.id]
    return ids


class BatchUi:
    """The installed feature: its action, the dialog it opens and the runs it started."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.jobs: list[BatchAutolabelJob] = []
        self.dialog: Any = None
        action = window.registry.action("autolabel_images")
        action.triggered.connect(self.open_dialog)
        automation_menu(window).addAction(action)

    def open_dialog(self) -> Any:
        """Show the dialog (None, with a status message, without a writable project)."""
        from app.extensions.registry import automations
        from app.ui.dialogs.batch_dialog import BatchDialog

        w = self.window
        project = w.project
        if project is None or project.read_only:
            w.status.show_message(translate("BatchDialog", "Open a writable project first."))
            return None
        w.controller.flush()  # accepts still being converted are stored first
        dialog = BatchDialog(project, automations(), model_spec(w), selected_image_ids(w), parent=w)
        dialog.jobStarted.connect(self._watch)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _watch(self, job: BatchAutolabelJob) -> None:
        self.jobs.append(job)
        job.imageStored.connect(self._stored)
        job.finished.connect(lambda _s: self._ended(job))
        job.failed.connect(lambda _t: self._ended(job))

    def _stored(self, image_id: int) -> None:
        w = self.window
        if w.project is None or w.project.closed:
            return
        w.images_dock.model.update_record(w.project.image(image_id))
        w.images_dock.update_counts(w.project)  # statuses move from new to in progress
        c = w.controller
        if c.image is not None and c.image.id == image_id:
            c.refresh_annotations()

    def _ended(self, job: BatchAutolabelJob) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        if self.window.project is not None and not self.window.project.closed:
            self.window.images_dock.update_counts(self.window.project)

    def shutdown(self) -> None:
        """Cancel the runs and wait for their threads (their stored images stay stored); the dialog
        closes with the window (a window-modal dialog left open would block the next window)."""
        for job in list(self.jobs):
            job.cancel()
            job.join(10.0)
        if self.dialog is not None:
            self.dialog.close()
            self.dialog = None


def install_batch(window: Any) -> BatchUi:
    """Add Automation > Auto-label images… to ``window``."""
    return BatchUi(window)
