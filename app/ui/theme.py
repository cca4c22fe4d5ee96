"""Dark and light themes: a Fusion palette plus `resources/styles/<theme>.qss`, switchable at run time.

`apply_theme(app, "dark" | "light")` sets both and remembers the theme; `icon_color()` is the colour of
the monochrome menu/toolbar glyphs for it. The canvas keeps its dark background in both themes
(images and masks read better on dark surroundings). Widgets that need a theme-dependent look use
object names and the style sheets, not inline colours.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption, QWidget

from app.resource_files import resource

THEMES: tuple[str, ...] = ("dark", "light")
DEFAULT_THEME = "dark"
ICON_COLORS = {"dark": "#d0d0d0", "light": "#3c4043"}

BASE_STYLE = "Fusion"

_current = {"theme": DEFAULT_THEME}


def dark_palette() -> QPalette:
    """A high-contrast dark palette for the Fusion style."""
    p = QPalette()
    base, window, text = QColor("#1e1f22"), QColor("#2b2d30"), QColor("#e6e6e6")
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: QColor("#383a3e"), QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text, QPalette.ColorRole.Button: QColor("#35373b"),
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.BrightText: QColor("#ff5252"),
        QPalette.ColorRole.Highlight: QColor("#2f7fd1"), QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#64b5f6"), QPalette.ColorRole.PlaceholderText: QColor("#9a9a9a"),
        QPalette.ColorRole.Mid: QColor("#8a8a8a"),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return p


def light_palette() -> QPalette:
    """A light palette for the Fusion style (neutral greys, the same blue highlight as the dark theme)."""
    p = QPalette()
    base, window, text = QColor("#ffffff"), QColor("#f0f1f3"), QColor("#1f2023")
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: QColor("#f6f7f9"),
        QPalette.ColorRole.ToolTipBase: QColor("#ffffe8"), QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text, QPalette.ColorRole.Button: QColor("#e7e8eb"),
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.BrightText: QColor("#d32f2f"),
        QPalette.ColorRole.Highlight: QColor("#2f7fd1"), QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#1565c0"), QPalette.ColorRole.PlaceholderText: QColor("#7a7a7a"),
        QPalette.ColorRole.Mid: QColor("#9a9a9a"),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#a0a0a0"))
    return p


class VisibleIndicatorStyle(QProxyStyle):
    """Fusion with a border around check box indicators in the palette's Mid colour. Fusion draws
    that border in the window colour darkened by 40 %, which in the dark palette is the base colour
    itself: an unchecked box (a hidden label class in the labels dock) could not be seen."""

    def __init__(self) -> None:
        super().__init__(BASE_STYLE)  # (a style key, not text on screen)

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption,  # noqa: N802 - Qt API
                      painter: QPainter, widget: QWidget | None = None) -> None:
        super().drawPrimitive(element, option, painter, widget)
        if element in (QStyle.PrimitiveElement.PE_IndicatorCheckBox,
                       QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck):
            painter.save()
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Mid), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(option.rect.adjusted(0, 0, -1, -1))
            painter.restore()


def normalize_theme(name: str | None) -> str:
    """`name` when it is a theme, else the default."""
    return name if name in THEMES else DEFAULT_THEME


def style_sheet(name: str) -> str:
    """The style sheet text of a theme ("" when its file is missing: the palette alone still works)."""
    try:
        return resource("styles", f"{normalize_theme(name)}.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


def apply_theme(app: QApplication, name: str | None) -> str:
    """Give `app` the palette and style sheet of theme `name` (unknown: the default); returns the theme."""
    theme = normalize_theme(name)
    app.setStyle(VisibleIndicatorStyle())
    app.setPalette(dark_palette() if theme == "dark" else light_palette())
    app.setStyleSheet(style_sheet(theme))
    _current["theme"] = theme
    return theme


def current_theme() -> str:
    """The theme applied last."""
    return _current["theme"]


def icon_color(theme: str | None = None) -> str:
    """Colour of monochrome glyph icons in `theme` (default: the current one)."""
    return ICON_COLORS[normalize_theme(theme or current_theme())]


def app_icon() -> QIcon:
    """The application icon from resources/icons (every PNG size plus the SVG; empty when missing)."""
    icon = QIcon()
    try:
        folder = resource("icons")
    except FileNotFoundError:
        return icon
    for png in sorted((folder / "png").glob("sam-labeler-*.png")):
        icon.addFile(str(png))
    svg = folder / "sam-labeler.svg"
    if svg.exists():
        icon.addFile(str(svg))
    return icon
