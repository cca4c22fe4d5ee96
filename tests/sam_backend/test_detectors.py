"""Text prompt -> phrases -> Grounding DINO boxes: equal to transformers' own post-processing, and
every box attributed to the phrase whose tokens produced it (tiny random detector, no network)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sam_backend.detectors import (DetectorMissing, caption_of, installed_detector_dir, load_detector, parse_prompt,
                                   resolve_detector, token_phrases)
from sam_backend.detectors.types import RawDetections
from sam_backend.errors import CheckpointError
from sam_backend.families import Detector, family_for
from sam_backend.paths import models_dir
from tests.detector_support import tiny_detector_dir  # noqa: F401 - a fixture

PHRASES = ("cat", "traffic light", "fire hydrants", "red stop sign")


@pytest.fixture(scope="module")
def detector(tiny_detector_dir: Path):
    return load_detector(tiny_detector_dir, device="cpu")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return (np.random.default_rng(7).random((75, 130, 3)) * 255).astype(np.uint8)


def test_parse_prompt_splits_cleans_and_dedupes() -> None:
    assert parse_prompt("cat. dog. traffic light") == ("cat", "dog", "traffic light")
    assert parse_prompt("  Cat ..  traffic   light.\tcat . ") == ("Cat", "traffic light")
    with pytest.raises(ValueError, match="no phrase"):
        parse_prompt(" . .. ")


def test_caption_spans_cover_each_phrase() -> None:
    caption, spans = caption_of(("Cat", "traffic light"))
    assert caption == "cat. traffic light."
    assert [caption[a:b] for a, b in spans] == ["cat", "traffic light"]


def test_tokens_map_to_their_phrase_for_multi_token_phrases(detector) -> None:
    tok = detector.processor.tokenizer
    caption, spans = caption_of(PHRASES)
    enc = tok(caption, return_offsets_mapping=True)
    owner = token_phrases(enc["offset_mapping"], spans)
    ids = np.array(enc["input_ids"])
    assert owner[0] == -1 and owner[-1] == -1  # [CLS], [SEP]
    assert all(owner[ids == tok.convert_tokens_to_ids(".")] == -1)
    for k, phrase in enumerate(PHRASES):
        mine = ids[owner == k].tolist()
        assert len(mine) == len(tok(phrase, add_special_tokens=False)["input_ids"])
        assert tok.decode(mine) == phrase  # "fire hydrants" = fire + hydrant + ##s: three tokens
    assert (owner == 2).sum() == 3 and (owner == 3).sum() == 3


def test_boxes_and_scores_equal_the_library_post_processing(detector, image) -> None:
    import torch

    raw = detector.detect(image, PHRASES)
    assert isinstance(raw, RawDetections) and raw.image_size == (75, 130)
    inputs, owner = detector.inputs(image, PHRASES)
    with torch.inference_mode():
        out = detector.model(**inputs)
    for box_t, text_t in ((0.35, 0.25), (0.9, 0.5), (0.0, 0.0)):
        lib = detector.processor.post_process_grounded_object_detection(
            out, inputs["input_ids"], threshold=box_t, text_threshold=text_t, target_sizes=[(75, 130)])[0]
        keep = raw.scores > box_t
        assert np.array_equal(lib["boxes"].numpy(), raw.boxes[keep])
        assert np.array_equal(lib["scores"].numpy(), raw.scores[keep])
        if box_t == 0.35:
            assert 0 < keep.sum() < len(keep)  # the thresholds really select here


def test_each_box_gets_the_phrase_whose_tokens_are_above_the_text_threshold(detector, image) -> None:
    """Against the library's own token selection (get_phrases_from_posmap): a box is kept when one
    of a phrase's tokens is above the text threshold, and its phrase is one of those phrases."""
    import torch
    from transformers.models.grounding_dino.processing_grounding_dino import get_phrases_from_posmap

    raw = detector.detect(image, PHRASES)
    inputs, owner = detector.inputs(image, PHRASES)
    with torch.inference_mode():
        out = detector.model(**inputs)
    probs = torch.sigmoid(out.logits[0])
    ids = inputs["input_ids"][0].tolist()
    phrase_of_token = {ids[t]: int(owner[t]) for t in range(len(ids)) if owner[t] >= 0}
    assert len(phrase_of_token) == sum(owner >= 0)  # no token id shared by two phrases here
    box_t, text_t = 0.3, 0.6
    kept = {d.index: d for d in raw.select(box_t, text_t)}
    checked = 0
    for q in np.flatnonzero(raw.scores > box_t):
        above = get_phrases_from_posmap(probs[q:q + 1] > text_t, ids)[0]
        phrases = {phrase_of_token[i] for i in above if i in phrase_of_token}
        assert (q in kept) == bool(phrases), q
        if q in kept:
            d = kept[q]
            assert d.phrase_index in phrases and d.phrase == PHRASES[d.phrase_index]
            np.testing.assert_array_equal(np.array(d.box), raw.boxes[q].astype(np.float64) - 0.5)
            checked += 1
    assert checked >= 3 and len(kept) < int((raw.scores > box_t).sum())  # both outcomes occur
    scores = [d.score for d in raw.select(box_t, text_t)]
    assert scores == sorted(scores, reverse=True)


def test_thresholds_outside_zero_one_are_refused(detector, image) -> None:
    raw = detector.detect(image, ("cat",))
    with pytest.raises(ValueError, match="box threshold"):
        raw.select(1.5, 0.25)


def test_a_too_long_prompt_is_one_sentence(detector, image) -> None:
    with pytest.raises(ValueError, match="too long"):
        detector.detect(image, tuple(f"red car {i}" for i in range(20)))


def test_resolve_detector_by_folder_id_and_errors(tiny_detector_dir: Path, tmp_path: Path) -> None:
    assert resolve_detector(str(tiny_detector_dir)) == tiny_detector_dir
    with pytest.raises(DetectorMissing, match="sam-labeler models download grounding-dino-tiny"):
        resolve_detector("grounding-dino-tiny")
    installed = models_dir() / "hub" / "grounding-dino-tiny"
    installed.mkdir(parents=True)
    (installed / "config.json").write_text("{}")
    with pytest.raises(DetectorMissing):
        resolve_detector("grounding-dino-tiny")  # files put there by hand are not a verified install
    shutil.rmtree(installed)
    from sam_backend import hub

    assert hub.import_snapshot("grounding-dino-tiny", tiny_detector_dir) == installed  # the model manager's way
    assert installed_detector_dir("grounding-dino-tiny") == installed
    assert resolve_detector("grounding-dino-tiny") == installed
    with pytest.raises(ValueError, match="unknown detector"):
        resolve_detector("owl-vit-9000")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_detector(str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="no config.json"):
        resolve_detector(str(tmp_path))


def test_a_folder_of_another_model_is_refused(tmp_path: Path) -> None:
    from transformers import BertConfig

    BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
               intermediate_size=8).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="not Grounding DINO"):
        load_detector(tmp_path, device="cpu")


def test_grounding_dino_family_serves_the_detector_ids(tiny_detector_dir: Path) -> None:
    fam = family_for("grounding-dino-base")
    assert fam is not None and fam.kind == "detector" and fam.requires == "text"
    assert fam.model_ids == ("grounding-dino-tiny", "grounding-dino-base")
    assert fam.available() is None  # transformers is installed here
    det = fam.load("grounding-dino-tiny", checkpoint=str(tiny_detector_dir), device="cpu")
    assert isinstance(det, Detector) and det.model_id == "grounding-dino-tiny" and det.device_name == "cpu"
