"""Every user action with its default shortcuts (design.md "Interaction"), conflicts, and QActions.

Key sequences are strings in QKeySequence PortableText form ("Ctrl+Shift+Z", "Return", "Del").
Space is not an action shortcut: the canvas handles it (a tap accepts, Space+drag pans).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from app.services.tr_noop import QT_TRANSLATE_NOOP
from app.services.settings import Settings

translate = QCoreApplication.translate


@dataclass(frozen=True)
class ActionSpec:
    """One action: stable id, menu text, default key sequences (may be empty), group for menus/cheat sheet.

    `text` is the English source string (context "Actions"); `title()` is what the user sees, in the
    user's language; `number` fills "{n}" in texts like "Label class {n}".
    """

    id: str
    text: str
    default_keys: tuple[str, ...]
    group: str
    number: int | None = None

    def title(self) -> str:
        """The action's text in the user interface language."""
        text = translate("Actions", self.text)
        return text.format(n=self.number) if self.number is not None else text


def _specs() -> dict[str, ActionSpec]:
    rows: list[tuple[str, str, tuple[str, ...], str]] = [
        ("prev_image", QT_TRANSLATE_NOOP("Actions", "Previous image"), ("A",), "navigate"),
        ("next_image", QT_TRANSLATE_NOOP("Actions", "Next image"), ("D",), "navigate"),
        ("next_undone", QT_TRANSLATE_NOOP("Actions", "Next image not done"), ("Shift+D",), "navigate"),
        ("mark_done", QT_TRANSLATE_NOOP("Actions", "Mark image done"), ("Ctrl+Return",), "navigate"),
        ("filter_images", QT_TRANSLATE_NOOP("Actions", "Filter images by file name"), ("Ctrl+Shift+F",),
         "navigate"),
        ("image_flags", QT_TRANSLATE_NOOP("Actions", "Image flags…"), ("Ctrl+Shift+I",), "navigate"),
        ("tool_point", QT_TRANSLATE_NOOP("Actions", "SAM point tool"), ("S",), "tools"),
        ("tool_box", QT_TRANSLATE_NOOP("Actions", "SAM box tool"), ("B",), "tools"),
        ("tool_scribble", QT_TRANSLATE_NOOP("Actions", "SAM scribble tool"), ("R",), "tools"),
        ("tool_polygon", QT_TRANSLATE_NOOP("Actions", "Polygon tool"), ("P",), "tools"),
        ("tool_edit", QT_TRANSLATE_NOOP("Actions", "Edit tool"), ("E",), "tools"),
        ("text_prompt", QT_TRANSLATE_NOOP("Actions", "Text prompt (phrases -> masks)"), ("T",), "tools"),
        ("segment_everything", QT_TRANSLATE_NOOP("Actions", "Segment everything"), ("G",), "tools"),
        ("next_candidate", QT_TRANSLATE_NOOP("Actions", "Next candidate mask"), ("Tab",), "candidates"),
        ("prev_candidate", QT_TRANSLATE_NOOP("Actions", "Previous candidate mask"), ("Shift+Tab",), "candidates"),
        ("accept", QT_TRANSLATE_NOOP("Actions", "Accept candidate"), ("Return", "Enter"), "candidates"),
        ("clear", QT_TRANSLATE_NOOP("Actions", "Clear prompts / cancel"), ("Esc",), "candidates"),
        ("density_coarser", QT_TRANSLATE_NOOP("Actions", "Fewer polygon vertices (coarser outline)"), ("Ctrl+]",),
         "candidates"),
        ("density_finer", QT_TRANSLATE_NOOP("Actions", "More polygon vertices (finer outline)"), ("Ctrl+[",),
         "candidates"),
    ]
    specs = {r[0]: ActionSpec(*r) for r in rows}
    specs["add_label"] = ActionSpec("add_label", QT_TRANSLATE_NOOP("Actions", "Add label class…"), ("Ctrl+L",),
                                    "labels")
    specs["filter_labels"] = ActionSpec("filter_labels", QT_TRANSLATE_NOOP("Actions", "Filter label classes"),
                                        ("Ctrl+F",), "labels")
    specs["label_attributes"] = ActionSpec(
        "label_attributes", QT_TRANSLATE_NOOP("Actions", "Flags and attributes of the label class…"),
        ("Ctrl+Shift+A",), "labels")
    label = QT_TRANSLATE_NOOP("Actions", "Label class {n}")
    specs |= {f"label_{i}": ActionSpec(f"label_{i}", label, (str(i),), "labels", i) for i in range(1, 10)}
    rows = [
        ("undo", QT_TRANSLATE_NOOP("Actions", "Undo"), ("Ctrl+Z",), "edit"),
        ("redo", QT_TRANSLATE_NOOP("Actions", "Redo"), ("Ctrl+Shift+Z", "Ctrl+Y"), "edit"),
        ("delete", QT_TRANSLATE_NOOP("Actions", "Delete annotation"), ("Del",), "edit"),
        ("copy_annotations", QT_TRANSLATE_NOOP("Actions", "Copy annotation (all when none is selected)"),
         ("Ctrl+C",), "edit"),
        ("paste_annotations", QT_TRANSLATE_NOOP("Actions", "Paste annotations on this image"), ("Ctrl+V",), "edit"),
        ("copy_previous", QT_TRANSLATE_NOOP("Actions", "Copy the previous image's annotations here"),
         ("Ctrl+Shift+V",), "edit"),
        ("duplicate", QT_TRANSLATE_NOOP("Actions", "Duplicate annotation"), ("Ctrl+D",), "edit"),
        ("annotation_menu", QT_TRANSLATE_NOOP("Actions", "Menu of the selected annotation"), ("Shift+F10", "Menu"),
         "edit"),
        ("resimplify", QT_TRANSLATE_NOOP("Actions", "Re-simplify polygons at the current density"),
         ("Ctrl+Shift+R",), "edit"),
        ("annotation_details", QT_TRANSLATE_NOOP("Actions", "Annotation details (group, description, flags, "
                                                            "attributes)…"),
         ("Ctrl+Shift+E",), "edit"),
        ("save", QT_TRANSLATE_NOOP("Actions", "Save"), ("Ctrl+S",), "file"),
        ("open", QT_TRANSLATE_NOOP("Actions", "Open project…"), ("Ctrl+O",), "file"),
        ("open_folder", QT_TRANSLATE_NOOP("Actions", "Open image folder…"), ("Ctrl+Shift+O",), "file"),
        ("import", QT_TRANSLATE_NOOP("Actions", "Import annotations…"), ("Ctrl+I",), "file"),
        ("export", QT_TRANSLATE_NOOP("Actions", "Export…"), ("Ctrl+E",), "file"),
        ("quit", QT_TRANSLATE_NOOP("Actions", "Quit"), ("Ctrl+Q",), "file"),
        ("zoom_in", QT_TRANSLATE_NOOP("Actions", "Zoom in"), ("+", "="), "view"),
        ("zoom_out", QT_TRANSLATE_NOOP("Actions", "Zoom out"), ("-",), "view"),
        ("fit", QT_TRANSLATE_NOOP("Actions", "Fit image to window"), ("F",), "view"),
        ("toggle_masks", QT_TRANSLATE_NOOP("Actions", "Hide / show all masks"), ("H",), "view"),
        ("outline_mode", QT_TRANSLATE_NOOP("Actions", "Masks as outlines only"), ("O",), "view"),
        ("opacity_up", QT_TRANSLATE_NOOP("Actions", "More mask opacity"), ("]",), "view"),
        ("opacity_down", QT_TRANSLATE_NOOP("Actions", "Less mask opacity"), ("[",), "view"),
        ("display_panel", QT_TRANSLATE_NOOP("Actions", "Brightness, contrast and mask display…"), ("Ctrl+B",),
         "view"),
        ("display_reset", QT_TRANSLATE_NOOP("Actions", "Reset brightness, contrast and gamma"), ("Ctrl+Shift+B",),
         "view"),
        ("model_manager", QT_TRANSLATE_NOOP("Actions", "Model manager…"), ("Ctrl+M",), "tools_menu"),
        ("encode_all", QT_TRANSLATE_NOOP("Actions", "Pre-encode all images"), ("Ctrl+Alt+E",), "tools_menu"),
        ("propagate", QT_TRANSLATE_NOOP("Actions", "Propagate annotations through frames…"), ("Ctrl+Shift+P",),
         "tools_menu"),
        ("autolabel_images", QT_TRANSLATE_NOOP("Actions", "Auto-label images…"), ("Ctrl+Shift+L",), "tools_menu"),
        ("settings", QT_TRANSLATE_NOOP("Actions", "Settings…"), ("Ctrl+,",), "tools_menu"),
        ("cheatsheet", QT_TRANSLATE_NOOP("Actions", "Keyboard shortcuts"), ("F1",), "help"),
    ]
    specs |= {r[0]: ActionSpec(*r) for r in rows}
    return specs


