"""Downloads against a local HTTP server: resume, restart, cancel, errors, checksums, mirror URL."""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import random
import socket
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from sam_backend import checkpoints, download as dl, registry
from sam_backend.errors import DownloadCancelled, DownloadError
from tests.sam_backend._httpserver import Behaviour, FileServer, serve

PAYLOAD = random.Random(7).randbytes(300_000)


@pytest.fixture
def server() -> Iterator[FileServer]:
    yield from serve()


@pytest.fixture
def fake_mobile_sam(monkeypatch: pytest.MonkeyPatch, server: FileServer) -> registry.ModelSpec:
    """mobile_sam pointed at a 300 KB payload served by the local server (via the mirror variable)."""
    spec = dataclasses.replace(registry.MODELS["mobile_sam"], md5=hashlib.md5(PAYLOAD).hexdigest(),
                               size_bytes=len(PAYLOAD))
    monkeypatch.setitem(registry.MODELS, "mobile_sam", spec)
    monkeypatch.setenv("SAM_LABELER_MODEL_MIRROR", server.base_url + "/mirror")
    monkeypatch.setattr(dl, "CHUNK_BYTES", 32 * 1024)
    return spec


def _serve(server: FileServer, spec: registry.ModelSpec, behaviour: Behaviour) -> None:
    server.files["mirror/" + spec.filename] = behaviour


def test_download_verifies_installs_and_is_not_repeated(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD))
    seen: list[tuple[int, int | None]] = []
    path = dl.download("mobile_sam", progress=lambda d, t: seen.append((d, t)))
    assert path == checkpoints.checkpoint_path("mobile_sam")
    assert path.read_bytes() == PAYLOAD
    assert not checkpoints.part_path("mobile_sam").exists()
    assert checkpoints.install_state("mobile_sam").status == "verified"
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(server.requests) == 1
    assert dl.download("mobile_sam") == path
    assert len(server.requests) == 1  # already verified: no network


def test_interrupted_download_resumes_with_range(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD, drop_after=[100_000]))
    with pytest.raises(DownloadError, match="closed after .* resume"):
        dl.download("mobile_sam", retries=0)
    part = checkpoints.part_path("mobile_sam")
    assert part.stat().st_size == 100_000
    assert not checkpoints.checkpoint_path("mobile_sam").exists()
    path = dl.download("mobile_sam", retries=0)
    assert path.read_bytes() == PAYLOAD
    assert server.requests[1][1] == "bytes=100000-"
    assert not part.exists()


def test_dropped_connection_is_retried_automatically(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD, drop_after=[50_000]))
    path = dl.download("mobile_sam", retries=1)
    assert path.read_bytes() == PAYLOAD
    assert [r for _, r in server.requests] == [None, "bytes=50000-"]


def test_server_ignoring_range_restarts_from_zero(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    checkpoints.part_path("mobile_sam").write_bytes(b"x" * 1000)  # stale bytes that are NOT the payload prefix
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD, ignore_range=True))
    path = dl.download("mobile_sam")
    assert server.requests[0][1] == "bytes=1000-"
    assert path.read_bytes() == PAYLOAD


def test_complete_part_is_verified_without_downloading_again(server: FileServer,
                                                             fake_mobile_sam: registry.ModelSpec) -> None:
    checkpoints.part_path("mobile_sam").write_bytes(PAYLOAD)  # e.g. interrupted while verifying
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD))
    assert dl.download("mobile_sam").read_bytes() == PAYLOAD
    assert [r for _, r in server.requests] == [f"bytes={len(PAYLOAD)}-"]  # answered 416, no body


def test_part_longer_than_the_file_restarts(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    checkpoints.part_path("mobile_sam").write_bytes(b"y" * (len(PAYLOAD) + 10))
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD))
    assert dl.download("mobile_sam").read_bytes() == PAYLOAD
    assert [r for _, r in server.requests] == [f"bytes={len(PAYLOAD) + 10}-", None]


def test_complete_but_wrong_part_is_deleted(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    checkpoints.part_path("mobile_sam").write_bytes(b"z" * len(PAYLOAD))
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD))
    with pytest.raises(DownloadError, match="failed its checksum"):
        dl.download("mobile_sam")
    assert not checkpoints.part_path("mobile_sam").exists()
    assert dl.download("mobile_sam").read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_the_part_file(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    wrong = bytes(reversed(PAYLOAD))
    _serve(server, fake_mobile_sam, Behaviour(wrong))
    with pytest.raises(DownloadError, match="failed its checksum.*deleted") as info:
        dl.download("mobile_sam")
    assert hashlib.md5(wrong).hexdigest() in str(info.value)
    assert not checkpoints.part_path("mobile_sam").exists()
    assert not checkpoints.checkpoint_path("mobile_sam").exists()


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors_are_one_sentence(server: FileServer, fake_mobile_sam: registry.ModelSpec, status: int) -> None:
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD, status=status))
    with pytest.raises(DownloadError, match=f"answered HTTP {status}") as info:
        dl.download("mobile_sam")
    assert "\n" not in str(info.value)
    assert not checkpoints.checkpoint_path("mobile_sam").exists()


def test_no_network_connection_refused(fake_mobile_sam: registry.ModelSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SAM_LABELER_MODEL_MIRROR", f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError, match="refused"):
        dl.download("mobile_sam")
    assert not checkpoints.checkpoint_path("mobile_sam").exists()


def test_timeout(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD, delay_s=1.0))
    with pytest.raises(DownloadError, match="did not answer within 0.3 s"):
        dl.download("mobile_sam", timeout=0.3)


