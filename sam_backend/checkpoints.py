"""Install state of checkpoints in the model cache: verify, import, and the manifest.

Layout of `paths.models_dir()`:
    <spec.filename>          an installed checkpoint (only ever appears through os.replace)
    <spec.filename>.part     a partial download (see download.py)
    manifest.json            {"version": 1,
                              "installed": {id: {"filename", "size", "mtime_ns", "method", "digest"}},
                              "pins": {id: {"size", "sha256"}}}

"installed" records a file that passed verification, with its size and mtime: `install_state` reports
"verified" by comparing those with os.stat (cheap); only `verify` re-hashes. A model without a
published checksum (sam_hq_vit_tiny) is checked by its exact tensor layout and archive CRCs every
time (see `judge`). "pins" (a sha256 recorded on the first install, by earlier versions) is kept in
the file but no longer consulted: it let a first, wrong import lock out the real file.

Reading functions (`install_state`, `verify`, listings) never create the cache folders and treat
the manifest as a courtesy, so a read-only SAM_LABELER_HOME (a shared model cache) works for them.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sam_backend.errors import CheckpointError, CheckpointMissing
from sam_backend.paths import models_dir
from sam_backend.registry import ModelSpec, get_spec

Progress = Callable[[int, "int | None"], None]

MANIFEST_NAME = "manifest.json"
_HASH_CHUNK = 4 << 20
_manifest_lock = threading.Lock()


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking a file's digests against what is known about a model.

    ok: the file is accepted. method: how ("md5", "sha256", "layout").
    message: one sentence (reason of rejection, or what was checked). pin: unused (kept for callers
    of earlier versions; nothing is pinned any more).
    """

    ok: bool
    method: str
    message: str
    digest: str
    pin: bool = False


@dataclass(frozen=True)
class VerifyResult:
    """Result of `verify`: installed (a file is present), ok (it passed), method and message."""

    model_id: str
    path: Path
    installed: bool
    ok: bool
    method: str
    message: str


@dataclass(frozen=True)
class InstallState:
    """Cheap install state for listings (no hashing).

    status: "verified" (recorded as verified and unchanged since), "unverified" (a file is present
    but not recorded or changed since), "missing". partial_bytes: size of a partial download, 0 if none.
    """

    model_id: str
    path: Path
    status: str
    size: int
    partial_bytes: int


def checkpoint_path(model_id: str) -> Path:
    """Final path of `model_id`'s checkpoint in the model cache (it may not exist); a hub model's folder."""
    if get_spec(model_id).arch == "hub":
        from sam_backend import hub

        return hub.snapshot_path(model_id)
    return models_dir() / get_spec(model_id).filename


def part_path(model_id: str) -> Path:
    """Path of `model_id`'s partial download in the model cache (it may not exist)."""
    return models_dir() / (get_spec(model_id).filename + ".part")


def hash_file(path: Path, algorithm: str, progress: Progress | None = None) -> str:
    """Hex digest of the file's bytes with hashlib `algorithm` ("md5" or "sha256")."""
    h = hashlib.new(algorithm)
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return h.hexdigest()


def algorithm_for(spec: ModelSpec) -> str:
    """The digest that identifies `spec`'s file: "md5" when published, else "sha256"."""
    return "md5" if spec.md5 else "sha256"


