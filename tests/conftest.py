"""Test configuration shared by every test package."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
SAM_REFERENCE = SHARED / "sam_reference"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point SAM_LABELER_HOME at a fresh temporary folder for every test."""
    home = tmp_path_factory.mktemp("samlabeler_home")
    monkeypatch.setenv("SAM_LABELER_HOME", str(home))
    monkeypatch.delenv("SAM_LABELER_MODEL_MIRROR", raising=False)
    return home


@pytest.fixture
def sam_reference() -> Path:
    """Folder with the official layouts and golden parity cases (skips only when absent)."""
    if not SAM_REFERENCE.is_dir():
        pytest.skip(f"{SAM_REFERENCE} is absent: golden parity fixtures unavailable")
    return SAM_REFERENCE
