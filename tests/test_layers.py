"""The layer rules of design.md, checked by importing every module in a clean interpreter."""
from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> list[str]:
    pkg_dir = ROOT / package.replace(".", "/")
    names = [package]
    for info in pkgutil.walk_packages([str(pkg_dir)], prefix=package + "."):
        names.append(info.name)
    return names


def _imported_after(modules: list[str]) -> set[str]:
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def _offenders(loaded: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize(
    "package, forbidden",
    [
        ("sam_backend", ("PySide6", "PyQt5", "PyQt6", "qtpy", "app", "plugins")),
        ("app.core", ("PySide6", "PyQt5", "PyQt6", "qtpy", "app.ui", "app.services", "sam_backend")),
        ("app.automation", ("PySide6", "PyQt5", "PyQt6", "qtpy", "app.ui", "app.services")),
    ],
)
def test_layer_imports(package: str, forbidden: tuple[str, ...]) -> None:
    loaded = _imported_after(_modules(package))
    assert package in loaded
    assert _offenders(loaded, forbidden) == []


def test_services_never_import_ui() -> None:
    loaded = _imported_after(_modules("app.services"))
    assert _offenders(loaded, ("app.ui",)) == []


def test_rule_detects_a_violation() -> None:
    """The checker itself must catch a module that pulls in a forbidden package."""
    loaded = _imported_after(["json"]) | {"PySide6.QtCore"}
    assert _offenders(loaded, ("PySide6",)) == ["PySide6.QtCore"]


def test_window_modules_do_not_import_torch() -> None:
    """torch takes seconds to import: the window must be able to show the first image before it
    is loaded (the worker imports it when a model is loaded)."""
    loaded = _imported_after(["app.ui.launch", "app.ui.main_window", "app.services.inference",
                              "app.cli", "sam_backend.cache", "sam_backend.types"])
    assert "app.ui.main_window" in loaded
    assert _offenders(loaded, ("torch",)) == []


TRANSFORMERS_MODULE = "sam_backend.detectors.grounding_dino"
"""The one module that may import transformers (the optional "text" extra), lazily."""


def test_only_the_detector_wrapper_imports_transformers() -> None:
    """Every other module imports, and the window can be built, with transformers blocked (as on a
    machine without the "text" extra); none of them loads it."""
    modules = [m for pkg in ("sam_backend", "app", "plugins") for m in _modules(pkg) if m != TRANSFORMERS_MODULE]
    code = (
        "import sys, importlib\n"
        "sys.modules['transformers'] = None\n"  # any import of it now raises ImportError
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "from sam_backend.families import family_for\n"
        "print(family_for('grounding-dino-tiny').available())\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from app.ui.main_window import MainWindow\n"
        "w = MainWindow()\n"
        "print(w.text_prompts.dock.notice.text())\n"
        "w.close()\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    enable = 'Text prompts need the optional package transformers: install it with pip install "sam-labeler[text]"'
    assert lines[0].startswith(enable) and lines[-1].startswith(enable)
    loaded = _imported_after(modules)
    assert not [m for m in loaded if m == "transformers" or m.startswith("transformers.")]
    assert TRANSFORMERS_MODULE not in loaded
