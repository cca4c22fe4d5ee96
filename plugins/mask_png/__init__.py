"""Mask PNGs: semantic (palette PNG, class per pixel) or instance (16-bit PNG, id per pixel) with a
class mapping, export and import (plugins.mask_png.export, plugins.mask_png.importer)."""
from __future__ import annotations

from app.core.formats.api import Format
from app.extensions.api import Plugin
from plugins.mask_png.export import MaskPngExporter
from plugins.mask_png.importer import MaskPngImporter

MASK_PNG = Format(id="mask-png", title="Mask PNG", exporter=MaskPngExporter(), importer=MaskPngImporter())

plugin = Plugin(id="mask_png", title="Mask PNG", version="1.0",
                description="Semantic (class per pixel) and instance (id per pixel) mask PNGs with a class mapping.",
                formats=(MASK_PNG,))
