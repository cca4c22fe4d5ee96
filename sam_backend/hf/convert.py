"""Official SAM 2.1 ``.pt`` checkpoints (what ISAT and the sam2 repository use) -> the transformers layout.

The official file is ``torch.save({"model": state_dict})`` of the whole video model. Converting it
once gives a snapshot folder (``config.json`` of a Sam2VideoConfig for the size + ``model.safetensors``)
that both Sam2Model (images) and Sam2VideoModel (propagation) load. It is verified by loading it into
Sam2VideoModel with strict=True semantics (no missing, no unexpected key, identical shapes).

The renaming rules below are written from the parameter names of both layouts (the facts that
transformers' own conversion script for SAM 2 relies on): official module names on the left, the
library's on the right; multi-layer perceptrons are renumbered (``layers.0`` -> ``proj_in``, inner
layers shift down by one, the last -> ``proj_out``); the four point embeddings become one matrix;
the prompt encoder's Gaussian matrix also serves the model-wide ``shared_image_embedding``.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from sam_backend.errors import CheckpointError

if TYPE_CHECKING:
    from transformers import Sam2VideoConfig, Sam2VideoModel

    from sam_backend.hub import Progress

# (official size) -> Hiera backbone and neck (the four SAM 2.1 sizes); everything else is the library's default
SIZES: dict[str, dict[str, Any]] = {
    "sam2.1_hiera_tiny": dict(backbone=dict(), channels=None),
    "sam2.1_hiera_small": dict(backbone=dict(blocks_per_stage=[1, 2, 11, 2], global_attention_blocks=[7, 10, 13]),
                               channels=None),
    "sam2.1_hiera_base_plus": dict(backbone=dict(hidden_size=112, embed_dim_per_stage=[112, 224, 448, 896],
                                                 num_attention_heads_per_stage=[2, 4, 8, 16],
                                                 blocks_per_stage=[2, 3, 16, 3], global_attention_blocks=[12, 16, 20],
                                                 window_positional_embedding_background_size=[14, 14]),
                                   channels=[896, 448, 224, 112]),
    "sam2.1_hiera_large": dict(backbone=dict(hidden_size=144, embed_dim_per_stage=[144, 288, 576, 1152],
                                             num_attention_heads_per_stage=[2, 4, 8, 16], blocks_per_stage=[2, 6, 36, 4],
                                             global_attention_blocks=[23, 33, 43],
                                             window_positional_embedding_background_size=[7, 7],
                                             window_size_per_stage=[8, 4, 16, 8]),
                               channels=[1152, 576, 288, 144]),
}

# sha256 and size of the released files (as published in the hub's LFS pointers of those files)
RELEASED_PT: dict[str, tuple[str, int]] = {
    "sam2.1_hiera_tiny": ("7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69", 156_008_466),
    "sam2.1_hiera_small": ("6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38", 184_416_285),
    "sam2.1_hiera_base_plus": ("a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5", 323_606_802),
    "sam2.1_hiera_large": ("2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318", 898_083_611),
}

# Ordered (regex, replacement) rules on official names. Prefixes first, then module renames.
_RULES: tuple[tuple[str, str], ...] = (
    (r"^image_encoder\.trunk\.", "vision_encoder.backbone."),
    (r"^image_encoder\.neck\.", "vision_encoder.neck."),
    (r"^sam_prompt_encoder\.", "prompt_encoder."),
    (r"^sam_mask_decoder\.", "mask_decoder."),
    (r"\.neck\.convs\.(\d+)\.conv\.", r".neck.convs.\1."),
    (r"\.patch_embed\.proj\.", ".patch_embed.projection."),
    (r"\.output_upscaling\.0\.", ".upscale_conv1."),
    (r"\.output_upscaling\.1\.", ".upscale_layer_norm."),
    (r"\.output_upscaling\.3\.", ".upscale_conv2."),
    (r"\.mask_downscaling\.0\.", ".mask_embed.conv1."),
    (r"\.mask_downscaling\.1\.", ".mask_embed.layer_norm1."),
    (r"\.mask_downscaling\.3\.", ".mask_embed.conv2."),
    (r"\.mask_downscaling\.4\.", ".mask_embed.layer_norm2."),
    (r"\.mask_downscaling\.6\.", ".mask_embed.conv3."),
    (r"\.pe_layer\.positional_encoding_gaussian_matrix$", ".shared_embedding.positional_embedding"),
    (r"\.mask_downsampler\.encoder\.12\.", ".mask_downsampler.final_conv."),
    (r"^memory_encoder\.fuser\.", "memory_encoder.memory_fuser."),
    (r"\.dwconv\.", ".depthwise_conv."),
    (r"\.pwconv(\d)\.", r".pointwise_conv\1."),
    (r"\.gamma$", ".scale"),
    (r"^memory_encoder\.pix_feat_proj\.", "memory_encoder.feature_projection."),
    (r"^memory_encoder\.out_proj\.", "memory_encoder.projection."),
    (r"\.out_proj\.", ".o_proj."),
    (r"\.norm(\d*|_final_attn)\.", r".layer_norm\1."),
    (r"^maskmem_tpos_enc$", "memory_temporal_positional_encoding"),
    (r"^no_mem_embed$", "no_memory_embedding"),
    (r"^no_mem_pos_enc$", "no_memory_positional_encoding"),
    (r"^no_obj_ptr$", "no_object_pointer"),
    (r"^no_obj_embed_spatial$", "occlusion_spatial_embedding_parameter"),
    (r"^obj_ptr_tpos_proj\.", "temporal_positional_encoding_projection_layer."),
    (r"^obj_ptr_proj\.", "object_pointer_proj."),
)
_COMPILED = tuple((re.compile(p), r) for p, r in _RULES)
# multi-layer perceptrons: (pattern of the module holding "layers.K", number of layers)
_MLP3 = re.compile(r"(iou_prediction_head|pred_obj_score_head|output_hypernetworks_mlps\.\d+|object_pointer_proj)"
                   r"\.layers\.(\d+)\.")
_MLP2 = re.compile(r"((?:blocks|transformer\.layers)\.\d+\.mlp)\.layers\.(\d+)\.")
_DOWNSAMPLER = re.compile(r"\.mask_downsampler\.encoder\.(\d+)\.")


def _mlp3(m: re.Match[str]) -> str:
    k = int(m.group(2))
    return f"{m.group(1)}.{'proj_in' if k == 0 else 'proj_out' if k == 2 else 'layers.0'}."


def _mlp2(m: re.Match[str]) -> str:
    return f"{m.group(1)}.{'proj_in' if m.group(2) == '0' else 'proj_out'}."


def _downsampler(m: re.Match[str]) -> str:
    k = int(m.group(1))
    return f".mask_downsampler.layers.{k // 3}.{'conv' if k % 3 == 0 else 'layer_norm'}."


def official_to_hf_name(name: str) -> str:
    """The transformers parameter name of an official SAM 2.1 parameter name (point embeddings are
    merged separately by ``convert_state_dict``)."""
    for pattern, repl in _COMPILED:
        name = pattern.sub(repl, name)
    name = _DOWNSAMPLER.sub(_downsampler, name)
    name = _MLP3.sub(_mlp3, name)
    return _MLP2.sub(_mlp2, name)


def convert_state_dict(official: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official SAM 2.1 state dict -> Sam2VideoModel state dict. CheckpointError when it is not one."""
    out: dict[str, torch.Tensor] = {}
    points: dict[int, torch.Tensor] = {}
    point = re.compile(r"^sam_prompt_encoder\.point_embeddings\.(\d)\.weight$")
    for name, value in official.items():
        m = point.match(name)
        if m:
            points[int(m.group(1))] = value
            continue
        out[official_to_hf_name(name)] = value
    if sorted(points) != [0, 1, 2, 3]:
        raise CheckpointError("it holds no SAM 2 prompt encoder (sam_prompt_encoder.point_embeddings.0-3)")
    out["prompt_encoder.point_embed.weight"] = torch.cat([points[i] for i in range(4)], dim=0)
    gauss = out.get("prompt_encoder.shared_embedding.positional_embedding")
    if gauss is None:
        raise CheckpointError("it holds no positional encoding of the prompt encoder")
    out["shared_image_embedding.positional_embedding"] = gauss
    return out


