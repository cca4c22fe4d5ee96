"""Tiny random transformers models (SAM 2.1 image/video, SAM 3 tracker) built from the library's own
config classes, for parity and propagation tests. Not a test module.

Input side 128 px instead of 1024 keeps every forward under ~50 ms on 2 cores; every parameter and
buffer is drawn from a seeded normal distribution (the library's init leaves heads at zero, which
would make scores constant and masks trivial).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

SIDE = 128  # model input side (SAM 2: patch stride 4, three feature levels at /4, /8, /16)


def _hiera(side: int) -> dict:
    return dict(model_type="sam2_hiera_det_model", hidden_size=8, num_attention_heads=1,
                blocks_per_stage=[1, 1, 2, 1], embed_dim_per_stage=[8, 16, 32, 64],
                num_attention_heads_per_stage=[1, 1, 2, 2], window_size_per_stage=[4, 2, 2, 2],
                global_attention_blocks=[3], window_positional_embedding_background_size=[4, 4],
                image_size=[side, side])


def sam2_parts(side: int = SIDE, hidden: int = 32) -> dict:
    """Sub-configs shared by Sam2Config and Sam2VideoConfig (the video model needs hidden = 2 x 64: its
    memory attention reads 64-channel memories and splits pointers into 64-channel pieces)."""
    vision = dict(model_type="sam2_vision_model", backbone_config=_hiera(side), backbone_channel_list=[64, 32, 16, 8],
                  backbone_feature_sizes=[[side // 4] * 2, [side // 8] * 2, [side // 16] * 2], fpn_hidden_size=hidden)
    prompt = dict(hidden_size=hidden, image_size=side, patch_size=16, mask_input_channels=8)
    decoder = dict(hidden_size=hidden, mlp_dim=48, num_hidden_layers=2, num_attention_heads=2,
                   iou_head_hidden_dim=32)
    return dict(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)


def video_config_kwargs(side: int = SIDE) -> dict:
    """Sam2VideoConfig keywords of a tiny model."""
    return dict(sam2_parts(side, hidden=128), image_size=side, num_maskmem=3, memory_attention_hidden_size=128,
                memory_attention_num_layers=1, memory_attention_feed_forward_hidden_size=48,
                memory_attention_rope_feat_sizes=[side // 16, side // 16], memory_encoder_hidden_size=128,
                memory_encoder_output_channels=64, mask_downsampler_embed_dim=128, memory_fuser_embed_dim=128,
                memory_fuser_intermediate_dim=48, max_object_pointers_in_encoder=4)


def randomize(model: torch.nn.Module, seed: int = 0, std: float = 0.25) -> torch.nn.Module:
    """Every floating parameter/buffer from N(0, std) (seeded); eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]:
            t.copy_(torch.randn(t.shape, generator=gen) * std)
    return model.eval()


def sam2_image_model(seed: int = 0) -> torch.nn.Module:
    from transformers import Sam2Config, Sam2Model

    return randomize(Sam2Model(Sam2Config(**sam2_parts())), seed)


def sam2_video_model(seed: int = 0, object_logit: float = 4.0) -> torch.nn.Module:
    """A tiny random video model whose object-score head answers about ``object_logit`` (random
    weights would otherwise declare every object absent, and the library then blanks its masks)."""
    from transformers import Sam2VideoConfig, Sam2VideoModel

    model = randomize(Sam2VideoModel(Sam2VideoConfig(**video_config_kwargs())), seed)
    head = model.mask_decoder.pred_obj_score_head
    with torch.no_grad():
        head.proj_out.weight.mul_(0.01)
        head.proj_out.bias.fill_(object_logit)
    return model


def sam3_tracker_model(seed: int = 0, side: int = 112) -> torch.nn.Module:
    from transformers import Sam3TrackerConfig, Sam3TrackerModel

    p = 14
    e = side // p
    vit = dict(model_type="sam3_vit_model", hidden_size=32, intermediate_size=48, num_hidden_layers=2,
               num_attention_heads=2, image_size=side, patch_size=p, window_size=4, global_attn_indexes=[1],
               pretrain_image_size=side)
    vision = dict(model_type="sam3_vision_model", backbone_config=vit, fpn_hidden_size=32,
                  backbone_feature_sizes=[[e * 4] * 2, [e * 2] * 2, [e] * 2])
    cfg = Sam3TrackerConfig(vision_config=vision,
                            prompt_encoder_config=dict(hidden_size=32, image_size=side, patch_size=p,
                                                       mask_input_channels=8),
                            mask_decoder_config=dict(hidden_size=32, mlp_dim=48, num_hidden_layers=2,
                                                     num_attention_heads=2, iou_head_hidden_dim=32))
    return randomize(Sam3TrackerModel(cfg), seed)


def save_snapshot(model: torch.nn.Module, folder: Path, mean: list[float] | None = None,
                  std: list[float] | None = None) -> Path:
    """save_pretrained into ``folder`` (+ a preprocessor_config.json when mean/std are given)."""
    model.save_pretrained(str(folder))
    if mean is not None and std is not None:
        (folder / "preprocessor_config.json").write_text(json.dumps({"image_mean": mean, "image_std": std}))
    return folder