def judge(spec: ModelSpec, path: Path, size: int, digest: str) -> Verdict:
    """Decide whether a file of `size` bytes with `digest` (of algorithm_for(spec)) is `spec`'s checkpoint.

    A published md5, else a known sha256 in the spec, must match. A model without any (sam_hq_vit_tiny)
    gets the strictest check that needs no checksum, every time (import, download, verify): a size
    within a factor 2 of the expected one, a torch zip archive whose every member passes its CRC
    check (damage anywhere in the file is found), holding exactly the official tensors (names and
    shapes, floating where the model's are; layout_problem). Nothing about an earlier install
    matters: a first import cannot lock out later correct files, and a correct file is accepted
    whatever came before it. (Pins recorded by earlier versions are ignored.)
    """
    if spec.md5:
        if digest == spec.md5:
            return Verdict(True, "md5", "md5 matches the published checksum", digest)
        return Verdict(False, "md5", f"its md5 is {digest}, the published md5 of {spec.id} is {spec.md5}", digest)
    if spec.sha256:
        if digest == spec.sha256:
            return Verdict(True, "sha256", "sha256 matches the known checksum", digest)
        return Verdict(False, "sha256", f"its sha256 is {digest}, expected {spec.sha256}", digest)
    if not (spec.size_bytes // 2 <= size <= spec.size_bytes * 2):
        return Verdict(False, "layout",
                       f"its size ({size} bytes) is implausible for {spec.id} (about {spec.size_bytes} bytes)",
                       digest)
    problem = layout_problem(spec, path)
    if problem is not None:
        return Verdict(False, "layout", problem, digest)
    return Verdict(True, "layout", "no published checksum: the archive is intact and holds exactly the official "
                   f"tensors of {spec.id}", digest)


def layout_problem(spec: ModelSpec, path: Path) -> str | None:
    """Why `path` is not a checkpoint of `spec`'s exact layout (one phrase), or None when it is.

    The archive's CRCs are checked first (zipfile, every member: reading the file once more), then
    the tensors are listed from a memory-mapped, weights-only torch.load (nothing is executed and
    the data are not read) and compared with the network build_model builds for the id on the
    meta device (= ../shared/sam_reference/layout_<id>.json, tests/sam_backend/test_models_layout.py):
    the same names, the same shapes, floating-point tensors where the network's are.
    """
    if not zipfile.is_zipfile(path):
        return "it is not a torch checkpoint archive"
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return f"its archive is damaged ({exc})"
    if bad is not None:
        return f"its archive is damaged (the member {bad} fails its CRC check)"
    import torch

    from sam_backend.models.build import build_model

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, ... for files it cannot read
        return f"torch cannot read it as a weights-only checkpoint ({str(exc).strip().splitlines()[0][:120]})"
    if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for wrapper in ("model", "state_dict"):
            if isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        return "it does not hold a state dict of tensors"
    with torch.device("meta"):
        expected = build_model(spec.id).state_dict()
    missing = [k for k in expected if k not in obj]
    unexpected = [str(k) for k in obj if k not in expected]
    wrong = [k for k in expected if k in obj and (tuple(obj[k].shape) != tuple(expected[k].shape)
                                                   or obj[k].is_floating_point() != expected[k].is_floating_point())]
    if not (missing or unexpected or wrong):
        return None
    parts = []
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("with another shape or type", wrong)):
        if keys:
            parts.append(f"{len(keys)} tensor(s) {what} ({', '.join(keys[:2])}{', ...' if len(keys) > 2 else ''})")
    return f"its tensors are not the official {spec.id} layout: {'; '.join(parts)}"


def record_install(spec: ModelSpec, path: Path, verdict: Verdict) -> None:
    """Record `path` as a verified install of `spec` (and pin its sha256 when the verdict says so)."""
    st = path.stat()
    with _manifest_lock:
        manifest = _read_manifest()
        manifest["installed"][spec.id] = {
            "filename": path.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "method": verdict.method, "digest": verdict.digest, "verified_at": int(time.time()),
        }
        _write_manifest(manifest)


def forget_install(model_id: str) -> None:
    """Drop the "verified" record of `model_id` (the pin, if any, is kept)."""
    with _manifest_lock:
        manifest = _read_manifest()
        if manifest["installed"].pop(model_id, None) is not None:
            _write_manifest(manifest)


def install_state(model_id: str) -> InstallState:
    """Cheap state of `model_id` in the cache (stat calls and the manifest only, no hashing).
    Hub models (sam_backend.hub) report their snapshot folder's state."""
    spec = get_spec(model_id)
    if spec.arch == "hub":
        from sam_backend import hub

        h = hub.install_state(model_id)
        return InstallState(model_id, h.path, h.status, h.size, h.partial_bytes)
    path = models_dir(create=False) / spec.filename
    part = path.with_name(path.name + ".part")
    partial = part.stat().st_size if part.is_file() else 0
    if not path.is_file():
        return InstallState(model_id, path, "missing", 0, partial)
    st = path.stat()
    entry = _read_manifest()["installed"].get(model_id)
    fresh = bool(entry) and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns
    return InstallState(model_id, path, "verified" if fresh else "unverified", st.st_size, partial)


def verify(model_id: str, progress: Progress | None = None) -> VerifyResult:
    """Re-hash `model_id`'s installed file and check it; updates the manifest either way (when the
    cache is writable: in a read-only cache the result is only reported).

    A file that fails is left in place but no longer counts as verified. Hub models re-hash every file
    of their snapshot (sam_backend.hub.verify).
    """
    spec = get_spec(model_id)
    if spec.arch == "hub":
        from sam_backend import hub

        ok, message = hub.verify(model_id, progress)
        path = hub.snapshot_path(model_id)
        return VerifyResult(model_id, path, (path / "config.json").is_file(), ok, "sha256", message)
    path = models_dir(create=False) / spec.filename
    if not path.is_file():
        courtesy_update(forget_install, model_id)
        return VerifyResult(model_id, path, False, False, "", f"{model_id} is not installed")
    size = path.stat().st_size
    verdict = judge(spec, path, size, hash_file(path, algorithm_for(spec), progress))
    if verdict.ok:
        courtesy_update(record_install, spec, path, verdict)
        return VerifyResult(model_id, path, True, True, verdict.method, f"{model_id}: OK ({verdict.message})")
    courtesy_update(forget_install, model_id)
    return VerifyResult(model_id, path, True, False, verdict.method,
                        f"{model_id}: {path} is damaged or not the official file: {verdict.message}")


