"""Install state, verification, the sha256 pin of unpublished checksums, and atomic import."""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import os
import random
import zipfile
from pathlib import Path

import pytest

from sam_backend import checkpoints, registry
from sam_backend.errors import CheckpointError, CheckpointMissing

DATA = random.Random(3).randbytes(200_000)


@pytest.fixture
def fake_vit_b(monkeypatch: pytest.MonkeyPatch) -> registry.ModelSpec:
    spec = dataclasses.replace(registry.MODELS["sam_vit_b"], md5=hashlib.md5(DATA).hexdigest(), size_bytes=len(DATA))
    monkeypatch.setitem(registry.MODELS, spec.id, spec)
    return spec


def _zip(seed: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", random.Random(seed).randbytes(100_000))
    return buf.getvalue()


def test_missing_checkpoint_says_what_to_run() -> None:
    with pytest.raises(CheckpointMissing, match=r"models download mobile_sam.*models import mobile_sam FILE"):
        checkpoints.installed_checkpoint("mobile_sam")
    state = checkpoints.install_state("mobile_sam")
    assert state.status == "missing" and state.partial_bytes == 0


def test_import_verifies_and_installs(tmp_path: Path, fake_vit_b: registry.ModelSpec) -> None:
    src = tmp_path / "downloaded.pth"
    src.write_bytes(DATA)
    seen: list[int] = []
    dest = checkpoints.import_checkpoint("sam_vit_b", src, progress=lambda d, t: seen.append(d))
    assert dest.read_bytes() == DATA and dest.name == fake_vit_b.filename
    assert seen[-1] == len(DATA)
    assert checkpoints.install_state("sam_vit_b").status == "verified"
    assert checkpoints.installed_checkpoint("sam_vit_b") == dest
    assert [p.name for p in dest.parent.iterdir() if p.name.endswith(".import")] == []
    assert src.exists()  # import copies, the user's file stays


def test_import_of_wrong_file_installs_nothing(tmp_path: Path, fake_vit_b: registry.ModelSpec) -> None:
    src = tmp_path / "other.pth"
    src.write_bytes(DATA[:-1] + b"!")
    with pytest.raises(CheckpointError, match="not a valid sam_vit_b checkpoint.*published md5.*nothing was installed"):
        checkpoints.import_checkpoint("sam_vit_b", src)
    folder = checkpoints.checkpoint_path("sam_vit_b").parent
    assert sorted(p.name for p in folder.iterdir() if p.name != checkpoints.MANIFEST_NAME) == []


def test_import_keeps_existing_install_on_failure(tmp_path: Path, fake_vit_b: registry.ModelSpec,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.pth"
    good.write_bytes(DATA)
    dest = checkpoints.import_checkpoint("sam_vit_b", good)
    real_copy = checkpoints._copy_hashing

    def full_disk(src: Path, tmp: Path, algorithm: str, progress: object) -> str:
        tmp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints, "_copy_hashing", full_disk)
    with pytest.raises(CheckpointError, match="disk is full; nothing was installed"):
        checkpoints.import_checkpoint("sam_vit_b", good)
    monkeypatch.setattr(checkpoints, "_copy_hashing", real_copy)
    assert dest.read_bytes() == DATA
    assert [p.name for p in dest.parent.iterdir() if p.name.endswith(".import")] == []


def test_import_missing_file() -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        checkpoints.import_checkpoint("mobile_sam", "/nonexistent/x.pt")


def test_verified_state_is_cheap_and_detects_changes(tmp_path: Path, fake_vit_b: registry.ModelSpec) -> None:
    src = tmp_path / "a.pth"
    src.write_bytes(DATA)
    dest = checkpoints.import_checkpoint("sam_vit_b", src)
    with open(dest, "ab") as fh:  # damage: trailing bytes (size differs even if mtime granularity is coarse)
        fh.write(b"more")
    assert checkpoints.install_state("sam_vit_b").status == "unverified"
    result = checkpoints.verify("sam_vit_b")
    assert result.installed and not result.ok and "published md5" in result.message
    with pytest.raises(CheckpointMissing, match="fails verification"):
        checkpoints.installed_checkpoint("sam_vit_b")


def test_hand_copied_file_is_verified_once(fake_vit_b: registry.ModelSpec) -> None:
    dest = checkpoints.checkpoint_path("sam_vit_b")
    dest.write_bytes(DATA)
    assert checkpoints.install_state("sam_vit_b").status == "unverified"
    assert checkpoints.installed_checkpoint("sam_vit_b") == dest
    assert checkpoints.install_state("sam_vit_b").status == "verified"


def test_verify_not_installed() -> None:
    result = checkpoints.verify("sam_vit_h")
    assert not result.installed and not result.ok and "not installed" in result.message


def test_unpublished_checksum_zip_without_the_layout_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip of plausible size is no longer enough (it used to be accepted and pinned): the file must
    be a torch archive of the official tensors (tests/sam_backend/test_checkpoint_layout.py)."""
    first = _zip(1)
    spec = dataclasses.replace(registry.MODELS["sam_hq_vit_tiny"], size_bytes=len(first))
    monkeypatch.setitem(registry.MODELS, spec.id, spec)
    (tmp_path / "a.pth").write_bytes(first)
    with pytest.raises(CheckpointError, match="torch cannot read it as a weights-only checkpoint"):
        checkpoints.import_checkpoint(spec.id, tmp_path / "a.pth")
    assert checkpoints._read_manifest()["pins"] == {}


def test_implausible_first_install_rejected(tmp_path: Path) -> None:
    small = tmp_path / "tiny.pth"
    small.write_bytes(_zip(5))  # ~100 KB, far from the ~43 MB expected
    with pytest.raises(CheckpointError, match="size .* is implausible"):
        checkpoints.import_checkpoint("sam_hq_vit_tiny", small)


def test_corrupt_manifest_is_treated_as_empty(fake_vit_b: registry.ModelSpec, tmp_path: Path) -> None:
    src = tmp_path / "a.pth"
    src.write_bytes(DATA)
    checkpoints.import_checkpoint("sam_vit_b", src)
    (checkpoints.checkpoint_path("sam_vit_b").parent / checkpoints.MANIFEST_NAME).write_text("{not json")
    assert checkpoints.install_state("sam_vit_b").status == "unverified"
    assert checkpoints.verify("sam_vit_b").ok
    assert checkpoints.install_state("sam_vit_b").status == "verified"
