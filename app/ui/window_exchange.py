"""The window's import and export: File > Export (dialog, plan shown when it would update files in
place, a cancellable background job with its own read-only connection) and File > Import
annotations (on the GUI thread: the project connection lives there). Messages keep the MainWindow
translation context."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QMessageBox

from app.core.errors import CoreError
from app.ui.dialogs.export_dialog import ExportDialog, ImportDialog, export_plan, run_export, run_import as import_choice
from app.ui.jobs import BackgroundJob

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

translate = QCoreApplication.translate


def ask_export(window: MainWindow) -> None:
    """File > Export: dialog, then a cancellable background job."""
    if window.project is None:
        window.status.show_message(translate("MainWindow", "Open a project first."))
        return
    dlg = ExportDialog(window.project, window.settings.last_export_dir, window)
    if dlg.exec() != ExportDialog.DialogCode.Accepted:
        return
    choice = dlg.choice()
    try:
        plan = export_plan(window.project.path, choice)
    except (CoreError, OSError, ValueError) as exc:
        window._error(f"Export failed: {exc}")
        return
    if plan.touches_existing:
        answer = QMessageBox.question(window, translate("MainWindow", "Export"),
                                      plan.summary + "\n\n" + translate("MainWindow", "Export now?"))
        if answer != QMessageBox.StandardButton.Yes:
            return
    start_export(window, choice)


def start_export(window: MainWindow, choice: Any) -> BackgroundJob | None:
    """Export in the background (own read-only connection); progress dialog with Cancel."""
    if window.project is None:
        return None
    project_path = window.project.path
    job = BackgroundJob(lambda progress, cancel: run_export(project_path, choice, progress, cancel),
                        translate("MainWindow", "Exporting…"), window)
    job.succeeded.connect(lambda dest: window.status.show_message(
        translate("MainWindow", "Exported to {path}.").format(path=dest)))
    job.failed.connect(lambda msg: window._error(translate("MainWindow", "Export failed: {reason}").format(reason=msg)))
    job.cancelled.connect(lambda: window.status.show_message(translate("MainWindow", "Export cancelled.")))
    job.done.connect(lambda: window.jobs.remove(job) if job in window.jobs else None)
    window.settings.last_export_dir = str(choice.destination.parent)
    window.jobs.append(job)
    job.start()
    return job


def ask_import(window: MainWindow) -> None:
    """File > Import annotations."""
    if window.project is None or window.project.read_only:
        window.status.show_message(translate("MainWindow", "Open a writable project first."))
        return
    dlg = ImportDialog(window.project.image_root, window)
    if dlg.exec() == ImportDialog.DialogCode.Accepted:
        run_import(window, dlg.choice())


def run_import(window: MainWindow, choice: Any) -> None:
    """Import and refresh; failures become one message."""
    if window.project is None:
        return
    window.setCursor(Qt.CursorShape.WaitCursor)
    try:
        report = import_choice(window.project, choice)
    except (CoreError, OSError, ValueError) as exc:
        window._error(translate("MainWindow", "Import failed: {reason}").format(reason=exc))
        return
    finally:
        window.unsetCursor()
    summary = report.summary() if hasattr(report, "summary") else translate("MainWindow", "Import finished.")
    window.status.show_message(summary)
    window.undo.stack.clear()
    window.controller.invalidate()
    window.images_dock.set_project(window.project)
    window.controller.go_to_row(max(0, window.controller.row))
