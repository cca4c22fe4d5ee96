"""Resumable, verified checkpoint downloads with urllib (no third-party HTTP client).

`download` streams into `<models_dir>/<filename>.part`, resumes an existing part file with an HTTP
Range request (206 = append; 200 = the server ignored the range, start again), verifies the
complete file (published md5, or the exact tensor layout of sam_hq_vit_tiny), and only then moves it
onto the final name with os.replace. A failure never leaves a partial file under the final name:
transient failures (dropped connection, cancel, disk full) keep the part file for the next attempt,
a checksum mismatch deletes it.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO, Callable

from sam_backend import checkpoints
from sam_backend.errors import DownloadCancelled, DownloadError
from sam_backend.paths import MIRROR_ENV, models_dir
from sam_backend.registry import ModelSpec, get_spec

ProgressFn = Callable[[int, "int | None"], None]

CHUNK_BYTES = 1 << 20
USER_AGENT = "sam-labeler/0.1 (+checkpoint download)"
_FREE_SPACE_MARGIN = 16 << 20


class _Interrupted(DownloadError):
    """The body stopped early (connection dropped / timed out): worth resuming."""


def source_url(spec: ModelSpec, mirror: str | None = None) -> str:
    """URL to fetch `spec` from: `mirror` (else $SAM_LABELER_MODEL_MIRROR) + "/" + file name, else spec.url."""
    base = (mirror if mirror is not None else os.environ.get(MIRROR_ENV, "")).strip()
    if not base:
        return spec.url
    scheme = urllib.parse.urlsplit(base).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise DownloadError(f"the model mirror {base!r} is not an http://, https:// or file:// URL")
    return base.rstrip("/") + "/" + urllib.parse.quote(spec.filename)


def download(
    model_id: str,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    mirror: str | None = None,
    *,
    timeout: float = 30.0,
    retries: int = 2,
) -> Path:
    """Download, verify and install `model_id`'s checkpoint; return its final path.

    progress(done_bytes, total_bytes | None) is called after every chunk (done includes a resumed
    prefix). Setting `cancel` stops at the next chunk with DownloadCancelled (the part file is kept).
    A dropped connection is resumed automatically up to `retries` times. An already installed and
    verified checkpoint is returned without any network access.
    Raises DownloadError (network, HTTP status, timeout, disk full, checksum) / DownloadCancelled.
    Hub models (sam_backend.hub) download their snapshot through huggingface_hub ($HF_ENDPOINT).
    """
    spec = get_spec(model_id)
    if spec.arch == "hub":
        from sam_backend import hub

        return hub.download(model_id, progress=progress, cancel=cancel, timeout=timeout)
    if checkpoints.install_state(model_id).status == "verified":
        return checkpoints.checkpoint_path(model_id)
    url = source_url(spec, mirror)
    final = models_dir() / spec.filename
    part = final.with_name(final.name + ".part")
    attempt = 0
    while True:
        try:
            digest = _fetch_to_part(spec, url, part, progress, cancel, timeout)
            break
        except _Interrupted:
            attempt += 1
            if attempt > retries:
                raise
            delay = min(2.0 ** (attempt - 1), 8.0)
            if cancel is not None and cancel.wait(delay):
                raise DownloadCancelled(f"download of {spec.id} cancelled; the part received so far is kept "
                                        "and the next download resumes from there") from None
            if cancel is None:
                time.sleep(delay)
    return _install_part(spec, part, final, digest)


def _install_part(spec: ModelSpec, part: Path, final: Path, digest: str) -> Path:
    """Check the complete part file's digest and move it onto `final`; delete it on checksum mismatch."""
    verdict = checkpoints.judge(spec, part, part.stat().st_size, digest)
    if not verdict.ok:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"the downloaded file for {spec.id} failed its checksum ({verdict.message}); it was deleted, "
            "try again or check the mirror"
        )
    try:
        os.replace(part, final)
    except OSError as exc:
        raise DownloadError(f"cannot move the download into {final}: {checkpoints.describe_os_error(exc)}") from exc
    checkpoints.fsync_dir(final.parent)
    checkpoints.record_install(spec, final, verdict)
    return final


