"""RayExecutor: the batch driver's executor seam (app.automation.batch.Executor) on a Ray cluster.

The driver (app.automation.batch, the CLI) hands over jobs and stores every result it gets back in
its own transaction; this executor only computes them elsewhere:

* images are read by Ray Data (``ray.data.read_binary_files``) from the URI each image path maps to
  (``roots``: local root -> URI seen by the cluster, e.g. ``/data/imgs`` -> ``s3://bucket/imgs``
  or the same path on a shared filesystem, the default);
* an actor pool of ``workers`` actors (``ray.data.ActorPoolStrategy``) each holding ONE predictor,
  loaded once per actor, on the actor's GPU when it has one (``gpus_per_worker`` > 0), decodes each
  image exactly as the local executor does (app.core.images.load_image) and runs the automation
  through the shared ``compute``;
* results come back to the driver in order of arrival (``preserve_order`` off), pickled per image.

Faults: the pool's actors are restarted and their tasks retried by Ray Data (``max_restarts=-1``,
``max_task_retries=-1``); an image whose result is still missing when the stream ends (a stream that
failed, a node lost for good) is submitted again, up to ``rounds`` times, then reported as an error.
No image is yielded twice (a retried task that had already delivered is dropped here).

Ray is an optional dependency (``pip install "sam-labeler[cluster]"``); this module imports it only
inside the functions that need it. Worker nodes need sam-labeler importable (installed, or the
source tree on PYTHONPATH) and the checkpoint at the same path (or the model cache).
"""
from __future__ import annotations

import logging
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import unquote

import numpy as np

from app.automation.batch import BatchJob, BatchResult, ModelSpec, compute, load_job_image
from app.core.errors import CoreError
from app.core.options import OptionValue

if TYPE_CHECKING:
    from app.automation.api import Automation
    from app.automation.context import LocalContext

RAY_HINT = 'the ray executor needs Ray: pip install "sam-labeler[cluster]"'
LOST = "no result from the Ray cluster after {rounds} attempts (is {uri} readable there?)"
_log = logging.getLogger(__name__)
MAX_BLOCKS = 16384
"""Most read tasks per run (beyond that, images share a block)."""


class RayUnavailable(RuntimeError):
    """Ray (the ``cluster`` extra) is not installed."""


class ClusterError(RuntimeError):
    """The cluster's workers failed before returning any result (message: one line)."""


