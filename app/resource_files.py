"""Where the files of `resources/` (icons, style sheets, translations, desktop files) are at run time.

Three layouts, tried in this order:
- a PyInstaller bundle: `<bundle>/_internal/resources` (`sys._MEIPASS`, see packaging/sam-labeler.spec);
- an installed wheel: the folder is installed as the package data `app/resources`
  (pyproject.toml maps `resources/` to `app.resources`);
- a source checkout or an editable install: `resources/` beside the `app` package.
No Qt here: the CLI (`sam-labeler desktop install`) uses it too.
"""
from __future__ import annotations

import sys
from pathlib import Path

_APP_DIR = Path(__file__).resolve().parent


def resource_dir() -> Path:
    """The resources folder (FileNotFoundError naming the places looked at when there is none)."""
    candidates: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates += [_APP_DIR / "resources", _APP_DIR.parent / "resources"]
    for folder in candidates:
        if (folder / "icons").is_dir():
            return folder
    raise FileNotFoundError("the application's resources are missing (looked in "
                            + ", ".join(str(c) for c in candidates) + "); reinstall SAM Labeler")


def resource(*parts: str) -> Path:
    """A path inside the resources folder (not checked for existence)."""
    return resource_dir().joinpath(*parts)
