"""`python -m app encode DIR|P.samlabel`: embeddings land in the disk cache under the GUI's key."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def sam(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ))


def _images(folder: Path) -> list[Path]:
    folder.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate([(48, 64)]):
        p = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def test_encode_folder_fills_the_disk_cache(tmp_path: Path, sam_reference: Path, _isolated_home: Path) -> None:
    """Runs the real CLI twice in a subprocess with the golden (seeded random) mobile_sam weights."""
    from sam_backend.cache import CacheKey, EmbeddingCache, sha1_of_file

    images = _images(tmp_path / "imgs")
    ckpt = str(sam_reference / "golden_mobile_sam_weights_fp16.pt")
    first = sam("encode", str(tmp_path / "imgs"), "--checkpoint", ckpt, "--device", "cpu")
    assert first.returncode == 0, first.stderr
    assert "encoded 1, already cached 0, unreadable 0 of 1 images with mobile_sam" in first.stdout

    cache = EmbeddingCache(0, _isolated_home / "embeddings")
    for p in images:
        emb = cache.get(CacheKey("mobile_sam", sha1_of_file(p), 1))
        assert emb is not None and tuple(emb.features.shape) == (1, 256, 64, 64)
        with Image.open(p) as im:
            assert emb.original_size == (im.height, im.width)

    (tmp_path / "imgs" / "broken.jpg").write_bytes(b"not a jpeg at all")
    second = sam("encode", str(tmp_path / "imgs"), "--checkpoint", ckpt, "--device", "cpu")
    assert second.returncode == 1
    assert "encoded 0, already cached 1, unreadable 1 of 2 images" in second.stdout
    assert "broken.jpg" in second.stderr and "Traceback" not in second.stderr


def test_encode_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    assert main(["encode", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(b"x")
    assert main(["encode", str(tmp_path / "imgs"), "--model", "mobile_sam"]) == 1
    err = capsys.readouterr().err
    assert "models download mobile_sam" in err and err.count("\n") == 1
    assert main(["encode", str(tmp_path / "imgs"), "--model", "sam_vit_q"]) == 1
    assert "unknown model id" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["encode", str(tmp_path / "empty")]) == 0
    assert "no images found" in capsys.readouterr().out


def test_list_images_of_project_and_folder(tmp_path: Path) -> None:
    from app.cli.encode_cmd import list_images
    from app.core.project import Project

    images = _images(tmp_path / "imgs")
    (tmp_path / "imgs" / "sub").mkdir()
    nested = tmp_path / "imgs" / "sub" / "b.jpg"
    nested.write_bytes(b"x")
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    assert list_images(tmp_path / "imgs") == [images[0], nested]

    project_file = tmp_path / "p.samlabel"
    project = Project.create(project_file)
    try:
        project.add_image("imgs/img0.png", 64, 48)
    finally:
        project.close()
    assert list_images(project_file) == [images[0]]
    with pytest.raises(ValueError, match="neither a folder nor"):
        list_images(tmp_path / "imgs" / "notes.txt")
