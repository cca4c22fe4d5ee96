"""The registry of supported checkpoints: ids, download URLs, checksums, sizes, licences.

Facts come from ../shared/docs/models.md. Sizes are approximate (used for progress display, free-space
checks and plausibility checks of models without a published checksum), never for verification of
models whose md5 is published.
"""
from __future__ import annotations

from dataclasses import dataclass

from sam_backend.errors import UnknownModel


@dataclass(frozen=True)
class ModelSpec:
    """One downloadable model.

    Attributes:
        id: registry id, e.g. "sam_vit_b" (safe as a file-name component).
        title: human name for menus and `models list`.
        arch: architecture family: "vit_b", "vit_l", "vit_h", "tiny_vit" (+ "hq_" prefix for SAM-HQ);
            "hub" for models kept as hub snapshots (sam_backend.hub.HUB_MODELS has their files).
        url: official download URL.
        md5: published md5 hex digest of the file, or None when unpublished.
        size_bytes: approximate file size in bytes.
        licence: SPDX licence id.
        filename: file name in the model cache (the last component of `url`).
        sha256: known sha256 hex digest, or None (then the first verified install pins one).
        family: the sam_backend.families.ModelFamily that serves it ("sam": our own SAM 1 engine).
    """

    id: str
    title: str
    arch: str
    url: str
    md5: str | None
    size_bytes: int
    licence: str
    filename: str
    sha256: str | None = None
    family: str = "sam"


_FB = "https://dl.fbaipublicfiles.com/segment_anything/"
_HQ = "https://huggingface.co/lkeab/hq-sam/resolve/main/"

_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec("sam_vit_b", "SAM ViT-B", "vit_b", _FB + "sam_vit_b_01ec64.pth",
              "01ec64d29a2fca3f0661936605ae66f8", 375_042_383, "Apache-2.0", "sam_vit_b_01ec64.pth"),
    ModelSpec("sam_vit_l", "SAM ViT-L", "vit_l", _FB + "sam_vit_l_0b3195.pth",
              "0b3195507c641ddb6910d2bb5adee89c", 1_249_524_607, "Apache-2.0", "sam_vit_l_0b3195.pth"),
    ModelSpec("sam_vit_h", "SAM ViT-H", "vit_h", _FB + "sam_vit_h_4b8939.pth",
              "4b8939a88964f0f4ff5f5b2642c598a6", 2_564_550_879, "Apache-2.0", "sam_vit_h_4b8939.pth"),
    ModelSpec("mobile_sam", "MobileSAM (TinyViT)", "tiny_vit",
              "https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt",
              "f3c0d8cda613564d499310dab6c812cd", 40_728_226, "Apache-2.0", "mobile_sam.pt"),
    ModelSpec("sam_hq_vit_b", "SAM-HQ ViT-B", "hq_vit_b", _HQ + "sam_hq_vit_b.pth",
              "c6b8953247bcfdc8bb8ef91e36a6cacc", 379_000_000, "Apache-2.0", "sam_hq_vit_b.pth"),
    ModelSpec("sam_hq_vit_l", "SAM-HQ ViT-L", "hq_vit_l", _HQ + "sam_hq_vit_l.pth",
              "08947267966e4264fb39523eccc33f86", 1_255_000_000, "Apache-2.0", "sam_hq_vit_l.pth"),
    ModelSpec("sam_hq_vit_h", "SAM-HQ ViT-H", "hq_vit_h", _HQ + "sam_hq_vit_h.pth",
              "3560f6b6a5a6edacd814a1325c39640a", 2_570_000_000, "Apache-2.0", "sam_hq_vit_h.pth"),
    ModelSpec("sam_hq_vit_tiny", "SAM-HQ Tiny (TinyViT)", "hq_tiny_vit", _HQ + "sam_hq_vit_tiny.pth",
              None, 43_000_000, "Apache-2.0", "sam_hq_vit_tiny.pth"),
)



def _hub_specs() -> tuple[ModelSpec, ...]:
    """Models stored as hub snapshots (sam_backend.hub): arch "hub", the repository as url, the folder
    name as filename; their files are verified by sam_backend.hub, not by md5."""
    from sam_backend.hub_specs import HUB_MODELS

    return tuple(
        ModelSpec(h.id, h.title, "hub", f"https://huggingface.co/{h.repo_id}", None, h.size_bytes, h.licence,
                  h.id, family=h.family)
        for h in HUB_MODELS.values()
    )


MODELS: dict[str, ModelSpec] = {spec.id: spec for spec in _SPECS + _hub_specs()}


def get_spec(model_id: str) -> ModelSpec:
    """Return the spec of `model_id`; raise UnknownModel (one sentence listing the valid ids) otherwise."""
    spec = MODELS.get(model_id)
    if spec is None:
        raise UnknownModel(
            f"unknown model id {model_id!r}: choose one of {', '.join(MODELS)}"
        )
    return spec
