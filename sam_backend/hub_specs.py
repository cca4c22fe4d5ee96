"""The models kept as hub snapshots (sam_backend.hub): which repository, revision and files each one is.

Cheap to import (no third-party module): sam_backend.registry lists these ids with the checkpoint
files, and families look up their ids here. A family added later (e.g. a text-prompt detector) adds
its HubSpec rows to ``_SPECS``.
"""
from __future__ import annotations

from dataclasses import dataclass

from sam_backend.errors import UnknownModel


@dataclass(frozen=True)
class HubSpec:
    """A model stored as a hub repository snapshot.

    id: our model id (also in sam_backend.registry.MODELS); family: the ModelFamily serving it;
    repo_id / revision: where it lives on the hub (a commit hash when pinned, else a branch);
    patterns: the files to fetch (fnmatch patterns, as huggingface_hub's ``allow_patterns``);
    required: files a complete snapshot must hold; weights: pattern of the weight files (at least one);
    model_types: accepted ``config.json`` "model_type" values; sha256: known digests per file (empty:
    pinned on the first verified install); size_bytes: approximate download size.
    """

    id: str
    title: str
    family: str
    repo_id: str
    revision: str
    model_types: tuple[str, ...]
    size_bytes: int
    licence: str
    patterns: tuple[str, ...] = ("*.json", "*.safetensors")
    required: tuple[str, ...] = ("config.json",)
    weights: str = "*.safetensors"
    sha256: tuple[tuple[str, str], ...] = ()

    @property
    def pinned_commit(self) -> bool:
        """True when ``revision`` is a commit hash (the files cannot change under us)."""
        return len(self.revision) == 40 and all(c in "0123456789abcdef" for c in self.revision)


_TOKENIZER = ("*.json", "*.safetensors", "*.txt")
_SAM2_TYPES = ("sam2_video", "sam2")
# No commit is pinned: this machine cannot reach the hub to read the current commit of each repo, so
# the branch is named and the files' sha256 are pinned on the first verified install instead.
_SPECS: tuple[HubSpec, ...] = (
    HubSpec("sam2.1_hiera_tiny", "SAM 2.1 Hiera-Tiny", "sam2", "facebook/sam2.1-hiera-tiny", "main",
            _SAM2_TYPES, 156_000_000, "Apache-2.0"),
    HubSpec("sam2.1_hiera_small", "SAM 2.1 Hiera-Small", "sam2", "facebook/sam2.1-hiera-small", "main",
            _SAM2_TYPES, 184_000_000, "Apache-2.0"),
    HubSpec("sam2.1_hiera_base_plus", "SAM 2.1 Hiera-Base+", "sam2", "facebook/sam2.1-hiera-base-plus", "main",
            _SAM2_TYPES, 324_000_000, "Apache-2.0"),
    HubSpec("sam2.1_hiera_large", "SAM 2.1 Hiera-Large", "sam2", "facebook/sam2.1-hiera-large", "main",
            _SAM2_TYPES, 898_000_000, "Apache-2.0"),
    HubSpec("sam3", "SAM 3 (points and boxes)", "sam3", "facebook/sam3", "main",
            ("sam3_video", "sam3", "sam3_tracker", "sam3_tracker_video"), 3_450_000_000, "SAM-License"),
    HubSpec("edgetam", "EdgeTAM", "edgetam", "yonigozlan/EdgeTAM-hf", "main",
            ("edgetam_video", "edgetam"), 56_000_000, "Apache-2.0"),
    HubSpec("grounding-dino-tiny", "Grounding DINO Tiny", "grounding-dino", "IDEA-Research/grounding-dino-tiny",
            "main", ("grounding-dino",), 690_000_000, "Apache-2.0", patterns=_TOKENIZER),
    HubSpec("grounding-dino-base", "Grounding DINO Base", "grounding-dino", "IDEA-Research/grounding-dino-base",
            "main", ("grounding-dino",), 940_000_000, "Apache-2.0", patterns=_TOKENIZER),
)

HUB_MODELS: dict[str, HubSpec] = {spec.id: spec for spec in _SPECS}


def get_hub_spec(model_id: str) -> HubSpec:
    """The hub spec of ``model_id``; UnknownModel otherwise."""
    spec = HUB_MODELS.get(model_id)
    if spec is None:
        raise UnknownModel(f"{model_id!r} is not a hub model: choose one of {', '.join(HUB_MODELS)}")
    return spec


def is_hub_model(model_id: str) -> bool:
    """True for ids stored as hub snapshots (not single checkpoint files)."""
    return model_id in HUB_MODELS
