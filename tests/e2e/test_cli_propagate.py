"""`import-video` (PyAV) and `propagate` through the CLI dispatcher, with a tiny random SAM 2.1 video
model installed from a snapshot folder (no network)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers", reason="the sam2 extra (transformers) is not installed")
av = pytest.importorskip("av", reason="the video extra (PyAV) is not installed")

from app.core.model import Annotation  # noqa: E402
from app.core.project import Project  # noqa: E402
from app.core.rle import mask_to_rle  # noqa: E402
from app.core.geometry import mask_to_parts  # noqa: E402
from tests.sam_backend import _hf_tiny  # noqa: E402

H, W, N = 48, 64, 6


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    from app.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


def _write_video(path: Path, frames: int = N) -> None:
    container = av.open(str(path), mode="w")
    stream = container.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
    for i in range(frames):
        img = np.full((H, W, 3), 40, np.uint8)
        img[10:30, 5 + 4 * i:25 + 4 * i] = 220  # a bright square moving right
        for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


@pytest.fixture(scope="module")
def tiny_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _hf_tiny.save_snapshot(_hf_tiny.sam2_video_model(seed=2), tmp_path_factory.mktemp("snap"))


def _add_anchor(project_path: Path, frame_index: int) -> int:
    with Project.open(project_path) as project:
        label_id = project.add_label_class("car").id
        rec = sorted(project.images(), key=lambda r: r.path)[frame_index]
        mask = np.zeros((H, W), bool)
        mask[10:30, 5 + 4 * frame_index:25 + 4 * frame_index] = True
        ann = project.add_annotation(Annotation(image_id=rec.id, label_id=label_id, parts=mask_to_parts(mask),
                                                rle=mask_to_rle(mask), source="sam", shape="mask"))
        return int(ann.id)


def test_import_video_then_propagate(tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_snapshot: Path) -> None:
    video = tmp_path / "clip.mp4"
    _write_video(video)
    proj = tmp_path / "clip.samlabel"
    res = cli(capsys, "import-video", str(video), "--project", str(proj))
    assert res.returncode == 0, res.stderr
    assert f"decoded {N} frames ({W}x{H}" in res.stdout
    frames = sorted((tmp_path / "clip_frames").glob("*.png"))
    assert [f.name for f in frames] == [f"clip_{i:06d}.png" for i in range(1, N + 1)]
    with Project.open(proj) as project:
        assert project.image_count() == N
        assert {(r.width, r.height) for r in project.images()} == {(W, H)}

    res = cli(capsys, "models", "import", "sam2.1_hiera_tiny", str(tiny_snapshot))
    assert res.returncode == 0, res.stderr
    anchor_id = _add_anchor(proj, 2)
    res = cli(capsys, "propagate", str(proj), "--from", "clip_000003.png", "--frames", "all",
              "--model", "sam2.1_hiera_tiny", "--device", "cpu", "--threshold", "0.1")
    assert res.returncode == 0, res.stderr
    assert "propagated 1 object(s) from" in res.stdout and "over 5 frames" in res.stdout
    with Project.open(proj) as project:
        anchor = project.annotation(anchor_id)
        assert anchor.group_id is not None and anchor.source == "sam"  # the anchor got an object id only
        recs = sorted(project.images(), key=lambda r: r.path)
        per_frame = {i: project.annotations(r.id) for i, r in enumerate(recs)}
    for i in (0, 1, 3, 4, 5):
        anns = per_frame[i]
        assert len(anns) == 1
        a = anns[0]
        assert (a.source, a.shape, a.group_id, a.label_id) == ("propagated", "mask", anchor.group_id, anchor.label_id)
        assert a.rle is not None and 0.0 < a.score <= 1.0
    assert per_frame[2] == [anchor]

    # a person edits frame 4 (replaces the proposal by their own mask): propagating again from frame 2
    # replaces the other proposals and leaves the person's annotation alone
    with Project.open(proj) as project:
        old = per_frame[4][0]
        project.update_annotation(old.with_(source="manual"))
        before_other = {a.id for a in project.annotations(recs[5].id)}
    res = cli(capsys, "propagate", str(proj), "--from", "@2", "--frames", "3", "--device", "cpu",
              "--threshold", "0.1")
    assert res.returncode == 0, res.stderr
    with Project.open(proj) as project:
        frame4 = project.annotations(recs[4].id)
        assert [(a.id, a.source) for a in frame4] == [(old.id, "manual")]
        frame5 = project.annotations(recs[5].id)
        assert len(frame5) == 1 and frame5[0].source == "propagated" and frame5[0].id not in before_other


def test_propagate_refuses_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = tmp_path / "p.samlabel"
    Project.create(proj).close()
    res = cli(capsys, "propagate", str(proj), "--from", "x.png", "--device", "cpu")
    assert res.returncode == 1
    assert "propagation needs a sequence of frames" in res.stderr and "Traceback" not in res.stderr
    res = cli(capsys, "propagate", str(tmp_path / "missing.samlabel"), "--from", "x.png")
    assert res.returncode == 1 and "does not exist" in res.stderr
    res = cli(capsys, "import-video", str(tmp_path / "none.mp4"), "--project", str(proj))
    assert res.returncode == 1 and "does not exist" in res.stderr
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    res = cli(capsys, "import-video", str(bad), "--project", str(proj))
    assert res.returncode == 1 and "not a readable video" in res.stderr
