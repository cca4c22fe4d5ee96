"""The main window's menu bar: File, Edit, View, Image, Tools, Help, built from the ActionRegistry's
QActions (so menu entries show the live, remappable shortcuts)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QMenu

from app.ui.i18n import mark_data
from app.ui.theme import icon_color

translate = QCoreApplication.translate

TOOL_IDS = ("tool_point", "tool_box", "tool_scribble", "tool_polygon", "tool_edit")


def _icon(name: str) -> Any:
    """A qtawesome icon in the theme's glyph colour, or None when the font cannot be loaded (headless
    minimal platforms)."""
    try:
        import qtawesome

        return qtawesome.icon(name, color=icon_color())
    except Exception:  # noqa: BLE001 - icons are decoration only
        return None


ICONS: dict[str, str] = {
    "open": "fa5s.folder-open", "open_folder": "fa5s.images", "export": "fa5s.file-export",
    "import": "fa5s.file-import", "save": "fa5s.save", "undo": "fa5s.undo", "redo": "fa5s.redo",
    "delete": "fa5s.trash", "zoom_in": "fa5s.search-plus", "zoom_out": "fa5s.search-minus",
    "fit": "fa5s.expand", "model_manager": "fa5s.brain", "settings": "fa5s.cog",
    "cheatsheet": "fa5s.keyboard", "tool_point": "fa5s.mouse-pointer", "tool_box": "fa5.square",
    "tool_scribble": "fa5s.paint-brush", "tool_polygon": "fa5s.draw-polygon", "tool_edit": "fa5s.edit",
    "segment_everything": "fa5s.magic"}


def set_action_icons(registry: Any) -> None:
    """(Re)colour the menu and toolbar glyphs for the current theme (also after a theme switch)."""
    for action_id, name in ICONS.items():
        icon = _icon(name)
        if icon is not None:
            registry.action(action_id).setIcon(icon)


def build_menus(window: Any) -> QMenu:
    """Fill `window.menuBar()`; returns the File > Recent projects submenu (rebuilt by the window)."""
    act = window.registry.action
    bar = window.menuBar()
    set_action_icons(window.registry)

    file_menu = bar.addMenu(translate("Menus", "&File"))
    file_menu.addAction(act("open_folder"))
    file_menu.addAction(act("open"))
    recent = file_menu.addMenu(translate("Menus", "Recent projects"))
    mark_data(recent)  # project paths
    file_menu.addSeparator()
    file_menu.addAction(act("save"))
    file_menu.addAction(act("import"))
    file_menu.addAction(act("export"))
    file_menu.addSeparator()
    file_menu.addAction(act("quit"))

    edit_menu = bar.addMenu(translate("Menus", "&Edit"))
    window.edit_menu = edit_menu
    edit_menu.addAction(act("undo"))
    edit_menu.addAction(act("redo"))
    edit_menu.addSeparator()
    edit_menu.addAction(act("delete"))
    edit_menu.addAction(act("clear"))

    view_menu = bar.addMenu(translate("Menus", "&View"))
    window.view_menu = view_menu  # app.ui.view_features adds the display actions
    for action_id in ("zoom_in", "zoom_out", "fit"):
        view_menu.addAction(act(action_id))
    view_menu.addSeparator()
    for dock in (window.images_dock, window.labels_dock, window.annotations_dock):
        view_menu.addAction(dock.toggleViewAction())

    image_menu = bar.addMenu(translate("Menus", "&Image"))
    window.image_menu = image_menu
    image_menu.addAction(act("prev_image"))
    image_menu.addAction(act("next_image"))
    image_menu.addSeparator()
    image_menu.addAction(window.mark_new_action)

    tools_menu = bar.addMenu(translate("Menus", "&Tools"))
    window.tools_menu = tools_menu  # extensions add their actions here (app.ui.propagate_ui)
    group = QActionGroup(window)
    for action_id in TOOL_IDS:
        a = act(action_id)
        a.setCheckable(True)
        group.addAction(a)
        tools_menu.addAction(a)
    act("tool_point").setChecked(True)
    tools_menu.addSeparator()
    for action_id in ("next_candidate", "prev_candidate", "accept"):
        tools_menu.addAction(act(action_id))
    labels = tools_menu.addMenu(translate("Menus", "Label class"))
    for n in range(1, 10):
        labels.addAction(act(f"label_{n}"))
    tools_menu.addSeparator()
    tools_menu.addAction(act("model_manager"))
    tools_menu.addAction(act("encode_all"))
    tools_menu.addAction(act("settings"))

    help_menu = bar.addMenu(translate("Menus", "&Help"))
    help_menu.addAction(act("cheatsheet"))
    help_menu.addAction(translate("Menus", "Plugins…"), window.show_plugins)
    help_menu.addAction(translate("Menus", "About SAM Labeler"), window.show_about)

    toolbar = window.addToolBar(translate("Menus", "Main toolbar"))
    toolbar.setObjectName("MainToolBar")
    toolbar.setMovable(False)
    bar_ids: tuple[str | None, ...] = ("open_folder", "save", "export", None, "undo", "redo", None, *TOOL_IDS, None,
                                       "fit", "model_manager")
    for bar_id in bar_ids:
        if bar_id is None:
            toolbar.addSeparator()
        else:
            toolbar.addAction(act(bar_id))
    return recent
