"""Polygon density (issue 13), wired into the main window by one call:

* a control beside the candidate strip: "Auto" (the IoU-bounded default) or a simplification
  tolerance in px (0 = the exact pixel outline), kept in the user settings, stepped with keys
  (density_coarser / density_finer, remappable, listed in F1);
* a live preview while a candidate is shown: the outline accepting it would store, drawn over it,
  and its vertex count, recomputed (off the GUI thread, coalesced) when the candidate or the
  density changes;
* accepting stores the outline at the chosen density (the mask, RLE, stays exact);
* "Re-simplify polygons" recomputes the polygons of the selected annotation (or of every annotation
  of the image when none is selected) from their exact masks at the current density: one undo step.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.core import edits
from app.core.density import MAX_TOLERANCE, Tolerance, check_tolerance, step_tolerance, vertex_count
from app.core.model import Annotation
from app.core.project_base import NotFoundError
from app.services.geometry_work import OutlinePreview, Resimplified, resimplify
from app.services.polygon_preview import PolygonPreviewService, PreviewResult
from app.ui.canvas.outline_preview import OutlinePreviewItem

translate = QCoreApplication.translate
SETTINGS_KEY = "polygon_tolerance"  # None (Auto) or px
PREVIEW_DELAY_MS = 200  # a candidate is previewed once it has been shown this long (see `refresh`)
PREVIEW_Z = 1001.5  # above the candidate overlay (app.ui.canvas.view.OVERLAY_Z) and the pending masks
_AUTO_VALUE = -0.5  # the spin box's minimum, shown as "Auto"


def stored_tolerance(settings: Any) -> Tolerance:
    """The density kept in the user settings (Auto when absent or not valid)."""
    try:
        return check_tolerance(settings.get(SETTINGS_KEY, None))
    except ValueError:
        return None


class DensityControl(QWidget):
    """"Polygon density" spin box (Auto, 0 .. 50 px) and the preview's vertex count."""

    toleranceChanged = Signal(object)  # Tolerance

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 0, 4, 0)
        lay.setSpacing(2)
        title = QLabel(self.tr("Polygon density"), self)
        self.spin = QDoubleSpinBox(self)
        self.spin.setObjectName("polygonDensity")
        self.spin.setRange(_AUTO_VALUE, MAX_TOLERANCE)
        self.spin.setDecimals(1)
        self.spin.setSingleStep(0.5)
        self.spin.setSuffix(self.tr(" px"))
        self.spin.setSpecialValueText(self.tr("Auto"))
        self.spin.setValue(_AUTO_VALUE)
        self.spin.setKeyboardTracking(False)  # typed values count on Enter / focus out; arrows at once
        tip = self.tr("How closely the stored polygons follow the mask: Auto keeps 98% overlap with few vertices, 0 px is the exact pixel outline, larger values give fewer vertices. The mask itself is kept exact.")  # noqa: E501
        self.spin.setToolTip(tip)
        self.vertices = QLabel("–", self)
        row = QHBoxLayout()
        row.addWidget(self.spin)
        lay.addWidget(title)
        lay.addLayout(row)
        lay.addWidget(self.vertices)
        self.spin.valueChanged.connect(lambda _v: self.toleranceChanged.emit(self.tolerance()))

    def tolerance(self) -> Tolerance:
        """The chosen density: None for Auto, else px."""
        value = self.spin.value()
        return None if value <= _AUTO_VALUE else round(float(value), 2)

    def set_tolerance(self, tolerance: Tolerance) -> None:
        """Show `tolerance` (emits toleranceChanged when it changes)."""
        self.spin.setValue(_AUTO_VALUE if tolerance is None else float(tolerance))

    def set_vertices(self, count: int | None) -> None:
        """The preview's vertex count (None: no candidate; -1: being computed)."""
        if count is None:
            self.vertices.setText("–")
        elif count < 0:
            self.vertices.setText(self.tr("computing…"))
        else:
            self.vertices.setText(self.tr("{n} vertices").format(n=count))


