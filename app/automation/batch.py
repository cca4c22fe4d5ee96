"""Batch auto-labelling (Qt-free): the driver that the CLI (`autolabel`) and the GUI's batch dialog
both use, and the executor seam that runs an automation over many images.

The driver (``plan_batch`` then ``run_batch``) chooses the images (a glob over project paths, or
explicit ids), skips those already labelled by the mode with the same settings (the "done" mark in
the image extra, ``{"autolabel": {MODE: {"settings": ..., "annotations": n, "time": t}}}``; ``redo``
labels them again), hands the jobs to an ``Executor`` and stores every result as it arrives, in one
transaction per image together with its done mark: a kill -9 loses at most the images in flight.

Executors turn jobs into results; they never touch the project. ``LocalExecutor`` runs in the
calling thread with one prefetch thread decoding the next images while the model works; a cluster
executor (Ray) implements the same ``Executor.run`` and calls the same ``compute`` on its workers.
"""
from __future__ import annotations

import fnmatch
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from app.automation.api import Automation, AutomationContext, AutomationInput, Proposal
from app.automation.store import DEFAULT_LABEL, convert_proposal, labelled_annotations, next_z
from app.core.errors import CoreError
from app.core.formats.common import Cancelled
from app.core.mask_convert import ConvertedMask
from app.core.model import Annotation, ImageRecord
from app.core.options import OptionValue, resolve_options
from app.core.project import Project
from app.core.proposal_edits import AddLabelledAnnotations
from sam_backend.families import Predictor

MARK_KEY = "autolabel"
"""Image extra key of the done marks: extra[MARK_KEY][mode] (see the module doc)."""
PREFETCH = 2
"""Images decoded ahead of the one being labelled by LocalExecutor."""


@dataclass(frozen=True)
class ModelSpec:
    """The segmentation model an executor loads: a model id, an optional checkpoint file instead of
    the model cache, a device ("auto", "cpu", "cuda", "cuda:N", "mps") and the encoder's precision
    ("fp32" exact, or an opt-in fast mode of sam_backend.modes: "bf16", "int8", "fp16")."""

    model: str = "mobile_sam"
    checkpoint: str | None = None
    device: str = "auto"
    precision: str = "fp32"

    @property
    def name(self) -> str:
        """What the done mark records as the model (the checkpoint when given, else the id; a fast
        mode is named after it, e.g. "mobile_sam.bf16": its masks differ from the exact model's)."""
        base = self.checkpoint or self.model
        return base if self.precision == "fp32" else f"{base}.{self.precision}"


@dataclass(frozen=True)
class BatchJob:
    """One image to label: its project id, its file (absolute path), its annotations and the
    project's label names by id (plain data: it can be sent to another process)."""

    image_id: int
    path: str
    annotations: tuple[Annotation, ...] = ()
    labels: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResult:
    """The answer for one job: proposals, or error (one sentence) when the image could not be
    labelled (unreadable file, a model error on it); width/height of the decoded image (0 on error)."""

    image_id: int
    proposals: list[Proposal] | None
    error: str | None
    width: int
    height: int


class Executor(Protocol):
    """Runs mode ``mode`` with ``params`` over ``jobs`` on model ``model``; yields one result per
    job in order of arrival (not necessarily the jobs' order). Stops early, without raising, once
    ``cancel`` is set (the jobs in flight are dropped). A model that cannot be loaded raises."""

    def run(self, jobs: Iterable[BatchJob], *, mode: str, params: Mapping[str, OptionValue], model: ModelSpec,
            cancel: threading.Event | None) -> Iterator[BatchResult]:
        """The results, as they arrive."""


def load_job_image(job: BatchJob) -> np.ndarray:
    """The job's pixels (H, W, 3 uint8 RGB, EXIF-rotated); ImageLoadError when it cannot be decoded."""
    from app.core.images import load_image

    return load_image(Path(job.path)).array


def compute(job: BatchJob, automation: Automation, ctx: AutomationContext, params: Mapping[str, OptionValue], *,
            image: np.ndarray | None = None, cancel: threading.Event | None = None) -> BatchResult:
    """Label one job: decode its image (unless ``image`` is given, e.g. prefetched), run the
    automation, return the result. A failure of this image (decode, bad input, a core error) is
    returned as the result's error; Cancelled propagates."""
    try:
        pixels = load_job_image(job) if image is None else image
        item = AutomationInput(pixels, job.image_id, job.annotations, job.labels)
        proposals = automation.propose(ctx, item, params=params, cancel=cancel)
    except Cancelled:
        raise
    except (OSError, ValueError, CoreError) as exc:
        return BatchResult(job.image_id, None, str(exc) or type(exc).__name__, 0, 0)
    return BatchResult(job.image_id, list(proposals), None, int(pixels.shape[1]), int(pixels.shape[0]))


