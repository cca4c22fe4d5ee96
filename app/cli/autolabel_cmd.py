"""`sam-labeler autolabel P.samlabel|DIR --mode everything|boxes|text ...`: run an automation over the
images of a project (all, or those matching --images GLOB) and store its proposals as annotations
(source "auto"). The driver is app.automation.batch (shared with the GUI's batch dialog); this
module turns flags into its plan, prints progress with an ETA and the summary.

Modes are the automations of app.extensions.registry; each mode's own flags are turned into the
automation's parameters by one entry of MODE_ARGS (``--option NAME=VALUE`` works for every mode).

Each image is stored in ONE transaction together with its "done" mark (image extra
``{"autolabel": {MODE: {...settings...}}}``): a kill -9 loses at most the image in flight, and a
second run skips the images already labelled by this mode with the same settings (``--redo``
labels them again, replacing the annotations this mode stored there that nobody changed since).
Ctrl+C stops after rolling back the image in flight and prints what was done.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app.cli.cluster_args import add_cluster_arguments
from sam_backend.modes import MODE_IDS

if TYPE_CHECKING:
    from app.automation.batch import BatchProgress

NAME = "autolabel"
HELP = ("label the images of a project or folder automatically: segment everything, boxes to masks, or text "
        "prompts (--mode text --prompt 'cat. dog')")
PROJECT_SUFFIX = ".samlabel"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="P.samlabel|DIR", help="project file, or image folder (its project is "
                        "created or opened)")
    parser.add_argument("--mode", required=True, help="automation to run: everything (SAM's automatic masks), boxes "
                        "(each rectangle annotation -> its mask, same label), text (Grounded-SAM), or a plugin's")
    parser.add_argument("--images", metavar="GLOB", default=None,
                        help="only the images whose project path (or file name, without a /) matches GLOB")
    parser.add_argument("--min-score", type=float, default=None, metavar="S",
                        help="store only proposals scoring at least S (SAM's predicted IoU)")
    parser.add_argument("--model", default="mobile_sam", help="SAM model id (default mobile_sam)")
    parser.add_argument("--checkpoint", default=None, help="SAM checkpoint file instead of the model cache")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--precision", default="fp32", choices=MODE_IDS,
                        help="the encoder's mode: fp32 (exact, default) or an opt-in fast mode; "
                             "`sam-labeler models modes ID` lists their measured speed and mask agreement")
    parser.add_argument("--redo", action="store_true", help="label again the images this mode already labelled")
    parser.add_argument("--label", default="object", help="label class for proposals without one (default object)")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="an automation setting (repeatable), e.g. points_per_side=16 for everything")
    add_cluster_arguments(parser)
    text = parser.add_argument_group("text mode (Grounded-SAM)")
    text.add_argument("--prompt", help='phrases separated by "." ("cat. dog. traffic light")')
    text.add_argument("--detector", help="detector id (grounding-dino-tiny, grounding-dino-base) or model folder")
    text.add_argument("--box-threshold", type=float, help="detector box threshold (default 0.35)")
    text.add_argument("--text-threshold", type=float, help="detector text threshold (default 0.25)")


def _text_args(args: argparse.Namespace) -> dict[str, Any]:
    """The text automation's parameters from its flags; checks what can be checked before loading."""
    from app.automation.text_prompt import text_params
    from sam_backend.detectors import TextPromptsUnavailable, resolve_detector, text_support_problem

    given = {"prompt": args.prompt, "detector": args.detector, "box_threshold": args.box_threshold,
             "text_threshold": args.text_threshold}
    params = {k: v for k, v in given.items() if v is not None}
    if not params.get("prompt"):
        raise ValueError('--mode text needs --prompt "phrase. phrase"')
    problem = text_support_problem()
    if problem is not None:
        raise TextPromptsUnavailable(problem)
    _, _, _, detector = text_params(params)
    resolve_detector(detector)  # a missing detector is reported before SAM is loaded
    return params


MODE_ARGS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "text": _text_args,
}
"""mode -> its flags as automation parameters (a mode without an entry takes only --option)."""


