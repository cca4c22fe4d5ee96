"""Decoding a video file into numbered frame images with PyAV (the optional ``video`` extra).

Frames are written as PNG (lossless: masks propagated on them line up with what is exported) into
a folder, named ``<stem>_000001.png`` ... in display order, each written to a temporary name and
moved into place; an existing frame file is never overwritten (a folder that already holds other
files with those names is refused). Only PyAV is used for decoding (imported on first use).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import CoreError

if TYPE_CHECKING:
    from PIL import Image

INSTALL_HINT = 'pip install "sam-labeler[video]"'


class VideoSupportMissing(CoreError):
    """PyAV is not installed (the ``video`` extra)."""


@dataclass(frozen=True)
class DecodedVideo:
    """What ``decode_video`` wrote: frame files in order, their size, and the stream's frame rate."""

    frames: list[Path]
    width: int
    height: int
    fps: float | None


def decode_video(video: Path, out_dir: Path, every: int = 1, max_frames: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 should_cancel: Callable[[], bool] | None = None) -> DecodedVideo:
    """Decode every ``every``-th frame of ``video`` (at most ``max_frames``) into PNG files in ``out_dir``.

    Raises ValueError (one sentence) for an unreadable file, a file without a video stream, or frame
    files already present; VideoSupportMissing (with the install hint) when PyAV is missing.
    """
    try:
        import av
    except ImportError:
        raise VideoSupportMissing(f"decoding videos needs PyAV: run {INSTALL_HINT}") from None
    if every < 1:
        raise ValueError(f"--every must be >= 1, not {every}")
    video = Path(video)
    if not video.is_file():
        raise ValueError(f"{video} does not exist")
    try:
        container = av.open(str(video))
    except (av.FFmpegError, OSError) as exc:
        raise ValueError(f"{video.name} is not a readable video ({str(exc).splitlines()[0][:120]})") from None
    with container:
        if not container.streams.video:
            raise ValueError(f"{video.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        total = int(stream.frames or 0)
        expected = -(-total // every) if total else -1
        if max_frames is not None and expected > 0:
            expected = min(expected, max_frames)
        fps = float(stream.average_rate) if stream.average_rate else None
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = video.stem
        written: list[Path] = []
        size = (0, 0)
        try:
            for i, frame in enumerate(container.decode(stream)):
                if i % every:
                    continue
                if max_frames is not None and len(written) >= max_frames:
                    break
                if should_cancel is not None and should_cancel():
                    break
                target = out_dir / f"{stem}_{len(written) + 1:06d}.png"
                if target.exists():
                    raise ValueError(f"{target} already exists: choose an empty folder for the frames")
                image = frame.to_image()  # PIL RGB in display size
                size = image.size
                _save_atomically(image, target)
                written.append(target)
                if progress is not None:
                    progress(len(written), expected)
        except av.FFmpegError as exc:
            if not written:
                raise ValueError(f"{video.name} could not be decoded ({str(exc).splitlines()[0][:120]})") from None
    if not written:
        raise ValueError(f"{video.name} holds no decodable frame")
    return DecodedVideo(written, size[0], size[1], fps)


def _save_atomically(image: Image.Image, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".frame.", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        image.save(tmp, format="PNG", compress_level=1)
        try:
            os.link(tmp, target)  # fails if the target appeared meanwhile: never overwrite a frame
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links
            if target.exists():
                raise FileExistsError(str(target)) from None
            os.replace(tmp, target)
    except FileExistsError:
        raise ValueError(f"{target} already exists: choose an empty folder for the frames") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
