"""CVAT for images 1.1 XML: boxes, polygons, polylines, points, ellipses and masks (CVAT RLE),
attributes, occluded, z_order and labels in <meta>; export and import (plugins.cvat.export,
plugins.cvat.importer)."""
from __future__ import annotations

from app.core.formats.api import Format
from app.extensions.api import Plugin
from plugins.cvat.export import CvatExporter
from plugins.cvat.importer import CvatImporter

CVAT = Format(id="cvat", title="CVAT for images 1.1", exporter=CvatExporter(), importer=CvatImporter())

plugin = Plugin(id="cvat", title="CVAT XML", version="1.0",
                description="CVAT for images 1.1 XML (annotations.xml) with masks as CVAT RLE.",
                formats=(CVAT,))
