"""Small previews of image files (the images list's hover tooltip), made without decoding more than needed.

A JPEG is decoded by libjpeg at 1/2, 1/4 or 1/8 of its size (OpenCV's IMREAD_REDUCED_COLOR_*): the
largest reduction that still gives at least ``max_side`` pixels, so a 24 MP photo costs about what a
0.4 MP one does. Other formats, and JPEGs OpenCV cannot read (CMYK, damaged ones Pillow still
understands), go through app.core.images.load_image, refused above FULL_DECODE_MAX_PIXELS. The
header is read first (probe_image): a broken, empty, hostile or oversized file is an ImageLoadError
with one sentence, and the EXIF rotation is applied as everywhere else in the app.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.core.errors import ImageLoadError
from app.core.images import _apply_orientation, load_image, probe_image

THUMB_SIDE = 256
FULL_DECODE_MAX_PIXELS = 50_000_000  # a larger PNG/TIFF... would need its whole bitmap (150 MB+) for a preview
MAX_FILE_BYTES = 512 * 1024 * 1024   # the file is read into memory for OpenCV (Unicode paths on Windows)
JPEG_QUALITY = 85
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


@dataclass(frozen=True)
class Thumbnail:
    """A preview: ``jpeg`` bytes of a ``width`` x ``height`` picture (longest side <= the asked size)
    of an image of ``image_width`` x ``image_height`` pixels (after EXIF rotation)."""

    jpeg: bytes
    width: int
    height: int
    image_width: int
    image_height: int


def _reduced_jpeg(path: Path, size: int, longest: int, max_side: int, orientation: int) -> np.ndarray | None:
    """BGR pixels of a JPEG decoded at the largest 1/N scale keeping >= max_side pixels; None when
    OpenCV cannot decode it."""
    if size > MAX_FILE_BYTES:
        return None
    flag = cv2.IMREAD_COLOR
    for factor, reduced in _REDUCED:
        if longest // factor >= max_side:
            flag = reduced
            break
    data = np.fromfile(str(path), dtype=np.uint8)
    bgr = cv2.imdecode(data, flag | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.ndim != 3:
        return None
    return np.ascontiguousarray(_apply_orientation(bgr, orientation))


def make_thumbnail(path: Path, max_side: int = THUMB_SIDE) -> Thumbnail:
    """A preview of ``path`` whose longest side is at most ``max_side``; ImageLoadError (one sentence)
    for a file that is not a readable image or too large to preview."""
    p = Path(path)
    info = probe_image(p)
    longest = max(info.width, info.height)
    bgr: np.ndarray | None = None
    if info.format == "JPEG" and info.mode in ("RGB", "L") and info.frames == 1:
        try:
            size = p.stat().st_size
        except OSError as exc:
            raise ImageLoadError(str(p), f"cannot be read ({exc.strerror or exc})") from None
        bgr = _reduced_jpeg(p, size, longest, max_side, info.exif_orientation)
    if bgr is None:
        if info.width * info.height > FULL_DECODE_MAX_PIXELS:
            raise ImageLoadError(str(p), f"too large for a preview ({info.width}x{info.height})")
        bgr = cv2.cvtColor(load_image(p).array, cv2.COLOR_RGB2BGR)
    h, w = bgr.shape[:2]
    scale = min(1.0, max_side / max(h, w, 1))
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    if (tw, th) != (w, h):
        bgr = cv2.resize(bgr, (tw, th), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ImageLoadError(str(p), "the preview could not be encoded")
    return Thumbnail(jpeg=buf.tobytes(), width=tw, height=th, image_width=info.width, image_height=info.height)
