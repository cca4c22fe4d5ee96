"""The one image loader of the application: every image the app shows, encodes or measures comes
through load_image (pixels) or probe_image (header only).

Decisions (each one tested in tests/core/test_images*.py):
- Output: H x W x 3 uint8 RGB, C-contiguous, in the DISPLAYED frame: the EXIF Orientation tag (1-8)
  is applied, so width/height are the sizes after rotation (what labelme, COCO and Ultralytics use).
- Grayscale ("1", "L"), palette ("P"), CMYK (Pillow undoes Adobe's inverted CMYK), YCbCr, LAB, HSV
  are converted to RGB.
- Transparency (RGBA, LA, PA, palette or grayscale with a tRNS entry) is composited onto WHITE:
  cut-out objects then stand out as they do in most viewers and in SAM's training photos; a note
  says so.
- 16-bit samples (I;16*, 16-bit PNG/TIFF, RGB48) become 8 bits by keeping the high byte (v >> 8,
  i.e. the full 0..65535 range maps linearly onto 0..255). 32-bit integer "I" images are treated
  as 16-bit data (clipped to 0..65535, then >> 8); 32-bit float "F" images are stretched from their
  finite [min, max] to 0..255. Each case leaves a note.
- IMAGE_EXTENSIONS: .jpg .jpeg .jpe .png .bmp .tif .tiff .webp .gif (GIF included: Pillow decodes
  it reliably and datasets scraped from the web contain some). HEIC/AVIF/SVG are refused with a
  "convert it first" reason.
- Multi-page TIFF / animated GIF or WebP: the first frame, with a note "first of N frames used".
- MAX_PIXELS (400 MP, e.g. 20000 x 20000) is this loader's own limit; Pillow's decompression-bomb
  warning/error never escapes (images up to MAX_PIXELS load even where Pillow's default would
  refuse them).
- Every failure is an ImageLoadError whose `reason` is one human sentence (file missing, empty,
  a directory, not an image, truncated, corrupt, unsupported, too large).
"""
from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from app.core.errors import ImageLoadError

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")
MAX_PIXELS: int = 400_000_000

_EXIF_ORIENTATION = 0x0112
_PIL_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class ImageInfo:
    """What the header says about an image.

    width, height: pixels AFTER the EXIF rotation (the displayed frame).
    format: Pillow's format name ("JPEG", "PNG", "TIFF", ...); mode: Pillow's mode of the file
    ("RGB", "L", "P", "I;16", "CMYK", ...); frames: number of pages/frames (>= 1);
    exif_orientation: the EXIF Orientation tag, 1..8 (1 when absent or invalid);
    notes: human sentences about conversions load_image applies (rotation, 16 -> 8 bit, ...).
    """

    width: int
    height: int
    format: str
    mode: str
    frames: int
    exif_orientation: int
    notes: tuple[str, ...]


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: array is H x W x 3 uint8 RGB, C-contiguous, writeable, EXIF rotation applied."""

    array: np.ndarray
    info: ImageInfo


def is_image_path(path: Path) -> bool:
    """True when the file name ends with one of IMAGE_EXTENSIONS (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


# ------------------------------------------------------------------------------------------------
# file checks and error reasons
# ------------------------------------------------------------------------------------------------
def _check_file(path: Path) -> int:
    """Size of the file in bytes, or ImageLoadError for missing / directory / empty / unreadable."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ImageLoadError(str(p), "file not found") from None
    except PermissionError:
        raise ImageLoadError(str(p), "permission denied") from None
    except OSError as exc:
        raise ImageLoadError(str(p), f"cannot be read ({exc.strerror or exc})") from None
    if p.is_dir():
        raise ImageLoadError(str(p), "is a directory, not an image file")
    if not p.is_file():
        raise ImageLoadError(str(p), "is not a regular file")
    if st.st_size == 0:
        raise ImageLoadError(str(p), "file is empty (0 bytes)")
    return int(st.st_size)


def _sniff(path: Path) -> str:
    """Reason for a file Pillow cannot identify, guessed from its first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    low = head.lstrip().lower()
    if head.startswith(b"%PDF"):
        return "not an image file (looks like a PDF document)"
    if head.startswith(b"PK\x03\x04"):
        return "not an image file (looks like a ZIP archive or Office document)"
    if low.startswith((b"<!doctype html", b"<html")):
        return "not an image file (looks like an HTML page)"
    if low.startswith(b"<svg") or (low.startswith(b"<?xml") and b"<svg" in low):
        return "unsupported format (SVG vector graphics; convert it to PNG first)"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "unsupported format (HEIC/HEIF; convert it to JPEG or PNG first)"
        if brand in (b"avif", b"avis"):
            return "unsupported format (AVIF; convert it to JPEG or PNG first)"
        return "not an image file (looks like an MP4/MOV video)"
    if head.startswith(b"\xff\xd8"):
        return "corrupt JPEG data (the header cannot be parsed)"
    if head.startswith(b"\x89PNG"):
        return "corrupt PNG data (the header cannot be parsed)"
    text = head.decode("utf-8", errors="ignore")  # (a character may be cut at byte 512)
    if len(text.encode("utf-8")) >= len(head) - 3 and all(c.isprintable() or c in "\r\n\t" for c in text):
        return "not an image file (looks like a text file)"
    return "not an image file, or an unsupported image format"


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8", "JPEG"),
    (b"\x89PNG", "PNG"),
    (b"GIF8", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"RIFF", "WEBP"),
)


