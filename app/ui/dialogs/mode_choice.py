"""The model manager's "Speed mode" choice: exact float32 (the default) or an opt-in fast encoder mode
(bfloat16, int8, float16), each shown with its measured encode speed-up and mask agreement against
exact, so that the user chooses knowingly (issue 16). Modes that do not work on the chosen device are
listed but disabled, with the reason in their tooltip.

The figures come from sam_backend.modes (benchmarks/bench_modes.py); reading them checks the CPU
(torch), so they are read in a background job whenever the model or the device changes.
"""
from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from app.services.models import EncoderModeFacts, encoder_modes
from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.ui.jobs import BackgroundJob

CONTEXT = "ModeChoice"
translate = QCoreApplication.translate
TITLES = {"fp32": QT_TRANSLATE_NOOP("ModeChoice", "Exact (float32)"),
          "bf16": QT_TRANSLATE_NOOP("ModeChoice", "Fast bfloat16"),
          "int8": QT_TRANSLATE_NOOP("ModeChoice", "Fast int8"),
          "fp16": QT_TRANSLATE_NOOP("ModeChoice", "Fast float16")}
DESCRIPTIONS = {
    "fp32": QT_TRANSLATE_NOOP("ModeChoice", "Masks as the reference SAM computes them. The default."),
    "bf16": QT_TRANSLATE_NOOP("ModeChoice", "The encoder in bfloat16: needs a CPU with native bfloat16 "
                                            "(AVX512-BF16 / AMX) or a CUDA GPU. Masks differ slightly from "
                                            "exact along uncertain edges."),
    "int8": QT_TRANSLATE_NOOP("ModeChoice", "The encoder's linear layers in int8 (dynamic quantisation); any "
                                            "x86 or ARM CPU. Masks differ more than bfloat16's."),
    "fp16": QT_TRANSLATE_NOOP("ModeChoice", "The encoder in float16 on a CUDA GPU."),
}
REASONS = {"CUDA only": QT_TRANSLATE_NOOP("ModeChoice", "CUDA only"),
           "CPU only": QT_TRANSLATE_NOOP("ModeChoice", "CPU only"),
           "this CPU has no native bfloat16: slower than fp32 here":
               QT_TRANSLATE_NOOP("ModeChoice", "this CPU has no native bfloat16: slower than exact here"),
           "not for this model family": QT_TRANSLATE_NOOP("ModeChoice", "not for this model family"),
           "CUDA only for this model family": QT_TRANSLATE_NOOP("ModeChoice", "CUDA only for this model family")}


def mode_text(mode: EncoderModeFacts) -> str:
    """One line for the list, e.g. "Fast bfloat16 — 2.5x faster, masks 99.4% IoU (worst 98.2%)"."""
    title = translate(CONTEXT, TITLES.get(mode.precision, mode.precision))
    if mode.exact:
        return title
    if mode.speedup is None or mode.mask_iou is None:
        text = translate("ModeChoice", "{title} — not measured for this model").format(title=title)
    else:
        worst = f"{(mode.min_iou if mode.min_iou is not None else mode.mask_iou) * 100:.1f}"
        if mode.iou_weights == "random":  # say so: a trained model's masks may agree more or less
            text = translate("ModeChoice", "{title} — {speedup}x faster, masks {iou}% IoU (worst {worst}%) with "
                                           "random weights").format(
                title=title, speedup=f"{mode.speedup:.1f}", iou=f"{mode.mask_iou * 100:.1f}", worst=worst)
        else:
            text = translate("ModeChoice", "{title} — {speedup}x faster, masks {iou}% IoU (worst {worst}%)").format(
                title=title, speedup=f"{mode.speedup:.1f}", iou=f"{mode.mask_iou * 100:.1f}", worst=worst)
    if not mode.available:
        reason = translate(CONTEXT, REASONS[mode.reason]) if mode.reason in REASONS else mode.reason
        text = translate("ModeChoice", "{text} [{reason}]").format(text=text, reason=reason)
    return text


