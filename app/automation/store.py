"""Proposals -> stored annotations (Qt-free): the batch CLI stores them directly; the GUI builds the
same edit from masks converted off its thread and pushes it on the undo stack (one step).

An annotation made from a proposal has source "auto" (unless told otherwise), the proposal's score,
its extra (e.g. {"automation": "text", "phrase": "cat", "box": [...], "detector_score": 0.71}) and
the label class its label names (created when missing; see app.core.proposal_edits).
"""
from __future__ import annotations

from collections.abc import Sequence

from app.automation.api import Proposal
from app.core import codec
from app.core.mask_convert import ConvertedMask, convert_rle
from app.core.model import Annotation
from app.core.project import Project
from app.core.proposal_edits import AddLabelledAnnotations, LabelledAnnotation

DEFAULT_LABEL = "object"


def next_z(project: Project, image_id: int) -> int:
    """The drawing order above every annotation of the image."""
    return max([a.z for a in project.annotations(image_id)], default=0) + 1


def convert_proposal(proposal: Proposal) -> ConvertedMask | None:
    """Polygons, exact RLE and outline of a mask proposal (None for a vector proposal); decodes
    only the mask's bounding box (convert_rle: the result of convert_mask on the whole mask)."""
    if proposal.rle is None:
        return None
    return convert_rle(proposal.rle)


def labelled_annotations(proposals: Sequence[Proposal], image_id: int, *, z_start: int,
                         converted: Sequence[ConvertedMask | None] | None = None, default_label: str = DEFAULT_LABEL,
                         source: str = "auto") -> list[LabelledAnnotation]:
    """(label name, annotation) for each proposal, in order, z increasing from ``z_start``.

    converted: each mask proposal's conversion when already done (the GUI does it off its thread);
    None converts here. Proposals whose mask is empty are left out.
    """
    if converted is None:
        converted = [convert_proposal(p) for p in proposals]
    if len(converted) != len(proposals):
        raise ValueError(f"{len(converted)} conversions for {len(proposals)} proposals.")
    out: list[LabelledAnnotation] = []
    z = int(z_start)
    for prop, conv in zip(proposals, converted):
        name = prop.label if prop.label else default_label
        if prop.rle is not None:
            if conv is None or conv.geometry is None or conv.rle is None:
                continue  # an empty mask
            ann = Annotation(image_id, 0, codec.decode_parts(conv.geometry), conv.rle, group_id=prop.group_id, z=z,
                             source=source, score=prop.score, extra=dict(prop.extra), outline=conv.outline, shape="mask")
        else:
            ann = Annotation(image_id, 0, tuple(prop.parts), None, group_id=prop.group_id, z=z, source=source,
                             score=prop.score, extra=dict(prop.extra), shape=prop.shape, points=tuple(prop.points))
        out.append((name, ann))
        z += 1
    return out


def store_proposals(project: Project, image_id: int, proposals: Sequence[Proposal], *,
                    default_label: str = DEFAULT_LABEL, source: str = "auto",
                    text: str = "Accept proposals") -> AddLabelledAnnotations:
    """Store ``proposals`` on image ``image_id`` as annotations in one transaction; returns the
    applied edit (its ``annotations`` are the stored ones; ``revert`` removes them again)."""
    items = labelled_annotations(proposals, image_id, z_start=next_z(project, image_id),
                                 default_label=default_label, source=source)
    edit = AddLabelledAnnotations(items, text)
    edit.apply(project)
    return edit
