"""The `autolabel` flags that choose where the batch runs: this machine (``--executor local``, the
default: this process, or worker processes, app.automation.process_executor) or a Ray cluster
(``--executor ray``, app.automation.ray_executor; the ``cluster`` extra)."""
from __future__ import annotations

import argparse

from app.automation.batch import Executor, ModelSpec
from app.automation.process_executor import ProcessExecutor, local_executor

RAY_WORKERS = 2


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--executor local|ray``, the workers and the Ray executor's flags, in their own group."""
    group = parser.add_argument_group("where it runs (this machine, or a Ray cluster)")
    group.add_argument("--executor", choices=("local", "ray"), default="local",
                       help='this machine (default) or a Ray cluster (pip install "sam-labeler[cluster]")')
    group.add_argument("--address", default=None, metavar="ray://HOST:PORT|auto",
                       help="the Ray cluster (default: start Ray on this machine)")
    group.add_argument("--workers", type=int, default=None, metavar="N",
                       help="models working at once, each on its own image: local worker processes (default: 2 "
                            "on a CPU with 2 or more cores for everything/boxes runs of 32 images or more when the "
                            "memory allows, else 1 = this process) or Ray actors (default 2)")
    group.add_argument("--gpus-per-worker", type=float, default=0.0, metavar="G",
                       help="GPUs each Ray actor holds (0: CPU; 0.5: two actors share a GPU)")
    group.add_argument("--cpus-per-worker", type=float, default=None, metavar="C",
                       help="CPUs (torch threads) of each worker (default: local, the cores shared among the "
                            "workers; Ray, 1)")
    group.add_argument("--image-root", action="append", default=[], metavar="LOCAL=URI",
                       help="read the images under LOCAL from URI on the cluster (s3://..., gs://..., a shared "
                            "path; repeatable); by default the cluster reads the same paths")


def parse_roots(items: list[str]) -> dict[str, str]:
    """``LOCAL=URI`` items as a mapping; ValueError (one sentence) for a malformed one."""
    roots: dict[str, str] = {}
    for item in items:
        local, sep, uri = item.partition("=")
        if not sep or not local.strip() or not uri.strip():
            raise ValueError(f"--image-root takes LOCAL=URI (got {item!r})")
        roots[local.strip()] = uri.strip()
    return roots


def make_executor(args: argparse.Namespace, model: ModelSpec | None = None, mode: str = "", images: int = 0) -> Executor:
    """The executor the flags ask for (``model``, ``mode``, ``images``: the run, for the local
    default); ValueError (one line) when Ray is wanted but not installed or a flag is out of range."""
    if getattr(args, "executor", "local") != "ray":
        for flag, given in (("--address", args.address is not None), ("--image-root", bool(args.image_root)),
                            ("--gpus-per-worker", bool(args.gpus_per_worker))):
            if given:
                raise ValueError(f"{flag} needs --executor ray")
        return local_executor(model or ModelSpec(), mode, images, args.workers, args.cpus_per_worker)
    from app.automation.ray_executor import RAY_HINT, RayExecutor, ray_problem

    if ray_problem() is not None:
        raise ValueError(RAY_HINT)
    return RayExecutor(args.address, workers=args.workers if args.workers is not None else RAY_WORKERS,
                       gpus_per_worker=args.gpus_per_worker,
                       cpus_per_worker=args.cpus_per_worker if args.cpus_per_worker is not None else 1.0,
                       roots=parse_roots(args.image_root))


def executor_place(executor: Executor, device: str) -> str:
    """Where the run ran, for the summary line."""
    if isinstance(executor, ProcessExecutor):
        from sam_backend.device import resolve_device

        return f"{resolve_device(device)} ({executor.describe()})"
    workers = getattr(executor, "workers", None)
    if workers is None:
        return device
    gpus = getattr(executor, "gpus_per_worker", 0.0)
    return f"Ray ({workers} workers{f', {gpus:g} GPU each' if gpus else ', CPU'})"