def _format_from_magic(path: Path) -> str:
    """Format name guessed from the first bytes ("image" when unknown)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return "image"
    return next((name for magic, name in _MAGIC if head.startswith(magic)), "image")


def _decode_reason(exc: BaseException, fmt: str) -> str:
    """One sentence for an exception raised while Pillow decodes pixel data."""
    msg = str(exc)
    low = msg.lower()
    if isinstance(exc, MemoryError):
        return "not enough memory to decode the image"
    if "truncated" in low or "premature end" in low or "unexpected end" in low:
        return f"truncated {fmt} data (the file is incomplete)"
    if "broken data stream" in low:
        return f"corrupt {fmt} data (broken data stream)"
    return f"corrupt or unsupported {fmt} data ({msg or type(exc).__name__})"


def _open(path: Path) -> Image.Image:
    """Image.open without Pillow's decompression-bomb warning/error (MAX_PIXELS is checked by us)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombError:
            with _PIL_LIMIT_LOCK:
                saved = Image.MAX_IMAGE_PIXELS
                Image.MAX_IMAGE_PIXELS = None
                try:
                    return Image.open(path)
                finally:
                    Image.MAX_IMAGE_PIXELS = saved


def _open_checked(path: Path) -> Image.Image:
    _check_file(path)
    try:
        return _open(path)
    except UnidentifiedImageError:
        raise ImageLoadError(str(path), _sniff(path)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, PermissionError):
            raise ImageLoadError(str(path), "permission denied") from None
        raise ImageLoadError(str(path), _decode_reason(exc, _format_from_magic(path))) from None


# ------------------------------------------------------------------------------------------------
# header facts
# ------------------------------------------------------------------------------------------------
def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a corrupt EXIF block must not make the image unreadable
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1


def _bits_per_sample(im: Image.Image, path: Path) -> int:
    """16 when the file stores 16-bit samples (PNG IHDR bit depth, TIFF BitsPerSample), else 8."""
    if im.mode.startswith("I;16"):
        return 16
    if im.format == "PNG":
        try:
            with open(path, "rb") as fh:
                header = fh.read(25)
            return int(header[24]) if len(header) >= 25 else 8
        except OSError:
            return 8
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        if isinstance(bits, tuple) and bits:
            return int(max(bits))
        if isinstance(bits, int):
            return bits
    return 8


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _mp(pixels: int) -> str:
    """Megapixels for messages: whole numbers from 10 MP up, two significant digits below."""
    value = pixels / 1e6
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def _info(im: Image.Image, path: Path) -> ImageInfo:
    w, h = im.size
    if w * h > MAX_PIXELS:
        raise ImageLoadError(
            str(path),
            f"image is {w}x{h} = {_mp(w * h)} MP, above the {_mp(MAX_PIXELS)} MP limit of this application",
        )
    if w == 0 or h == 0:
        raise ImageLoadError(str(path), f"image has no pixels ({w}x{h})")
    orient = _orientation(im)
    frames = int(getattr(im, "n_frames", 1) or 1)
    notes: list[str] = []
    if orient != 1:
        notes.append(f"EXIF orientation {orient} applied")
    if orient >= 5:
        w, h = h, w
    if frames > 1:
        notes.append(f"first of {frames} frames used")
    if _bits_per_sample(im, path) > 8:
        notes.append("16-bit samples reduced to 8 bits (high byte kept)")
    elif im.mode == "I":
        notes.append("32-bit integer samples treated as 16-bit and reduced to 8 bits")
    elif im.mode == "F":
        notes.append("32-bit float samples stretched from their range to 0..255")
    if im.mode == "CMYK":
        notes.append("CMYK converted to RGB")
    if _has_alpha(im):
        notes.append("transparency composited onto white")
    return ImageInfo(
        width=int(w),
        height=int(h),
        format=str(im.format or "unknown"),
        mode=str(im.mode),
        frames=frames,
        exif_orientation=orient,
        notes=tuple(notes),
    )