ACTIONS: dict[str, ActionSpec] = _specs()

# Keys the canvas handles itself (not remappable): listed beside the action in Settings and F1.
# Space: a tap accepts the current candidate, Space + drag pans (see app.ui.canvas.view).
FIXED_KEYS: dict[str, tuple[str, ...]] = {"accept": ("Space",)}


def normalize_keys(keys: str) -> str:
    """Canonical PortableText of one key sequence ("ctrl+shift+z" -> "Ctrl+Shift+Z"); "" when invalid/empty."""
    if not keys.strip():
        return ""
    seq = QKeySequence.fromString(keys.strip(), QKeySequence.SequenceFormat.PortableText)
    if seq.isEmpty() or seq.count() == 0:
        return ""
    text = seq.toString(QKeySequence.SequenceFormat.PortableText)
    # Qt renders unknown keys as a private code; treat those as invalid
    return "" if "\ufffd" in text else text


def effective_shortcuts(overrides: Mapping[str, Sequence[str] | str] | None = None) -> dict[str, tuple[str, ...]]:
    """Every action id -> its key sequences: defaults replaced by `overrides` (unknown ids ignored)."""
    out = {aid: spec.default_keys for aid, spec in ACTIONS.items()}
    for aid, keys in (overrides or {}).items():
        if aid in out:
            out[aid] = _as_tuple(keys)
    return out


