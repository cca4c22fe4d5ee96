"""app.ui.jobs.BackgroundJob: a job outliving the dialog that started it ends quietly."""
from __future__ import annotations

import threading

from PySide6.QtWidgets import QWidget

from app.ui.jobs import BackgroundJob


def test_a_job_whose_owner_was_deleted_ends_without_an_error_in_its_thread(qtbot, monkeypatch) -> None:
    """Closing the model manager while its device check or speed-mode read still runs used to raise
    "Signal source has been deleted" in the job's thread (a traceback on stderr)."""
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    owner = QWidget()
    release = threading.Event()

    def work(progress, _cancel):  # type: ignore[no-untyped-def]
        release.wait(10)
        progress(1, 2)
        return 42

    job = BackgroundJob(work, "slow", owner, show_dialog=False)
    job.start()
    owner.deleteLater()
    qtbot.waitUntil(lambda: _deleted(job), timeout=5000)
    release.set()
    job.join(10)
    assert not job.is_running()
    assert job.result == 42 and errors == []


def _deleted(obj: object) -> bool:
    from shiboken6 import isValid

    return not isValid(obj)
