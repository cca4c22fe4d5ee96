"""`sam-labeler plugins list`: the formats, automations and model families, built in and from
plugins, and every plugin that failed to load with its error."""
from __future__ import annotations

import argparse

NAME = "plugins"
HELP = "List plugins, formats, automations and model families (and plugins that failed to load)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `plugins`."""
    parser.add_argument("action", choices=("list",), help="list: show what is installed")


def _option_text(options: tuple) -> str:
    return ", ".join(f"{o.name}={o.default}" for o in options)


def run(args: argparse.Namespace) -> int:
    """Print the registries; exit 0 (a broken plugin is listed, not an error)."""
    from app.extensions import automations, formats, plugin_statuses
    from sam_backend.families import families

    statuses = plugin_statuses()
    print("plugins:")
    if not statuses:
        print("  (none installed)")
    for st in statuses:
        if st.ok and st.plugin is not None:
            p = st.plugin
            what = [f"formats {', '.join(f.id for f in p.formats)}" if p.formats else "",
                    f"automations {', '.join(a.id for a in p.automations)}" if p.automations else "",
                    f"model families {', '.join(m.id for m in p.model_families)}" if p.model_families else ""]
            adds = "; ".join(w for w in what if w) or "nothing"
            print(f"  {st.name}  ok  {p.title} {p.version}".rstrip() + f" ({st.distribution or 'local'}): {adds}")
        else:
            print(f"  {st.name}  FAILED ({st.distribution or 'local'}, {st.value}): {st.error}")
        for w in st.warnings:
            print(f"    warning: {w}")
    print("formats:")
    for fmt in formats():
        ways = [w for w, obj in (("import", fmt.importer), ("export", fmt.exporter)) if obj is not None]
        line = f"  {fmt.id:<10} {fmt.title}  [{'/'.join(ways)}]"
        if fmt.exporter is not None and fmt.exporter.mask_modes:
            line += f"  masks: {', '.join(fmt.exporter.mask_modes)}"
        opts = [o for obj in (fmt.exporter, fmt.importer) if obj is not None for o in obj.options]
        if opts:
            line += f"  options: {_option_text(tuple(opts))}"
        print(line)
    print("automations:")
    autos = automations()
    if not autos:
        print("  (none)")
    for auto in autos:
        print(f"  {auto.id:<10} {auto.title}" + (f"  options: {_option_text(auto.options)}" if auto.options else ""))
    print("model families:")
    for fam in families():
        state = fam.available()
        print(f"  {fam.id:<10} {fam.title} ({fam.kind}): {', '.join(fam.model_ids)}"
              + (f"  [not available: {state}]" if state else ""))
    return 0
