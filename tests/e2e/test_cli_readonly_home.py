"""Issue 8, defect 12: the commands that only read the model cache (`models list`, `models verify`,
`self-check`) work with a read-only SAM_LABELER_HOME (a shared, read-only model cache)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sam_backend import checkpoints
from sam_backend.registry import MODELS
from tests.sam_backend.checkpoint_files import layout_checkpoint
from tests.unprivileged import run_app

pytestmark = pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")


def _freeze(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)


def _thaw(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.fixture
def frozen_home(_isolated_home: Path, tmp_path: Path) -> Iterator[Path]:
    """The home with a verified sam_hq_vit_tiny installed, then made read-only."""
    src = tmp_path / "hq_tiny.pth"
    src.write_bytes(layout_checkpoint("sam_hq_vit_tiny", seed=9))
    checkpoints.import_checkpoint("sam_hq_vit_tiny", src)
    _freeze(_isolated_home)
    yield _isolated_home
    _thaw(_isolated_home)


def test_reading_commands_work_in_a_read_only_home(frozen_home: Path) -> None:
    env = {"SAM_LABELER_HOME": str(frozen_home)}
    listing = run_app("models", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    row = next(ln for ln in listing.stdout.splitlines() if ln.startswith("sam_hq_vit_tiny"))
    assert row.endswith("installed, verified")
    verify = run_app("models", "verify", env=env)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.splitlines() == ["sam_hq_vit_tiny: OK (no published checksum: the archive is intact and holds "
                                          "exactly the official tensors of sam_hq_vit_tiny)"]
    check = run_app("self-check", env=env)
    assert check.returncode == 0, check.stderr
    assert "installed:     sam_hq_vit_tiny (verified)" in check.stdout


def test_reading_commands_work_in_an_empty_read_only_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _freeze(home)
    try:
        env = {"SAM_LABELER_HOME": str(home)}
        listing = run_app("models", "list", env=env)
        assert listing.returncode == 0, listing.stderr
        rows = listing.stdout.splitlines()[1:-1]  # between the header and the cache line
        assert len(rows) == len(MODELS) and all("not installed" in r for r in rows)
        verify = run_app("models", "verify", env=env)
        assert verify.returncode == 0 and verify.stdout.strip() == f"no models are installed in {home / 'models'}"
        check = run_app("self-check", env=env)
        assert check.returncode == 0, check.stderr
        assert f"embeddings:    {home / 'embeddings'}" in check.stdout
        assert sorted(home.iterdir()) == []
    finally:
        _thaw(home)