def _fetch_to_part(
    spec: ModelSpec, url: str, part: Path, progress: ProgressFn | None,
    cancel: threading.Event | None, timeout: float,
) -> str:
    """Append the rest of `url` to `part` (resuming from its size) until complete.

    Returns the hex digest (checkpoints.algorithm_for(spec)) of the complete part file, computed
    while streaming (a resumed prefix is hashed from disk first), so big files are not read twice.
    """
    algorithm = checkpoints.algorithm_for(spec)
    host = urllib.parse.urlsplit(url).netloc or url
    try:
        fh = open(part, "ab", buffering=0)
    except OSError as exc:
        raise DownloadError(f"cannot write {part}: {checkpoints.describe_os_error(exc)}") from exc
    with fh:
        _lock_or_fail(fh, spec)
        offset = os.fstat(fh.fileno()).st_size
        resp = _open(url, offset, host, timeout, spec)
        if isinstance(resp, _RangeNotSatisfiable):
            if resp.total == offset:  # the part is already complete (e.g. interrupted while verifying)
                if progress is not None:
                    progress(offset, offset)
                return checkpoints.hash_file(part, algorithm)
            fh.truncate(0)  # the part is longer than the file: start over
            offset = 0
            resp = _open(url, 0, host, timeout, spec)
            if isinstance(resp, _RangeNotSatisfiable):
                raise DownloadError(f"{host} refused to send {spec.id} (HTTP 416)")
        with resp:
            offset, total = _negotiate(resp, fh, offset)
            _check_free_space(part, total, offset, spec)
            hasher = _hash_prefix(part, offset, algorithm)
            done = _stream(resp, fh, part, hasher, offset, total, progress, cancel, spec, host)
            try:
                os.fsync(fh.fileno())
            except OSError as exc:
                raise _disk_error(exc, part, spec) from exc
    if total is not None and done != total:
        if done > total:
            part.unlink(missing_ok=True)
            raise DownloadError(f"{host} sent more data than announced for {spec.id}; the partial file was deleted")
        raise _Interrupted(
            f"the connection to {host} closed after {_mb(done)} of {_mb(total)} for {spec.id}; "
            "run the download again to resume"
        )
    return hasher.hexdigest()


def _hash_prefix(part: Path, length: int, algorithm: str) -> "hashlib._Hash":
    """A hasher fed with the first `length` bytes of `part` (the resumed prefix)."""
    hasher = hashlib.new(algorithm)
    with open(part, "rb") as fh:
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(remaining, 4 << 20))
            if not chunk:
                raise _Interrupted(f"the partial download {part} shrank while resuming; run the download again")
            hasher.update(chunk)
            remaining -= len(chunk)
    return hasher


class _RangeNotSatisfiable:
    """HTTP 416 answer to a resume: `total` is the file size from "Content-Range: bytes */TOTAL" (or None)."""

    def __init__(self, total: int | None) -> None:
        self.total = total


