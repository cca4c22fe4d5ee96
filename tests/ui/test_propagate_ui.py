"""Tools > Propagate through frames in the real window: the key starts a propagation off the GUI thread
(a tiny random SAM 2.1 video model installed from a snapshot), proposals are written per frame and the
canvas shows them; cancel from the progress dialog stops it."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

pytest.importorskip("transformers", reason="the sam2 extra (transformers) is not installed")

from app.core.geometry import mask_to_parts  # noqa: E402
from app.core.model import Annotation  # noqa: E402
from app.core.rle import mask_to_rle  # noqa: E402
from tests.sam_backend import _hf_tiny  # noqa: E402
from tests.ui.window_support import key, make_images, open_window, predictor  # noqa: E402,F401


@pytest.fixture
def window(qtbot, tmp_path: Path, predictor):  # type: ignore[no-untyped-def]
    from sam_backend.hub import import_snapshot

    import_snapshot("sam2.1_hiera_tiny", _hf_tiny.save_snapshot(_hf_tiny.sam2_video_model(seed=2), tmp_path / "snap"))
    win = open_window(qtbot, make_images(tmp_path / "frames", n=4, size=(64, 48)), predictor)
    win.settings.device = "cpu"
    yield win
    win.close()


def _anchor(win) -> Annotation:  # type: ignore[no-untyped-def]
    project = win.project
    label = project.add_label_class("car")
    mask = np.zeros((48, 64), bool)
    mask[10:30, 12:40] = True
    ann = project.add_annotation(Annotation(image_id=win.controller.image.id, label_id=label.id,
                                            parts=mask_to_parts(mask), rle=mask_to_rle(mask), source="sam",
                                            shape="mask"))
    win.controller.refresh_annotations()
    return ann


def test_key_propagates_off_the_gui_thread_and_stores_per_frame(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    anchor = _anchor(window)
    gui = threading.get_ident()
    threads: list[int] = []
    key(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(window.propagation_jobs) == 1
    job = window.propagation_jobs[0]
    job.frameReady.connect(lambda *a: threads.append(threading.get_ident()), Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(job.finished, timeout=120_000) as done:
        pass
    assert done.args[0] == "Propagated 1 object(s) over 3 frames."
    assert threads and gui not in threads  # frames were computed in the worker thread
    recs = sorted(window.project.images(), key=lambda r: r.path)
    group = window.project.annotation(anchor.id).group_id
    assert group is not None
    for rec in recs[1:]:
        anns = window.project.annotations(rec.id)
        assert [(a.source, a.group_id, a.label_id) for a in anns] == [("propagated", group, anchor.label_id)]
    assert window.propagation_jobs == []


def test_cancel_from_the_dialog_keeps_what_was_stored(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from app.ui.propagate_ui import start_propagation

    _anchor(window)
    job = start_propagation(window)
    assert job is not None
    from PySide6.QtWidgets import QPushButton

    job.dialog.findChild(QPushButton).click()  # the dialog's Cancel button
    with qtbot.waitSignal(job.finished, timeout=120_000) as done:
        pass
    assert done.args[0].startswith("Propagation cancelled after")
    assert window.status.message.text().startswith("Propagation cancelled")
