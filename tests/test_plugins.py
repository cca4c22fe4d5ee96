"""The plugin extension point, end to end: the example package of docs/plugins.md installed with pip
(into a target folder put on the path, so the environment stays as it was) is discovered, listed,
used from the CLI and the export dialog; a plugin that raises on import is reported, not fatal."""
from __future__ import annotations

import csv
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.core.model import Annotation
from app.core.project import Project
from app.core.rle import mask_to_rle

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "plugin_example"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install` of the example plugin into a fresh target folder (no network: no deps)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(EXAMPLE)], check=True, capture_output=True, text=True)
    assert (target / "sam_labeler_example").is_dir()
    return target


def _cli(args: list[str], site: Path | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)] if site else [str(ROOT)])
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def in_process(installed: Path) -> Iterator[None]:
    """The example plugin visible to this process's registries for one test."""
    from app.extensions import reload_plugins

    sys.path.insert(0, str(installed))
    importlib.invalidate_caches()
    reload_plugins()
    try:
        yield
    finally:
        sys.path.remove(str(installed))
        for name in [m for m in sys.modules if m.startswith("sam_labeler_example")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        reload_plugins()


def _project(root: Path) -> Path:
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(root / "a.png")
    with Project.create(root / "p.samlabel") as p:
        lab = p.add_label_class("cat")
        img = p.add_image("a.png", 30, 20)
        m = np.zeros((20, 30), bool)
        m[4:9, 5:12] = True
        p.add_annotation(Annotation(image_id=img.id, label_id=lab.id, parts=(), rle=mask_to_rle(m)))
        return p.path


def test_plugins_list_shows_the_example_and_the_broken_one(installed: Path) -> None:
    out = _cli(["plugins", "list"], installed)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(ln.strip().startswith("csv_boxes  ok  CSV boxes example 1.0.0") for ln in lines), out.stdout
    broken = [ln for ln in lines if ln.strip().startswith("broken_example")]
    assert broken and "FAILED" in broken[0] and "RuntimeError: this example plugin is broken on purpose" in broken[0]
    assert any(ln.strip().startswith("csv-boxes") and "[import/export]" in ln for ln in lines)
    # without the plugin the same command lists none of it
    plain = _cli(["plugins", "list"], None)
    assert plain.returncode == 0 and "csv-boxes" not in plain.stdout and "broken_example" not in plain.stdout


def test_the_cli_exports_and_imports_through_the_plugin(installed: Path, tmp_path: Path) -> None:
    project = _project(tmp_path / "src")
    out_csv = tmp_path / "boxes.csv"
    done = _cli(["export", str(project), "--format", "csv-boxes", "--out", str(out_csv), "--option",
                 "delimiter=;"], installed)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out_csv.read_text(encoding="utf-8").splitlines(), delimiter=";"))
    assert rows == [["image", "label", "x0", "y0", "x1", "y1"], ["a.png", "cat", "5", "4", "11", "8"]]
    bad = _cli(["export", str(project), "--format", "csv-boxes", "--option", "delimiter=|"], installed)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "delimiter must be one of" in bad.stderr
    out_csv.write_text("image,label,x0,y0,x1,y1\na.png,dog,1,2,6,7\n", encoding="utf-8")
    imported = _cli(["import", str(out_csv), "--format", "csv-boxes", "--project", str(project), "--images",
                     str(tmp_path / "src")], installed)
    assert imported.returncode == 0, imported.stderr
    with Project.open(project, read_only=True) as p:
        anns = p.annotations(p.images()[0].id)
        assert [(p.label_class(a.label_id).name, a.shape, a.points) for a in anns][-1] == \
            ("dog", "rectangle", ((1.0, 2.0), (6.0, 7.0)))
    unknown = _cli(["export", str(project), "--format", "csv-boxes"], None)
    assert unknown.returncode != 0 and "invalid choice: 'csv-boxes'" in unknown.stderr


def test_the_export_dialog_lists_and_runs_the_plugin_format(qtbot, in_process: None, tmp_path: Path) -> None:
    import threading

    from app.extensions import plugin_statuses
    from app.ui.dialogs.export_dialog import ExportDialog, run_export
    from app.ui.dialogs.plugins_dialog import plugins_text

    project_path = _project(tmp_path)
    with Project.open(project_path, read_only=True) as proj:
        dlg = ExportDialog(proj, "")
        qtbot.addWidget(dlg)
        dlg.set_format("csv-boxes")
        assert dlg.format_box.currentData() == "csv-boxes" and not dlg.masks_box.isEnabled()
        assert dlg.choice().destination == tmp_path / "p.boxes.csv"
        assert dlg.choice().options == {"delimiter": ","}
        choice = dlg.choice()
    run_export(project_path, choice, lambda d, t: None, threading.Event())
    assert (tmp_path / "p.boxes.csv").read_text(encoding="utf-8").splitlines()[1] == "a.png,cat,5,4,11,8"
    statuses = {s.name: s.ok for s in plugin_statuses()}
    assert statuses["broken_example"] is False and statuses["csv_boxes"] is True
    assert all(statuses[name] for name in ("yolo", "voc", "isat", "mask_png", "cvat"))  # the built-in plugins
    text = plugins_text()
    assert "csv_boxes: CSV boxes example 1.0.0 — loaded" in text and "broken_example: FAILED" in text