PredictorLoader = Callable[[ModelSpec], Predictor]


def _load_predictor(spec: ModelSpec) -> Predictor:
    import sam_backend

    # looked up on the package at call time (sam_backend loads it lazily; tests replace it there)
    load: Callable[..., Predictor] = getattr(sam_backend, "load_predictor")
    return load(model=spec.model, checkpoint=spec.checkpoint, device=spec.device, precision=spec.precision)


class LocalExecutor:
    """Runs the automation in the calling thread on a model it loads (kept for the next run with the
    same ModelSpec); one prefetch thread decodes up to ``prefetch`` images ahead (a bounded queue), so
    decoding overlaps encoding and decoding. ``predictor``: use this model instead of loading one."""

    def __init__(self, *, prefetch: int = PREFETCH, loader: PredictorLoader | None = None,
                 predictor: Predictor | None = None) -> None:
        if prefetch < 1:
            raise ValueError(f"prefetch must be at least 1 (got {prefetch}).")
        self.prefetch = prefetch
        self._loader = loader if loader is not None else _load_predictor
        self._given = predictor
        self._loaded: tuple[ModelSpec, Predictor] | None = None

    def predictor(self, spec: ModelSpec) -> Predictor:
        """The model for ``spec`` (the given one, else loaded once per spec)."""
        if self._given is not None:
            return self._given
        if self._loaded is None or self._loaded[0] != spec:
            self._loaded = None
            self._loaded = (spec, self._loader(spec))
        return self._loaded[1]

    def run(self, jobs: Iterable[BatchJob], *, mode: str, params: Mapping[str, OptionValue], model: ModelSpec,
            cancel: threading.Event | None = None) -> Iterator[BatchResult]:
        """See Executor.run; results come in the jobs' order. The jobs iterable is consumed in the
        calling thread (it may read the project)."""
        from app.automation.context import LocalContext
        from app.extensions.registry import get_automation

        automation = get_automation(mode)
        ctx = LocalContext(self.predictor(model))
        pool = ThreadPoolExecutor(1, thread_name_prefix="autolabel-prefetch")
        pending: deque[tuple[BatchJob, Future[np.ndarray]]] = deque()
        source = iter(jobs)

        def refill(limit: int) -> None:
            while len(pending) < limit:
                job = next(source, None)
                if job is None:
                    return
                pending.append((job, pool.submit(load_job_image, job)))

        try:
            refill(self.prefetch + 1)
            while pending:
                if cancel is not None and cancel.is_set():
                    return
                job, decoded = pending.popleft()
                refill(self.prefetch)  # the image in hand and ``prefetch`` decoding ahead
                try:
                    image = decoded.result()
                except (OSError, ValueError, CoreError) as exc:
                    yield BatchResult(job.image_id, None, str(exc) or type(exc).__name__, 0, 0)
                    continue
                try:
                    result = compute(job, automation, ctx, params, image=image, cancel=cancel)
                except Cancelled:
                    return
                del image
                yield result
        finally:
            for _, fut in pending:
                fut.cancel()
            pool.shutdown(wait=True)


# ---------------------------------------------------------------------------- the driver
def select_images(project: Project, pattern: str | None = None,
                  image_ids: Collection[int] | None = None) -> list[ImageRecord]:
    """The project's present images (missing files left out) in project order, restricted to the
    paths matching the glob ``pattern`` (fnmatch on the project-relative POSIX path, or on its
    file name when the pattern has no "/") and/or to ``image_ids``."""
    ids = None if image_ids is None else {int(i) for i in image_ids}
    out = []
    for rec in project.images():
        if rec.missing or (ids is not None and rec.id not in ids):
            continue
        if pattern:
            target = rec.path if "/" in pattern else rec.path.rsplit("/", 1)[-1]
            if not fnmatch.fnmatchcase(target, pattern):
                continue
        out.append(rec)
    return out


def mark_settings(params: Mapping[str, OptionValue], model: str, min_score: float | None = None) -> dict:
    """What a done mark records (a run with other settings does not skip the image)."""
    settings: dict = {"params": {k: params[k] for k in sorted(params)}, "model": model}
    if min_score is not None:
        settings["min_score"] = float(min_score)
    return settings


def already_done(extra: Mapping, mode: str, settings: Mapping) -> bool:
    """The image extra holds a done mark of ``mode`` with these settings."""
    marks = extra.get(MARK_KEY)
    mark = marks.get(mode) if isinstance(marks, dict) else None
    return isinstance(mark, dict) and mark.get("settings") == settings


