"""The "to review" state of auto-labeled images (Qt-free).

A batch run marks each image it labels in its extra: ``extra["autolabel"][MODE] = {"settings": ...,
"annotations": n, "time": t}`` (app.cli.autolabel_cmd; a re-run replaces the mark). Reviewing the
image adds ``"reviewed": time`` to every mark; a later run writes a fresh mark without it, so the
image is to review again. Nothing else in the marks changes (a reviewed image is still "done" for
a re-run with the same settings).
"""
from __future__ import annotations

import time
from collections.abc import Mapping

MARK_KEY = "autolabel"
REVIEWED_KEY = "reviewed"


def _marks(extra: Mapping[str, object]) -> dict[str, object]:
    marks = extra.get(MARK_KEY)
    return dict(marks) if isinstance(marks, dict) else {}


def needs_review(extra: Mapping[str, object]) -> bool:
    """True when an automation labeled the image and nobody has reviewed it since."""
    return any(isinstance(m, dict) and not m.get(REVIEWED_KEY) for m in _marks(extra).values())


def pending_modes(extra: Mapping[str, object]) -> list[str]:
    """The modes whose marks are waiting for review (sorted)."""
    return sorted(k for k, m in _marks(extra).items() if isinstance(m, dict) and not m.get(REVIEWED_KEY))


def mark_reviewed(extra: Mapping[str, object], when: float | None = None) -> dict[str, object]:
    """A copy of ``extra`` with every mark waiting for review marked reviewed at ``when`` (now by
    default); ``extra`` itself is not changed, and other keys are kept as they are."""
    out = dict(extra)
    marks = _marks(extra)
    if not marks:
        return out
    stamp = round(time.time() if when is None else float(when), 3)
    out[MARK_KEY] = {k: (dict(m, **{REVIEWED_KEY: stamp}) if isinstance(m, dict) and not m.get(REVIEWED_KEY) else m)
                     for k, m in marks.items()}
    return out
