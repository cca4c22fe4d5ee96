"""Display dock: how the masks and the image look (never stored, never seen by the model).

Masks: opacity slider, outline only, show / hide all. Image: brightness, contrast, gamma, reset.
Every control is reachable by keyboard (actions in app.services.actions, Tab inside the dock);
`changed(ImageAdjust, MaskStyle)` tells the canvas.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDockWidget, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QSlider, QVBoxLayout, QWidget)

from app.ui.canvas.display import DEFAULT_OPACITY, ImageAdjust, MaskStyle
from app.ui.dock_scroll import set_scrolling_widget

OPACITY_STEP = 10


def _slider(lo: int, hi: int, value: int, parent: QWidget) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal, parent)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setSingleStep(1)
    s.setPageStep(10)
    return s


class DisplayDock(QDockWidget):
    """Mask and image display controls; `adjust()` / `style()` give the current values."""

    changed = Signal(object, object)  # ImageAdjust, MaskStyle

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Display"), parent)
        self.setObjectName("DisplayDock")
        body = QWidget(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        masks = QGroupBox(self.tr("Masks"), body)
        form = QFormLayout(masks)
        self.opacity = _slider(0, 100, DEFAULT_OPACITY, masks)
        self.opacity.setToolTip(self.tr("Fill opacity of the annotation masks"))
        self.opacity_value = QLabel(masks)
        row = QHBoxLayout()
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_value)
        form.addRow(self.tr("Opacity"), row)
        self.outline_only = QCheckBox(self.tr("Outline only"), masks)
        self.shown = QCheckBox(self.tr("Show masks"), masks)
        self.shown.setChecked(True)
        form.addRow(self.shown)
        form.addRow(self.outline_only)
        lay.addWidget(masks)
        image = QGroupBox(self.tr("Image (display only)"), body)
        iform = QFormLayout(image)
        self.brightness = _slider(-100, 100, 0, image)
        self.contrast = _slider(-100, 100, 0, image)
        self.gamma = _slider(20, 500, 100, image)  # gamma x 100
        self.values: dict[str, QLabel] = {}
        for name, text, slider in (("brightness", self.tr("Brightness"), self.brightness),
                                   ("contrast", self.tr("Contrast"), self.contrast),
                                   ("gamma", self.tr("Gamma"), self.gamma)):
            value = QLabel(image)
            value.setMinimumWidth(34)
            self.values[name] = value
            r = QHBoxLayout()
            r.addWidget(slider, 1)
            r.addWidget(value)
            iform.addRow(text, r)
        self.reset_button = QPushButton(self.tr("Reset image"), image)
        iform.addRow(self.reset_button)
        lay.addWidget(image)
        lay.addStretch(1)
        set_scrolling_widget(self, body, min_height=60)
        for s in (self.opacity, self.brightness, self.contrast, self.gamma):
            s.valueChanged.connect(self._emit)
        self.outline_only.toggled.connect(self._emit)
        self.shown.toggled.connect(self._emit)
        self.reset_button.clicked.connect(self.reset_image)
        self._render_values()

    # ------------------------------------------------------------------ values
    def adjust(self) -> ImageAdjust:
        """The image adjustment shown by the sliders."""
        return ImageAdjust(self.brightness.value(), self.contrast.value(), self.gamma.value() / 100.0)

    def style(self) -> MaskStyle:  # type: ignore[override]  # QWidget.style() is not used on this dock
        """The mask style shown by the controls."""
        return MaskStyle(self.opacity.value(), self.outline_only.isChecked(), self.shown.isChecked())

    # ------------------------------------------------------------------ actions (keys)
    def toggle_masks(self) -> None:
        """Hide all masks / show them again."""
        self.shown.toggle()

    def toggle_outline(self) -> None:
        """Outline-only mode on / off."""
        self.outline_only.toggle()

    def step_opacity(self, sign: int) -> None:
        """Opacity up (+1) or down (-1) by one step."""
        self.opacity.setValue(self.opacity.value() + sign * OPACITY_STEP)

    def reset_image(self) -> None:
        """Brightness, contrast and gamma back to neutral (one change signal)."""
        for s, v in ((self.brightness, 0), (self.contrast, 0), (self.gamma, 100)):
            s.blockSignals(True)
            s.setValue(v)
            s.blockSignals(False)
        self._emit()

    def focus_controls(self) -> None:
        """Show the dock and put the keyboard on its first slider (arrows change it, Tab moves on)."""
        self.show()
        self.raise_()
        self.opacity.setFocus()

    def _emit(self, *_: object) -> None:
        self._render_values()
        self.changed.emit(self.adjust(), self.style())

    def _render_values(self) -> None:
        self.opacity_value.setText(f"{self.opacity.value()}%")
        self.values["brightness"].setText(f"{self.brightness.value():+d}")
        self.values["contrast"].setText(f"{self.contrast.value():+d}")
        self.values["gamma"].setText(f"{self.gamma.value() / 100:.2f}")
