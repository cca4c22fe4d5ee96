"""Status bar contents and the first-run banner.

StatusPanel shows: a message area (last sentence from any service; errors stay until replaced),
the encode state of the current and next images, model + device, the saved state, cursor position.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStatusBar, QWidget

from app.services.tr_noop import QT_TRANSLATE_NOOP

translate = QCoreApplication.translate
ENCODE_TEXT = {"queued": QT_TRANSLATE_NOOP("StatusPanel", "queued"),
               "encoding": QT_TRANSLATE_NOOP("StatusPanel", "encoding…"),
               "ready": QT_TRANSLATE_NOOP("StatusPanel", "ready"),
               "error": QT_TRANSLATE_NOOP("StatusPanel", "failed"),
               "": QT_TRANSLATE_NOOP("StatusPanel", "not encoded")}


class StatusPanel:
    """Owns the labels of a QStatusBar; all setters are cheap and GUI-thread only."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.message = QLabel("")
        self.message.setObjectName("StatusMessage")
        self.message.setMinimumWidth(200)
        self.encode = QLabel("")
        self.model = QLabel(translate("StatusPanel", "no model"))
        self.saved = QLabel("")
        self.cursor = QLabel("")
        self.cursor.setMinimumWidth(110)
        self.position = QLabel("")   # "3 / 120"
        self.image_info = QLabel("")  # "1920×1080 · 45%"
        bar.addWidget(self.message, 1)
        for w in (self.position, self.image_info, self.encode, self.model, self.saved, self.cursor):
            w.setObjectName("StatusField")  # look: resources/styles/*.qss
            bar.addPermanentWidget(w)
        self._model_ready = False
        self._states: dict[str, str] = {}
        self._current: str | None = None
        self._next: str | None = None
        self.history: list[str] = []

    def show_message(self, text: str, error: bool = False) -> None:
        """Show one sentence; errors are highlighted and kept in `history` (tooltip)."""
        self.message.setText(text)
        if bool(self.message.property("error")) != error:  # the theme's style sheet colours errors
            self.message.setProperty("error", error)
            self.message.style().unpolish(self.message)
            self.message.style().polish(self.message)
        self.history.append(text)
        del self.history[:-20]
        self.message.setToolTip("\n".join(self.history[-10:]))

    def show_progress(self, task: str, done: int, total: int) -> None:
        """A task's progress as one sentence: "Task…", "Task: 3 of 10", "Task: done.". A task the
        model field already shows (loading a model) is not repeated, and never gets two ellipses."""
        task = task.rstrip().removesuffix("…").removesuffix("...").rstrip()
        if total < 0:
            if task and self.model.text().removesuffix("…") == task:
                return  # the model field says it already
            self.show_message(translate("StatusPanel", "{task}…").format(task=task))
        elif done >= total:
            self.show_message(translate("StatusPanel", "{task}: done.").format(task=task))
        else:
            self.show_message(translate("StatusPanel", "{task}: {done} of {total}").format(task=task, done=done,
                                                                                            total=total))

    def set_model(self, state: str, text: str) -> None:
        """Model state "none" | "loading" | "ready" | "error" with its human text."""
        shown = {"none": translate("StatusPanel", "no model"), "loading": text, "ready": text,
                 "error": translate("StatusPanel", "model failed")}
        self.model.setText(shown.get(state, text))
        self.model.setToolTip(text)
        self._model_ready = state in ("ready", "loading")
        self._render_encode()

    def set_keys(self, current: str | None, next_key: str | None) -> None:
        """Which image keys are the current and next image (for the encode indicator)."""
        self._current, self._next = current, next_key
        self._render_encode()

    def on_encode_state(self, key: str, state: str) -> None:
        """InferenceService.encodeStateChanged slot."""
        self._states[key] = state
        if len(self._states) > 512:
            self._states = {k: v for k, v in self._states.items() if k in (self._current, self._next)}
        if key in (self._current, self._next):
            self._render_encode()

    def encode_text(self) -> str:
        """The encode indicator's text."""
        return self.encode.text()

    def _render_encode(self) -> None:
        if self._current is None or not self._model_ready:
            self.encode.setText("")
            return
        def state(key: str | None) -> str:
            return translate("StatusPanel", ENCODE_TEXT.get(self._states.get(key or "", ""), ENCODE_TEXT[""]))

        text = translate("StatusPanel", "image: {state}").format(state=state(self._current))
        if self._next is not None:
            text += translate("StatusPanel", " · next: {state}").format(state=state(self._next))
        self.encode.setText(text)

    def set_saved(self, text: str) -> None:
        """The saved-state indicator ("all changes saved", "read-only")."""
        self.saved.setText(text)

    def set_position(self, row: int, total: int) -> None:
        """Which image of how many ("3 / 120"); row < 0 clears."""
        self.position.setText(f"{row + 1} / {total}" if row >= 0 else "")
        self.position.setToolTip(translate("StatusPanel", "Image {n} of {total}").format(n=row + 1, total=total))

    def set_image_info(self, size: tuple[int, int] | None, zoom: float | None) -> None:
        """Image size in pixels and the zoom in percent (None clears)."""
        if size is None:
            self.image_info.setText("")
            return
        text = f"{size[0]}×{size[1]}"
        if zoom is not None:
            text += f" · {zoom * 100:.0f}%"
        self.image_info.setText(text)

    def set_cursor(self, x: float, y: float) -> None:
        """Cursor position in image pixels."""
        self.cursor.setText(f"x {x:.0f}  y {y:.0f}")  # coordinates read the same in every language


class ModelBanner(QFrame):
    """The first-run banner: no SAM model installed — manual tools work; button opens the model manager."""

    openManager = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ModelBanner")  # look: resources/styles/*.qss
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        self.label = QLabel(self.tr("No SAM model installed — manual tools (polygon P, edit E) work; "
                                    "open the model manager to download or import one."), self)
        self.label.setWordWrap(True)
        self.button = QPushButton(self.tr("Open model manager"), self)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.button)
        self.button.clicked.connect(self.openManager.emit)

    def set_text(self, text: str) -> None:
        """Replace the banner sentence (e.g. the reason a model failed to load)."""
        self.label.setText(text)
