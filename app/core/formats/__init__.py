"""Annotation file formats: LabelMe JSON and COCO instance segmentation (export and import).

    from app.core.formats import export_coco, export_labelme, import_coco, import_labelme

Every function takes an open app.core.project.Project, an optional ``progress(done, total)``
callable and an optional ``threading.Event`` that cancels (raising Cancelled). Conventions and the
checks the files pass are in docs formats.md sections 0-2.
"""
from __future__ import annotations

from app.core.formats.coco import COCO_MASK_MODES, export_coco
from app.core.formats.coco_import import import_coco
from app.core.formats.common import Cancelled, ExportReport, ImportReport
from app.core.formats.labelme import LABELME_MASK_MODES, export_labelme
from app.core.formats.labelme_import import import_labelme

__all__ = [
    "COCO_MASK_MODES",
    "LABELME_MASK_MODES",
    "Cancelled",
    "ExportReport",
    "ImportReport",
    "export_coco",
    "export_labelme",
    "import_coco",
    "import_labelme",
]
