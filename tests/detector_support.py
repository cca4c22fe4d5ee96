"""Tiny random Grounding DINO detectors built from transformers' own config classes (no network).

``make_tiny_grounding_dino(folder)`` writes a complete ``save_pretrained`` snapshot (config, weights,
fast tokenizer over a small word-piece vocabulary, PIL image processor) of a model small enough to
run in well under a second on a CPU.
"""
from __future__ import annotations

from pathlib import Path

import pytest

VOCAB = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "a", "the", "cat", "dog", "traffic", "light",
         "fire", "hydrant", "red", "car", "person", "bicycle", "wheel", "##s", "##er", "stop", "sign")


def make_tiny_grounding_dino(folder: Path, seed: int = 0, num_queries: int = 40, max_text_len: int = 32,
                             image_size: tuple[int, int] = (64, 96)) -> Path:
    """Write a random tiny Grounding DINO snapshot into ``folder`` (created); returns it.

    image_size: the image processor's (shortest edge, longest edge).
    """
    import torch
    from transformers import (BertConfig, BertTokenizerFast, GroundingDinoConfig, GroundingDinoForObjectDetection,
                              GroundingDinoImageProcessorPil, GroundingDinoProcessor, SwinConfig)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    swin = SwinConfig(image_size=64, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
                      window_size=4, out_indices=[2, 3, 4])
    bert = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=64)
    config = GroundingDinoConfig(backbone_config=swin, text_config=bert, d_model=32, encoder_layers=1,
                                 decoder_layers=2, encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2,
                                 decoder_attention_heads=2, num_queries=num_queries, max_text_len=max_text_len,
                                 encoder_n_points=1, decoder_n_points=1)
    torch.manual_seed(seed)
    model = GroundingDinoForObjectDetection(config).eval()
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(VOCAB)}, do_lower_case=True)
    images = GroundingDinoImageProcessorPil(size={"shortest_edge": image_size[0], "longest_edge": image_size[1]})
    model.save_pretrained(folder)
    GroundingDinoProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A save_pretrained folder of a random tiny Grounding DINO (built once per test session)."""
    return make_tiny_grounding_dino(tmp_path_factory.mktemp("detector") / "tiny-gdino")