def courtesy_update(update: Callable[..., None], *args: object) -> None:
    """Run a manifest update that a read-only cache may refuse (reading commands, verify, still
    succeed and report their result)."""
    with contextlib.suppress(OSError):
        update(*args)


def installed_checkpoint(model_id: str) -> Path:
    """Path of `model_id`'s verified checkpoint; raise CheckpointMissing with what to run otherwise.

    A file present but not yet recorded (e.g. copied in by hand) is verified once here. For a hub
    model, the verified snapshot folder.
    """
    if get_spec(model_id).arch == "hub":
        from sam_backend import hub

        return hub.installed_snapshot(model_id)
    state = install_state(model_id)
    if state.status == "verified":
        return state.path
    hint = (f"run `sam-labeler models download {model_id}` or "
            f"`sam-labeler models import {model_id} FILE`")
    if state.status == "missing":
        raise CheckpointMissing(f"no checkpoint for {model_id} is installed in {state.path.parent}: {hint}")
    result = verify(model_id)
    if not result.ok:
        raise CheckpointMissing(f"the installed checkpoint {state.path} fails verification: {hint} to replace it")
    return state.path


def import_checkpoint(model_id: str, file: str | os.PathLike[str], progress: Progress | None = None) -> Path:
    """Verify `file` as `model_id`'s checkpoint and copy it into the model cache atomically.

    The copy goes to a temporary file in the models folder (hashed while copied), is fsynced, and
    only then os.replace'd onto the final name; on any failure nothing is installed.
    Hub models take a snapshot folder (or its config.json), or, for SAM 2.1, the official ``.pt``
    checkpoint, converted once (sam_backend.hf.convert).
    Raises CheckpointError (unreadable, wrong file, disk full).
    """
    spec = get_spec(model_id)
    if spec.arch == "hub":
        return _import_hub(model_id, Path(file).expanduser(), progress)
    src = Path(file).expanduser()
    if not src.is_file():
        raise CheckpointError(f"cannot import {src}: no such file")
    dest = models_dir() / spec.filename
    if dest.exists() and os.path.samefile(src, dest):
        result = verify(model_id, progress)
        if not result.ok:
            raise CheckpointError(result.message)
        return dest
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".import", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        digest = _copy_hashing(src, tmp, algorithm_for(spec), progress)
        verdict = judge(spec, tmp, tmp.stat().st_size, digest)
        if not verdict.ok:
            raise CheckpointError(f"{src} is not a valid {model_id} checkpoint: {verdict.message}; nothing was installed")
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except OSError as exc:
        raise CheckpointError(f"cannot import {src} into {dest.parent}: {describe_os_error(exc)}; "
                              "nothing was installed") from exc
    finally:
        tmp.unlink(missing_ok=True)
    record_install(spec, dest, verdict)
    return dest


def _import_hub(model_id: str, src: Path, progress: Progress | None) -> Path:
    from sam_backend import hub

    if src.is_file() and src.name == "config.json":
        src = src.parent
    if src.is_file() and src.suffix == ".pt":
        from sam_backend.hf.convert import import_official_checkpoint

        return import_official_checkpoint(model_id, src, progress)
    return hub.import_snapshot(model_id, src, progress)


def describe_os_error(exc: OSError) -> str:
    """Short human text for an OSError (disk full gets its own words)."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    return exc.strerror or str(exc)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (no-op where directories cannot be opened, e.g. Windows)."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on directories
            os.fsync(dfd)
    finally:
        os.close(dfd)


def _copy_hashing(src: Path, dest: Path, algorithm: str, progress: Progress | None) -> str:
    """Copy src to dest (fsynced) and return the hex digest of the bytes copied."""
    h = hashlib.new(algorithm)
    total = src.stat().st_size
    done = 0
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(_HASH_CHUNK):
            h.update(chunk)
            fout.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        fout.flush()
        os.fsync(fout.fileno())
    return h.hexdigest()


def _read_manifest() -> dict:
    path = models_dir(create=False) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    for key in ("installed", "pins"):
        if not isinstance(data.get(key), dict):
            data[key] = {}
    data["version"] = 1
    return data


def _write_manifest(manifest: dict) -> None:
    folder = models_dir()
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=folder)
    try:
        with open(fd, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / MANIFEST_NAME)
    finally:
        Path(tmp).unlink(missing_ok=True)
