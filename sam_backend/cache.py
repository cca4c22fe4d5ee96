"""Embedding cache: a memory LRU bounded in bytes, backed by an optional persistent disk cache.

Disk entries are keyed by CacheKey(model id, sha1 of the image file's bytes, preprocess version) and
live at  <disk_dir>/<model_id>/<sha1[:2]>/<sha1>-p<version>.emb  with this layout (little-endian):

    8 bytes   magic b"SAMLEMB1"
    u32       format version (FORMAT_VERSION)
    u32       header length N
    N bytes   header, UTF-8 JSON: {"key": {"model_id", "image_sha1", "preprocess_version"},
              "model_id", "original_size": [H, W], "input_size": [h, w],
              "tensors": [{"name": "features" | "early_0"…, "shape": [...], "dtype": "float16"|"float32"}]}
    payload   the tensors' raw bytes in header order (float16 unless a value overflows float16)
    32 bytes  blake2b-256 digest of everything before it

Nothing is unpickled. A file that is truncated, corrupt, of another format version or for another
key is never trusted: `get` deletes it and reports a miss, the next `put` rewrites it. Writes go to a
temporary file in the same folder and are moved into place with os.replace (a crash leaves either the
old file, or none; the digest catches anything else).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import struct
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

from sam_backend.types import ImageEmbedding

MAGIC = b"SAMLEMB1"
FORMAT_VERSION = 1
_DIGEST_BYTES = 32
_MAX_FILE_BYTES = 1 << 30
_FP16_MAX = 65504.0
_MODEL_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
_DTYPES = {"float16": np.float16, "float32": np.float32}


@dataclass(frozen=True)
class CacheKey:
    """Identity of an embedding: model id, hex sha1 of the image FILE bytes, preprocess version."""

    model_id: str
    image_sha1: str
    preprocess_version: int = 1

    def __post_init__(self) -> None:
        if not _MODEL_ID_RE.match(self.model_id):
            raise ValueError(f"invalid model id for the embedding cache: {self.model_id!r}")
        if not _SHA1_RE.match(self.image_sha1):
            raise ValueError(f"invalid image sha1 for the embedding cache: {self.image_sha1!r}")
        if not isinstance(self.preprocess_version, int) or self.preprocess_version < 0:
            raise ValueError(f"invalid preprocess version: {self.preprocess_version!r}")

    def as_json(self) -> dict:
        return {"model_id": self.model_id, "image_sha1": self.image_sha1,
                "preprocess_version": self.preprocess_version}


def sha1_of_file(path: str | os.PathLike[str]) -> str:
    """Lower-case hex sha1 of the file's bytes (the image identity used in cache keys)."""
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class EmbeddingCache:
    """Memory LRU (bounded by ImageEmbedding.nbytes()) in front of an optional disk cache.

    max_bytes: memory budget; an embedding larger than it is only kept on disk. disk_dir: folder of
    the disk cache, None for memory only. disk_max_bytes: optional disk budget; the least recently
    used files are removed when it is exceeded. Safe to share between threads.
    """

    def __init__(self, max_bytes: int, disk_dir: Path | None = None, disk_max_bytes: int | None = None) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self.disk_dir = Path(disk_dir) if disk_dir is not None else None
        self.disk_max_bytes = disk_max_bytes
        self._mem: OrderedDict[CacheKey, ImageEmbedding] = OrderedDict()
        self._mem_bytes = 0
        self._lock = threading.Lock()
        self._disk_bytes: int | None = None  # lazily scanned total, maintained on put
        self.last_disk_error: str | None = None

    # ------------------------------------------------------------------ public API
    @property
    def memory_bytes(self) -> int:
        """Bytes currently held by the memory LRU."""
        return self._mem_bytes

    def __len__(self) -> int:
        return len(self._mem)

    def get(self, key: CacheKey, device: str | torch.device = "cpu") -> ImageEmbedding | None:
        """The embedding for `key` on `device` (float32 when it comes from disk), or None on a miss."""
        import torch

        dev = torch.device(device)
        with self._lock:
            emb = self._mem.get(key)
            if emb is not None:
                self._mem.move_to_end(key)
        if emb is not None:
            return emb if emb.features.device == dev else _to_device(emb, dev)
        if self.disk_dir is None:
            return None
        emb = self._read(key, dev)
        if emb is not None:
            self._remember(key, emb)
        return emb

    def put(self, key: CacheKey, emb: ImageEmbedding, *, strict: bool = False) -> None:
        """Keep `emb` in memory (evicting least recently used entries) and write it to disk.

        A failed disk write (e.g. disk full) is recorded in `last_disk_error` and otherwise ignored,
        unless `strict`, where the OSError propagates.
        """
        self._remember(key, emb)
        if self.disk_dir is None:
            return
        try:
            self._write(key, emb)
            self.last_disk_error = None
        except OSError as exc:
            self.last_disk_error = f"cannot write the embedding cache in {self.disk_dir}: {exc.strerror or exc}"
            if strict:
                raise

    def on_disk(self, key: CacheKey) -> bool:
        """True when a valid disk entry for `key` exists (it is fully checked, not loaded to a device)."""
        import torch

        return self.disk_dir is not None and self._read(key, torch.device("cpu")) is not None

    def clear_memory(self) -> None:
        """Drop every memory entry (the disk cache stays)."""
        with self._lock:
            self._mem.clear()
            self._mem_bytes = 0

    def path_for(self, key: CacheKey) -> Path:
        """Disk path of `key`'s entry (requires a disk_dir)."""
        if self.disk_dir is None:
            raise ValueError("this embedding cache has no disk folder")
        sha = key.image_sha1
        return self.disk_dir / key.model_id / sha[:2] / f"{sha}-p{key.preprocess_version}.emb"

    # ------------------------------------------------------------------ memory
    def _remember(self, key: CacheKey, emb: ImageEmbedding) -> None:
        size = emb.nbytes()
        with self._lock:
            old = self._mem.pop(key, None)
            if old is not None:
                self._mem_bytes -= old.nbytes()
            if size > self.max_bytes:
                return
            self._mem[key] = emb
            self._mem_bytes += size
            while self._mem_bytes > self.max_bytes and self._mem:
                _, evicted = self._mem.popitem(last=False)
                self._mem_bytes -= evicted.nbytes()

    # ------------------------------------------------------------------ disk
    def _write(self, key: CacheKey, emb: ImageEmbedding) -> None:
        data = encode_entry(key, emb)
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
        try:
            with open(fd, "wb") as fh:
                fh.write(data)
            old = path.stat().st_size if path.exists() else 0
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._account(len(data) - old)

    def _read(self, key: CacheKey, device: torch.device) -> ImageEmbedding | None:
        path = self.path_for(key)
        try:
            size = path.stat().st_size
            if size > _MAX_FILE_BYTES:
                raise ValueError("file too large")
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self._discard(path)
            return None
        try:
            emb = decode_entry(data, key, device)
        except ValueError:
            self._discard(path)
            return None
        with contextlib.suppress(OSError):  # read-only cache folder: recency is only a hint
            os.utime(path)  # mark as recently used for the disk budget
        return emb

    def _discard(self, path: Path) -> None:
        """Delete an untrusted entry (best effort: a read-only cache just keeps missing it)."""
        try:
            size = path.stat().st_size
            path.unlink()
        except OSError:
            return
        self._account(-size)

    def _account(self, delta: int) -> None:
        if self.disk_max_bytes is None or self.disk_dir is None:
            return
        if self._disk_bytes is None:
            self._disk_bytes = sum(size for _, size, _ in self._entries())
        else:
            self._disk_bytes += delta
        if self._disk_bytes > self.disk_max_bytes:
            self._prune(int(self.disk_max_bytes * 0.9))

    def _prune(self, target: int) -> None:
        entries = sorted(self._entries())
        total = sum(e[1] for e in entries)
        for _, size, p in entries:
            if total <= target:
                break
            try:
                p.unlink()
                total -= size
            except OSError:
                continue
        self._disk_bytes = total

    def _entries(self) -> list[tuple[int, int, Path]]:
        """(mtime_ns, size, path) of every disk entry."""
        found = []
        if self.disk_dir is not None and self.disk_dir.is_dir():
            for p in self.disk_dir.rglob("*.emb"):
                try:
                    st = p.stat()
                except OSError:
                    continue
                found.append((st.st_mtime_ns, st.st_size, p))
        return found