@dataclass
class BatchPlan:
    """What a run will do: the images to label (``todo``), how many were skipped as done, and the
    settings their done marks will record."""

    mode: str
    params: dict[str, OptionValue]
    settings: dict
    todo: list[ImageRecord]
    selected: int
    skipped: int
    redo: bool = False
    min_score: float | None = None
    default_label: str = DEFAULT_LABEL


def check_params(automation: Automation, params: Mapping[str, OptionValue]) -> None:
    """ValueError (one sentence) for parameters ``automation`` refuses: unknown names, and what its
    optional ``check_params(params)`` method refuses (checked before any model is loaded)."""
    resolve_options(automation.options, params)
    check = getattr(automation, "check_params", None)
    if callable(check):
        check(params)


def plan_batch(project: Project, mode: str, params: Mapping[str, OptionValue], model: ModelSpec, *,
               images: str | None = None, image_ids: Collection[int] | None = None, redo: bool = False,
               min_score: float | None = None, default_label: str = DEFAULT_LABEL) -> BatchPlan:
    """The plan of a run over the selected images (see select_images), skipping the done ones
    unless ``redo``; ValueError for parameters the mode's automation refuses."""
    from app.extensions.registry import get_automation

    check_params(get_automation(mode), params)
    settings = mark_settings(params, model.name, min_score)
    selected = select_images(project, images, image_ids)
    todo = [r for r in selected if redo or not already_done(r.extra, mode, settings)]
    return BatchPlan(mode, dict(params), settings, todo, len(selected), len(selected) - len(todo), redo,
                     min_score, default_label)


def iter_jobs(project: Project, records: Iterable[ImageRecord]) -> Iterator[BatchJob]:
    """Jobs for ``records``, made lazily (annotations read when the executor asks for the job)."""
    labels = {lc.id: lc.name for lc in project.label_classes()}
    for rec in records:
        yield BatchJob(rec.id, str(project.image_path(rec)), tuple(project.annotations(rec.id)), labels)


def kept_proposals(proposals: Sequence[Proposal], min_score: float | None) -> list[Proposal]:
    """The proposals scoring at least ``min_score`` (those without a score are kept)."""
    if min_score is None:
        return list(proposals)
    return [p for p in proposals if p.score is None or p.score >= min_score]


def store_result(project: Project, plan: BatchPlan, result: BatchResult,
                 converted: Sequence[ConvertedMask | None] | None = None) -> list[Annotation]:
    """Store one successful result: in one transaction, the image size when it changed, (with redo)
    the removal of what this mode stored there before and nobody changed since, the proposals
    scoring at least plan.min_score (source "auto") and the done mark. ``converted``: the kept
    proposals' conversions when made elsewhere (``prepare_result``, off the GUI thread). Returns
    the stored annotations."""
    if result.proposals is None:
        raise ValueError(f"image {result.image_id} has no result to store: {result.error}")
    proposals = kept_proposals(result.proposals, plan.min_score)
    with project.transaction():
        rec = project.image(result.image_id)
        if result.width and (rec.width, rec.height) != (result.width, result.height):
            project.set_image_size(rec.id, result.width, result.height)
        if plan.redo:
            for ann in project.annotations(rec.id):
                if ann.source == "auto" and ann.extra.get("automation") == plan.mode and ann.updated == ann.created \
                        and ann.id is not None:
                    project.delete_annotation(int(ann.id))
        items = labelled_annotations(proposals, rec.id, z_start=next_z(project, rec.id), converted=converted,
                                     default_label=plan.default_label)
        edit = AddLabelledAnnotations(items, f"Autolabel ({plan.mode})")
        edit.apply(project)
        extra = dict(project.image(rec.id).extra)
        marks = dict(extra.get(MARK_KEY) or {})
        marks[plan.mode] = {"settings": plan.settings, "annotations": len(edit.annotations), "time": round(time.time(), 3)}
        extra[MARK_KEY] = marks
        project.set_image_extra(rec.id, extra)
    return list(edit.annotations)


def prepare_result(result: BatchResult, min_score: float | None) -> tuple[BatchResult, list[ConvertedMask | None]]:
    """The result with only the proposals kept by ``min_score``, and their conversions (polygons,
    exact RLE, outline): the slow part of storing, for a worker thread (``store_result(converted=)``)."""
    if result.proposals is None:
        return result, []
    kept = kept_proposals(result.proposals, min_score)
    return replace(result, proposals=kept), [convert_proposal(p) for p in kept]


