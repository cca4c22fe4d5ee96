"""Model families: the one protocol every promptable segmentation model (and detector) follows.

A *family* groups model ids that share an implementation: our own SAM 1 engine ("sam": SAM
ViT-B/L/H, MobileSAM, SAM-HQ), and families implemented on other libraries (SAM 2.1, SAM 3, EdgeTAM
through ``transformers``; open-vocabulary detectors for text prompts), or contributed by plugins.
The application sees only this module's protocols: it loads a predictor for a model id through
``load_predictor`` (sam_backend.predictor) or ``family_for(model_id).load(...)``, encodes each image
once and decodes prompts against the embedding, whatever the family.

Qt-free and cheap to import (no torch at import time).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from sam_backend.detectors.types import RawDetections
    from sam_backend.propagation import Propagator
    from sam_backend.types import BoxPredictions, Prediction

PromptKind = Literal["points", "box", "mask", "text"]
"""What a model accepts: click points (with fg/bg labels), one box, a low-res mask (refinement),
a text phrase."""
FamilyKind = Literal["segmenter", "detector"]
"""A segmenter answers prompts with masks; a detector turns an image (and text) into boxes."""
AbortCheck = Callable[[], bool]


@runtime_checkable
class Embedding(Protocol):
    """What ``encode`` returns: the per-image state ``predict`` needs (the predictor keeps none).

    model_id: the model that made it (a predictor refuses another model's embedding);
    original_size: (H, W) of the encoded image."""

    model_id: str
    original_size: tuple[int, int]

    def nbytes(self) -> int:
        """Bytes held (the embedding caches are bounded by bytes)."""


@runtime_checkable
class Predictor(Protocol):
    """A promptable segmentation model on one device, used by one thread at a time.

    Coordinates are original-image pixels, x right, y down, pixel centres at integers.
    ``prompt_kinds``: which prompts ``predict`` takes; ``candidates``: masks per multimask answer
    (3 for SAM); ``score_name``: what ``Prediction.scores`` are ("predicted IoU" for SAM; the UI
    shows it). ``device``: where it runs, as text ("cpu", "cuda:0").
    """

    model_id: str
    prompt_kinds: frozenset[str]
    candidates: int
    score_name: str

    @property
    def device_name(self) -> str:
        """Where the network runs ("cpu", "cuda:0", "mps")."""

    def encode(self, image: np.ndarray, should_abort: AbortCheck | None = None) -> Embedding:
        """Encode an (H, W, 3) uint8 RGB image; EncodeAborted when ``should_abort()`` says so."""

    def predict(self, emb: Embedding, points: Sequence[Sequence[float]] | np.ndarray | None = None,
                labels: Sequence[int] | np.ndarray | None = None, box: Sequence[float] | np.ndarray | None = None,
                mask_input: np.ndarray | None = None, multimask: bool = True) -> Prediction:
        """Candidate masks for the prompts (ValueError, one sentence, for invalid prompts)."""


@runtime_checkable
class BoxPredictor(Predictor, Protocol):
    """A Predictor that also decodes many boxes of one image in one call (SamPredictor): what the
    batch auto-labeller uses when the model offers it (else one ``predict`` per box)."""

    def predict_boxes(self, emb: Embedding, boxes: Sequence[Sequence[float]] | np.ndarray, multimask: bool = False,
                      batch: int | None = None) -> BoxPredictions:
        """Each box's answer, as ``predict(emb, box=box, multimask=multimask)`` would give it."""


@runtime_checkable
class Detector(Protocol):
    """An open-vocabulary detector on one device, used by one thread at a time: an image and
    phrases in, every query box with its scores out (sam_backend.detectors.RawDetections; the
    thresholds are applied afterwards by ``RawDetections.select``)."""

    model_id: str
    prompt_kinds: frozenset[str]

    @property
    def device_name(self) -> str:
        """Where the network runs ("cpu", "cuda:0")."""

    def detect(self, image: np.ndarray, phrases: Sequence[str]) -> RawDetections:
        """All boxes for ``phrases`` on an (H, W, 3) uint8 RGB image (ValueError, one sentence, for a
        prompt the model cannot take)."""


PredictorLoader = Callable[..., Predictor]
"""``load(model_id, *, checkpoint=None, device="auto", precision="fp32") -> Predictor``."""
PropagatorLoader = Callable[..., "Propagator"]
"""``load_propagator(model_id, *, checkpoint=None, device="auto") -> sam_backend.propagation.Propagator``."""
DetectorLoader = Callable[..., Detector]
"""``load(model_id, *, checkpoint=None, device="auto", precision="fp32") -> Detector`` (checkpoint:
a save_pretrained folder instead of the model cache)."""


@dataclass(frozen=True)
class ModelFamily:
    """A registered family of models.

    id: e.g. "sam", "sam2", "sam3", "grounding-dino"; title: for the model manager; kind;
    model_ids: the ids it serves (segmenters: each also in sam_backend.registry.MODELS; detectors:
    in sam_backend.detectors.DETECTOR_IDS); prompt_kinds, candidates, score_name: as Predictor (for
    the UI before a model is loaded); load: builds a predictor (kind "segmenter") or a Detector
    (kind "detector"), importing the heavy libraries only when called; requires: the pip extra that must be
    installed, e.g. "text" for ``pip install "sam-labeler[text]"`` (None: always available);
    available: returns None when usable, else one sentence saying how to enable it;
    load_propagator: builds a sam_backend.propagation.Propagator (a video model that carries masks
    through frames), None when the family cannot propagate.
    """

    id: str
    title: str
    kind: FamilyKind
    model_ids: tuple[str, ...]
    prompt_kinds: frozenset[str]
    load: PredictorLoader | DetectorLoader
    candidates: int = 3
    score_name: str = "predicted IoU"
    requires: str | None = None
    available: Callable[[], str | None] = field(default=lambda: None, compare=False)
    load_propagator: PropagatorLoader | None = field(default=None, compare=False)


_FAMILIES: dict[str, ModelFamily] = {}


def register_family(family: ModelFamily) -> None:
    """Add (or replace, by id) a family; plugins call this through app.extensions."""
    _FAMILIES[family.id] = family


def families() -> list[ModelFamily]:
    """Every registered family (the built-in ones first)."""
    _ensure_builtins()
    return list(_FAMILIES.values())


def family_for(model_id: str) -> ModelFamily | None:
    """The family serving ``model_id``, or None."""
    _ensure_builtins()
    for fam in _FAMILIES.values():
        if model_id in fam.model_ids:
            return fam
    return None


_BUILTINS_DONE = [False]


def _ensure_builtins() -> None:
    if _BUILTINS_DONE[0]:
        return
    _BUILTINS_DONE[0] = True
    from sam_backend.registry import MODELS

    def _load_sam(model_id: str, *, checkpoint: str | None = None, device: str = "auto",
                  precision: str = "fp32") -> Predictor:
        from sam_backend.predictor import load_predictor

        return load_predictor(model_id, checkpoint=checkpoint, device=device, precision=precision)

    sam_ids = tuple(mid for mid, spec in MODELS.items() if spec.family == "sam")
    _FAMILIES.setdefault("sam", ModelFamily(
        id="sam", title="Segment Anything (SAM, MobileSAM, SAM-HQ)", kind="segmenter", model_ids=sam_ids,
        prompt_kinds=frozenset({"points", "box", "mask"}), load=_load_sam))
    from sam_backend.hf import builtin_families  # SAM 2.1, SAM 3, EdgeTAM (transformers, optional)

    for fam in builtin_families():
        _FAMILIES.setdefault(fam.id, fam)

    from sam_backend.detectors.locate import DETECTOR_IDS
    from sam_backend.detectors.types import text_support_problem

    def _load_detector(model_id: str, *, checkpoint: str | None = None, device: str = "auto",
                       precision: str = "fp32") -> Detector:
        from sam_backend.detectors import load_detector

        return load_detector(checkpoint or model_id, device=device, precision=precision, model_id=model_id)

    _FAMILIES.setdefault("grounding-dino", ModelFamily(
        id="grounding-dino", title="Grounding DINO (text prompts)", kind="detector",
        model_ids=tuple(DETECTOR_IDS), prompt_kinds=frozenset({"text"}), load=_load_detector, candidates=0,
        score_name="detector score", requires="text", available=text_support_problem))