def ray_problem() -> str | None:
    """None when Ray Data can be imported, else the one line that says how to get it."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return RAY_HINT
    return None


def cluster_uri(path: Path | str, roots: Mapping[str, str]) -> str:
    """The URI the cluster reads ``path`` from: the longest local root of ``roots`` that holds it
    replaced by its URI; the absolute local path when no root matches (a shared filesystem)."""
    local = os.path.abspath(os.fspath(path))
    best = ""
    for root in roots:
        r = os.path.abspath(root)
        if (local == r or local.startswith(r.rstrip(os.sep) + os.sep)) and len(r) > len(best):
            best = r
    if not best:
        return local
    uri = roots[best] if best in roots else next(v for k, v in roots.items() if os.path.abspath(k) == best)
    rest = local[len(best):].lstrip(os.sep).replace(os.sep, "/")
    return uri.rstrip("/") + "/" + rest if rest else uri


def read_key(uri: str) -> str:
    """The path Ray Data reports (column ``path`` of read_binary_files) for ``uri``: pyarrow's
    filesystem path, i.e. without the scheme ("s3://b/k" -> "b/k"; a local path made absolute)."""
    if "://" not in uri:
        return os.path.abspath(uri)
    scheme, rest = uri.split("://", 1)
    if scheme.lower() == "file":
        return unquote(rest)
    return rest


def worker_device(spec: ModelSpec, gpu_ids: Iterable[object]) -> str:
    """The device an actor loads its predictor on: its GPU when Ray gave it one ("cuda": Ray sets
    CUDA_VISIBLE_DEVICES to that GPU), else the asked device, "auto" meaning the CPU."""
    if list(gpu_ids):
        return "cuda"
    return "cpu" if spec.device in ("auto", "cuda") or spec.device.startswith("cuda:") else spec.device


class ImageLabeler:
    """Ray Data callable class: one per actor; the model is loaded once in ``__init__``.

    jobs_box: ``[ObjectRef]`` of {read key: [BatchJob, ...]} (boxed so that Ray passes the reference
    and each actor fetches the table once from its node's object store)."""

    def __init__(self, mode: str, params: Mapping[str, OptionValue], model: ModelSpec, jobs_box: list[object]) -> None:
        import ray

        from app.automation.context import LocalContext
        from app.extensions.registry import get_automation
        import sam_backend
        from sam_backend.families import Predictor

        ref = cast("ray.ObjectRef[dict[str, list[BatchJob]]]", jobs_box[0])
        self._jobs: dict[str, list[BatchJob]] = ray.get(ref)
        self._params = dict(params)
        self._automation: Automation = get_automation(mode)
        load: Callable[..., Predictor] = getattr(sam_backend, "load_predictor")  # lazy attribute (any family)
        predictor = load(model=model.model, checkpoint=model.checkpoint,
                         device=worker_device(model, ray.get_gpu_ids()), precision=model.precision)
        self._ctx: LocalContext = LocalContext(predictor)
        self._tmpdir = tempfile.TemporaryDirectory(prefix="sam-labeler-ray-")  # removed with the actor
        self._tmp = Path(self._tmpdir.name)

    def _compute(self, job: BatchJob, data: bytes) -> BatchResult:
        # The bytes are decoded by the same load_image as the local executor's (EXIF rotation, modes,
        # error sentences) through a private file: identical pixels and messages for a copy of a few
        # MB per image, small next to an encode.
        tmp = self._tmp / ("image" + Path(job.path).suffix.lower())
        try:
            tmp.write_bytes(data)
            image = load_job_image(replace(job, path=str(tmp)))
        except (OSError, ValueError, CoreError) as exc:
            reason = (str(exc) or type(exc).__name__).replace(str(tmp), job.path)
            return BatchResult(job.image_id, None, reason, 0, 0)
        finally:
            tmp.unlink(missing_ok=True)
        return compute(job, self._automation, self._ctx, self._params, image=image)

    def __call__(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids: list[int] = []
        blobs: list[bytes] = []
        for path, data in zip(batch["path"], batch["bytes"]):
            for job in self._jobs.get(str(path), ()):
                ids.append(job.image_id)
                blobs.append(pickle.dumps(self._compute(job, bytes(data)), protocol=pickle.HIGHEST_PROTOCOL))
        out = np.empty(len(blobs), dtype=object)
        out[:] = blobs
        return {"image_id": np.asarray(ids, dtype=np.int64), "result": out}


class RayExecutor:
    """Executor on a Ray cluster (see the module doc).

    address: "auto", "HOST:PORT", "ray://HOST:PORT" (Ray Client), or None for a Ray started on
    this machine (shut down again after the run); workers: actors in the pool; gpus_per_worker:
    GPUs each actor holds (fractions share a GPU); cpus_per_worker: CPUs each actor holds (its
    torch threads); roots: local image root -> URI the cluster reads it from; rounds: how many times
    an image whose result never came back is submitted; runtime_env: passed to ray.init.
    """

    def __init__(self, address: str | None = None, *, workers: int = 2, gpus_per_worker: float = 0.0,
                 cpus_per_worker: float = 1.0, roots: Mapping[str, str] | None = None, rounds: int = 3,
                 runtime_env: Mapping[str, object] | None = None) -> None:
        if ray_problem() is not None:
            raise RayUnavailable(RAY_HINT)
        if workers < 1:
            raise ValueError(f"--workers must be at least 1 (got {workers}).")
        if gpus_per_worker < 0 or cpus_per_worker < 0:
            raise ValueError("--gpus-per-worker and CPUs per worker cannot be negative.")
        self.address = address
        self.workers = int(workers)
        self.gpus_per_worker = float(gpus_per_worker)
        self.cpus_per_worker = float(cpus_per_worker)
        self.roots = dict(roots or {})
        self.rounds = max(1, int(rounds))
        self.runtime_env = dict(runtime_env) if runtime_env else None
        self.resubmitted = 0  # images submitted again after a stream ended without them

    def _connect(self) -> bool:
        """Connect to (or start) Ray; True when this call started the connection."""
        import ray

        if ray.is_initialized():
            return False
        kwargs: dict[str, object] = {"logging_level": logging.WARNING, "log_to_driver": False}
        if self.runtime_env:
            kwargs["runtime_env"] = self.runtime_env
        if self.address is None:
            kwargs["include_dashboard"] = False
        ray.init(address=self.address, **kwargs)  # type: ignore[arg-type]
        return True

    def _dataset(self, jobs: list[BatchJob], mode: str, params: Mapping[str, OptionValue], model: ModelSpec) -> object:
        import ray
        import ray.data

        table: dict[str, list[BatchJob]] = {}
        uris: list[str] = []
        for job in jobs:
            uri = cluster_uri(job.path, self.roots)
            key = read_key(uri)
            if key not in table:
                uris.append(uri)
            table.setdefault(key, []).append(job)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.execution_options.preserve_order = False  # results in order of arrival
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        # One image per read task and so per pool task, up to MAX_BLOCKS: Ray Data hands the pool one
        # task per block and a task returns its output when it ends, so blocks of several images
        # would idle workers (4 images in 1 block went to 1 of 2 actors here), deliver results in
        # bursts and make a lost worker's retry redo the whole block.
        blocks = max(1, min(len(uris), MAX_BLOCKS))
        # Reading holds no CPU slot (num_cpus=0): it waits on storage, and with the pool holding every
        # CPU of the cluster a read that needs one would never be scheduled (a deadlock, seen here).
        ds = ray.data.read_binary_files(uris, include_paths=True, ignore_missing_paths=True,
                                        override_num_blocks=blocks, num_cpus=0)
        return ds.map_batches(
            ImageLabeler, batch_size=1, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.workers),
            fn_constructor_kwargs={"mode": mode, "params": dict(params), "model": model,
                                   "jobs_box": [ray.put(table)]},
            num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker or None)

    def run(self, jobs: Iterable[BatchJob], *, mode: str, params: Mapping[str, OptionValue], model: ModelSpec,
            cancel: threading.Event | None = None) -> Iterator[BatchResult]:
        """Each job's result once, in order of arrival; stops early when ``cancel`` is set. Raises
        ClusterError when the workers fail before any result (e.g. the model cannot be loaded there)."""
        import ray

        pending = {job.image_id: job for job in jobs}
        if not pending:
            return
        started = self._connect()
        try:
            for attempt in range(self.rounds):
                if attempt:
                    self.resubmitted += len(pending)
                ds = self._dataset(list(pending.values()), mode, params, model)
                delivered = 0
                try:
                    for row in ds.iter_rows():  # type: ignore[attr-defined]
                        image_id = int(row["image_id"])
                        if image_id not in pending:
                            continue  # a retried task's second delivery
                        del pending[image_id]
                        delivered += 1
                        yield pickle.loads(row["result"])
                        if cancel is not None and cancel.is_set():
                            return
                except ray.exceptions.RayError as exc:
                    if not delivered:
                        raise ClusterError(f"the Ray workers failed: {_first_line(exc)}") from None
                    _log.warning("the Ray stream ended early (%s); %d image(s) submitted again",
                                 _first_line(exc), len(pending))
                if not pending or (cancel is not None and cancel.is_set()):
                    return
            for image_id, job in list(pending.items()):
                uri = cluster_uri(job.path, self.roots)
                yield BatchResult(image_id, None, LOST.format(rounds=self.rounds, uri=uri), 0, 0)
        finally:
            if started:
                ray.shutdown()


def _first_line(exc: BaseException) -> str:
    """The last non-empty line of an exception's text (Ray wraps the worker's traceback)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
