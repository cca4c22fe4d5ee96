"""ISAT (yatengLG/ISAT_with_segment_anything) JSON, export and import with ISAT's own semantics
(plugins.isat.export, plugins.isat.importer; formats.md section 3)."""
from __future__ import annotations

from app.core.formats.api import Format
from app.extensions.api import Plugin
from plugins.isat.export import IsatExporter
from plugins.isat.importer import IsatImporter

ISAT = Format(id="isat", title="ISAT", exporter=IsatExporter(), importer=IsatImporter())

plugin = Plugin(id="isat", title="ISAT", version="1.0",
                description="ISAT JSON files (one per image) with isat.yaml; holes as __background__ objects.",
                formats=(ISAT,))
