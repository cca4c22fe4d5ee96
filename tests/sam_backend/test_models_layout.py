"""build_model: every official layout (names AND shapes, in order) and the configurable ViT."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sam_backend import MODELS, UnknownModel, build_model
from sam_backend.models import CONFIGS, ModelConfig

MODEL_IDS = ["sam_vit_b", "sam_vit_l", "sam_vit_h", "mobile_sam",
             "sam_hq_vit_b", "sam_hq_vit_l", "sam_hq_vit_h", "sam_hq_vit_tiny"]
SMALL = dict(depth=4, embed_dim=128, num_heads=4, global_attn_indexes=[1, 3], window_size=14)


def _layout(model: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_layout_matches_official(model_id: str, sam_reference: Path) -> None:
    expected = json.loads((sam_reference / f"layout_{model_id}.json").read_text())
    with torch.device("meta"):
        model = build_model(model_id)
    got = _layout(model)
    assert list(got) == list(expected)
    assert got == expected
    assert not model.training


def test_registry_and_configs_cover_the_same_ids() -> None:
    """Our own engine builds every checkpoint-file model (hub snapshot models run on transformers)."""
    own = {mid for mid, spec in MODELS.items() if spec.family == "sam"}
    assert own == set(CONFIGS) == set(MODEL_IDS)
    assert all(MODELS[mid].arch == "hub" for mid in set(MODELS) - own)


def test_small_vit_config_matches_golden_weights(sam_reference: Path) -> None:
    state = torch.load(sam_reference / "golden_sam_vit_small_weights_fp16.pt", map_location="cpu", weights_only=True)
    with torch.device("meta"):
        model = build_model("sam_vit_b", config=SMALL)
    assert _layout(model) == {k: list(v.shape) for k, v in state.items()}
    blocks = model.image_encoder.blocks
    assert [b.window_size for b in blocks] == [14, 0, 14, 0]


def test_overrides_by_keyword_and_config_object_agree() -> None:
    with torch.device("meta"):
        a = build_model("sam_vit_b", **SMALL)
        b = build_model(CONFIGS["sam_vit_b"].with_overrides(**SMALL))
    assert _layout(a) == _layout(b)
    assert a.config.name == "sam_vit_b-custom"


def test_random_model_is_real_and_in_eval_mode() -> None:
    model = build_model("mobile_sam")
    assert not model.training
    weights = model.state_dict()["image_encoder.layers.1.blocks.0.attn.qkv.weight"]
    assert weights.device.type == "cpu" and float(weights.std()) > 0


@pytest.mark.parametrize(
    "overrides, words",
    [
        (dict(embed_dim=130, num_heads=4), "divisible"),
        (dict(global_attn_indexes=[12]), "outside"),
        (dict(depth=0), "positive"),
        (dict(bogus=1), "unknown model config field"),
    ],
)
def test_bad_overrides_are_refused(overrides: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        build_model("sam_vit_b", config=overrides)


def test_unknown_model_id() -> None:
    with pytest.raises(UnknownModel, match="unknown model id 'sam_vit_x'"):
        build_model("sam_vit_x")


def test_config_is_hashable_value() -> None:
    cfg = ModelConfig("vit", depth=4)
    assert cfg == ModelConfig("vit", depth=4) and hash(cfg) == hash(ModelConfig("vit", depth=4))
