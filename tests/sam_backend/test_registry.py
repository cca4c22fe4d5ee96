"""The model registry holds the facts of models.md; paths follow SAM_LABELER_HOME."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from sam_backend import paths
from sam_backend.errors import SamBackendError, UnknownModel
from sam_backend.registry import MODELS, ModelSpec, get_spec

IDS = ["sam_vit_b", "sam_vit_l", "sam_vit_h", "mobile_sam",
       "sam_hq_vit_b", "sam_hq_vit_l", "sam_hq_vit_h", "sam_hq_vit_tiny"]
HUB_IDS = ["sam2.1_hiera_tiny", "sam2.1_hiera_small", "sam2.1_hiera_base_plus", "sam2.1_hiera_large", "sam3",
           "edgetam", "grounding-dino-tiny", "grounding-dino-base"]


def test_the_eight_checkpoint_files_then_the_hub_models() -> None:
    assert list(MODELS) == IDS + HUB_IDS
    assert all(MODELS[i].id == i for i in IDS + HUB_IDS)
    assert all(MODELS[i].family == "sam" and MODELS[i].arch != "hub" for i in IDS)
    assert all(MODELS[i].arch == "hub" and MODELS[i].md5 is None for i in HUB_IDS)


@pytest.mark.parametrize("model_id", IDS)
def test_spec_fields_are_consistent(model_id: str) -> None:
    spec = get_spec(model_id)
    assert spec.url.startswith("https://")
    assert spec.url.rsplit("/", 1)[1] == spec.filename
    assert spec.licence == "Apache-2.0"
    assert spec.size_bytes > 10_000_000
    if model_id == "sam_hq_vit_tiny":
        assert spec.md5 is None
    else:
        assert spec.md5 is not None and re.fullmatch(r"[0-9a-f]{32}", spec.md5)


def test_published_md5_match_models_md() -> None:
    # the official file names of the Meta checkpoints embed the first 6 hex digits of their md5
    for i in ("sam_vit_b", "sam_vit_l", "sam_vit_h"):
        spec = MODELS[i]
        assert spec.filename.endswith(spec.md5[:6] + ".pth")
    assert MODELS["mobile_sam"].md5 == "f3c0d8cda613564d499310dab6c812cd"
    assert MODELS["sam_hq_vit_h"].md5 == "3560f6b6a5a6edacd814a1325c39640a"


def test_spec_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MODELS["sam_vit_b"].md5 = "x"  # type: ignore[misc]
    assert isinstance(MODELS["sam_vit_b"], ModelSpec)


def test_unknown_model_lists_valid_ids() -> None:
    with pytest.raises(UnknownModel) as info:
        get_spec("sam_vit_x")
    msg = str(info.value)
    assert "'sam_vit_x'" in msg and all(i in msg for i in IDS)
    assert isinstance(info.value, SamBackendError) and isinstance(info.value, KeyError)


def test_paths_follow_home_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAM_LABELER_HOME", str(tmp_path / "home"))
    assert paths.models_dir() == tmp_path / "home" / "models"
    assert paths.embeddings_dir().is_dir() and paths.settings_dir().is_dir()
    assert paths.models_dir().is_dir()


def test_paths_default_to_platform_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAM_LABELER_HOME")
    monkeypatch.setattr(paths.platformdirs, "user_data_dir", lambda name: str(tmp_path / f"pd-{name}"))
    assert paths.data_root() == tmp_path / "pd-sam-labeler"


def test_uncreatable_root_is_a_clear_oserror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("SAM_LABELER_HOME", str(blocker))
    with pytest.raises(OSError, match="cannot create the data folder"):
        paths.models_dir()
