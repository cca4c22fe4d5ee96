"""Issue 8, defect 6: a model without a published checksum (sam_hq_vit_tiny) is accepted only as
an intact archive holding exactly its official tensors, checked on every import, download and
verify; no earlier install (or pin of an earlier version) decides for a later file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sam_backend import checkpoints
from sam_backend.errors import CheckpointError
from tests.sam_backend.checkpoint_files import foreign_checkpoint, layout_checkpoint

MODEL = "sam_hq_vit_tiny"


@pytest.fixture(scope="module")
def good_a() -> bytes:
    return layout_checkpoint(MODEL, seed=1)


@pytest.fixture(scope="module")
def good_b() -> bytes:
    return layout_checkpoint(MODEL, seed=2)


def test_an_arbitrary_torch_file_is_not_installed(tmp_path: Path, good_a: bytes) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(foreign_checkpoint(40_000_000))
    with pytest.raises(CheckpointError) as info:
        checkpoints.import_checkpoint(MODEL, junk)
    assert str(info.value) == (f"{junk} is not a valid {MODEL} checkpoint: its tensors are not the official {MODEL} "
                               "layout: 464 tensor(s) missing (image_encoder.patch_embed.seq.0.c.weight, "
                               "image_encoder.patch_embed.seq.0.bn.weight, ...); 2 tensor(s) unexpected "
                               "(encoder.weight, head.bias); nothing was installed")
    assert checkpoints.install_state(MODEL).status == "missing"
    manifest = checkpoints._read_manifest()
    assert manifest["installed"] == {} and manifest["pins"] == {}
    good = tmp_path / "good.pth"
    good.write_bytes(good_a)
    dest = checkpoints.import_checkpoint(MODEL, good)  # the real file is not blocked by the junk
    assert dest.read_bytes() == good_a and checkpoints.install_state(MODEL).status == "verified"


def test_a_first_install_does_not_lock_out_a_later_correct_file(tmp_path: Path, good_a: bytes, good_b: bytes) -> None:
    (tmp_path / "a.pth").write_bytes(good_a)
    (tmp_path / "b.pth").write_bytes(good_b)
    checkpoints.import_checkpoint(MODEL, tmp_path / "a.pth")
    dest = checkpoints.import_checkpoint(MODEL, tmp_path / "b.pth")
    assert dest.read_bytes() == good_b
    result = checkpoints.verify(MODEL)
    assert result.ok and result.method == "layout"
    assert result.message == f"{MODEL}: OK (no published checksum: the archive is intact and holds exactly the " \
                             f"official tensors of {MODEL})"


def test_a_pin_left_by_an_earlier_version_is_ignored(tmp_path: Path, good_a: bytes) -> None:
    folder = checkpoints.checkpoint_path(MODEL).parent
    (folder / checkpoints.MANIFEST_NAME).write_text(json.dumps(
        {"version": 1, "installed": {}, "pins": {MODEL: {"size": 40_000_123, "sha256": "0" * 64}}}), encoding="utf-8")
    (tmp_path / "a.pth").write_bytes(good_a)
    assert checkpoints.import_checkpoint(MODEL, tmp_path / "a.pth").read_bytes() == good_a


def test_damage_anywhere_fails_verify(tmp_path: Path, good_a: bytes) -> None:
    (tmp_path / "a.pth").write_bytes(good_a)
    dest = checkpoints.import_checkpoint(MODEL, tmp_path / "a.pth")
    with open(dest, "r+b") as fh:  # inside the tensor data: names and shapes still read fine
        fh.seek(len(good_a) // 2)
        fh.write(b"\xff" * 8)
    result = checkpoints.verify(MODEL)
    assert not result.ok
    assert result.message.startswith(f"{MODEL}: {dest} is damaged or not the official file: its archive is damaged "
                                     "(the member ")
    assert result.message.endswith(" fails its CRC check)")
    assert checkpoints.install_state(MODEL).status == "unverified"


def test_wrong_shapes_are_named(tmp_path: Path) -> None:
    mobile = tmp_path / "mobile.pth"
    mobile.write_bytes(layout_checkpoint("mobile_sam", seed=3))  # same encoder, no HQ decoder parts
    with pytest.raises(CheckpointError, match=r"its tensors are not the official sam_hq_vit_tiny layout: "
                                              r"\d+ tensor\(s\) missing \(mask_decoder\.hf_token"):
        checkpoints.import_checkpoint(MODEL, mobile)
