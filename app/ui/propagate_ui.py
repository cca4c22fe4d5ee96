"""Tools > Propagate annotations through frames (Ctrl+Shift+P): the GUI entry of sequence propagation.

The selected annotation (or, with none selected, every annotation with an area) of the current image
is carried forward and backward through the project's frames by a video model in a worker thread
(app.services.propagation); each frame's proposals arrive here and are written in one transaction
per frame (like an import, outside the undo stack; the proposals carry source "propagated" and can
be deleted or edited like any annotation). A progress dialog shows frames done and cancels.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt

translate = QCoreApplication.translate
from PySide6.QtWidgets import QProgressDialog

from app.core.geometry import annotation_mask
from app.core.propagated import anchor_objects, sequence_images, write_frame
from app.services.propagation import PropagationJob, PropagationTask, propagation_model


def install_propagation(window: Any) -> None:
    """Add the action to the Tools menu and connect it (called once by the main window)."""
    action = window.registry.action("propagate")
    action.triggered.connect(lambda: start_propagation(window))
    tools = getattr(window, "tools_menu", None)  # set by app.ui.menus (menu titles are translated)
    if tools is not None:
        tools.addAction(action)
    window.propagation_jobs = []


def start_propagation(window: Any, forward: int | None = None, backward: int | None = None) -> PropagationJob | None:
    """Start propagating from the current image; None (with a status message) when it cannot start."""
    project, c = window.project, window.controller
    if project is None or project.read_only or c.image is None:
        window.status.show_message(translate("Propagation", "Open a writable project and an image with annotations first."))
        return None
    if any(job.is_running() for job in window.propagation_jobs):
        window.status.show_message(translate("Propagation", "A propagation is already running."))
        return None
    frames = sequence_images(project)
    index = next((i for i, rec in enumerate(frames) if rec.id == c.image.id), None)
    if index is None or len(frames) < 2:
        window.status.show_message(translate("Propagation", "Propagation needs a project whose images are the frames of a sequence."))
        return None
    try:
        objects = anchor_objects(project, c.image.id, [c.selected] if c.selected is not None else None)
    except ValueError as exc:
        window.status.show_message(translate("Propagation", "Nothing to propagate: {reason}.").format(reason=exc), error=True)
        return None
    rec = frames[index]
    masks = {o.object_id: annotation_mask(o.annotation, rec.height, rec.width) for o in objects}
    task = PropagationTask(frames=[(r.id, project.image_path(r)) for r in frames], anchor=index, masks=masks,
                           labels={o.object_id: o.label_id for o in objects},
                           model_id=propagation_model(window.settings.model_id), device=window.settings.device,
                           forward=forward, backward=backward)
    job = PropagationJob(window)
    dialog = QProgressDialog(translate("Propagation", "Propagating {n} object(s) with {model}…").format(n=len(objects), model=task.model_id),
                             translate("Propagation", "Cancel"), 0, 0, window)
    dialog.setWindowTitle(translate("Propagation", "Propagate through frames"))
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.canceled.connect(job.cancel)
    job.dialog = dialog

    def on_progress(done: int, total: int) -> None:
        if total < 0:
            dialog.setRange(0, 0)
            dialog.setLabelText(translate("Propagation", "Loading {model}…").format(model=task.model_id))
            return
        dialog.setRange(0, max(1, total))
        dialog.setValue(done)
        dialog.setLabelText(translate("Propagation", "Propagating {n} object(s): frame {done} of {total}").format(
            n=len(objects), done=done, total=total))

    def on_frame(image_id: int, prepared: list, object_ids: list) -> None:
        if window.project is not project:
            job.cancel()  # the project was closed meanwhile: nothing more is written
            return
        try:
            write_frame(project, image_id, prepared, object_ids)
        except (ValueError, OSError) as exc:
            job.cancel()
            window.status.show_message(translate("Propagation", "Propagation stopped: {reason}").format(reason=exc), error=True)
            return
        if c.image is not None and c.image.id == image_id:
            c.refresh_annotations()

    def on_end(text: str, error: bool = False) -> None:
        dialog.reset()
        dialog.hide()
        c.refresh_annotations()
        window.status.show_message(text, error=error)
        if job in window.propagation_jobs:
            window.propagation_jobs.remove(job)

    job.progressed.connect(on_progress)
    job.frameReady.connect(on_frame)
    job.finished.connect(lambda text: on_end(text))
    job.failed.connect(lambda text: on_end(translate("Propagation", "Propagation failed: {reason}").format(reason=text), error=True))
    window.propagation_jobs.append(job)
    job.start(task)
    return job