def mode_tooltip(mode: EncoderModeFacts) -> str:
    """What the mode does, and where its figures were measured."""
    text = translate(CONTEXT, DESCRIPTIONS[mode.precision]) if mode.precision in DESCRIPTIONS else mode.description
    if mode.measured_on and not mode.exact:
        text += "\n" + translate("ModeChoice", "Measured on {machine} (encode time against exact; IoU of the "
                                          "candidate masks against exact's on photos).").format(machine=mode.measured_on)
    if mode.iou_weights == "random" and not mode.exact:
        text += "\n" + translate("ModeChoice", "The mask agreement was measured with randomly initialised weights "
                                                "(no trained weights were at hand); with trained weights it may differ.")
    return text


def _read_modes(model_id: str, device: str) -> Callable[[Callable[[int, int], None], threading.Event],
                                                         list[EncoderModeFacts]]:
    def work(_progress: Callable[[int, int], None], _cancel: threading.Event) -> list[EncoderModeFacts]:
        return encoder_modes(model_id, device)
    return work


class ModeChoice(QComboBox):
    """The encoder mode of the model to use. `precision()` is the chosen mode ("fp32" until the user
    picks another); `modesShown()` once a model's modes are listed."""

    modesShown = Signal()

    def __init__(self, precision: str = "fp32", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._wanted = precision or "fp32"
        self._key: tuple[str, str] | None = None
        self._job: BackgroundJob | None = None
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._show([])
        self.activated.connect(self._on_activated)

    def precision(self) -> str:
        """The chosen mode ("fp32", "bf16", "int8", "fp16")."""
        data = self.currentData()
        return str(data) if data else "fp32"

    def show_modes_of(self, model_id: str | None, device: str) -> None:
        """List the modes of `model_id` on `device` (read in the background; the choice is kept when
        that mode exists and works there, else it falls back to exact)."""
        if model_id is None or (model_id, device) == self._key:
            return
        self._key = (model_id, device)
        job = BackgroundJob(_read_modes(model_id, device), self.tr("Speed modes"), self, show_dialog=False)
        self._job = job
        job.succeeded.connect(lambda modes, j=job: self._on_read(j, modes))
        job.failed.connect(lambda _msg, j=job: self._on_read(j, []))
        job.start()

    def jobs(self) -> list[BackgroundJob]:
        """The background job reading the modes (for joining at shutdown)."""
        return [self._job] if self._job is not None else []

    def _on_read(self, job: BackgroundJob, modes: list[EncoderModeFacts]) -> None:
        if job is self._job:  # an older model's answer is dropped
            self._show(modes)
            self.modesShown.emit()

    def _show(self, modes: list[EncoderModeFacts]) -> None:
        self.clear()
        if not modes:
            self.addItem(translate(CONTEXT, TITLES["fp32"]), "fp32")
            self.setItemData(0, translate(CONTEXT, DESCRIPTIONS["fp32"]), Qt.ItemDataRole.ToolTipRole)
            return
        model = self.model()
        assert isinstance(model, QStandardItemModel)  # QComboBox's own model
        for i, mode in enumerate(modes):
            self.addItem(mode_text(mode), mode.precision)
            self.setItemData(i, mode_tooltip(mode), Qt.ItemDataRole.ToolTipRole)
            item = model.item(i)
            if item is not None and not mode.available:
                item.setEnabled(False)
        wanted = self.findData(self._wanted)
        usable = wanted >= 0 and modes[wanted].available
        self.setCurrentIndex(wanted if usable else 0)
        self.setToolTip(self.itemData(self.currentIndex(), Qt.ItemDataRole.ToolTipRole) or "")

    def _on_activated(self, index: int) -> None:
        self._wanted = self.precision()
        self.setToolTip(self.itemData(index, Qt.ItemDataRole.ToolTipRole) or "")
