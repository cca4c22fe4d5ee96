"""The candidate strip: three thumbnails of SAM's candidate masks with their predicted IoU.

The current candidate is highlighted; clicking a thumbnail selects it (signal `candidateClicked`).
Thumbnails are built from the bool masks by vectorised numpy slicing (no Python pixel loops).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

THUMB_SIZE = 72


def mask_thumbnail(mask: np.ndarray, color: str, size: int = THUMB_SIZE) -> QImage:
    """A square ARGB32 thumbnail of a bool mask (H, W): `color` where True, dark grey elsewhere.

    The mask is subsampled by striding (nearest neighbour) so that its longest side is <= size and
    centred on a square canvas; the returned QImage owns its pixels (copied).
    """
    h, w = mask.shape[:2]
    step = max(1, int(np.ceil(max(h, w) / size)))
    small = np.ascontiguousarray(mask[::step, ::step])
    sh, sw = small.shape
    c = QColor(color)
    fg = np.array([c.blue(), c.green(), c.red(), 255], dtype=np.uint8)
    bg = np.array([48, 48, 48, 255], dtype=np.uint8)
    canvas = np.empty((size, size, 4), dtype=np.uint8)
    canvas[:] = (24, 24, 24, 255)
    y0, x0 = (size - sh) // 2, (size - sw) // 2
    canvas[y0:y0 + sh, x0:x0 + sw] = np.where(small[:, :, None], fg, bg)
    img = QImage(canvas.data, size, size, size * 4, QImage.Format.Format_ARGB32)
    return img.copy()


class CandidateStrip(QWidget):
    """Three clickable thumbnails with "IoU 0.93" captions; the current one has a highlighted frame."""

    candidateClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._buttons: list[QToolButton] = []
        self._captions: list[QLabel] = []
        self._current = -1
        self._count = 0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(6)
        hint = QLabel(self.tr("Candidates\nTab / Shift+Tab"))
        hint.setStyleSheet("color: palette(mid);")
        layout.addWidget(hint)
        for k in range(3):
            box = QVBoxLayout()
            box.setSpacing(1)
            btn = QToolButton(self)
            btn.setCheckable(True)
            btn.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
            btn.setFixedSize(THUMB_SIZE + 10, THUMB_SIZE + 10)
            btn.setToolTip(self.tr("Candidate {n}").format(n=k + 1))
            btn.setEnabled(False)
            btn.clicked.connect(lambda _checked=False, k=k: self.candidateClicked.emit(k))
            cap = QLabel("–")
            cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(btn)
            box.addWidget(cap)
            layout.addLayout(box)
            self._buttons.append(btn)
            self._captions.append(cap)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(THUMB_SIZE + 10 + self.fontMetrics().height() + 14)
        self._restyle()

    def set_candidates(self, masks: np.ndarray | None, scores: np.ndarray | None, color: str, current: int) -> None:
        """Show masks (C, H, W) bool with scores (C,) float; C <= 3. None clears the strip."""
        self._count = 0 if masks is None else min(3, int(masks.shape[0]))
        for k, (btn, cap) in enumerate(zip(self._buttons, self._captions)):
            if k < self._count and masks is not None and scores is not None:
                btn.setIcon(QPixmap.fromImage(mask_thumbnail(masks[k], color)))
                btn.setEnabled(True)
                cap.setText(self.tr("IoU {score}").format(score=f"{float(scores[k]):.2f}"))
            else:
                btn.setIcon(QPixmap())
                btn.setEnabled(False)
                cap.setText("–")
        self.set_current(current if self._count else -1)

    def set_current(self, k: int) -> None:
        """Highlight candidate k (-1: none)."""
        self._current = k if 0 <= k < self._count else -1
        self._restyle()

    def current(self) -> int:
        """Index of the highlighted candidate, -1 when none."""
        return self._current

    def count(self) -> int:
        """Number of candidates shown."""
        return self._count

    def caption(self, k: int) -> str:
        """The caption text under thumbnail k (for tests and accessibility)."""
        return self._captions[k].text()

    def _restyle(self) -> None:
        for k, (btn, cap) in enumerate(zip(self._buttons, self._captions)):
            on = k == self._current
            btn.setChecked(on)
            btn.setStyleSheet(
                "QToolButton { border: 3px solid %s; border-radius: 4px; background: #202020; }"
                % ("#ffb000" if on else "#505050")
            )
            font = cap.font()
            font.setBold(on)
            cap.setFont(font)