def find_conflicts(mapping: Mapping[str, Sequence[str] | str]) -> list[tuple[str, list[str]]]:
    """Key sequences bound to more than one action: [(keys, sorted action ids)], sorted by keys.

    `mapping` is action id -> key sequence strings (or one string); comparison is on the
    normalised form, so "ctrl+z" and "Ctrl+Z" clash.
    """
    owners: dict[str, set[str]] = {}
    for aid, keys in mapping.items():
        for k in _as_tuple(keys):
            norm = normalize_keys(k) or k
            owners.setdefault(norm, set()).add(aid)
    return sorted((k, sorted(ids)) for k, ids in owners.items() if len(ids) > 1)


def check_shortcuts(mapping: Mapping[str, Sequence[str] | str]) -> str | None:
    """None when `mapping` (full or partial, merged over the defaults) is acceptable, else one sentence why not."""
    unknown = sorted(set(mapping) - set(ACTIONS))
    if unknown:
        return translate("Actions", "Unknown action '{id}'.").format(id=unknown[0])
    for aid, keys in mapping.items():
        for k in _as_tuple(keys):
            if not normalize_keys(k):
                return translate("Actions", "'{keys}' is not a valid shortcut for {action}.").format(
                    keys=k, action=ACTIONS[aid].title())
    conflicts = find_conflicts(effective_shortcuts(mapping))
    if conflicts:
        keys, ids = conflicts[0]
        names = translate("Actions", " and ").join(ACTIONS[i].title() for i in ids)
        return translate("Actions", "The shortcut {keys} would be used by both {names}.").format(keys=keys,
                                                                                                  names=names)
    return None


