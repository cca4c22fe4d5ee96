"""The "to review" state of images labelled by a batch run (Qt-free).

A batch run (app.automation.batch) writes a done mark per mode into the image extra:
``extra["autolabel"][mode] = {"settings": ..., "annotations": n, "time": t}``. An image needs review
while a mark that stored annotations has not been reviewed; ``mark_reviewed`` adds
``"reviewed": time`` to every mark. A new run of a mode (``--redo``, other settings) writes a fresh
mark, so the image needs review again. The images list shows the state; marking the image done
(or an explicit "reviewed" action) clears it.
"""
from __future__ import annotations

import time
from collections.abc import Mapping

from app.automation.batch import MARK_KEY
from app.core.project import Project


def _marks(extra: Mapping) -> dict:
    marks = extra.get(MARK_KEY) if isinstance(extra, Mapping) else None
    return marks if isinstance(marks, dict) else {}


def review_modes(extra: Mapping) -> list[str]:
    """The modes whose annotations on this image wait for review (in mark order)."""
    return [mode for mode, mark in _marks(extra).items()
            if isinstance(mark, dict) and int(mark.get("annotations") or 0) > 0 and not mark.get("reviewed")]


def needs_review(extra: Mapping) -> bool:
    """The image holds batch annotations nobody has reviewed yet."""
    return bool(review_modes(extra))


def mark_reviewed(extra: Mapping, when: float | None = None) -> dict:
    """A copy of ``extra`` whose batch marks are all reviewed (at ``when``, default now); other keys
    are kept as they are. Unchanged (a copy) when nothing waits for review."""
    out = dict(extra)
    marks = _marks(extra)
    if not marks:
        return out
    stamp = round(time.time() if when is None else float(when), 3)
    out[MARK_KEY] = {mode: ({**mark, "reviewed": mark.get("reviewed") or stamp} if isinstance(mark, dict) else mark)
                     for mode, mark in marks.items()}
    return out


def set_reviewed(project: Project, image_id: int, when: float | None = None) -> bool:
    """Mark image ``image_id`` reviewed in the project (one transaction); False when it did not need it."""
    rec = project.image(image_id)
    if not needs_review(rec.extra):
        return False
    with project.transaction():
        project.set_image_extra(image_id, mark_reviewed(rec.extra, when))
    return True