def encode_entry(key: CacheKey, emb: ImageEmbedding) -> bytes:
    """Serialise `emb` for `key` in the disk layout described in the module docstring."""
    import torch

    tensors = [("features", emb.features)] + [(f"early_{i}", t) for i, t in enumerate(emb.early_features)]
    specs, blobs = [], []
    for name, t in tensors:
        arr = t.detach().to("cpu", torch.float32).contiguous().numpy()
        if arr.size and float(np.abs(arr).max(initial=0.0)) <= _FP16_MAX and np.isfinite(arr).all():
            arr = arr.astype("<f2")
            dtype = "float16"
        else:
            arr = arr.astype("<f4")
            dtype = "float32"
        specs.append({"name": name, "shape": list(arr.shape), "dtype": dtype})
        blobs.append(arr.tobytes())
    header = json.dumps({
        "key": key.as_json(), "model_id": emb.model_id,
        "original_size": [int(v) for v in emb.original_size], "input_size": [int(v) for v in emb.input_size],
        "tensors": specs,
    }, sort_keys=True).encode("utf-8")
    body = MAGIC + struct.pack("<II", FORMAT_VERSION, len(header)) + header + b"".join(blobs)
    return body + hashlib.blake2b(body, digest_size=_DIGEST_BYTES).digest()