@dataclass
class BatchProgress:
    """Where a run stands: images finished (labelled or failed) of ``total``, annotations stored,
    seconds since it started, and the estimated seconds left (None before the first image)."""

    done: int
    total: int
    labelled: int
    failed: int
    stored: int
    elapsed_s: float
    eta_s: float | None
    image_id: int | None = None


@dataclass
class BatchSummary:
    """The outcome of a run: images labelled, failures (path: reason), annotations stored per label
    name, seconds, and whether it was cancelled before the end."""

    total: int
    labelled: int = 0
    failures: list[str] = field(default_factory=list)
    stored: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    cancelled: bool = False

    @property
    def annotations(self) -> int:
        """Annotations stored in all."""
        return sum(self.stored.values())


class BatchTally:
    """Counts a run as its images finish (the CLI's run_batch and the GUI's batch job): progress with
    an ETA after each image, and the summary at the end."""

    def __init__(self, plan: BatchPlan, project: Project) -> None:
        self.summary = BatchSummary(len(plan.todo))
        self._paths = {r.id: r.path for r in plan.todo}
        self._project = project
        self._names = {lc.id: lc.name for lc in project.label_classes()}
        self._start = time.monotonic()

    def failed(self, image_id: int, reason: str | None) -> BatchProgress:
        """Image ``image_id`` could not be labelled."""
        self.summary.failures.append(f"{self._paths.get(image_id, image_id)}: {reason}")
        return self.progress(image_id)

    def stored(self, image_id: int, annotations: Sequence[Annotation]) -> BatchProgress:
        """Image ``image_id`` was labelled with ``annotations``."""
        self.summary.labelled += 1
        if any(a.label_id not in self._names for a in annotations):  # a label class made by this image
            self._names = {lc.id: lc.name for lc in self._project.label_classes()}
        for ann in annotations:
            name = self._names.get(ann.label_id, str(ann.label_id))
            self.summary.stored[name] = self.summary.stored.get(name, 0) + 1
        return self.progress(image_id)

    def progress(self, image_id: int | None = None) -> BatchProgress:
        """Where the run stands now."""
        s = self.summary
        done = s.labelled + len(s.failures)
        elapsed = time.monotonic() - self._start
        eta = elapsed / done * (s.total - done) if done else None
        return BatchProgress(done, s.total, s.labelled, len(s.failures), s.annotations, elapsed, eta, image_id)

    def finish(self, cancel: threading.Event | None) -> BatchSummary:
        """The summary (cancelled: ``cancel`` was set before every image was finished)."""
        s = self.summary
        s.elapsed_s = time.monotonic() - self._start
        s.cancelled = bool(cancel is not None and cancel.is_set() and s.labelled + len(s.failures) < s.total)
        return s


def run_batch(project: Project, plan: BatchPlan, executor: Executor, model: ModelSpec, *,
              cancel: threading.Event | None = None,
              on_progress: Callable[[BatchProgress], None] | None = None) -> BatchSummary:
    """Run ``plan`` through ``executor`` in this thread, storing each result as it arrives (see
    store_result). The conversion of an image's masks (polygons, outline: prepare_result) runs on
    a helper thread while the executor works on the next image. ``on_progress`` is called once
    before the first image and after every image. A KeyboardInterrupt propagates once the
    executor has stopped (the images stored stay stored; the one being converted is lost)."""
    tally = BatchTally(plan, project)
    report = on_progress if on_progress is not None else (lambda _p: None)
    report(tally.progress())
    if not plan.todo:
        return tally.finish(cancel)

    def store(prepared: Future[tuple[BatchResult, list[ConvertedMask | None]]]) -> None:
        result, converted = prepared.result()
        if result.proposals is None:
            report(tally.failed(result.image_id, result.error))
            return
        try:
            anns = store_result(project, plan, result, converted)
        except ValueError as exc:  # this image only (a project error stops the run)
            report(tally.failed(result.image_id, str(exc)))
        else:
            report(tally.stored(result.image_id, anns))

    results = executor.run(iter_jobs(project, plan.todo), mode=plan.mode, params=plan.params, model=model,
                           cancel=cancel)
    converter = ThreadPoolExecutor(1, thread_name_prefix="autolabel-convert")
    pending: Future[tuple[BatchResult, list[ConvertedMask | None]]] | None = None
    try:
        for result in results:
            job = converter.submit(prepare_result, result, plan.min_score)
            if pending is not None:
                store(pending)
            pending = job
            if cancel is not None and cancel.is_set():
                break
        if pending is not None:
            store(pending)
            pending = None
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()  # stops the executor's threads when the loop ended early
        if pending is not None:
            pending.cancel()
        converter.shutdown(wait=True)
    return tally.finish(cancel)
