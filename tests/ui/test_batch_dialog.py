"""Automation > Auto-label images…: the dialog plans and runs a batch off the GUI thread, the images
list and the current image refresh as images are stored, Cancel, and the reasons it cannot start."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.automation.review import needs_review
from app.core.model import Annotation
from app.core.shapes import rectangle_parts
from app.ui.batch_ui import BatchUi
from tests.automation.test_boxes import BoxPredictor
from tests.ui.window_support import window  # noqa: F401 - fixture
from tests.ui.window_support import predictor  # noqa: F401 - fixture


@pytest.fixture
def box_model(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The batch run's model (loaded from the inference service's settings) is a BoxPredictor."""
    import sam_backend

    calls: list[dict] = []
    pred = BoxPredictor()

    def load(**kw):
        calls.append(kw)
        return pred

    monkeypatch.setattr(sam_backend, "load_predictor", load)
    return calls


def _batch_ui(win) -> BatchUi:
    return next(e for e in win.extensions if isinstance(e, BatchUi))


def _add_boxes(win) -> None:
    project = win.project
    lab = project.add_label_class("car")
    for rec in project.images()[:2]:
        box = ((20.0, 30.0), (70.0, 80.0))
        project.add_annotation(Annotation(rec.id, lab.id, rectangle_parts(*box), None, shape="rectangle", points=box,
                                          source="import"))
    win.controller.refresh_annotations()


def test_boxes_batch_from_the_dialog(qtbot, window, box_model) -> None:  # noqa: F811
    win = window
    _add_boxes(win)
    current = win.controller.image.id
    before = len(win.controller.annotations())
    win.registry.action("autolabel_images").trigger()
    dialog = _batch_ui(win).dialog
    assert dialog is not None and dialog.isVisible()
    assert win.automation_menu.actions()[0] is win.registry.action("autolabel_images")
    dialog.mode_box.setCurrentIndex(dialog.mode_box.findData("boxes"))
    assert [dialog.options.labelForField(w).text() for _, w in dialog.options._widgets.values()] == \
        ["Best of three candidates"]
    job = dialog.start()
    assert job is not None and not dialog.start_button.isEnabled() and dialog.cancel_button.text() == "Cancel"
    qtbot.waitUntil(lambda: not job.is_running(), timeout=30000)
    assert box_model == [{"model": "mobile_sam", "checkpoint": None, "device": win.settings.device, "precision": "fp32"}]
    assert dialog.summary is not None and dialog.summary.labelled == 4 and dialog.summary.annotations == 2
    assert dialog.progress.value() == 4 and "Labelled 4 of 4 images." in dialog.status_label.text()
    assert dialog.cancel_button.text() == "Close" and dialog.start_button.isEnabled()
    # the current image shows its new mask at once; the images list knows which images wait for review
    assert len(win.controller.annotations()) == before + 1
    assert [a.source for a in win.controller.annotations()].count("auto") == 1 and current == win.project.images()[0].id
    model = win.images_dock.model
    flagged = [needs_review(model.record(r).extra) for r in range(model.rowCount())]
    assert flagged == [True, True, False, False]  # images without boxes got nothing to review
    # a second start finds nothing to do
    assert dialog.start() is None and "Nothing to do" in dialog.status_label.text()
    dialog.close()


def test_dialog_explains_why_it_cannot_start(qtbot, window, box_model) -> None:  # noqa: F811
    win = window
    dialog = _batch_ui(win).open_dialog()
    dialog.mode_box.setCurrentIndex(dialog.mode_box.findData("everything"))
    dialog.glob_edit.setText("*.jpg")
    assert dialog.start() is None and dialog.status_label.text() == "No image matches this choice."
    dialog.glob_edit.setText("")
    widget = dialog.options._widgets["box_nms_thresh"][1]
    widget.setValue(3.0)
    assert dialog.start() is None and "box_nms_thresh must be between 0 and 1" in dialog.status_label.text()
    assert box_model == []  # nothing was loaded
    # the selected-images scope holds the current image
    assert dialog.scope_box.itemText(1) == "Selected images (1)"
    dialog.close()


def test_cancel_from_the_dialog(qtbot, window, monkeypatch) -> None:  # noqa: F811
    import threading

    import sam_backend

    gate = threading.Event()

    class Gated(BoxPredictor):
        def encode(self, image, should_abort=None):
            # the first image waits here until Cancel was clicked: its boxes are decoded after the
            # cancel, which the automation checks before each box (gating predict instead raced with
            # the check before the first box)
            assert gate.wait(30)
            return super().encode(image, should_abort)

    monkeypatch.setattr(sam_backend, "load_predictor", lambda **kw: Gated())
    win = window
    _add_boxes(win)
    dialog = _batch_ui(win).open_dialog()
    dialog.mode_box.setCurrentIndex(dialog.mode_box.findData("boxes"))
    job = dialog.start()
    dialog.cancel_button.click()
    assert job.cancel_event.is_set() and "Cancelling" in dialog.status_label.text()
    gate.set()
    qtbot.waitUntil(lambda: not job.is_running(), timeout=30000)
    assert dialog.summary is not None and dialog.summary.cancelled
    assert dialog.summary.labelled == 0  # the image in progress is dropped (its automation saw the cancel)
    assert not any(a.source == "auto" for r in win.project.images() for a in win.project.annotations(r.id))
    assert "Cancelled after" in dialog.status_label.text()


def test_the_dialog_closes_with_the_window(qtbot, window) -> None:  # noqa: F811
    """A window-modal dialog left open after its window closed blocked every later window's mouse."""
    from PySide6.QtWidgets import QApplication

    win = window
    dialog = _batch_ui(win).open_dialog()
    assert dialog.isVisible() and QApplication.activeModalWidget() is dialog
    win.close()
    assert not dialog.isVisible() and QApplication.activeModalWidget() is None


def test_a_run_in_worker_processes_says_so_and_stores_as_usual(qtbot, window) -> None:  # noqa: F811
    """The dialog names the worker processes while they load and label; the images arrive as
    from an in-process run."""
    from app.automation.process_executor import ProcessExecutor
    from app.services.batch_jobs import BatchAutolabelJob
    from tests.automation.test_process_executor import _pid_predictor

    win = window
    _add_boxes(win)
    dialog = _batch_ui(win).open_dialog()
    dialog._make_job = lambda p, plan, m: BatchAutolabelJob(p, plan, m, ProcessExecutor(workers=2, loader=_pid_predictor))
    dialog.mode_box.setCurrentIndex(dialog.mode_box.findData("boxes"))
    texts: list[str] = []
    job = dialog.start()
    assert job is not None and job.worker_processes == 2
    assert "Loading mobile_sam in 2 worker processes" in dialog.status_label.text()
    assert dialog.model_label.text().endswith("· 2 worker processes (one image each)")
    job.started.connect(lambda: texts.append(dialog.status_label.text()))
    qtbot.waitUntil(lambda: not job.is_running(), timeout=60000)
    assert texts == ["Labelling with 2 worker processes…"]
    assert dialog.summary is not None and dialog.summary.labelled == 4 and dialog.summary.annotations == 2
    assert "Labelled 4 of 4 images." in dialog.status_label.text()
    dialog.close()