def decode_entry(data: bytes, key: CacheKey, device: torch.device) -> ImageEmbedding:
    """Parse and check a disk entry; raise ValueError for anything that is not exactly `key`'s entry."""
    import torch

    if len(data) < len(MAGIC) + 8 + _DIGEST_BYTES or not data.startswith(MAGIC):
        raise ValueError("not an embedding cache file")
    body, digest = data[:-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
    if hashlib.blake2b(body, digest_size=_DIGEST_BYTES).digest() != digest:
        raise ValueError("checksum mismatch")
    version, hlen = struct.unpack_from("<II", body, len(MAGIC))
    if version != FORMAT_VERSION:
        raise ValueError("other format version")
    start = len(MAGIC) + 8
    try:
        header = json.loads(body[start:start + hlen].decode("utf-8"))
        if header["key"] != key.as_json():
            raise ValueError("entry of another key")
        original = tuple(int(v) for v in header["original_size"])
        input_size = tuple(int(v) for v in header["input_size"])
        model_id = str(header["model_id"])
        specs = list(header["tensors"])
    except (KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"bad header: {exc}") from exc
    if len(original) != 2 or len(input_size) != 2 or not specs or specs[0].get("name") != "features":
        raise ValueError("bad header")
    offset = start + hlen
    tensors: list[torch.Tensor] = []
    for spec in specs:
        dtype = _DTYPES.get(spec.get("dtype"))
        shape = spec.get("shape")
        if dtype is None or not isinstance(shape, list) or not 1 <= len(shape) <= 5 \
                or not all(isinstance(d, int) and d > 0 for d in shape):
            raise ValueError("bad tensor description")
        n = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if offset + n > len(body):
            raise ValueError("truncated payload")
        arr = np.frombuffer(body, dtype=np.dtype(dtype).newbyteorder("<"), count=n // np.dtype(dtype).itemsize,
                            offset=offset).reshape(shape)
        tensors.append(torch.from_numpy(arr.astype(np.float32)).to(device))
        offset += n
    if offset != len(body):
        raise ValueError("trailing bytes")
    return ImageEmbedding(model_id=model_id, features=tensors[0], original_size=(original[0], original[1]),
                          input_size=(input_size[0], input_size[1]), early_features=tuple(tensors[1:]),
                          preprocess_version=key.preprocess_version)


def _to_device(emb: ImageEmbedding, device: torch.device) -> ImageEmbedding:
    return ImageEmbedding(model_id=emb.model_id, features=emb.features.to(device),
                          original_size=emb.original_size, input_size=emb.input_size,
                          early_features=tuple(t.to(device) for t in emb.early_features),
                          preprocess_version=emb.preprocess_version)
