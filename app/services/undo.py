"""UndoService: app.core Edit objects on a QUndoStack (unlimited undo/redo of every project change).

The GUI changes a project only through `push(edit)`. An edit is applied to the project first; only when
that succeeds does it enter the stack (so a failing edit never leaves a half-done entry). Undo/redo call
the edit's revert/apply. After every successful apply or revert, `projectChanged(edit)` is emitted so
views can refresh. Failures (of apply, undo or redo) become one sentence on `failed`; a command whose
undo/redo failed is made obsolete so the stack drops it instead of repeating the failure.
"""
from __future__ import annotations

import logging
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

log = logging.getLogger(__name__)


class Edit(Protocol):
    """The app.core.edits interface: a text for menus and apply/revert against a Project."""

    text: str

    def apply(self, project: Any) -> None:
        """Perform the change (one transaction)."""

    def revert(self, project: Any) -> None:
        """Undo the change (one transaction)."""


class _EditCommand(QUndoCommand):
    """Wraps one applied Edit. The first redo (QUndoStack.push calls it) does nothing: push applied it."""

    def __init__(self, service: "UndoService", edit: Edit) -> None:
        super().__init__(str(getattr(edit, "text", "Edit")))
        self.edit = edit
        self._service = service
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            return
        if self._service._run(self.edit, "apply"):
            self._applied = True
        else:
            self.setObsolete(True)

    def undo(self) -> None:
        if self._service._run(self.edit, "revert"):
            self._applied = False
        else:
            self.setObsolete(True)


class UndoService(QObject):
    """Undo stack bound to one Project.

    Attributes:
        stack: the QUndoStack (for undo/redo QActions via stack.createUndoAction, clean state, etc.).
    Signals:
        projectChanged(edit): after an edit was applied (push, redo) or reverted (undo).
        failed(text): one sentence when apply/revert raised; the project is left as the edit left it.
    """

    projectChanged = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = QUndoStack(self)
        self._project: Any = None

    def set_project(self, project: Any) -> None:
        """Bind to `project` (or None) and clear the stack (edits of another project cannot be undone here)."""
        self._project = project
        self.stack.clear()

    def project(self) -> Any:
        """The bound project, or None."""
        return self._project

    def push(self, edit: Edit) -> bool:
        """Apply `edit` now and put it on the stack; False (and `failed`) when it could not be applied."""
        if self._project is None:
            self.failed.emit(self.tr("No project is open."))
            return False
        if not self._run(edit, "apply"):
            return False
        self.stack.push(_EditCommand(self, edit))
        return True

    def undo(self) -> None:
        """Undo the newest applied edit (no-op when there is none)."""
        self.stack.undo()

    def redo(self) -> None:
        """Redo the newest undone edit (no-op when there is none)."""
        self.stack.redo()

    def _run(self, edit: Edit, method: str) -> bool:
        """Call edit.apply/revert(project); emit projectChanged on success, failed on an exception."""
        if self._project is None:
            self.failed.emit(self.tr("No project is open."))
            return False
        try:
            getattr(edit, method)(self._project)
        except Exception as exc:  # any failure of a project write must reach the user, not kill the GUI
            log.warning("%s of %r failed", method, edit, exc_info=True)
            text = str(getattr(edit, "text", "edit"))
            reason = str(exc).strip() or type(exc).__name__
            if method == "revert":
                msg = self.tr("Undo of {edit} failed: {reason}").format(edit=text[:1].lower() + text[1:], reason=reason)
            else:
                msg = self.tr("{edit} failed: {reason}").format(edit=text, reason=reason)
            self.failed.emit(msg if msg.endswith((".", "。")) else msg + ".")
            return False
        self.projectChanged.emit(edit)
        return True
