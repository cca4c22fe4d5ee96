"""BatchAutolabelJob: the executor in its own thread, each image stored in the GUI thread as it
arrives, progress, cancel and one-sentence failures (synthetic box predictor, real project)."""
from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from app.automation.batch import LocalExecutor, ModelSpec, plan_batch
from app.automation.review import needs_review
from app.services.batch_jobs import BatchAutolabelJob
from tests.automation.test_batch import _auto, _project
from tests.automation.test_boxes import BoxPredictor

SPEC = ModelSpec("synthetic", None, "cpu")


def test_stores_each_image_in_the_gui_thread(qtbot, tmp_path: Path) -> None:
    with _project(tmp_path, n=3) as project:
        plan = plan_batch(project, "boxes", {}, SPEC)
        job = BatchAutolabelJob(project, plan, SPEC, LocalExecutor(predictor=BoxPredictor()))
        stored, progress, threads = [], [], []
        job.imageStored.connect(lambda i: (stored.append(i), threads.append(threading.current_thread())))
        job.progressed.connect(progress.append)
        with qtbot.waitSignal(job.finished, timeout=30000) as blocker:
            job.start()
        summary = blocker.args[0]
        assert summary.labelled == 3 and summary.annotations == 6 and not summary.cancelled
        assert sorted(stored) == sorted(r.id for r in plan.todo)
        assert all(t is threading.main_thread() for t in threads)
        assert [p.done for p in progress] == [0, 1, 2, 3] and progress[-1].stored == 6
        assert all(len(v) == 2 for v in _auto(project).values())
        assert all(needs_review(r.extra) for r in project.images())  # "to review" in the images list
        assert not job.is_running()


def test_cancel_keeps_what_was_stored(qtbot, tmp_path: Path) -> None:
    with _project(tmp_path, n=4) as project:
        plan = plan_batch(project, "boxes", {}, SPEC)
        job = BatchAutolabelJob(project, plan, SPEC, LocalExecutor(predictor=BoxPredictor(), prefetch=1))
        job.cancel()  # before it starts: nothing is labelled
        with qtbot.waitSignal(job.finished, timeout=30000) as blocker:
            job.start()
        assert blocker.args[0].cancelled and blocker.args[0].labelled == 0
        assert not any(_auto(project).values())


def test_a_model_that_cannot_load_is_one_sentence(qtbot, tmp_path: Path) -> None:
    def boom(spec: ModelSpec):
        raise FileNotFoundError(2, "No such file or directory", "/nowhere/sam.pth")

    with _project(tmp_path, n=1) as project:
        plan = plan_batch(project, "boxes", {}, SPEC)
        job = BatchAutolabelJob(project, plan, SPEC, LocalExecutor(loader=boom))
        with qtbot.waitSignal(job.failed, timeout=30000) as blocker:
            job.start()
        text = blocker.args[0]
        assert "\n" not in text and "sam.pth" in text
        assert not any(_auto(project).values())


def test_worker_processes_label_for_the_gui_and_a_long_cpu_run_gets_them(qtbot, tmp_path: Path, monkeypatch) -> None:
    """The batch thread drives worker processes (started from a thread that is not the main one);
    the GUI thread stores their results. A long run on the CPU gets workers by default."""
    from app.automation import process_executor
    from app.automation.process_executor import AUTO_MIN_IMAGES, ProcessExecutor
    from tests.automation.test_process_executor import _pid_predictor

    with _project(tmp_path, n=4) as project:
        plan = plan_batch(project, "boxes", {}, SPEC)
        job = BatchAutolabelJob(project, plan, SPEC, ProcessExecutor(workers=2, loader=_pid_predictor))
        stored = []
        job.imageStored.connect(stored.append)
        with qtbot.waitSignal(job.finished, timeout=60000) as blocker:
            job.start()
        job.join()
        assert blocker.args[0].labelled == 4 and sorted(stored) == sorted(r.id for r in plan.todo)
        scores = {a.score for anns in _auto(project).values() for a in anns}
        assert len(scores) == 2 and os.getpid() not in scores  # the pids of two other processes

        monkeypatch.setattr(process_executor, "cpu_cores", lambda: 2)
        monkeypatch.setattr(process_executor, "_available_memory", lambda: 8 * 2**30)
        long_plan = replace(plan, todo=list(plan.todo) * (AUTO_MIN_IMAGES // len(plan.todo) + 1))
        mobile = ModelSpec("mobile_sam", None, "cpu")
        assert isinstance(BatchAutolabelJob(project, long_plan, mobile).executor, ProcessExecutor)
        assert not isinstance(BatchAutolabelJob(project, plan, mobile).executor, ProcessExecutor)
