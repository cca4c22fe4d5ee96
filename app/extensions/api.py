"""What a plugin provides: the ``Plugin`` value its entry point names.

    # in the plugin's pyproject.toml
    [project.entry-points."sam_labeler.plugins"]
    my_format = "my_package.plugin:plugin"

    # my_package/plugin.py
    from app.extensions.api import Plugin
    plugin = Plugin(id="my_format", title="My format", version="1.0", formats=(MY_FORMAT,))

The entry point may also name a function of no arguments returning a Plugin (called once, when
the registries are first used).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.core.formats.api import Format

if TYPE_CHECKING:
    from app.automation.api import Automation
    from sam_backend.families import ModelFamily


@dataclass(frozen=True)
class PluginHooks:
    """Optional lifecycle callbacks (each called in the GUI thread; exceptions are reported in the
    message area and never stop the application). project_opened(path of the .samlabel);
    image_shown(project image id); project_closed()."""

    project_opened: Callable[[str], None] | None = None
    image_shown: Callable[[int], None] | None = None
    project_closed: Callable[[], None] | None = None


@dataclass(frozen=True)
class Plugin:
    """One plugin: an id (unique), a title and version for Help > Plugins, and what it adds."""

    id: str
    title: str
    version: str = ""
    description: str = ""
    formats: Sequence[Format] = ()
    automations: Sequence["Automation"] = ()
    model_families: Sequence["ModelFamily"] = ()
    hooks: PluginHooks = field(default_factory=PluginHooks)
