"""Annotation and image habits of a labeling day (issue 13), wired into the main window by one call:

* copy the selected annotation (or, with none selected, all of this image) / paste onto the
  current image; copy every annotation of the previous image; duplicate the selected annotation;
* mark the image done; go to the next image that is not done; focus the image name filter.

Every change is one undoable edit pushed through the undo service (after pending accepts).
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject

from app.core import edits
from app.core.annotation_copy import copies_for_image
from app.core.model import Annotation

translate = QCoreApplication.translate


class AnnotationActions(QObject):
    """Holds the session clipboard of annotations and the handlers of the actions."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.clipboard: list[Annotation] = []
        act = window.registry.action
        handlers: dict[str, Callable[[], Any]] = {
            "copy_annotations": self.copy, "paste_annotations": self.paste,
            "copy_previous": self.copy_previous, "duplicate": self.duplicate,
            "mark_done": self.mark_done, "next_undone": self.next_undone,
            "filter_images": window.images_dock.focus_name_filter,
        }
        for action_id, fn in handlers.items():
            act(action_id).triggered.connect(lambda _c=False, fn=fn: fn())
        edit_menu = getattr(window, "edit_menu", None)
        if edit_menu is not None:
            edit_menu.addSeparator()
            for action_id in ("copy_annotations", "paste_annotations", "copy_previous", "duplicate"):
                edit_menu.addAction(act(action_id))
        image_menu = getattr(window, "image_menu", None)
        if image_menu is not None:
            image_menu.addSeparator()
            for action_id in ("mark_done", "next_undone", "filter_images"):
                image_menu.addAction(act(action_id))

    # ------------------------------------------------------------------ helpers
    def _say(self, text: str) -> None:
        self.window.status.show_message(text)

    def _writable(self) -> bool:
        c = self.window.controller
        if self.window.project is None or c.image is None:
            self._say(translate("AnnotationActions", "Open an image first."))
            return False
        if self.window.project.read_only:
            self._say(translate("AnnotationActions", "The project is open read-only."))
            return False
        return True

    def _add(self, anns: list[Annotation], text: str) -> bool:
        """Add copies of `anns` to the current image as one undo step."""
        c = self.window.controller
        image = c.image
        size = (image.width, image.height) if image.width > 0 else None
        z0 = max([a.z for a in c.annotations()] + [0]) + 1
        copies = copies_for_image(anns, image.id, size, z0)
        edit = edits.CompoundEdit(text, [edits.AddAnnotation(a) for a in copies])
        c.after_accepts(lambda: self.window.undo.push(edit))
        return True

    # ------------------------------------------------------------------ actions
    def copy(self) -> None:
        """Ctrl+C: the selected annotation, or every annotation of this image, into the clipboard."""
        c = self.window.controller
        anns = c.annotations()
        chosen = [a for a in anns if a.id == c.selected] if c.selected is not None else anns
        if not chosen:
            self._say(translate("AnnotationActions", "Nothing to copy: this image has no annotations."))
            return
        self.clipboard = list(chosen)
        self._say(translate("AnnotationActions", "Copied {n} annotation(s); paste them on any image with {key}.").format(
            n=len(chosen), key=self.window.registry.action("paste_annotations").shortcut().toString()))

    def paste(self) -> None:
        """Ctrl+V: add the clipboard's annotations to the current image (one undo step)."""
        if not self.clipboard:
            self._say(translate("AnnotationActions", "The annotation clipboard is empty: select one and press Ctrl+C."))
            return
        if self._writable():
            self._add(self.clipboard, translate("AnnotationActions", "Paste annotations"))

    def copy_previous(self) -> None:
        """Ctrl+Shift+V: add every annotation of the previous image in the list to this one."""
        if not self._writable():
            return
        c = self.window.controller
        prev = self.window.images_dock.model.record(c.row - 1) if c.row > 0 else None
        if prev is None:
            self._say(translate("AnnotationActions", "There is no previous image."))
            return
        anns = list(self.window.project.annotations(prev.id))
        if not anns:
            self._say(translate("AnnotationActions", "The previous image has no annotations."))
            return
        self._add(anns, translate("AnnotationActions", "Copy annotations of the previous image"))
        self._say(translate("AnnotationActions", "Copied {n} annotation(s) from the previous image.").format(n=len(anns)))

    def duplicate(self) -> None:
        """Ctrl+D: a copy of the selected annotation on this image, drawn on top."""
        c = self.window.controller
        if c.selected is None:
            self._say(translate("AnnotationActions", "Select an annotation to duplicate."))
            return
        if self._writable():
            self._add([a for a in c.annotations() if a.id == c.selected], translate("AnnotationActions", "Duplicate annotation"))

    def mark_done(self) -> None:
        """Ctrl+Return: mark the current image done (undoable)."""
        if self._writable():
            self.window.controller.set_image_status("done")
            self._say(translate("AnnotationActions", "Image marked done."))

    def next_undone(self) -> None:
        """Shift+D: go to the next image (by path, wrapping) that is not done."""
        c, project = self.window.controller, self.window.project
        if project is None:
            return
        after = c.image.path if c.image is not None else ""
        rec = project.next_image_not_done(after)
        if rec is None:
            self._say(translate("AnnotationActions", "Every image is done."))
            return
        model = self.window.images_dock.model
        row = project.image_row(rec.id, model.status_filter(), model.name_filter() or None)
        if row < 0:
            self._say(translate("AnnotationActions", "The next image not done is hidden by the image list filter."))
            return
        c.go_to_row(row)


def install_annotation_actions(window: Any) -> AnnotationActions:
    """Create and wire the annotation actions (called once by the main window)."""
    return AnnotationActions(window)
