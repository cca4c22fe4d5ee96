"""sam_backend.hub: snapshot downloads through huggingface_hub from a local server that answers the hub
endpoints (HF_ENDPOINT), offline import of a snapshot folder, sha256 pins, verify, install state."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

pytest.importorskip("huggingface_hub", reason="the sam2 extra (huggingface_hub) is not installed")

from sam_backend import checkpoints, hub  # noqa: E402
from sam_backend.errors import CheckpointError, CheckpointMissing, DownloadCancelled, DownloadError  # noqa: E402
from sam_backend.registry import MODELS  # noqa: E402
from tests.sam_backend._hubserver import HubServer, Repo, serve  # noqa: E402

MID = "sam2.1_hiera_tiny"
REPO = "facebook/sam2.1-hiera-tiny"


@pytest.fixture
def server() -> Iterator[HubServer]:
    yield from serve()


def _safetensors(tensors: dict[str, int], seed: int = 0) -> bytes:
    """A valid safetensors file of float32 vectors {name: length} with random contents."""
    rng = np.random.default_rng(seed)
    header, offset, body = {}, 0, b""
    for name, n in tensors.items():
        data = rng.random(n, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": [n], "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        body += data
    text = json.dumps(header).encode("utf-8")
    return len(text).to_bytes(8, "little") + text + body


def _files(weights: bytes | None = None, model_type: str = "sam2_video") -> dict[str, bytes]:
    return {"config.json": json.dumps({"model_type": model_type}).encode(),
            "model.safetensors": weights if weights is not None else _safetensors({"w": 500_000}),
            "README.md": b"not wanted", "sam2.1_hiera_tiny.pt": b"not wanted either"}


def test_specs_cover_the_issue_ids_and_are_in_the_registry() -> None:
    for mid in ("sam2.1_hiera_tiny", "sam2.1_hiera_small", "sam2.1_hiera_base_plus", "sam2.1_hiera_large", "sam3",
                "edgetam", "grounding-dino-tiny", "grounding-dino-base"):
        spec = hub.get_hub_spec(mid)
        assert MODELS[mid].arch == "hub" and MODELS[mid].family == spec.family
    assert hub.get_hub_spec("grounding-dino-base").repo_id == "IDEA-Research/grounding-dino-base"
    assert "*.txt" in hub.get_hub_spec("grounding-dino-tiny").patterns  # the tokenizer's vocabulary


def test_download_installs_only_the_wanted_files_and_records_sha256(server: HubServer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files()
    server.repos[REPO] = Repo(files)
    monkeypatch.setenv("HF_ENDPOINT", server.base_url)
    seen: list[tuple[int, int | None]] = []
    path = checkpoints_download(progress=lambda d, t: seen.append((d, t)))
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    assert (path / "model.safetensors").read_bytes() == files["model.safetensors"]
    assert hub.install_state(MID).status == "verified" and checkpoints.install_state(MID).status == "verified"
    assert checkpoints.installed_checkpoint(MID) == path
    assert seen and seen[-1][0] == seen[-1][1] and seen[-1][0] >= len(files["model.safetensors"])
    entry = hub.manifest_entry(MID)
    assert entry["revision"] == server.repos[REPO].commit and entry["method"] == "download"
    assert not hub.partial_path(MID).exists()
    n = len(server.requests)
    assert hub.download(MID) == path and len(server.requests) == n  # verified: no network at all


def checkpoints_download(**kwargs: object) -> Path:
    """Through sam_backend.download.download: the entry the GUI's model manager uses."""
    from sam_backend.download import download

    return download(MID, **kwargs)  # type: ignore[arg-type]


def test_a_dropped_connection_is_resumed_within_the_download(server: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files()
    server.repos[REPO] = Repo(files, drop_after={"model.safetensors": [700_000]})
    monkeypatch.setenv("HF_ENDPOINT", server.base_url)
    path = hub.download(MID)
    assert (path / "model.safetensors").read_bytes() == files["model.safetensors"]
    gets = [r for r in server.requests if r[0] == "GET" and r[1].endswith("model.safetensors")]
    assert len(gets) == 2


def test_cancel_keeps_finished_files_and_the_next_download_completes(server: HubServer) -> None:
    files = _files(_safetensors({"w": 5_000_000}))
    server.repos[REPO] = Repo(files)
    cancel = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done > 3_000_000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled"):
        hub.download(MID, progress=progress, cancel=cancel, endpoint=server.base_url)
    assert hub.install_state(MID).status == "missing"
    assert (hub.partial_path(MID) / "config.json").is_file()  # finished files stay for the next attempt
    path = hub.download(MID, endpoint=server.base_url)
    assert (path / "model.safetensors").read_bytes() == files["model.safetensors"]
    config_gets = [r for r in server.requests if r[0] == "GET" and r[1].endswith("config.json")]
    assert len(config_gets) == 1


def test_junk_weights_are_refused_and_no_install_locks_out_a_later_one(server: HubServer, tmp_path: Path) -> None:
    """issue 8, defect 6 for hub models: an arbitrary file is not installed, and a first install
    does not pin its digests against a later correct one (another revision, say)."""
    server.repos[REPO] = Repo(_files())
    hub.download(MID, endpoint=server.base_url)
    other = tmp_path / "snap"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "sam2_video"}))
    (other / "model.safetensors").write_bytes(b"x" * 1000)
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        hub.import_snapshot(MID, other)
    assert hub.install_state(MID).status == "verified"  # the installed snapshot is untouched
    (other / "model.safetensors").write_bytes(_safetensors({"w": 64}))  # another, correct revision
    assert hub.import_snapshot(MID, other) == hub.snapshot_path(MID)
    assert hub.verify(MID)[0]


def test_wrong_model_and_server_errors_are_one_sentence(server: HubServer, tmp_path: Path) -> None:
    server.repos[REPO] = Repo(_files(model_type="grounding-dino"))
    with pytest.raises(DownloadError, match="describes a 'grounding-dino' model"):
        hub.download(MID, endpoint=server.base_url)
    assert hub.install_state(MID).status == "missing"
    with pytest.raises(DownloadError, match="not found"):
        hub.download("sam3", endpoint=server.base_url)


def test_import_of_a_snapshot_folder_and_verify(tmp_path: Path) -> None:
    snap = tmp_path / "models--facebook--sam2.1-hiera-tiny" / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / "w").write_bytes(_safetensors({"w": 100}))
    (snap / "model.safetensors").symlink_to(blobs / "w")  # the hub cache links snapshot files to blobs
    (snap / "config.json").write_text(json.dumps({"model_type": "sam2_video"}))
    with pytest.raises(CheckpointMissing, match="models download sam2.1_hiera_tiny"):
        hub.installed_snapshot(MID)
    path = checkpoints.import_checkpoint(MID, snap / "config.json")  # the model manager's file dialog
    assert path == hub.snapshot_path(MID) and not (path / "model.safetensors").is_symlink()
    assert hub.manifest_entry(MID)["revision"] == "a" * 40
    ok, message = hub.verify(MID)
    assert ok, message
    (path / "model.safetensors").write_bytes(_safetensors({"w": 100}, seed=5))  # other numbers, same layout
    assert hub.install_state(MID).status == "unverified"
    ok, message = hub.verify(MID)
    assert not ok and "changed since the install was verified" in message
    with pytest.raises(CheckpointError, match="no config.json"):
        hub.import_snapshot(MID, tmp_path / "blobs")