def official_config(model_id: str) -> Sam2VideoConfig:
    """The Sam2VideoConfig of an official SAM 2.1 size."""
    from transformers import Sam2VideoConfig
    from transformers.models.sam2.configuration_sam2 import Sam2HieraDetConfig, Sam2VisionConfig

    size = SIZES.get(model_id)
    if size is None:
        raise CheckpointError(f"{model_id} has no official .pt layout: only {', '.join(SIZES)} do")
    vision = Sam2VisionConfig(backbone_config=Sam2HieraDetConfig(**size["backbone"]),
                              **({"backbone_channel_list": size["channels"]} if size["channels"] else {}))
    return Sam2VideoConfig(vision_config=vision, enable_temporal_pos_encoding_for_object_pointers=True,
                           enable_occlusion_spatial_embedding=True)


def read_official(path: Path) -> dict[str, torch.Tensor]:
    """The state dict inside an official .pt file (``{"model": ...}``, or a bare state dict)."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling/zip failure is "not a checkpoint"
        raise CheckpointError(f"{path.name} is not a readable torch checkpoint ({str(exc).splitlines()[0][:120]})") \
            from None
    state = data.get("model", data) if isinstance(data, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path.name} holds no state dict of tensors")
    return state


def build_strict(config: Sam2VideoConfig, state: dict[str, torch.Tensor], what: str) -> Sam2VideoModel:
    """Sam2VideoModel(config) with ``state`` loaded strictly; CheckpointError naming what differs."""
    from transformers import Sam2VideoModel

    model = Sam2VideoModel(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing parameter(s) (first {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first {unexpected[0]})")
        if shapes:
            k = shapes[0]
            parts.append(f"{len(shapes)} of another shape (first {k}: {tuple(state[k].shape)} instead of "
                         f"{tuple(expected[k].shape)})")
        raise CheckpointError(f"{what} does not match: {', '.join(parts)}")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    return model.eval()


def import_official_checkpoint(model_id: str, pt_file: str | os.PathLike[str], progress: Progress | None = None,
                               config: Sam2VideoConfig | None = None) -> Path:
    """Convert an official SAM 2.1 ``.pt`` into the cache as ``model_id``'s snapshot; its folder.

    config: the Sam2VideoConfig to convert into (default: the official one for ``model_id``).
    The install records the .pt's sha256 and whether it is the released file (a fine-tuned checkpoint of
    the same architecture converts too). Raises CheckpointError (one sentence); nothing is installed then.
    """
    from sam_backend.hf.predictor import quiet_transformers
    from sam_backend.hub import CONVERTED, _staging, get_hub_spec, install_folder

    spec = get_hub_spec(model_id)
    src = Path(pt_file).expanduser()
    if not src.is_file():
        raise CheckpointError(f"cannot import {src}: no such file")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    cfg = config if config is not None else official_config(model_id)
    state = convert_state_dict(read_official(src))
    model = build_strict(cfg, state, f"{src.name} as {spec.title}")
    staged = _staging(spec)
    try:
        with quiet_transformers():
            model.save_pretrained(str(staged))
        released = RELEASED_PT.get(model_id, ("", 0))[0] == digest
        origin = f"{src.name} sha256:{digest} ({'the released file' if released else 'not the released file'})"
        return install_folder(spec, staged, origin, CONVERTED, progress)
    except OSError as exc:
        raise CheckpointError(f"cannot write the converted {model_id} into {staged.parent}: "
                              f"{exc.strerror or exc}; nothing was installed") from exc
    finally:
        shutil.rmtree(staged, ignore_errors=True)
