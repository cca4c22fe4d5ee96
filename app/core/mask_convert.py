"""Accepted mask -> what the store keeps, as one picklable call (the GUI runs it in a helper process).

Converting a fragmented mask (thousands of parts) is mostly Python work: in a thread of the GUI
process it would hold the GIL for a second or more in small slices and make the event loop stutter.
`convert_packed` takes the mask as packed bits and returns plain bytes and dicts, so the GUI process
only pays for unpickling a small result and decoding the geometry blob. `main` is the helper
process (``helper_command()``: ``python -c "from app.core.mask_convert import main; main()"``, or the
bundle's executable with FROZEN_HELPER_ARG): `serve` answers pickled
requests on stdin/stdout (a plain pipe protocol, so no multiprocessing start method re-imports the
GUI's main module).
"""
from __future__ import annotations

import os
import pickle
import sys
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from app.core import codec
from app.core.geometry import mask_to_parts, mask_to_rle
from app.core.model import Outline
from app.core.outline import outline_of_mask


@dataclass(frozen=True)
class PackedMask:
    """A bool (H, W) mask as np.packbits bytes (row-major, big bit order) plus its shape."""

    bits: bytes
    shape: tuple[int, int]

    @classmethod
    def of(cls, mask: np.ndarray) -> "PackedMask":
        """Pack a bool (or 0/1) (H, W) mask."""
        m = np.asarray(mask, dtype=bool)
        if m.ndim != 2:
            raise ValueError(f"a mask must be 2-D, got shape {m.shape}")
        return cls(np.packbits(m, axis=None).tobytes(), (int(m.shape[0]), int(m.shape[1])))

    def unpack(self) -> np.ndarray:
        """The bool (H, W) mask."""
        h, w = self.shape
        flat = np.unpackbits(np.frombuffer(self.bits, np.uint8), count=h * w)
        return flat.reshape(h, w).view(bool)


@dataclass(frozen=True)
class ConvertedMask:
    """geometry: codec.encode_parts blob of mask_to_parts(mask) (None for an empty mask);
    rle: the exact mask as COCO compressed RLE (None for an empty mask);
    outline: its outline for the store (tied to ``rle``: pickled together, ``outline.source`` is
    this very dict again after unpickling); None for an empty mask."""

    geometry: bytes | None
    rle: dict | None
    outline: Outline | None = None


def convert_mask(mask: np.ndarray) -> ConvertedMask:
    """Polygons (packed), exact RLE and outline of a bool (H, W) mask in image pixels."""
    parts = mask_to_parts(mask)
    if not parts:
        return ConvertedMask(None, None)
    rle = mask_to_rle(mask)
    return ConvertedMask(codec.encode_parts(parts), rle, outline_of_mask(mask, rle))


def convert_packed(packed: PackedMask) -> ConvertedMask:
    """convert_mask of a PackedMask (the helper process's entry point)."""
    return convert_mask(packed.unpack())


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    """The helper process's loop: read pickled PackedMask objects from ``inp`` until end of file and
    answer each with a pickled ("ok", ConvertedMask) or ("error", one sentence), in order. Only the
    parent that started this process writes to ``inp``: pickle is safe here."""
    while True:
        try:
            packed = pickle.load(inp)
        except EOFError:
            return
        try:
            answer: tuple[str, object] = ("ok", convert_packed(packed))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, the loop lives on
            answer = ("error", f"{type(exc).__name__}: {exc}")
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


# argument that makes a frozen (PyInstaller) build's executable run `main` instead of the application
FROZEN_HELPER_ARG = "--mask-convert-helper"


def helper_command() -> list[str]:
    """The command line that starts the helper: the bundle's own executable with FROZEN_HELPER_ARG in a
    frozen build (sys.executable is the app there; app.__main__ dispatches it), else this Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable, FROZEN_HELPER_ARG]
    return [sys.executable, "-c", "from app.core.mask_convert import main; main()"]


def main() -> None:
    """The helper process: serve on stdin/stdout (stdout is kept for answers: stray
    prints of libraries go to stderr, or nowhere when there is none, as in a windowed build)."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    err_fd = sys.stderr.fileno() if sys.stderr is not None else os.open(os.devnull, os.O_WRONLY)
    os.dup2(err_fd, sys.stdout.fileno())
    serve(sys.stdin.buffer, out)