def _open_project(path: Path) -> Any:
    from app.core.project import Project

    if path.is_dir():
        return Project.open_folder(path)
    if path.is_file() and path.suffix.lower() == PROJECT_SUFFIX:
        return Project.open(path)
    if path.exists():
        raise ValueError(f"{path} is neither a folder nor a {PROJECT_SUFFIX} project")
    raise FileNotFoundError(f"{path} does not exist")


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class BatchBar:
    """Images done, rate and ETA: a line redrawn in place on a terminal, periodic lines otherwise
    ("autolabel MODE: 40% 4/10 images, 1.3 images/s, ETA 5s")."""

    def __init__(self, label: str, stream: TextIO | None = None, interval_s: float | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval_s if interval_s is not None else (0.2 if self.tty else 5.0)
        self._last = -1e9
        self._width = 0
        self.latest: BatchProgress | None = None

    def __call__(self, p: BatchProgress) -> None:
        self.latest = p
        now = time.monotonic()
        if now - self._last < self.interval and p.done < p.total and p.done > 0:
            return
        self._last = now
        pct = 100 * p.done // p.total if p.total else 100
        rate = f", {p.done / p.elapsed_s:.2f} images/s" if p.done and p.elapsed_s > 0 else ""
        eta = f", ETA {_duration(p.eta_s)}" if p.eta_s is not None and p.done < p.total else ""
        failed = f", {p.failed} failed" if p.failed else ""
        line = f"{self.label}: {pct}% {p.done}/{p.total} images, {p.stored} annotations{failed}{rate}{eta}"
        if self.tty:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = max(self._width, len(line))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the in-place line."""
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from app.automation.batch import LocalExecutor, ModelSpec, plan_batch, run_batch
    from app.automation.process_executor import WorkerError
    from app.automation.ray_executor import ClusterError
    from app.cli.cluster_args import executor_place, make_executor
    from app.core.options import parse_assignments
    from app.extensions.registry import get_automation

    mode = args.mode
    automation = get_automation(mode)
    params = parse_assignments(automation.options, args.option)
    params.update(MODE_ARGS.get(mode, lambda _a: {})(args))
    if args.min_score is not None and args.min_score != args.min_score:
        raise ValueError("--min-score takes a number")
    path = Path(args.path).expanduser()
    created = path.is_dir() and not (path.absolute() / (path.absolute().name + PROJECT_SUFFIX)).exists()
    project = _open_project(path)
    try:
        if project.read_only:
            raise ValueError(f"{project.path} is open read-only")
        if created:
            print(f"created the project {project.path} for the images of {path}")
        spec = ModelSpec(args.model, args.checkpoint, args.device, args.precision)
        plan = plan_batch(project, mode, params, spec, images=args.images, redo=args.redo,
                          min_score=args.min_score, default_label=args.label)
        if not plan.selected:
            what = f"match {args.images}" if args.images else "exist"
            raise ValueError(f"no image of {project.path.name} to label: none {what}")
        if not plan.todo:
            print(f"nothing to do: the {plan.selected} images of {project.path.name} are already labelled by "
                  f"{mode} with these settings (--redo labels them again)")
            return 0
        executor = make_executor(args, spec, mode, len(plan.todo))
        bar = BatchBar(f"autolabel {mode}")
        try:
            summary = run_batch(project, plan, executor, spec, on_progress=bar)
        except (ClusterError, WorkerError) as exc:
            bar.finish()
            raise ValueError(str(exc)) from None
        except KeyboardInterrupt:
            bar.finish()
            p = bar.latest
            print(f"sam-labeler: stopped by Ctrl+C after {p.labelled if p else 0} of {len(plan.todo)} images; their "
                  f"{p.stored if p else 0} annotations are stored (run the same command again to continue)",
                  file=sys.stderr)
            return 130
        bar.finish()
        counts = ", ".join(f"{n} {name}" for name, n in sorted(summary.stored.items(), key=lambda kv: -kv[1])) or "none"
        if isinstance(executor, LocalExecutor):
            device = getattr(executor.predictor(spec), "device_name", args.device)
        else:
            device = executor_place(executor, args.device)
        print(f"labelled {summary.labelled} of {len(plan.todo)} images ({plan.skipped} already done, "
              f"{len(summary.failures)} failed) with {mode} on {device} in {summary.elapsed_s:.1f} s: "
              f"{summary.annotations} annotations ({counts}) in {project.path}")
        for line in summary.failures:
            print(f"  skipped {line}", file=sys.stderr)
        if summary.failures:
            print(f"sam-labeler: error: {len(summary.failures)} image(s) could not be labelled (listed above)",
                  file=sys.stderr)
            return 1
        return 0
    finally:
        project.close()
