"""Actions: defaults of design.md, conflict detection, remapping persisted through Settings."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QWidget

from app.services.actions import (ACTIONS, ActionRegistry, check_shortcuts, cheatsheet_rows,
                                  effective_shortcuts, find_conflicts)
from app.services.settings import Settings

DESIGN_DEFAULTS = {
    "prev_image": ("A",), "next_image": ("D",), "tool_point": ("S",), "tool_box": ("B",),
    "tool_scribble": ("R",), "tool_polygon": ("P",), "tool_edit": ("E",), "next_candidate": ("Tab",),
    "prev_candidate": ("Shift+Tab",), "accept": ("Return", "Enter"), "clear": ("Esc",),
    "undo": ("Ctrl+Z",), "redo": ("Ctrl+Shift+Z", "Ctrl+Y"), "delete": ("Del",), "save": ("Ctrl+S",),
    "open": ("Ctrl+O",), "export": ("Ctrl+E",), "cheatsheet": ("F1",), "quit": ("Ctrl+Q",),
    **{f"label_{i}": (str(i),) for i in range(1, 10)},
}


def test_defaults_match_design() -> None:
    for aid, keys in DESIGN_DEFAULTS.items():
        assert ACTIONS[aid].default_keys == keys, aid
    for aid in ("zoom_in", "zoom_out", "fit", "open_folder", "import", "model_manager", "settings"):
        assert aid in ACTIONS
    assert "Space" not in {k for s in ACTIONS.values() for k in s.default_keys}  # the canvas owns Space
    assert find_conflicts(effective_shortcuts()) == []


def test_find_conflicts_normalises_and_groups() -> None:
    mapping = {"undo": ("ctrl+z",), "redo": ("Ctrl+Z", "Ctrl+Y"), "save": "Ctrl+Y", "open": ("Ctrl+O",)}
    assert find_conflicts(mapping) == [("Ctrl+Y", ["redo", "save"]), ("Ctrl+Z", ["redo", "undo"])]


def test_check_shortcuts_messages() -> None:
    assert check_shortcuts({"undo": ("Ctrl+U",)}) is None
    msg = check_shortcuts({"undo": ("D",)})
    assert msg is not None and "D" in msg and "Next image" in msg and "Undo" in msg
    assert "not a valid shortcut" in (check_shortcuts({"undo": ("Ctrl+Nonsense",)}) or "")
    assert "Unknown action" in (check_shortcuts({"fly": ("X",)}) or "")


def test_cheatsheet_lists_every_action_with_keys() -> None:
    rows = cheatsheet_rows()
    assert len(rows) == len(ACTIONS)
    assert ("edit", "Redo", "Ctrl+Shift+Z / Ctrl+Y") in rows


def test_registry_uses_settings_overrides(qtbot) -> None:
    w = QWidget()
    qtbot.addWidget(w)
    s = Settings.load()
    s.shortcuts = {"next_image": ("Right",)}
    reg = ActionRegistry(w, s)
    assert reg.action("next_image").shortcuts() == [QKeySequence("Right")]
    assert reg.action("redo").shortcuts() == [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]
    assert reg.action("undo") in w.actions()


def test_registry_ignores_conflicting_settings_file(qtbot) -> None:
    w = QWidget()
    qtbot.addWidget(w)
    s = Settings.load()
    s.shortcuts = {"undo": ("D",)}  # clashes with next_image
    reg = ActionRegistry(w, s)
    assert reg.shortcuts()["undo"] == ("Ctrl+Z",)
    assert reg.shortcuts()["next_image"] == ("D",)


def test_remap_persists_and_refuses_conflicts(qtbot) -> None:
    w = QWidget()
    qtbot.addWidget(w)
    reg = ActionRegistry(w, Settings.load())
    assert reg.apply_shortcuts({"next_image": ("Right", "D"), "prev_image": "Left"}) is True
    assert reg.shortcuts()["prev_image"] == ("Left",)
    reloaded = Settings.load()
    assert reloaded.shortcuts == {"next_image": ("Right", "D"), "prev_image": ("Left",)}
    # a conflict is refused with a message and changes nothing
    with qtbot.waitSignal(reg.failed, timeout=1000) as blocker:
        assert reg.apply_shortcuts({"save": ("Left",)}) is False
    assert "Left" in blocker.args[0]
    assert reg.shortcuts()["save"] == ("Ctrl+S",)
    assert Settings.load().shortcuts == reloaded.shortcuts
    # a second registry (next start) sees the remap
    w2 = QWidget()
    qtbot.addWidget(w2)
    reg2 = ActionRegistry(w2, Settings.load())
    assert reg2.shortcuts()["next_image"] == ("Right", "D")
    assert reg2.reset_shortcuts() is True
    assert Settings.load().shortcuts == {}
    assert reg2.shortcuts()["prev_image"] == ("A",)
