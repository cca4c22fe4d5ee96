"""Help > Plugins: every installed plugin with its state (loaded, or the error that stopped it),
and the formats, automations and model families available (built in and from plugins)."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

from app.ui.i18n import mark_data


def plugins_text() -> str:
    """The report shown by the dialog (the same facts as `sam-labeler plugins list`)."""
    from app.extensions import automations, formats, plugin_statuses
    from app.services.models import family_lines

    lines = ["Plugins:"]
    statuses = plugin_statuses()
    if not statuses:
        lines.append("  none installed")
    for st in statuses:
        if st.ok and st.plugin is not None:
            lines.append(f"  {st.name}: {st.plugin.title} {st.plugin.version} — loaded")
        else:
            lines.append(f"  {st.name}: FAILED to load — {st.error}")
        lines.extend(f"    warning: {w}" for w in st.warnings)
    lines.append("")
    lines.append("Formats: " + ", ".join(f.id for f in formats()))
    lines.append("Automations: " + (", ".join(a.id for a in automations()) or "none"))
    lines.append("Model families: " + ", ".join(family_lines()))
    return "\n".join(lines)


class PluginsDialog(QDialog):
    """Read-only report of plugins and registries."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Plugins"))
        self.resize(640, 360)
        lay = QVBoxLayout(self)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setPlainText(plugins_text())
        mark_data(self.text)  # ids, names, versions and the plugins' own error messages
        lay.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
