"""The main window's size and place: fits the screen it is on (a 1280x800 laptop shows the status bar,
where errors appear), restores the last geometry but never beyond the available screen area (a
geometry saved on a bigger monitor, or a monitor that is gone, is pulled back and shrunk)."""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

PREFERRED_SIZE = QSize(1400, 900)
TITLE_ALLOWANCE = 40  # frame + title bar height assumed before the window manager reports the real one
SCREEN_SHARE = 0.92   # a first start takes at most this share of the available area


def available_area(window: QMainWindow) -> QRect:
    """The available geometry (without panels and docks of the desktop) of the window's screen."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1280, 800)


def place_window(window: QMainWindow, saved: str | None) -> None:
    """Initial geometry: the saved one (base64 of saveGeometry) when valid, else the preferred size
    limited to a share of the screen; then clamped to the available area. Installs a one-time clamp
    after the first show, when the window manager's frame is known."""
    area = available_area(window)
    window.resize(min(PREFERRED_SIZE.width(), int(area.width() * SCREEN_SHARE)),
                  min(PREFERRED_SIZE.height(), int(area.height() * SCREEN_SHARE) - TITLE_ALLOWANCE))
    if saved:
        window.restoreGeometry(QByteArray.fromBase64(saved.encode("ascii")))
    clamp_to_screen(window)
    window.installEventFilter(_ClampOnFirstShow(window))


def clamp_to_screen(window: QMainWindow, area: QRect | None = None) -> None:
    """Shrink and move the window so that its frame lies inside `area` (default: its screen's
    available area). Maximised and full-screen windows are left to the window manager."""
    if window.isMaximized() or window.isFullScreen():
        return
    area = area if area is not None else available_area(window)
    frame, geo = window.frameGeometry(), window.geometry()
    extra_w = frame.width() - geo.width()
    extra_h = frame.height() - geo.height()
    if extra_h <= 0:  # not shown yet: no frame known
        extra_h = TITLE_ALLOWANCE
    minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
    width = max(min(geo.width(), area.width() - extra_w), minimum.width())
    height = max(min(geo.height(), area.height() - extra_h), minimum.height())
    if (width, height) != (geo.width(), geo.height()):
        window.resize(width, height)
    frame_w, frame_h = width + extra_w, height + extra_h
    x = min(max(frame.x(), area.left()), max(area.left(), area.left() + area.width() - frame_w))
    y = min(max(frame.y(), area.top()), max(area.top(), area.top() + area.height() - frame_h))
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)


class _ClampOnFirstShow(QObject):
    """Clamps once more after the first show (real frame margins), then removes itself."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self._window and event.type() == QEvent.Type.Show:
            self._window.removeEventFilter(self)
            clamp_to_screen(self._window)
            self.deleteLater()
        return False
