"""Window extensions: features that add their own docks, overlays and actions to the main window
without the window knowing them. Each installer takes the wired MainWindow and returns an object
with ``shutdown()`` (called before the window stores pending accepts and closes the project).
Add a feature by adding its installer to UI_EXTENSIONS (a plain tuple: one line per feature).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)


class UiExtension(Protocol):
    """What an installer returns."""

    def shutdown(self) -> None:
        """Stop the extension's threads; its pending work is finished first."""


def _text_prompts(window: Any) -> UiExtension:
    from app.ui.text_prompt import install_text_prompts

    return install_text_prompts(window)


def _everything(window: Any) -> UiExtension:
    from app.ui.everything import install_everything

    return install_everything(window)


def _batch_autolabel(window: Any) -> UiExtension:
    from app.ui.batch_ui import install_batch

    return install_batch(window)


def _polygon_density(window: Any) -> UiExtension:
    from app.ui.polygon_density import install_polygon_density

    return install_polygon_density(window)


def _folder_watch(window: Any) -> UiExtension:
    from app.ui.folder_watch import install_folder_watch

    return install_folder_watch(window)


UI_EXTENSIONS: tuple[Callable[[Any], UiExtension], ...] = (
    _text_prompts,
    _everything,
    _batch_autolabel,
    _polygon_density,
    _folder_watch,
)


def install_ui_extensions(window: Any) -> list[UiExtension]:
    """Install every extension into ``window``; returns them (for ``shutdown_ui_extensions``)."""
    return [install(window) for install in UI_EXTENSIONS]


def shutdown_ui_extensions(extensions: list[UiExtension]) -> None:
    """Shut every extension down (an exception is logged, never stops the others)."""
    for ext in extensions:
        try:
            ext.shutdown()
        except Exception:  # noqa: BLE001 - closing the window must go on
            log.exception("a window extension failed to shut down")
