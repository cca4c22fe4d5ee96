"""What an open-vocabulary detector answers, and how a text prompt becomes phrases (numpy only).

A text prompt is phrases separated by "." ("cat. dog. traffic light"). A detector answers ONE
``RawDetections`` per image and prompt: every query box with its scores, before any threshold, so
that the thresholds can be changed afterwards without running the detector again (``select``).

Coordinate frames: ``RawDetections.boxes`` are in the detector library's frame (pixel CORNERS: the
image spans [0, W] x [0, H]; Hugging Face's post-processing gives exactly these numbers);
``Detection.box`` is in the application's frame (pixel CENTRES at integers, design.md), i.e. the raw
box shifted by -0.5 px. SAM is prompted with ``Detection.box``.
"""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass

import numpy as np

from sam_backend.errors import CheckpointMissing, SamBackendError

PROMPT_HELP = 'type one or more phrases separated by "." (for example "cat. dog. traffic light")'
TEXT_EXTRA = "text"
ENABLE_TEXT = ('Text prompts need the optional package transformers: install it with '
               'pip install "sam-labeler[text]" and restart SAM Labeler.')


class DetectorMissing(CheckpointMissing):
    """The detector model is not installed in the model cache (the message names the command that installs it)."""


class TextPromptsUnavailable(SamBackendError):
    """The optional ``text`` extra (transformers) is not installed."""


def text_support_problem() -> str | None:
    """None when text prompts can run here (transformers is installed), else one sentence saying
    how to enable them (the GUI shows it, the CLI prints it)."""
    try:
        found = importlib.util.find_spec("transformers") is not None
    except (ImportError, ValueError):  # blocked (sys.modules entry None) or a broken install
        found = False
    return None if found else ENABLE_TEXT


def parse_prompt(text: str) -> tuple[str, ...]:
    """The phrases of a text prompt: split at ".", surrounding and repeated spaces removed, empty
    and repeated (case-insensitively) phrases dropped, order kept. ValueError (one sentence) when
    no phrase is left."""
    phrases: list[str] = []
    seen: set[str] = set()
    for piece in str(text).split("."):
        phrase = re.sub(r"\s+", " ", piece).strip()
        key = phrase.casefold()
        if phrase and key not in seen:
            seen.add(key)
            phrases.append(phrase)
    if not phrases:
        raise ValueError(f"the text prompt has no phrase: {PROMPT_HELP}.")
    return tuple(phrases)


def caption_of(phrases: tuple[str, ...]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The detector's caption for ``phrases`` ("cat. traffic light.", lower case as Grounding DINO
    was trained) and each phrase's character span [start, end) in it."""
    spans: list[tuple[int, int]] = []
    pieces: list[str] = []
    pos = 0
    for phrase in phrases:
        text = phrase.lower()
        spans.append((pos, pos + len(text)))
        pieces.append(text + ".")
        pos += len(text) + 2  # the phrase, its ".", the space before the next one
    return " ".join(pieces), tuple(spans)


def token_phrases(offsets: list[tuple[int, int]], spans: tuple[tuple[int, int], ...]) -> np.ndarray:
    """For each token (character ``offsets`` [start, end) as a fast tokenizer reports them; special
    tokens have (0, 0)), the index of the phrase whose span holds it, else -1 ([CLS], [SEP], ".").
    int64 (T,)."""
    out = np.full(len(offsets), -1, dtype=np.int64)
    for t, (start, end) in enumerate(offsets):
        if end <= start:
            continue
        for p, (s0, s1) in enumerate(spans):
            if s0 <= start and end <= s1:
                out[t] = p
                break
    return out


@dataclass(frozen=True)
class Detection:
    """One box kept by the thresholds.

    index: its query row in RawDetections; phrase_index/phrase: the phrase it was found for;
    box: (x0, y0, x1, y1) in image pixels, pixel-centre frame (the SAM prompt); score: the
    detector's box score (max over the caption's tokens, Hugging Face's ``scores``);
    phrase_score: the best score of the phrase's own tokens.
    """

    index: int
    phrase_index: int
    phrase: str
    box: tuple[float, float, float, float]
    score: float
    phrase_score: float


@dataclass(frozen=True)
class RawDetections:
    """A detector's whole answer for one image and prompt, before thresholds.

    detector_id: the detector (model id or folder name); phrases: the prompt's phrases;
    boxes: float32 (Q, 4) x0, y0, x1, y1 in the library's pixel-corner frame (module doc);
    scores: float32 (Q,) each box's score = max over every caption token of sigmoid(logit);
    phrase_scores: float32 (Q, P) max over each phrase's tokens; image_size: (H, W).
    """

    detector_id: str
    phrases: tuple[str, ...]
    boxes: np.ndarray
    scores: np.ndarray
    phrase_scores: np.ndarray
    image_size: tuple[int, int]

    def __post_init__(self) -> None:
        q = self.boxes.shape[0]
        if self.boxes.shape != (q, 4) or self.scores.shape != (q,) or \
                self.phrase_scores.shape != (q, len(self.phrases)):
            raise ValueError(f"inconsistent detector output: boxes {self.boxes.shape}, scores {self.scores.shape}, "
                             f"phrase scores {self.phrase_scores.shape} for {len(self.phrases)} phrase(s)")

    def select(self, box_threshold: float, text_threshold: float) -> list[Detection]:
        """The boxes whose score is above ``box_threshold`` (strictly, as Hugging Face's
        post-processing) and whose best phrase token is above ``text_threshold``; each is given the
        phrase with the highest token score. Highest score first (ties: query order)."""
        _check_threshold(box_threshold, "box")
        _check_threshold(text_threshold, "text")
        if not len(self.phrases):
            return []
        best = np.argmax(self.phrase_scores, axis=1) if self.phrase_scores.size else np.zeros(0, np.int64)
        best_score = self.phrase_scores[np.arange(len(best)), best] if len(best) else np.zeros(0, np.float32)
        keep = np.flatnonzero((self.scores > box_threshold) & (best_score > text_threshold))
        order = keep[np.argsort(-self.scores[keep], kind="stable")]
        out = []
        for q in order.tolist():
            x0, y0, x1, y1 = (float(v) - 0.5 for v in self.boxes[q])
            p = int(best[q])
            out.append(Detection(int(q), p, self.phrases[p], (x0, y0, x1, y1), float(self.scores[q]),
                                 float(best_score[q])))
        return out


def _check_threshold(value: float, what: str) -> None:
    if not (0.0 <= float(value) <= 1.0):
        raise ValueError(f"the {what} threshold must be between 0 and 1 (got {value!r}).")