class PolygonDensity(QObject):
    """The density control, the live preview and the re-simplify command (see module docstring)."""

    _resimplified = Signal(object)  # (Future, (tolerance, project, annotations before)), executor thread

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        c = window.controller
        self.control = DensityControl(window.strip)
        window.strip.layout().addWidget(self.control)
        self.preview = PolygonPreviewService(c.geometry, self)
        self.item = OutlinePreviewItem()
        self.item.setZValue(PREVIEW_Z)
        self.item.setVisible(False)
        window.canvas.scene().addItem(self.item)
        self._serial = -1
        self._shown: OutlinePreview | None = None
        # The preview waits until a candidate has stayed PREVIEW_DELAY_MS: computed at once for every
        # candidate it took the CPU from the next decode and the next image's encode (measured with
        # bench_gui.py, 1600x1200 mobile_sam: prompt -> overlay median 50 -> 62 ms, cold switch ->
        # overlay 723 -> 915-1006 ms); a person refining with quick clicks needs the outline once.
        self._delay = QTimer(self)
        self._delay.setSingleShot(True)
        self._delay.setInterval(PREVIEW_DELAY_MS)
        self._delay.timeout.connect(self._request)
        self.control.set_tolerance(stored_tolerance(window.settings))
        c.polygon_tolerance = self.control.tolerance()
        self.control.toleranceChanged.connect(self._on_tolerance)
        self.preview.ready.connect(self._on_preview)
        c.candidatesChanged.connect(lambda _p, _k: self.refresh())
        c.imageChanged.connect(lambda _rec: self.refresh())
        self._resimplified.connect(self._on_resimplified, Qt.ConnectionType.QueuedConnection)
        act = window.registry.action
        act("density_coarser").triggered.connect(lambda _c=False: self.step(+1))
        act("density_finer").triggered.connect(lambda _c=False: self.step(-1))
        act("resimplify").triggered.connect(lambda _c=False: self.resimplify())
        edit_menu = getattr(window, "edit_menu", None)
        if edit_menu is not None:
            edit_menu.addSeparator()
            for action_id in ("density_coarser", "density_finer", "resimplify"):
                edit_menu.addAction(act(action_id))

    def shutdown(self) -> None:
        """Drop the preview being computed (the window stops the accept worker itself)."""
        self.preview.cancel()

    # ------------------------------------------------------------------ density
    def tolerance(self) -> Tolerance:
        """The current polygon density (None: Auto)."""
        return self.control.tolerance()

    def step(self, direction: int) -> None:
        """One step coarser (+1) or finer (-1) on the ladder Auto, 0, 0.5, 1, 1.5, 2, 3, 5, 10 px."""
        self.control.set_tolerance(step_tolerance(self.tolerance(), direction))

    def _on_tolerance(self, tolerance: Tolerance) -> None:
        self.window.controller.polygon_tolerance = tolerance
        self.window.settings.set(SETTINGS_KEY, tolerance)
        text = self.tr("Polygon density: Auto") if tolerance is None else self.tr(
            "Polygon density: {tol} px").format(tol=f"{tolerance:g}")
        self.window.status.show_message(text)
        self.refresh()

    # ------------------------------------------------------------------ preview
    def refresh(self) -> None:
        """Preview the shown candidate at the current density once it has been shown PREVIEW_DELAY_MS
        (or hide the preview). The outline of another candidate or density is hidden meanwhile."""
        mask = self._mask()
        self.preview.cancel()
        self._serial = -1
        self.item.clear()
        self._shown = None
        if mask is None:
            self._delay.stop()
            self.control.set_vertices(None)
            return
        self.control.set_vertices(-1)
        self._delay.start()

    def _mask(self) -> Any:
        c = self.window.controller
        mask = None if c.prediction is None or c.candidate < 0 else c.prediction.masks[c.candidate]
        return mask if mask is not None and mask.any() else None

    def _request(self) -> None:
        mask = self._mask()
        if mask is not None:
            self._serial = self.preview.request(mask, self.tolerance())

    def _on_preview(self, result: PreviewResult) -> None:
        if result.serial != self._serial:
            return
        self._shown = result.outline
        self.item.set_outline(result.outline.lines, result.outline.dots)
        self.control.set_vertices(result.outline.vertices)

    def preview_vertices(self) -> int | None:
        """The vertex count of the outline previewed now (None when none is shown)."""
        return self._shown.vertices if self._shown is not None and self.item.isVisible() else None

    # ------------------------------------------------------------------ re-simplify
    def _say(self, text: str) -> None:
        self.window.status.show_message(text)

    def resimplify(self) -> None:
        """Recompute the polygons of the selected annotation (all of this image when none is
        selected) from their exact masks at the current density; pushed as one undo step."""
        w, c = self.window, self.window.controller
        if w.project is None or c.image is None:
            self._say(translate("PolygonDensity", "Open an image first."))
            return
        if w.project.read_only:
            self._say(translate("PolygonDensity", "The project is open read-only."))
            return
        anns = c.annotations()
        chosen = [a for a in anns if a.id == c.selected] if c.selected is not None else anns
        masks = [a for a in chosen if a.id is not None and a.rle is not None and a.shape in ("", "mask")]
        if not masks:
            self._say(translate("PolygonDensity", "Nothing to re-simplify: only annotations stored with a mask have one to recompute their polygons from."))  # noqa: E501
            return
        items = tuple((int(a.id), a.rle) for a in masks if a.id is not None and a.rle is not None)
        try:
            future = c.geometry.submit_work(resimplify, items, self.tolerance())
        except RuntimeError:
            return
        self._say(translate("PolygonDensity", "Re-simplifying {n} annotation(s)…").format(n=len(items)))
        payload = (self.tolerance(), w.project, {a.id: a for a in masks})
        future.add_done_callback(lambda f: self._emit_resimplified(f, payload))

    def _emit_resimplified(self, future: Future, payload: tuple) -> None:
        with contextlib.suppress(RuntimeError):  # deleted meanwhile (application exit)
            self._resimplified.emit((future, payload))

    def _on_resimplified(self, done: tuple) -> None:
        future, (tolerance, project, before) = done
        w, c = self.window, self.window.controller
        if project is not w.project or w.project is None or future.cancelled():
            return
        if future.exception() is not None:
            self._say(translate("PolygonDensity", "The polygons could not be recomputed: {reason}").format(
                reason=future.exception()))
            return
        results: list[Resimplified] = future.result()
        c.after_accepts(lambda: self._push(results, before, tolerance))

    def _push(self, results: list[Resimplified], before: dict[int, Annotation], tolerance: Tolerance) -> None:
        w = self.window
        steps: list[edits.Edit] = []
        old_vertices = new_vertices = 0
        for r in results:
            try:
                now = w.project.annotation(r.annotation_id)
            except NotFoundError:
                continue  # deleted meanwhile
            if now.rle != r.rle or now.rle != before[r.annotation_id].rle:
                continue  # its mask changed meanwhile: the new polygons would not be its outline
            old_vertices += vertex_count(now.parts)
            new_vertices += vertex_count(r.parts)
            steps.append(edits.SetGeometry(r.annotation_id, r.parts, r.rle, outline=r.outline))
        if not steps:
            self._say(translate("PolygonDensity", "Nothing was re-simplified: the annotations changed meanwhile."))
            return
        edit = edits.CompoundEdit(translate("PolygonDensity", "Re-simplify polygons"), steps)
        if w.undo.push(edit):
            density = translate("PolygonDensity", "Auto") if tolerance is None else f"{tolerance:g} px"
            text = translate("PolygonDensity", "Re-simplified {n} annotation(s) at {density}: {old} → {new} vertices.")
            self._say(text.format(n=len(steps), density=density, old=old_vertices, new=new_vertices))


def install_polygon_density(window: Any) -> PolygonDensity:
    """Create and wire the polygon density control, preview and command (called once by the window)."""
    return PolygonDensity(window)