def test_cancel_keeps_part_and_later_resumes(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD))
    cancel = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done >= 64 * 1024:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled"):
        dl.download("mobile_sam", progress=progress, cancel=cancel)
    kept = checkpoints.part_path("mobile_sam").stat().st_size
    assert 64 * 1024 <= kept < len(PAYLOAD)
    assert not checkpoints.checkpoint_path("mobile_sam").exists()
    assert dl.download("mobile_sam").read_bytes() == PAYLOAD
    assert server.requests[-1][1] == f"bytes={kept}-"


def test_disk_full(server: FileServer, fake_mobile_sam: registry.ModelSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD))

    def full(fh: object, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dl, "_write_all", full)
    with pytest.raises(DownloadError, match="disk is full"):
        dl.download("mobile_sam")
    assert not checkpoints.checkpoint_path("mobile_sam").exists()


def test_not_enough_free_space_fails_before_writing(server: FileServer, fake_mobile_sam: registry.ModelSpec,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD))
    monkeypatch.setattr(dl.shutil, "disk_usage", lambda p: dl.shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(DownloadError, match="not enough disk space"):
        dl.download("mobile_sam")
    assert checkpoints.part_path("mobile_sam").stat().st_size == 0


def test_mirror_url(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = registry.MODELS["sam_vit_b"]
    assert dl.source_url(spec) == spec.url
    monkeypatch.setenv("SAM_LABELER_MODEL_MIRROR", "https://models.example.org/sam/")
    assert dl.source_url(spec) == "https://models.example.org/sam/sam_vit_b_01ec64.pth"
    assert dl.source_url(spec, mirror="http://m/x") == "http://m/x/sam_vit_b_01ec64.pth"
    with pytest.raises(DownloadError, match="not an http"):
        dl.source_url(spec, mirror="ftp://m/x")


def test_content_range_parsing() -> None:
    assert dl._parse_content_range("bytes 100-199/200") == (100, 200)
    assert dl._parse_content_range("bytes 5-9/*") == (5, None)
    assert dl._parse_content_range("garbage") == (None, None)
    assert dl._parse_content_range("bytes */300") == (None, 300)
    assert dl._parse_content_range("items 0-1/2") == (None, None)


def test_unpublished_checksum_is_judged_by_layout_on_every_download(server: FileServer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.sam_backend.checkpoint_files import foreign_checkpoint, layout_checkpoint

    first, second = layout_checkpoint(seed=1), layout_checkpoint(seed=2)
    spec = registry.MODELS["sam_hq_vit_tiny"]
    monkeypatch.setenv("SAM_LABELER_MODEL_MIRROR", server.base_url)
    server.files[spec.filename] = Behaviour(first)
    path = dl.download(spec.id)
    assert checkpoints.verify(spec.id).ok
    path.unlink()
    server.files[spec.filename] = Behaviour(second)  # another correct file: not locked out by the first
    assert dl.download(spec.id).read_bytes() == second
    path.unlink()
    server.files[spec.filename] = Behaviour(foreign_checkpoint(30_000_000))
    with pytest.raises(DownloadError, match="its tensors are not the official sam_hq_vit_tiny layout"):
        dl.download(spec.id)
    assert not path.exists()
    assert not checkpoints.part_path(spec.id).exists()


def test_first_install_rejects_a_non_archive(server: FileServer, monkeypatch: pytest.MonkeyPatch) -> None:
    junk = b"<html>login page</html>" * 10_000
    spec = dataclasses.replace(registry.MODELS["sam_hq_vit_tiny"], size_bytes=len(junk))
    monkeypatch.setitem(registry.MODELS, spec.id, spec)
    monkeypatch.setenv("SAM_LABELER_MODEL_MIRROR", server.base_url)
    server.files[spec.filename] = Behaviour(junk)
    with pytest.raises(DownloadError, match="not a torch checkpoint archive"):
        dl.download(spec.id)
    assert not Path(checkpoints.checkpoint_path(spec.id)).exists()


@pytest.mark.skipif(sys.platform == "win32", reason="advisory file locks are POSIX-only")
def test_second_concurrent_download_is_refused(server: FileServer, fake_mobile_sam: registry.ModelSpec) -> None:
    import fcntl

    _serve(server, fake_mobile_sam, Behaviour(PAYLOAD))
    part = checkpoints.part_path("mobile_sam")
    with open(part, "ab") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        with pytest.raises(DownloadError, match="another download of mobile_sam is already running"):
            dl.download("mobile_sam")
    assert dl.download("mobile_sam").read_bytes() == PAYLOAD


def test_file_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = dataclasses.replace(registry.MODELS["mobile_sam"], md5=hashlib.md5(PAYLOAD).hexdigest(),
                               size_bytes=len(PAYLOAD))
    monkeypatch.setitem(registry.MODELS, "mobile_sam", spec)
    share = tmp_path / "share"
    share.mkdir()
    (share / spec.filename).write_bytes(PAYLOAD)
    checkpoints.part_path("mobile_sam").write_bytes(PAYLOAD[:1000])  # file:// ignores ranges: restart
    path = dl.download("mobile_sam", mirror=share.as_uri())
    assert path.read_bytes() == PAYLOAD
