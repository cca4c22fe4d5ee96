"""Label classes: the current label, choosing it by number, the default class on first accept."""
from __future__ import annotations

from app.core import edits
from app.ui.labeling.state import DEFAULT_LABEL, LabelingState, translate


class LabelsMixin(LabelingState):
    """The current label (new annotations get it; with a selection it relabels)."""

    def set_label(self, label_id: int | None, relabel: bool = True) -> None:
        """Make `label_id` the current label; with a selected annotation (and relabel) relabel it too."""
        self.label_id = label_id
        self.labelChanged.emit(label_id)
        if self.prediction is not None:
            self._show_candidate()
        if relabel and label_id is not None and self.selected is not None and self.project is not None:
            ann = self.project.annotation(self.selected)
            if ann.label_id != label_id:
                self._push(edits.Relabel(self.selected, label_id))

    def choose_label_number(self, n: int) -> None:
        """Keys 1..9: choose the n-th label class (1-based)."""
        classes = self.label_classes()
        if 1 <= n <= len(classes):
            self.set_label(classes[n - 1].id)
        else:
            self.message.emit(translate("LabelingController", "There is no label class {n}; add one in the Labels panel.").format(n=n))

    def _ensure_label(self) -> int | None:
        if self.label_id is not None and self.label_id in {lc.id for lc in self.label_classes()}:
            return self.label_id
        classes = self.label_classes()
        if not classes:
            self.undo.push(edits.AddLabelClass(DEFAULT_LABEL, None))
            classes = self.label_classes()
        self.label_id = classes[0].id if classes else None
        self.labelChanged.emit(self.label_id)
        return self.label_id

    def label_color(self) -> str:
        """Colour of the current label ("#rrggbb"; a default when none)."""
        return self._colors().get(self.label_id or -1, "#00c8ff")
