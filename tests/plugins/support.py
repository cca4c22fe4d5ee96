"""A project with every kind of annotation the plugin formats must carry, and helpers to compare
projects after a round trip."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.core.geometry import annotation_mask, parts_to_mask
from app.core.model import Annotation, Part
from app.core.project import Project
from app.core.shapes import circle_parts, rectangle_parts
from tests.core.formats_support import H, W, Scenes, build_project

RECT = ((5.0, 30.0), (20.0, 41.0))
FLOAT_POLY = Part(exterior=((30.25, 2.5), (44.75, 6.0), (37.5, 16.75)))


def rich_project(root: Path) -> tuple[Project, Scenes]:
    """tests.core.formats_support.build_project (masks with holes, multi-part, 1-4 px objects,
    a manual polygon) plus on sub/b.jpg a rectangle with attributes and flags, a float polygon
    with a description, a circle and a line (no area). Scenes list the area annotations."""
    project, scenes = build_project(root)
    img = project.image_by_path("sub/b.jpg")
    box = project.label_by_name("box").id
    dot = project.label_by_name("dot").id
    z = 10
    project.add_annotation(Annotation(image_id=img.id, label_id=box, parts=rectangle_parts(*RECT), z=z,
                                      shape="rectangle", points=RECT, attributes={"colour": "red", "n": 3},
                                      flags={"occluded": True}, description="a box"))
    project.add_annotation(Annotation(image_id=img.id, label_id=dot, parts=(FLOAT_POLY,), z=z + 1,
                                      description="float vertices"))
    circle = ((52.0, 10.0), (52.0, 15.0))
    project.add_annotation(Annotation(image_id=img.id, label_id=dot, parts=circle_parts(*circle), z=z + 2,
                                      shape="circle", points=circle))
    project.add_annotation(Annotation(image_id=img.id, label_id=dot, parts=(), z=z + 3, shape="line",
                                      points=((1.0, 1.0), (9.0, 4.0))))
    scenes["sub/b.jpg"] = scenes["sub/b.jpg"] + [
        ("box", parts_to_mask(rectangle_parts(*RECT), H, W)),
        ("dot", parts_to_mask((FLOAT_POLY,), H, W)),
        ("dot", parts_to_mask(circle_parts(*circle), H, W)),
    ]
    return project, scenes


def masks_of(project: Project, rel_suffix: str) -> list[tuple[str, np.ndarray, Annotation]]:
    """(label, mask, annotation) of the area annotations of the image whose path ends with
    ``rel_suffix``, bottom-first."""
    recs = [r for r in project.images() if r.path.endswith(rel_suffix)]
    assert len(recs) == 1, [r.path for r in project.images()]
    rec = recs[0]
    out = []
    for a in sorted(project.annotations(rec.id), key=lambda a: a.z):
        if a.has_area:
            out.append((project.label_class(a.label_id).name, annotation_mask(a, rec.height, rec.width), a))
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union
