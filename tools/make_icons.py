"""Render the icons in resources/icons from their SVG sources: PNG 16…512 (the hicolor theme sizes),
a Windows .ico and a macOS .icns, for the application and for the `.samlabel` document type.

    python tools/make_icons.py          # rewrites resources/icons/png/*.png, *.ico, *.icns

Rendering uses Qt's SVG renderer (QtSvg, part of PySide6-Essentials); .ico and .icns are written by
Pillow. The outputs are committed (the build and `sam-labeler desktop install` need no renderer);
run this after editing an SVG.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
NAMES = ("sam-labeler", "application-x-sam-labeler-project")
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512)  # Pillow writes the retina variants from these


def render(svg: Path, size: int) -> Image.Image:
    """The SVG rendered at size x size pixels (antialiased, transparent background) as a Pillow RGBA image."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return Image.open(io.BytesIO(bytes(data.data()))).convert("RGBA")


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    out = ICONS / "png"
    out.mkdir(exist_ok=True)
    for name in NAMES:
        svg = ICONS / f"{name}.svg"
        images = {size: render(svg, size) for size in PNG_SIZES}
        for size, im in images.items():
            im.save(out / f"{name}-{size}.png", optimize=True)
        big = images[512]
        big.save(ICONS / f"{name}.ico", sizes=[(s, s) for s in ICO_SIZES])
        big.save(ICONS / f"{name}.icns", append_images=[images[s] for s in ICNS_SIZES if s != 512])
        print(f"{name}: {len(images)} PNGs, .ico, .icns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
