"""`sam-labeler propagate P.samlabel --from IMAGE --frames N|all [--model ID]`: carry annotations through frames.

The project's images are the frames (natural order of their paths). The anchor frame's annotations
(all with an area, or --annotations) are carried forward and backward by a video model (SAM 2.1 by
default) and stored per frame as ``source="propagated"`` mask proposals whose group id is the object
id, one transaction per frame (app.core.propagated). Ctrl+C stops; frames stored so far stay.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

NAME = "propagate"
HELP = "propagate annotations of one frame through the project's frames with a video model (SAM 2.1)"
DEFAULT_MODEL = "sam2.1_hiera_tiny"


def _count(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of frames or 'all', not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("a number of frames must be >= 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="P.samlabel", help="project whose images are the frames")
    parser.add_argument("--from", dest="anchor", required=True, metavar="IMAGE",
                        help="anchor frame: its path in the project, its file name, #IMAGE_ID or @FRAME_NUMBER")
    parser.add_argument("--frames", type=_count, default=None, metavar="N|all",
                        help="frames to carry the masks forward (default all)")
    parser.add_argument("--backward", type=_count, default=None, metavar="N|all",
                        help="frames to carry them backward (default: the same as --frames)")
    parser.add_argument("--direction", choices=("both", "forward", "backward"), default="both")
    parser.add_argument("--annotations", default=None, metavar="ID,ID",
                        help="annotation ids on the anchor frame (default: every annotation with an area)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"video-capable model id (default {DEFAULT_MODEL})")
    parser.add_argument("--checkpoint", default=None, help="model snapshot folder instead of the model cache")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="stop an object once its presence score drops below this (default 0.5)")


def run(args: argparse.Namespace) -> int:
    from app.cli.models_cmd import ProgressBar
    from app.core.images import load_image
    from app.core.project import Project
    from app.core.propagated import anchor_objects, find_frame, sequence_images, store_frame
    from sam_backend.propagation import PropagationCancelled, PropagationPlan, load_propagator

    if not 0.0 <= args.threshold <= 1.0:
        raise ValueError(f"--threshold must be between 0 and 1, not {args.threshold:g}")
    path = Path(args.project).expanduser()
    if not path.is_file():
        raise FileNotFoundError(2, f"{path} does not exist")
    ann_ids = None
    if args.annotations:
        try:
            ann_ids = [int(p) for p in args.annotations.split(",") if p.strip()]
        except ValueError:
            raise ValueError(f"--annotations takes annotation ids separated by commas, not {args.annotations!r}") from None
    project = Project.open(path)
    try:
        frames = sequence_images(project)
        if len(frames) < 2:
            raise ValueError(f"{path.name} has {len(frames)} image(s): propagation needs a sequence of frames")
        anchor = find_frame(frames, args.anchor)
        forward = args.frames
        backward = args.backward if args.backward is not None or args.frames is None else args.frames
        if args.direction == "forward":
            backward = 0
        elif args.direction == "backward":
            forward = 0
        plan = PropagationPlan(len(frames), anchor, forward, backward)
        objects = anchor_objects(project, frames[anchor].id, ann_ids)
        first = load_image(project.image_path(frames[anchor])).array
        h, w = first.shape[:2]
        from app.core.geometry import annotation_mask

        masks = {o.object_id: annotation_mask(o.annotation, h, w) for o in objects}
        labels = {o.object_id: o.label_id for o in objects}
        propagator = load_propagator(args.model, checkpoint=args.checkpoint, device=args.device)

        def frame(i: int):  # noqa: ANN202 - numpy array
            return first if i == anchor else load_image(project.image_path(frames[i])).array

        bar = ProgressBar(f"propagating {len(objects)} object(s) with {args.model}", unit="frames", scale=1.0)
        stored = frames_done = 0
        start = time.monotonic()
        try:
            for result in propagator.propagate(frame, plan, masks, threshold=args.threshold, progress=bar):
                stored += store_frame(project, frames[result.frame].id, result.masks, result.scores, labels,
                                      result.stopped)
                frames_done += 1
        except (KeyboardInterrupt, PropagationCancelled):
            bar.finish()
            print(f"sam-labeler: propagation stopped after {frames_done} of {plan.total} frames; "
                  f"the {stored} proposals stored so far are kept", file=sys.stderr)
            return 130
        bar.finish()
    finally:
        project.close()
    print(f"propagated {len(objects)} object(s) from {frames[anchor].path} over {frames_done} frames: "
          f"{stored} proposals stored as source=propagated in {time.monotonic() - start:.1f} s")
    return 0
