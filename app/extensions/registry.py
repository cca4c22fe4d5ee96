"""The registries of formats and automations, and plugin discovery (entry points, lazily).

Built-ins (LabelMe and COCO formats; the automations of app.automation) are always present; plugins
add to them. Ids are unique: a plugin offering an id that is already taken is reported as a
conflict and that item is left out.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING

from app.core.formats.api import Format
from app.extensions.api import Plugin

if TYPE_CHECKING:
    from app.automation.api import Automation

ENTRY_POINT_GROUP = "sam_labeler.plugins"


@dataclass
class PluginStatus:
    """One discovered plugin: entry-point name and value, the distribution that declares it, the
    loaded Plugin (None when loading failed), the error (one line) and warnings (conflicts)."""

    name: str
    value: str
    distribution: str
    plugin: Plugin | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Loaded without error."""
        return self.plugin is not None and self.error is None


@dataclass
class _State:
    statuses: list[PluginStatus] = field(default_factory=list)
    formats: dict[str, Format] = field(default_factory=dict)
    automations: dict[str, "Automation"] = field(default_factory=dict)


_lock = threading.RLock()
_state: _State | None = None


def _builtin_formats() -> list[Format]:
    from app.core.formats.builtin import BUILTIN_FORMATS

    return list(BUILTIN_FORMATS)


def _builtin_automations() -> list["Automation"]:
    try:
        from app.automation.builtin import BUILTIN_AUTOMATIONS
    except ImportError:  # no built-in automation module yet
        return []
    return list(BUILTIN_AUTOMATIONS)


def _load_entry(ep: metadata.EntryPoint) -> Plugin:
    obj = ep.load()
    if callable(obj) and not isinstance(obj, Plugin):
        obj = obj()
    if not isinstance(obj, Plugin):
        raise TypeError(f"the entry point {ep.value} is not an app.extensions.api.Plugin (got {type(obj).__name__})")
    return obj


def _discover() -> _State:
    state = _State()
    for fmt in _builtin_formats():
        state.formats[fmt.id] = fmt
    for auto in _builtin_automations():
        state.automations[auto.id] = auto
    try:
        eps = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    except Exception as exc:  # noqa: BLE001 - broken installed metadata must not stop the app
        state.statuses.append(PluginStatus("(entry points)", "", "", error=f"cannot read installed plugins: {exc}"))
        return state
    for ep in eps:
        dist = getattr(getattr(ep, "dist", None), "name", "") or ""
        status = PluginStatus(ep.name, ep.value, dist)
        state.statuses.append(status)
        try:
            plugin = _load_entry(ep)
        except BaseException as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            status.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            continue
        status.plugin = plugin
        _register(state, status, plugin)
    return state


def _register(state: _State, status: PluginStatus, plugin: Plugin) -> None:
    for fmt in plugin.formats:
        if fmt.id in state.formats:
            status.warnings.append(f"format id {fmt.id!r} is already taken; this plugin's one is not used")
        else:
            state.formats[fmt.id] = fmt
    for auto in plugin.automations:
        if auto.id in state.automations:
            status.warnings.append(f"automation id {auto.id!r} is already taken; this plugin's one is not used")
        else:
            state.automations[auto.id] = auto
    if plugin.model_families:
        from sam_backend.families import family_for, register_family

        for fam in plugin.model_families:
            taken = [m for m in fam.model_ids if family_for(m) is not None]
            if taken:
                status.warnings.append(f"model id(s) {', '.join(taken)} already served; family {fam.id!r} not used")
            else:
                register_family(fam)


def _get() -> _State:
    global _state
    with _lock:
        if _state is None:
            _state = _discover()
        return _state


def reload_plugins() -> None:
    """Forget what was discovered (tests, after installing a plugin); the next query rediscovers."""
    global _state
    with _lock:
        _state = None


def plugin_statuses() -> list[PluginStatus]:
    """Every discovered plugin with its state (loaded, error, warnings), by entry-point name."""
    return list(_get().statuses)


def formats() -> list[Format]:
    """Every format (built-ins first, then plugins', by entry-point name)."""
    return list(_get().formats.values())


def get_format(format_id: str) -> Format:
    """The format with this id; ValueError (one sentence listing the ids) otherwise."""
    found = _get().formats.get(format_id)
    if found is None:
        raise ValueError(f"unknown format {format_id!r}: choose one of {', '.join(_get().formats)}.")
    return found


def automations() -> list["Automation"]:
    """Every automation (built-ins first)."""
    return list(_get().automations.values())


def get_automation(automation_id: str) -> "Automation":
    """The automation with this id; ValueError otherwise."""
    found = _get().automations.get(automation_id)
    if found is None:
        raise ValueError(f"unknown automation {automation_id!r}: choose one of {', '.join(_get().automations)}.")
    return found