def cheatsheet_rows(mapping: Mapping[str, Sequence[str]] | None = None) -> list[tuple[str, str, str]]:
    """(group, action text, keys joined by ' / ') for every action, in ACTIONS order (for the F1 sheet)."""
    eff = effective_shortcuts(mapping)
    return [(s.group, s.title(), " / ".join(eff[s.id])) for s in ACTIONS.values()]


def _as_tuple(keys: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(keys, str):
        return (keys,) if keys else ()
    return tuple(k for k in keys if k)


class ActionRegistry(QObject):
    """One QAction per ACTIONS entry, added to `parent_widget` so the shortcuts work without menus.

    Shortcuts are the defaults overridden by `settings.shortcuts`; `apply_shortcuts` remaps and
    persists. Signal `failed(str)`: one sentence when a remap is refused.
    """

    failed = Signal(str)

    def __init__(self, parent_widget: QWidget, settings: Settings) -> None:
        super().__init__(parent_widget)
        self._settings = settings
        self._actions: dict[str, QAction] = {}
        for spec in ACTIONS.values():
            act = QAction(spec.title(), parent_widget)
            act.setObjectName(f"action_{spec.id}")
            parent_widget.addAction(act)
            self._actions[spec.id] = act
        overrides = {k: v for k, v in settings.shortcuts.items() if k in ACTIONS}
        if check_shortcuts(overrides) is not None:
            overrides = {}  # a hand-edited settings file with clashes: fall back to the defaults
        self._set_keys(effective_shortcuts(overrides))

    def action(self, action_id: str) -> QAction:
        """The QAction of `action_id` (KeyError for an unknown id)."""
        return self._actions[action_id]

    def actions(self) -> dict[str, QAction]:
        """All actions by id."""
        return dict(self._actions)

    def shortcuts(self) -> dict[str, tuple[str, ...]]:
        """The current key sequences of every action (PortableText)."""
        return {aid: tuple(s.toString(QKeySequence.SequenceFormat.PortableText) for s in act.shortcuts())
                for aid, act in self._actions.items()}

    def apply_shortcuts(self, mapping: Mapping[str, Sequence[str] | str]) -> bool:
        """Remap the actions in `mapping` (others keep their current keys) and save to settings.

        Returns False and emits `failed` (nothing changes) on an unknown id, an invalid key or a conflict.
        """
        merged: dict[str, tuple[str, ...]] = {k: v for k, v in self._settings.shortcuts.items() if k in ACTIONS}
        merged.update({k: _as_tuple(v) for k, v in mapping.items()})
        problem = check_shortcuts(merged)
        if problem is not None:
            self.failed.emit(problem)
            return False
        eff = effective_shortcuts(merged)
        overrides = {aid: tuple(normalize_keys(k) for k in keys) for aid, keys in eff.items()
                     if tuple(normalize_keys(k) for k in keys) != tuple(normalize_keys(k) for k in ACTIONS[aid].default_keys)}
        self._set_keys(eff)
        self._settings.shortcuts = overrides
        try:
            self._settings.save()
        except OSError as exc:
            self.failed.emit(self.tr("Shortcuts changed but the settings could not be saved: {error}").format(
                error=exc))
        return True

    def reset_shortcuts(self) -> bool:
        """Back to the defaults of design.md (saved)."""
        self._settings.shortcuts = {}
        return self.apply_shortcuts({})

    def _set_keys(self, mapping: Mapping[str, tuple[str, ...]]) -> None:
        for aid, keys in mapping.items():
            seqs = [QKeySequence.fromString(normalize_keys(k), QKeySequence.SequenceFormat.PortableText)
                    for k in keys if normalize_keys(k)]
            self._actions[aid].setShortcuts(seqs)