def _open(url: str, offset: int, host: str, timeout: float,
          spec: ModelSpec) -> http.client.HTTPResponse | _RangeNotSatisfiable:
    """Send the request (with a Range header when resuming)."""
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - scheme checked in source_url
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            return _RangeNotSatisfiable(_parse_content_range(exc.headers.get("Content-Range", "") or "")[1])
        raise DownloadError(f"{host} answered HTTP {exc.code} {exc.reason} for {url}") from exc
    except urllib.error.URLError as exc:
        raise DownloadError(_network_message(exc.reason, host, timeout, spec)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(_network_message(exc, host, timeout, spec)) from exc


def _negotiate(resp: http.client.HTTPResponse, fh: BinaryIO, offset: int) -> tuple[int, int | None]:
    """Decide where the body starts; returns (offset, total size or None). Truncates on a restart."""
    length_header = resp.headers.get("Content-Length")
    length = int(length_header) if length_header and length_header.isdigit() else None
    status = getattr(resp, "status", None)
    if offset and status == 206:
        start, total = _parse_content_range(resp.headers.get("Content-Range", ""))
        if start == offset:
            if total is None and length is not None:
                total = offset + length
            return offset, total
    # 200 (or a 206 for another range, or a file:// URL): the body is the whole file
    if offset:
        fh.truncate(0)
    return 0, length


def _parse_content_range(value: str) -> tuple[int | None, int | None]:
    """Parse "bytes START-END/TOTAL" or "bytes */TOTAL" -> (START, TOTAL); None for absent, "*" or bad parts."""
    unit, _, rest = value.strip().partition(" ")
    if unit.lower() != "bytes" or "/" not in rest:
        return None, None
    span, _, total_text = rest.partition("/")
    start_text = span.split("-", 1)[0].strip()
    start = int(start_text) if start_text.isdigit() else None
    total = int(total_text) if total_text.strip().isdigit() else None
    return start, total


def _stream(
    resp: http.client.HTTPResponse, fh: BinaryIO, part: Path, hasher: "hashlib._Hash", offset: int,
    total: int | None,
    progress: ProgressFn | None, cancel: threading.Event | None, spec: ModelSpec, host: str,
) -> int:
    """Copy the body into fh (and the hasher) chunk by chunk; returns the bytes now in the part file."""
    done = offset
    if progress is not None:
        progress(done, total)
    while True:
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled(
                f"download of {spec.id} cancelled; the {_mb(done)} received so far are kept and the next "
                "download resumes from there"
            )
        try:
            chunk = resp.read(CHUNK_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            raise _Interrupted(
                f"the connection to {host} failed after {_mb(done)} for {spec.id} ({_reason(exc)}); "
                "run the download again to resume"
            ) from exc
        if not chunk:
            return done
        try:
            _write_all(fh, chunk)
        except OSError as exc:
            raise _disk_error(exc, part, spec) from exc
        hasher.update(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)


def _write_all(fh: BinaryIO, data: bytes) -> None:
    """Write all of `data` to the unbuffered file (the single write point of downloads)."""
    view = memoryview(data)
    while view:
        written = fh.write(view)
        if written is None or written <= 0:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]


def _check_free_space(part: Path, total: int | None, offset: int, spec: ModelSpec) -> None:
    """Fail early when the disk cannot hold the rest of the file."""
    if total is None:
        return
    try:
        free = shutil.disk_usage(part.parent).free
    except OSError:
        return
    needed = total - offset
    if free < needed + _FREE_SPACE_MARGIN:
        raise DownloadError(
            f"not enough disk space for {spec.id} in {part.parent}: {_mb(needed)} needed, {_mb(free)} free"
        )


def _disk_error(exc: OSError, part: Path, spec: ModelSpec) -> DownloadError:
    if exc.errno == errno.ENOSPC:
        return DownloadError(
            f"the disk is full while downloading {spec.id} into {part.parent}; free some space and run the "
            "download again to resume"
        )
    return DownloadError(f"cannot write {part}: {checkpoints.describe_os_error(exc)}")


def _lock_or_fail(fh: BinaryIO, spec: ModelSpec) -> None:
    """Take an exclusive lock on the part file so two processes never write it at once (POSIX only)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; the GUI and CLI rarely race there
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        raise DownloadError(f"another download of {spec.id} is already running") from exc


def _network_message(reason: object, host: str, timeout: float, spec: ModelSpec) -> str:
    what = f"cannot download {spec.id}"
    if isinstance(reason, ConnectionRefusedError):
        return f"{what}: the connection to {host} was refused (no network, or the server/mirror is down)"
    if isinstance(reason, socket.gaierror):
        return f"{what}: cannot resolve {host} (no network or no DNS); check the connection or set {MIRROR_ENV}"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"{what}: {host} did not answer within {timeout:g} s"
    if isinstance(reason, ssl.SSLError):
        return f"{what}: secure connection to {host} failed ({_reason(reason)})"
    return f"{what}: cannot reach {host} ({_reason(reason)})"


def _reason(exc: object) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    return text or type(exc).__name__


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
