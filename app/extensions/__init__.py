"""Extension points: formats, automations and model families, built in or contributed by plugins.

    from app.extensions import formats, get_format, automations, get_automation, plugin_statuses

Plugins are Python distributions declaring an entry point in the group ``sam_labeler.plugins``
whose value is a ``Plugin`` (app.extensions.api) or a function returning one. They are loaded the
first time any registry is asked (never at start-up of the window); a plugin that fails to import
or to build is reported by ``plugin_statuses()`` (Help > Plugins, ``sam-labeler plugins list``) with
its error, and the rest work. Qt-free. See docs/plugins.md.
"""
from app.extensions.api import Plugin, PluginHooks
from app.extensions.registry import (PluginStatus, automations, formats, get_automation, get_format,
                                     plugin_statuses, reload_plugins)

__all__ = ["Plugin", "PluginHooks", "PluginStatus", "automations", "formats", "get_automation", "get_format",
           "plugin_statuses", "reload_plugins"]
