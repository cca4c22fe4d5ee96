"""`sam-labeler import-video VIDEO --project P.samlabel`: decode a video into frames and add them to a project.

The frames (PNG, ``<video stem>_000001.png`` ...) go into ``--frames-dir`` (default: a folder
``<video stem>_frames`` beside the project); the project is created when it does not exist. Then
`sam-labeler propagate` carries annotations through them. Needs the ``video`` extra (PyAV).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "import-video"
HELP = "decode a video file into frames (PyAV) and add them to a project as a frame sequence"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", metavar="VIDEO", help="video file (anything FFmpeg decodes)")
    parser.add_argument("--project", required=True, metavar="P.samlabel", help="project to add the frames to "
                        "(created when missing)")
    parser.add_argument("--frames-dir", default=None, metavar="DIR",
                        help="folder for the frame images (default: <video stem>_frames beside the project)")
    parser.add_argument("--every", type=int, default=1, metavar="K", help="keep every K-th frame (default 1)")
    parser.add_argument("--max", type=int, default=None, metavar="N", help="keep at most N frames")


def run(args: argparse.Namespace) -> int:
    from app.cli.models_cmd import ProgressBar
    from app.core.project import Project
    from app.core.video import decode_video

    video = Path(args.video).expanduser()
    project_path = Path(args.project).expanduser().absolute()
    if project_path.suffix != ".samlabel":
        raise ValueError(f"{project_path.name}: a project file ends in .samlabel")
    if args.max is not None and args.max < 1:
        raise ValueError("--max must be >= 1")
    frames_dir = Path(args.frames_dir).expanduser() if args.frames_dir else project_path.parent / f"{video.stem}_frames"
    project = Project.open(project_path) if project_path.exists() else Project.create(project_path)
    try:
        bar = ProgressBar(f"decoding {video.name}", unit="frames", scale=1.0)
        try:
            decoded = decode_video(video, frames_dir, every=args.every, max_frames=args.max,
                                   progress=lambda d, t: bar(d, t if t > 0 else None))
        except KeyboardInterrupt:
            bar.finish()
            print("sam-labeler: decoding interrupted; frames written so far are in "
                  f"{frames_dir} and were not added to the project", file=sys.stderr)
            return 130
        bar.finish()
        added = 0
        with project.transaction():
            for frame in decoded.frames:
                if project.image_by_path(str(frame)) is None:
                    project.add_image(str(frame), decoded.width, decoded.height)
                    added += 1
    finally:
        project.close()
    rate = f" at {decoded.fps:.3g} fps" if decoded.fps else ""
    print(f"decoded {len(decoded.frames)} frames ({decoded.width}x{decoded.height}{rate}) into {frames_dir}; "
          f"added {added} images to {project_path.name}")
    return 0
