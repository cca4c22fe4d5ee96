"""Official SAM 2.1 .pt -> transformers layout: a tiny random Sam2VideoModel written in the official
layout (names made with the inverse of the renaming facts) converts back exactly and loads strictly."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers", reason="the sam2 extra (transformers) is not installed")

from sam_backend.errors import CheckpointError  # noqa: E402
from sam_backend.hf import convert  # noqa: E402
from tests.sam_backend import _hf_tiny  # noqa: E402


def _official_name(hf: str) -> str:
    """Inverse of the renaming (written from the official layout's module names)."""
    name = hf
    mlp = r"(iou_prediction_head|pred_obj_score_head|output_hypernetworks_mlps\.\d+|object_pointer_proj|mlp)"
    name = re.sub(mlp + r"\.(proj_in|proj_out|layers\.0)\.",
                  lambda m: m.group(1) + {"proj_in": ".layers.0.", "layers.0": ".layers.1.",
                                          "proj_out": ".layers.2."}[m.group(2)], name)
    name = re.sub(r"(\.mlp)\.layers\.2\.", r"\1.layers.1.", name)  # two-layer MLPs: proj_out is layers.1
    name = re.sub(r"\.mask_downsampler\.layers\.(\d+)\.(conv|layer_norm)\.",
                  lambda m: f".mask_downsampler.encoder.{3 * int(m.group(1)) + (0 if m.group(2) == 'conv' else 1)}.",
                  name)
    name = name.replace(".mask_downsampler.final_conv.", ".mask_downsampler.encoder.12.")
    for new, old in ((".upscale_conv1.", ".output_upscaling.0."), (".upscale_layer_norm.", ".output_upscaling.1."),
                     (".upscale_conv2.", ".output_upscaling.3."), (".mask_embed.conv1.", ".mask_downscaling.0."),
                     (".mask_embed.layer_norm1.", ".mask_downscaling.1."), (".mask_embed.conv2.", ".mask_downscaling.3."),
                     (".mask_embed.layer_norm2.", ".mask_downscaling.4."), (".mask_embed.conv3.", ".mask_downscaling.6."),
                     (".depthwise_conv.", ".dwconv."), (".pointwise_conv", ".pwconv"), (".memory_fuser.", ".fuser."),
                     (".feature_projection.", ".pix_feat_proj."), ("memory_encoder.projection.", "memory_encoder.out_proj."),
                     (".o_proj.", ".out_proj."), (".patch_embed.projection.", ".patch_embed.proj.")):
        name = name.replace(new, old)
    name = re.sub(r"\.layer_norm(\d*|_final_attn)\.", r".norm\1.", name)
    name = re.sub(r"\.scale$", ".gamma", name)
    name = re.sub(r"^vision_encoder\.neck\.convs\.(\d+)\.", r"image_encoder.neck.convs.\1.conv.", name)
    for new, old in (("vision_encoder.backbone.", "image_encoder.trunk."), ("prompt_encoder.", "sam_prompt_encoder."),
                     ("mask_decoder.", "sam_mask_decoder."), ("object_pointer_proj.", "obj_ptr_proj."),
                     ("temporal_positional_encoding_projection_layer.", "obj_ptr_tpos_proj.")):
        if name.startswith(new):
            name = old + name[len(new):]
    return {"memory_temporal_positional_encoding": "maskmem_tpos_enc", "no_memory_embedding": "no_mem_embed",
            "no_memory_positional_encoding": "no_mem_pos_enc", "no_object_pointer": "no_obj_ptr",
            "occlusion_spatial_embedding_parameter": "no_obj_embed_spatial",
            "sam_prompt_encoder.shared_embedding.positional_embedding":
                "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"}.get(name, name)


def _official_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The official layout of ``model`` (whose model-wide Gaussian matrix is made the prompt encoder's,
    as in the released models: the official model has only that one)."""
    with torch.no_grad():
        model.shared_image_embedding.positional_embedding.copy_(
            model.prompt_encoder.shared_embedding.positional_embedding)
    out = {}
    for name, value in model.state_dict().items():
        if name == "shared_image_embedding.positional_embedding":
            continue  # the official model has one Gaussian matrix (the prompt encoder's)
        if name == "prompt_encoder.point_embed.weight":
            for i in range(4):
                out[f"sam_prompt_encoder.point_embeddings.{i}.weight"] = value[i:i + 1].clone()
            continue
        out[_official_name(name)] = value.clone()
    return out


KNOWN_OFFICIAL = {  # names as they appear in the released files
    "image_encoder.trunk.blocks.0.attn.qkv.weight": "vision_encoder.backbone.blocks.0.attn.qkv.weight",
    "image_encoder.trunk.blocks.1.mlp.layers.1.bias": "vision_encoder.backbone.blocks.1.mlp.proj_out.bias",
    "image_encoder.neck.convs.2.conv.weight": "vision_encoder.neck.convs.2.weight",
    "sam_mask_decoder.output_hypernetworks_mlps.3.layers.1.weight":
        "mask_decoder.output_hypernetworks_mlps.3.layers.0.weight",
    "sam_mask_decoder.transformer.layers.1.norm4.bias": "mask_decoder.transformer.layers.1.layer_norm4.bias",
    "sam_mask_decoder.transformer.final_attn_token_to_image.out_proj.weight":
        "mask_decoder.transformer.final_attn_token_to_image.o_proj.weight",
    "memory_attention.layers.0.cross_attn_image.q_proj.weight": "memory_attention.layers.0.cross_attn_image.q_proj.weight",
    "memory_encoder.mask_downsampler.encoder.4.weight": "memory_encoder.mask_downsampler.layers.1.layer_norm.weight",
    "memory_encoder.fuser.layers.1.pwconv2.bias": "memory_encoder.memory_fuser.layers.1.pointwise_conv2.bias",
    "memory_encoder.out_proj.weight": "memory_encoder.projection.weight",
    "obj_ptr_proj.layers.2.weight": "object_pointer_proj.proj_out.weight",
    "maskmem_tpos_enc": "memory_temporal_positional_encoding",
}


@pytest.mark.parametrize("official, expected", list(KNOWN_OFFICIAL.items()))
def test_released_names_map_onto_the_library(official: str, expected: str) -> None:
    assert convert.official_to_hf_name(official) == expected


def test_every_official_size_config_builds() -> None:
    for model_id in convert.SIZES:
        cfg = convert.official_config(model_id)
        assert cfg.vision_config.backbone_config.blocks_per_stage == \
            convert.SIZES[model_id]["backbone"].get("blocks_per_stage", [1, 2, 7, 2])
    with pytest.raises(CheckpointError, match="no official"):
        convert.official_config("sam3")


def test_round_trip_of_a_tiny_model_in_the_official_layout(tmp_path: Path) -> None:
    from transformers import Sam2VideoConfig

    model = _hf_tiny.sam2_video_model(seed=9)
    official = _official_state(model)
    assert len(official) == len(model.state_dict()) - 1 + 3  # shared matrix dropped, point embeddings split
    pt = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": official}, pt)
    cfg = Sam2VideoConfig(**_hf_tiny.video_config_kwargs())
    folder = convert.import_official_checkpoint("sam2.1_hiera_tiny", pt, config=cfg)
    from sam_backend import hub
    from sam_backend.hf.predictor import load_model_class

    assert hub.install_state("sam2.1_hiera_tiny").status == "verified"
    assert "not the released file" in hub.manifest_entry("sam2.1_hiera_tiny")["revision"]
    loaded = load_model_class("Sam2VideoModel", folder)
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name
    ok, message = hub.verify("sam2.1_hiera_tiny")
    assert ok, message
    (folder / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes()[:-8] + b"\0" * 8)
    ok, message = hub.verify("sam2.1_hiera_tiny")
    assert not ok and "changed since the install was verified" in message


def test_a_checkpoint_of_another_shape_is_refused_in_one_sentence(tmp_path: Path) -> None:
    model = _hf_tiny.sam2_video_model(seed=9)
    pt = tmp_path / "tiny.pt"
    torch.save({"model": _official_state(model)}, pt)
    with pytest.raises(CheckpointError, match=r"does not match: .*(missing|another shape)"):
        convert.import_official_checkpoint("sam2.1_hiera_tiny", pt)  # the official tiny config is far larger
    from sam_backend import hub

    assert hub.install_state("sam2.1_hiera_tiny").status == "missing"
    pt.write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        convert.import_official_checkpoint("sam2.1_hiera_tiny", pt)
