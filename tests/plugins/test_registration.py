"""The built-in format plugins are declared in pyproject.toml, load as Plugins, satisfy the
format protocols and register beside LabelMe and COCO (the installed metadata comes from another
checkout, so the entry points are read from pyproject.toml itself)."""
from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

from app.core.formats.api import Exporter, Importer
from app.core.options import resolve_options
from app.extensions.api import Plugin
from app.extensions.registry import PluginStatus, _register, _State

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {"yolo-seg", "yolo-det", "voc", "isat", "mask-png", "cvat"}


def _declared() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["project"]["entry-points"]["sam_labeler.plugins"]


def _load(value: str) -> Plugin:
    module, _, attr = value.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    return obj() if callable(obj) and not isinstance(obj, Plugin) else obj


def test_every_plugin_is_declared_and_loads() -> None:
    declared = _declared()
    plugins = {name: _load(value) for name, value in declared.items()}
    assert all(isinstance(p, Plugin) for p in plugins.values())
    assert len({p.id for p in plugins.values()}) == len(plugins)
    ids = [f.id for p in plugins.values() for f in p.formats]
    assert sorted(ids) == sorted(EXPECTED) and len(ids) == len(set(ids))
    modules = {p.parent.name for p in (ROOT / "plugins").glob("*/__init__.py")}
    assert {v.partition(":")[0].split(".")[1] for v in declared.values()} == modules  # none forgotten


def test_formats_satisfy_the_protocols_and_their_options_resolve() -> None:
    for value in _declared().values():
        for fmt in _load(value).formats:
            assert isinstance(fmt.exporter, Exporter) and isinstance(fmt.importer, Importer)
            assert fmt.exporter.id == fmt.importer.id == fmt.id
            for side in (fmt.exporter, fmt.importer):
                defaults = resolve_options(side.options, {})
                for opt in side.options:
                    assert opt.kind != "choice" or opt.default in opt.choices
                    assert opt.parse(str(defaults[opt.name]).lower() if opt.kind == "bool"
                                     else str(defaults[opt.name])) == defaults[opt.name]


def test_they_register_beside_the_builtins_without_conflict() -> None:
    from app.core.formats.builtin import BUILTIN_FORMATS

    state = _State()
    for fmt in BUILTIN_FORMATS:
        state.formats[fmt.id] = fmt
    for name, value in sorted(_declared().items()):
        status = PluginStatus(name, value, "sam-labeler")
        _register(state, status, _load(value))
        assert status.warnings == []
    assert set(state.formats) == {"labelme", "coco"} | EXPECTED


def test_plugin_modules_stay_small() -> None:
    for path in (ROOT / "plugins").rglob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 500, path
