"""Storing masks propagated through a frame sequence as proposals (Qt-free, no model imports).

A project whose images are frames (a folder of numbered images, or frames decoded from a video) is a
*sequence* in the natural order of the image paths ("f9.png" before "f10.png"). Propagation starts
from annotations on an anchor frame; each becomes an *object* whose id is the annotation's group id
(a new group id is given to an anchor without one). Each propagated frame is stored in ONE
transaction: the frame's earlier ``source="propagated"`` annotations of those objects are replaced;
an object that has any other annotation on that frame (drawn, accepted or edited by a person) keeps
it, and gets no proposal there. Propagating again from an edited frame therefore re-anchors from it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from app.core.outline import outline_of_mask
from app.core.geometry import mask_to_parts
from app.core.model import Annotation, ImageRecord
from app.core.project import Project
from app.core.rle import mask_to_rle

PROPAGATED = "propagated"
_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str) -> tuple:
    """Sort key that orders embedded numbers by value ("f9" < "f10")."""
    return tuple(int(p) if p.isdigit() else p.lower() for p in _DIGITS.split(path))


def sequence_images(project: Project) -> list[ImageRecord]:
    """The project's images as a frame sequence (natural order of their paths)."""
    return sorted(project.images(), key=lambda rec: natural_key(rec.path))


def find_frame(frames: list[ImageRecord], ref: str) -> int:
    """Index in ``frames`` of the image named by ``ref``: its project path, its file name (when unique),
    "#ID" (image id) or a 0-based frame number "@N". ValueError (one sentence) otherwise."""
    text = ref.strip()
    if text.startswith("#") and text[1:].isdigit():
        for i, rec in enumerate(frames):
            if rec.id == int(text[1:]):
                return i
        raise ValueError(f"the project has no image with id {text[1:]}")
    if text.startswith("@") and text[1:].isdigit():
        n = int(text[1:])
        if n >= len(frames):
            raise ValueError(f"frame {n} does not exist: the sequence has {len(frames)} frames")
        return n
    norm = text.replace("\\", "/").lstrip("./")
    exact = [i for i, rec in enumerate(frames) if rec.path == norm or rec.path.endswith("/" + norm)]
    if len(exact) == 1:
        return exact[0]
    named = [i for i, rec in enumerate(frames) if rec.path.rsplit("/", 1)[-1] == norm.rsplit("/", 1)[-1]]
    if len(named) == 1:
        return named[0]
    if len(exact) > 1 or len(named) > 1:
        raise ValueError(f"{ref!r} names several images: give its path as listed by `sam-labeler scan`")
    raise ValueError(f"the project has no image {ref!r}")


@dataclass(frozen=True)
class TrackedObject:
    """An object to propagate: its id (= group id), the anchor annotation, and its label."""

    object_id: int
    annotation: Annotation
    label_id: int


def anchor_objects(project: Project, image_id: int, annotation_ids: Iterable[int] | None = None) -> list[TrackedObject]:
    """The objects of the anchor frame: the given annotations (default: every annotation with an area),
    each with a group id; anchors without one get fresh group ids (one transaction).
    ValueError when an id is not an area annotation of that image, or nothing is left."""
    anns = [a for a in project.annotations(image_id) if a.has_area]
    if annotation_ids is not None:
        wanted = list(dict.fromkeys(int(i) for i in annotation_ids))
        by_id = {a.id: a for a in anns}
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise ValueError(f"annotation(s) {', '.join(map(str, unknown))} are not area annotations of this frame")
        anns = [by_id[i] for i in wanted]
    if not anns:
        raise ValueError("the anchor frame has no annotation with an area to propagate")
    used = {a.group_id for a in anns if a.group_id is not None}
    if len(used) != sum(a.group_id is not None for a in anns):
        raise ValueError("two anchor annotations share a group id: each object needs its own")
    next_id = _max_group_id(project) + 1
    out: list[TrackedObject] = []
    with project.transaction():
        for a in anns:
            group = a.group_id
            if group is None:
                group = next_id
                a = a.with_(group_id=group)
                next_id += 1
                project.update_annotation(a, touch=False)
            out.append(TrackedObject(int(group), a, a.label_id))
    return out


def _max_group_id(project: Project) -> int:
    row = project.conn.execute("SELECT MAX(group_id) FROM annotation").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def prepare_frame(image_id: int, masks: dict[int, np.ndarray], scores: dict[int, float],
                  labels: dict[int, int]) -> list[Annotation]:
    """The proposals of one frame (geometry, exact RLE and outline computed; no project
    access, so a worker thread can do it): object id -> bool (H, W) mask, score, label id."""
    prepared = []
    for obj_id, mask in masks.items():
        m = np.asarray(mask, dtype=bool)
        parts = mask_to_parts(m)
        if not parts:
            continue
        rle = mask_to_rle(m)
        prepared.append(Annotation(
            image_id=image_id, label_id=labels[obj_id], parts=parts, rle=rle, group_id=int(obj_id),
            source=PROPAGATED, score=float(scores.get(obj_id, 0.0)), shape="mask",
            outline=outline_of_mask(m, rle)))
    return prepared


def write_frame(project: Project, image_id: int, prepared: list[Annotation], objects: Iterable[int]) -> int:
    """Replace the frame's earlier proposals of ``objects`` by ``prepared`` in ONE transaction (objects
    with an annotation made by a person on this frame keep it and get no proposal); how many written."""
    touched = {int(i) for i in objects}
    written = 0
    with project.transaction():
        existing = project.annotations(image_id)
        kept_by_person = {a.group_id for a in existing if a.group_id in touched and a.source != PROPAGATED}
        for a in existing:
            if a.group_id in touched and a.source == PROPAGATED and a.id is not None:
                project.delete_annotation(a.id)
        for ann in prepared:
            if ann.group_id in kept_by_person:
                continue
            project.add_annotation(ann)
            written += 1
    return written


def store_frame(project: Project, image_id: int, masks: dict[int, np.ndarray], scores: dict[int, float],
                labels: dict[int, int], stopped: Iterable[int] = ()) -> int:
    """prepare_frame + write_frame: returns how many proposals were written. ``stopped``: objects that
    left the frame (their earlier proposals on this frame are removed)."""
    prepared = prepare_frame(image_id, masks, scores, labels)
    return write_frame(project, image_id, prepared, [*masks, *stopped])
