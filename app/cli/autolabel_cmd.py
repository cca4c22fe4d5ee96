"""`sam-labeler autolabel P.samlabel|DIR --mode MODE ...`: run an automation over every image of a
project and store its proposals as annotations (source "auto").

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
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

NAME = "autolabel"
HELP = "label every image of a project or folder automatically (text prompts: --mode text --prompt 'cat. dog')"
PROJECT_SUFFIX = ".samlabel"
MARK_KEY = "autolabel"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="P.samlabel|DIR", help="project file, or image folder (its project is "
                        "created or opened)")
    parser.add_argument("--mode", required=True, help="automation to run: text")
    parser.add_argument("--model", default="mobile_sam", help="SAM model id (default mobile_sam)")
    parser.add_argument("--checkpoint", default=None, help="SAM checkpoint file instead of the model cache")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--redo", action="store_true", help="label again the images this mode already labelled")
    parser.add_argument("--label", default="object", help="label class for proposals without one (default object)")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="an automation setting (repeatable)")
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


def _settings(mode: str, params: dict[str, Any], model: str) -> dict[str, Any]:
    """What the done mark records (a run with other settings does not skip the image)."""
    return {"params": {k: params[k] for k in sorted(params)}, "model": model}


def _already_done(extra: dict, mode: str, settings: dict[str, Any]) -> bool:
    mark = extra.get(MARK_KEY, {}).get(mode) if isinstance(extra.get(MARK_KEY), dict) else None
    return isinstance(mark, dict) and mark.get("settings") == settings


def _label_image(project: Any, rec: Any, image: Any, automation: Any, ctx: Any, mode: str, params: dict[str, Any],
                 settings: dict[str, Any], args: argparse.Namespace) -> list[Any]:
    """Propose and store for one image in one transaction; returns the stored annotations."""
    from app.automation.api import AutomationInput
    from app.automation.store import store_proposals

    labels = {lc.id: lc.name for lc in project.label_classes()}
    item = AutomationInput(image, rec.id, tuple(project.annotations(rec.id)), labels)
    proposals = automation.propose(ctx, item, params=params)
    h, w = int(image.shape[0]), int(image.shape[1])
    with project.transaction():
        if (rec.width, rec.height) != (w, h):
            project.set_image_size(rec.id, w, h)
        if args.redo:
            for ann in item.annotations:
                if ann.id is not None and ann.source == "auto" and ann.extra.get("automation") == mode and ann.updated == ann.created:
                    project.delete_annotation(int(ann.id))
        edit = store_proposals(project, rec.id, proposals, default_label=args.label,
                               text=f"Autolabel ({mode})")
        extra = dict(project.image(rec.id).extra)
        marks = dict(extra.get(MARK_KEY) or {})
        marks[mode] = {"settings": settings, "annotations": len(edit.annotations), "time": round(time.time(), 3)}
        extra[MARK_KEY] = marks
        project.set_image_extra(rec.id, extra)
    return edit.annotations


def run(args: argparse.Namespace) -> int:
    from app.core.errors import CoreError
    from app.core.images import load_image
    from app.core.options import parse_assignments
    from app.extensions.registry import get_automation

    from app.cli.models_cmd import ProgressBar

    mode = args.mode
    automation = get_automation(mode)
    params = parse_assignments(automation.options, args.option)
    params.update(MODE_ARGS.get(mode, lambda _a: {})(args))
    project = _open_project(Path(args.path).expanduser())
    try:
        if project.read_only:
            raise ValueError(f"{project.path} is open read-only")
        settings = _settings(mode, params, args.checkpoint or args.model)
        records = [r for r in project.images() if not r.missing]
        todo = [r for r in records if args.redo or not _already_done(r.extra, mode, settings)]
        skipped = len(records) - len(todo)
        if not todo:
            print(f"nothing to do: the {len(records)} images of {project.path.name} are already labelled by "
                  f"{mode} with these settings (--redo labels them again)")
            return 0
        from app.automation.context import LocalContext
        from sam_backend import load_predictor

        predictor = load_predictor(model=args.model, checkpoint=args.checkpoint, device=args.device)
        ctx = LocalContext(predictor)
        bar = ProgressBar(f"autolabel {mode}", unit="images", scale=1.0)
        done, stored, failures = 0, Counter[str](), []
        start = time.monotonic()
        try:
            for i, rec in enumerate(todo):
                bar(i, len(todo))
                try:
                    image = load_image(project.image_path(rec)).array
                    anns = _label_image(project, rec, image, automation, ctx, mode, params, settings, args)
                except (OSError, ValueError, CoreError) as exc:
                    failures.append(f"{rec.path}: {exc}")
                    continue
                names = {lc.id: lc.name for lc in project.label_classes()}
                stored.update(names[a.label_id] for a in anns)
                done += 1
            bar(len(todo), len(todo))
        except KeyboardInterrupt:
            bar.finish()
            print(f"sam-labeler: stopped by Ctrl+C after {done} of {len(todo)} images; their "
                  f"{sum(stored.values())} annotations are stored (run the same command again to continue)",
                  file=sys.stderr)
            return 130
        bar.finish()
        counts = ", ".join(f"{n} {name}" for name, n in stored.most_common()) or "none"
        device = getattr(predictor, "device_name", args.device)
        print(f"labelled {done} of {len(todo)} images ({skipped} already done, {len(failures)} failed) with "
              f"{mode} on {device} in {time.monotonic() - start:.1f} s: {sum(stored.values())} annotations "
              f"({counts}) in {project.path}")
        for line in failures:
            print(f"  skipped {line}", file=sys.stderr)
        if failures:
            print(f"sam-labeler: error: {len(failures)} image(s) could not be labelled (listed above)", file=sys.stderr)
            return 1
        return 0
    finally:
        project.close()
