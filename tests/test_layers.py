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
        ("sam_backend", ("PySide6", "PyQt5", "PyQt6", "qtpy", "app", "plugins", "transformers", "huggingface_hub")),
        ("app.core", ("PySide6", "PyQt5", "PyQt6", "qtpy", "app.ui", "app.services", "sam_backend", "transformers",
                      "av")),
        ("app.automation", ("PySide6", "PyQt5", "PyQt6", "qtpy", "app.ui", "app.services")),
        ("plugins", ("PySide6", "PyQt5", "PyQt6", "qtpy", "app.ui", "app.services", "sam_backend")),
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


OPTIONAL_LIBS = ("transformers", "huggingface_hub")
OPTIONAL_HOMES = ("sam_backend/hub.py", "sam_backend/hf/", "sam_backend/detectors/grounding_dino.py")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(top-level module name, imported at module level) of every import statement in a file."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for n in names:
            found.append((n.split(".")[0], id(node) in top))
    return found


def test_optional_libraries_only_in_their_family_modules_and_lazily() -> None:
    """transformers / huggingface_hub (the sam2 extra) appear only in sam_backend.hub and sam_backend.hf,
    and there only inside functions, so that nothing imports them before a model is used."""
    offenders = []
    for package in ("sam_backend", "app", "plugins"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for name, module_level in _imports(path):
                if name not in OPTIONAL_LIBS:
                    continue
                if not rel.startswith(OPTIONAL_HOMES) or module_level:
                    offenders.append(f"{rel}: {name}{' (module level)' if module_level else ''}")
    assert offenders == []


def _backend_imports_in_ui() -> list[str]:
    """Every `sam_backend` import statement (module level or inside a function) under app/ui."""
    return [f"{path.relative_to(ROOT).as_posix()}: {name}"
            for path in sorted((ROOT / "app" / "ui").rglob("*.py"))
            for name, _ in _imports(path) if name == "sam_backend"]


def test_ui_reaches_models_only_through_services() -> None:
    """Layer rule 4: app.ui never imports sam_backend, not even inside a function (app.services.models
    is its door to the registry, install states, downloads, devices, families and detectors)."""
    assert _backend_imports_in_ui() == []


def test_the_ui_rule_sees_a_function_level_backend_import(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from sam_backend.checkpoints import install_state\n")
    assert _imports(f) == [("sam_backend", False)]


def test_the_checker_sees_a_module_level_import(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import transformers\ndef f():\n    from huggingface_hub import x\n")
    assert _imports(f) == [("transformers", True), ("huggingface_hub", False)]


def test_the_whole_app_imports_without_loading_transformers() -> None:
    modules = _modules("app") + _modules("sam_backend")
    loaded = _imported_after([m for m in modules if not m.startswith("app.__main__")])
    assert "app.ui.main_window" in loaded and "sam_backend.hf.predictor" in loaded
    assert _offenders(loaded, OPTIONAL_LIBS) == []


BLOCKER = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('transformers', 'huggingface_hub'):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, _Block())
"""


def test_without_the_extra_the_families_say_how_to_enable_them() -> None:
    code = BLOCKER + """
from sam_backend.families import family_for
from sam_backend.errors import SamBackendError
print(family_for('sam2.1_hiera_tiny').available())
print(family_for('sam3').available())
try:
    from sam_backend import load_predictor
    load_predictor('sam2.1_hiera_large', device='cpu')
except SamBackendError as exc:
    print('refused:', exc)
from app.cli import main
main(['models', 'list'])
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    hint = 'pip install "sam-labeler[sam2]"'
    assert lines[0] == lines[1] and hint in lines[0] and lines[0].startswith("transformers is not installed")
    assert lines[2] == "refused: " + lines[0]
    listing = [ln for ln in lines if ln.startswith("sam2.1_hiera_tiny ")]
    assert len(listing) == 1 and hint in listing[0]
    assert any(ln.startswith("mobile_sam ") and "unusable" not in ln for ln in lines)


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
