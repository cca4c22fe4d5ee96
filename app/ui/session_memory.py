"""What the window remembers between sessions, in the user's settings (never in the image folder):
where the project of each image folder lives, the last folder browsed, the last image worked on per
project. Pure helpers over `Settings.get/set`; the question itself (a file dialog) is the window's.

A project goes beside its image folder by default (``<parent>/<folder>.samlabel``): the image folder
gets no project, WAL, lock or export files. A project that already sits inside the folder (made by an
older version or by the CLI's ``Project.open_folder``) is used as it is, without asking.
"""
from __future__ import annotations

import os
from pathlib import Path

from app.core.project import PROJECT_SUFFIX
from app.services.settings import Settings

LOCATIONS_KEY = "project_locations"   # image folder -> project file
LAST_DIR_KEY = "last_open_dir"        # the folder the open dialogs start in
LAST_IMAGE_KEY = "last_images"        # project file -> image id shown last
MAX_REMEMBERED = 200                  # entries kept per map (newest last); bounds the settings file


def _norm(path: Path | str) -> str:
    return os.path.normcase(os.path.abspath(str(path)))


def default_project_file(folder: Path) -> Path:
    """The suggested project file of an image folder: beside it, named after it."""
    folder = Path(folder).absolute()
    return folder.parent / (folder.name + PROJECT_SUFFIX)


def known_project_file(settings: Settings, folder: Path) -> Path | None:
    """The project file of `folder` when no question is needed: remembered (and still there), or
    already inside the folder; None when the user must be asked."""
    folder = Path(folder).absolute()
    remembered = _map(settings, LOCATIONS_KEY).get(_norm(folder))
    if isinstance(remembered, str) and Path(remembered).is_file():
        return Path(remembered)
    inside = folder / (folder.name + PROJECT_SUFFIX)
    if inside.is_file():
        return inside
    return None


def remember_project_file(settings: Settings, folder: Path, project_file: Path) -> None:
    """Remember where the project of `folder` lives (not saved here)."""
    _put(settings, LOCATIONS_KEY, _norm(folder), str(Path(project_file).absolute()))


def last_open_dir(settings: Settings) -> str:
    """The folder the open dialogs start in: the last one used if it still exists, else home."""
    last = settings.get(LAST_DIR_KEY, "")
    return last if isinstance(last, str) and last and Path(last).is_dir() else str(Path.home())


def remember_open_dir(settings: Settings, folder: Path | str) -> None:
    """Start the next open dialog in `folder` (not saved here)."""
    settings.set(LAST_DIR_KEY, str(Path(folder).absolute()))


def last_image(settings: Settings, project_file: Path) -> int | None:
    """The image id shown last in this project, if known."""
    value = _map(settings, LAST_IMAGE_KEY).get(_norm(project_file))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def remember_image(settings: Settings, project_file: Path, image_id: int) -> None:
    """Remember the image shown last in this project (not saved here)."""
    _put(settings, LAST_IMAGE_KEY, _norm(project_file), int(image_id))


def _map(settings: Settings, key: str) -> dict[str, object]:
    value = settings.get(key, {})
    return dict(value) if isinstance(value, dict) else {}


def _put(settings: Settings, key: str, name: str, value: object) -> None:
    data = _map(settings, key)
    data.pop(name, None)
    data[name] = value  # newest last: the oldest entries go first when the map is full
    while len(data) > MAX_REMEMBERED:
        del data[next(iter(data))]
    settings.set(key, data)
