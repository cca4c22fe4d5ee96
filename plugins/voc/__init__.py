"""Pascal VOC: XML boxes + SegmentationClass/SegmentationObject palette PNGs, export and import
(plugins.voc.export, plugins.voc.importer; formats.md section 5)."""
from __future__ import annotations

from app.core.formats.api import Format
from app.extensions.api import Plugin
from plugins.voc.export import VocExporter
from plugins.voc.importer import VocImporter

VOC = Format(id="voc", title="Pascal VOC", exporter=VocExporter(), importer=VocImporter())

plugin = Plugin(id="voc", title="Pascal VOC", version="1.0",
                description="Pascal VOC folders: Annotations/*.xml, SegmentationClass/ and SegmentationObject/ PNGs.",
                formats=(VOC,))
