"""View features of the labeling day (issue 13), wired into the main window by one call:

* Display dock (app.ui.docks.display_dock): mask opacity, outline only, hide / show all, image
  brightness / contrast / gamma with reset — view only, with keys;
* Labels dock: per-label counts (this image / whole project), visibility per label, filter field;
* status bar: image index / total, image size and zoom (cursor, model and device were there).

Nothing here changes a project: counts are read, visibility and display settings are view state.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Qt

from app.ui.docks.display_dock import DisplayDock


class ViewFeatures(QObject):
    """Holds the display dock and keeps the label counts and status fields current."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.display_dock = DisplayDock(window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.display_dock)
        window.tabifyDockWidget(window.annotations_dock, self.display_dock)
        window.annotations_dock.raise_()
        self._project_counts: dict[int, int] = {}
        self._counted_project: object = None
        self._zoom: float | None = None
        self._wire()

    def _wire(self) -> None:
        w, act, dock, labels = self.window, self.window.registry.action, self.display_dock, self.window.labels_dock
        keys: dict[str, Callable[[], Any]] = {
            "toggle_masks": dock.toggle_masks, "outline_mode": dock.toggle_outline,
            "opacity_up": lambda: dock.step_opacity(+1), "opacity_down": lambda: dock.step_opacity(-1),
            "display_panel": dock.focus_controls, "display_reset": dock.reset_image,
            "add_label": labels.ask_add, "filter_labels": labels.focus_filter,
        }
        for action_id, fn in keys.items():
            act(action_id).triggered.connect(lambda _c=False, fn=fn: fn())
        dock.changed.connect(w.canvas.set_display)
        labels.hiddenLabelsChanged.connect(w.controller.set_hidden_labels)
        add_keys = act("add_label").shortcut().toString()
        labels.set_add_key(add_keys)
        act("add_label").changed.connect(lambda: labels.set_add_key(act("add_label").shortcut().toString()))
        c = w.controller
        c.annotationsChanged.connect(self.refresh_counts)
        c.labelChanged.connect(lambda _id: self.refresh_counts())
        w.undo.projectChanged.connect(lambda _e: self._invalidate_counts())
        c.imageChanged.connect(self._on_image_changed)
        c.imageShown.connect(lambda _rec: self._render_image_info())
        w.canvas.zoomChanged.connect(self._on_zoom)
        menu = getattr(w, "view_menu", None)
        if menu is not None:
            menu.addSeparator()
            for action_id in ("toggle_masks", "outline_mode", "opacity_up", "opacity_down", "display_panel",
                              "display_reset"):
                menu.addAction(act(action_id))
            menu.addAction(dock.toggleViewAction())

    # ------------------------------------------------------------------ counts
    def _invalidate_counts(self) -> None:
        self._counted_project = None  # the controller may have redrawn before this slot ran: count again
        self.refresh_counts()

    def refresh_counts(self) -> None:
        """Counts of the current image (from the controller's memo) and of the project (one indexed
        GROUP BY, repeated only after an edit or a project switch)."""
        w = self.window
        project = w.project
        if project is None:
            w.labels_dock.set_counts({}, {})
            return
        if self._counted_project is not project:
            self._project_counts = project.label_counts()
            self._counted_project = project
        on_image: dict[int, int] = {}
        for ann in w.controller.annotations():
            on_image[ann.label_id] = on_image.get(ann.label_id, 0) + 1
        w.labels_dock.set_counts(on_image, self._project_counts)

    # ------------------------------------------------------------------ status bar
    def _on_image_changed(self, rec: Any) -> None:
        w = self.window
        if rec is None:
            w.status.set_position(-1, 0)
            w.status.set_image_info(None, None)
            return
        w.status.set_position(w.controller.row, w.images_dock.model.rowCount())
        self._render_image_info()

    def _on_zoom(self, scale: float) -> None:
        self._zoom = scale
        self._render_image_info()

    def _render_image_info(self) -> None:
        w = self.window
        size = w.canvas.image_size()
        if size is None and w.controller.image is not None and w.controller.image.width > 0:
            size = (w.controller.image.width, w.controller.image.height)  # known before the pixels arrive
        w.status.set_image_info(size, self._zoom if w.canvas.has_image() else None)


def install_view_features(window: Any) -> ViewFeatures:
    """Create and wire the view features (called once by the main window)."""
    return ViewFeatures(window)
