"""Ultralytics YOLO datasets: ``yolo-seg`` (polygon rows) and ``yolo-det`` (box rows), export and
import (plugins.yolo.export, plugins.yolo.importer; formats.md section 4)."""
from __future__ import annotations

from app.core.formats.api import Format
from app.extensions.api import Plugin
from plugins.yolo.export import YoloExporter
from plugins.yolo.importer import YoloImporter

YOLO_SEG = Format(id="yolo-seg", title="YOLO segmentation (Ultralytics)",
                  exporter=YoloExporter("segment"), importer=YoloImporter("segment"))
YOLO_DET = Format(id="yolo-det", title="YOLO detection (Ultralytics)",
                  exporter=YoloExporter("detect"), importer=YoloImporter("detect"))

plugin = Plugin(id="yolo", title="Ultralytics YOLO", version="1.0",
                description="YOLO segmentation and detection datasets (data.yaml, images/, labels/).",
                formats=(YOLO_SEG, YOLO_DET))
