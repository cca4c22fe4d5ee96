"""GUI test configuration: the first-open question "where does the project go" (a modal file dialog,
which would wait forever under the offscreen platform) is answered with the image folder itself, the
layout tests were written for; tests of the question replace `MainWindow.ask_project_location`."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _project_location_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "ask_project_location",
                        lambda self, folder, default: Path(folder) / (Path(folder).name + ".samlabel"))