def probe_image(path: Path) -> ImageInfo:
    """Read only the header: size after EXIF rotation, format, mode, frames, notes.

    Fast (no pixel decoding), so it cannot see truncated pixel data; load_image can.
    Raises ImageLoadError with a human reason. Warnings Pillow issues become a note.
    """
    p = Path(path)
    extra: list[str] = []
    with _warnings_as_notes(extra):
        info = _probe(p)
    return replace(info, notes=info.notes + tuple(extra)) if extra else info


def _probe(p: Path) -> ImageInfo:
    im = _open_checked(p)
    try:
        return _info(im, p)
    except ImageLoadError:
        raise
    except Exception as exc:  # a header Pillow half-understands
        raise ImageLoadError(str(p), f"cannot read the image header ({exc})") from None
    finally:
        im.close()


@contextmanager
def _warnings_as_notes(notes: list[str]) -> Iterator[None]:
    """Record the warnings issued inside the block (Pillow's "Truncated File Read", "Possibly
    corrupt EXIF data", ...) and append one note listing them to ``notes``, instead of letting
    each one reach stderr: a folder of such images flooded the terminal of `scan` and `import`
    (catch_warnings resets the once-per-location registry, so every image printed again)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield
    texts: list[str] = []
    for w in caught:
        text = " ".join(str(w.message).split())[:200]
        if text and text not in texts:
            texts.append(text)
    if texts:
        more = f" (+{len(texts) - 3} more)" if len(texts) > 3 else ""
        notes.append("Pillow warned: " + "; ".join(texts[:3]) + more)


# ------------------------------------------------------------------------------------------------
# pixels
# ------------------------------------------------------------------------------------------------
def _to_rgb(im: Image.Image) -> np.ndarray:
    """H x W x 3 uint8 RGB of a loaded Pillow image (file frame, before EXIF rotation)."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im)
        if mode == "I":
            arr = np.clip(arr, 0, 65535)
        gray = (arr.astype(np.uint32) >> 8).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        finite = arr[np.isfinite(arr)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        scaled = (np.nan_to_num(arr, nan=lo, posinf=hi, neginf=lo) - lo) / ((hi - lo) or 1.0)
        gray = np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if _has_alpha(im):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint16)
        alpha = rgba[:, :, 3:4]
        # round(c * a/255 + 255 * (1 - a/255)) in integers
        out = (rgba[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255
        return out.astype(np.uint8)
    if mode == "RGB":
        return np.asarray(im)
    return np.asarray(im.convert("RGB"))


def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Turn the file frame into the displayed frame (EXIF Orientation semantics, as Pillow's
    ImageOps.exif_transpose)."""
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:
        return arr.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(arr, -1)
    if orientation == 7:
        return arr.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(arr, 1)
    return arr


def load_image(path: Path) -> LoadedImage:
    """Decode an image to H x W x 3 uint8 RGB (C-contiguous) in the displayed (EXIF-rotated) frame.

    Conversions are those of the module docstring and are listed in info.notes (so are Pillow's
    warnings). Raises ImageLoadError (reason = one human sentence) for anything that cannot be decoded.
    """
    p = Path(path)
    extra: list[str] = []
    with _warnings_as_notes(extra):
        loaded = _load(p)
    return replace(loaded, info=replace(loaded.info, notes=loaded.info.notes + tuple(extra))) if extra else loaded


def _load(p: Path) -> LoadedImage:
    im = _open_checked(p)
    try:
        try:
            info = _info(im, p)
        except ImageLoadError:
            raise
        except Exception as exc:
            raise ImageLoadError(str(p), f"cannot read the image header ({exc})") from None
        fmt = info.format
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                if info.frames > 1:
                    im.seek(0)
                im.load()
                rgb = _to_rgb(im)
        except ImageLoadError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError, Image.DecompressionBombError) as exc:
            raise ImageLoadError(str(p), _decode_reason(exc, fmt)) from None
    finally:
        im.close()
    arr = np.ascontiguousarray(_apply_orientation(rgb, info.exif_orientation), dtype=np.uint8)
    if not arr.flags.writeable:  # Pillow hands out read-only buffers; callers own their copy
        arr = arr.copy()
    if arr.shape != (info.height, info.width, 3):
        raise ImageLoadError(str(p), f"decoded to {arr.shape} instead of {info.width}x{info.height}")
    return LoadedImage(array=arr, info=info)
