"""The main window: wires the canvas, docks, candidate strip, status bar, menus and dialogs to the
services and the labeling controller. No labeling logic lives here (see app.ui.controller)."""
from __future__ import annotations

from functools import partial

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from app.core.errors import CoreError, ProjectLocked
from app.core.project import Project
from app.services.actions import ActionRegistry
from app.services.inference import InferenceService
from app.services.settings import Settings
from app.services.undo import UndoService
from app.ui.canvas import CanvasView
from app.ui.candidate_strip import CandidateStrip
from app.ui.controller import LabelingController, image_key
from app.ui.dialogs.cheatsheet import CheatSheetDialog
from app.ui.dialogs.settings_dialog import SettingsDialog
from app.ui.docks.annotations_dock import AnnotationsDock
from app.ui.docks.images_dock import ImagesDock
from app.ui.docks.labels_dock import LabelsDock
from app.ui.extensions import install_ui_extensions, shutdown_ui_extensions
from app.ui.image_loader import ImageLoader
from app.ui.jobs import BackgroundJob
from app.ui.menus import build_menus, set_action_icons
from app.ui import session_memory
from app.ui.propagate_ui import install_propagation
from app.ui.annotation_actions import install_annotation_actions
from app.ui.annotation_menu import install_annotation_menus
from app.ui.drop_open import install_drop_open
from app.ui.view_features import install_view_features
from app.ui.attribute_ui import install_attribute_features
from app.ui.status import ModelBanner, StatusPanel
from app.ui.theme import apply_theme, current_theme
from app.ui.window_geometry import place_window
from app.ui import window_exchange, window_model
from app.ui.dialogs.model_manager import ModelManagerDialog
from app.ui.gc_tuning import freeze_long_lived

APP_NAME = "SAM Labeler"
TOOLS = ("point", "box", "scribble", "polygon", "edit")
SHUTDOWN_TIMEOUT_S = 30.0  # an encode in progress cannot be interrupted (large models on CPU take long)


class MainWindow(QMainWindow):
    """One window = one open project (or none). `open_path` opens a folder or a .samlabel file."""

    def __init__(self, settings: Settings | None = None, inference: InferenceService | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings.load()
        self.project: Project | None = None
        self.inference = inference if inference is not None else InferenceService(self.settings)
        self.inference.setParent(self)
        self.undo = UndoService(self)
        self.registry = ActionRegistry(self, self.settings)
        self.canvas = CanvasView(self)
        self.strip = CandidateStrip(self)
        self.banner = ModelBanner(self)
        self.banner.setVisible(False)
        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.banner)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.strip)
        self.setCentralWidget(central)
        self.images_dock = ImagesDock(self)
        self.labels_dock = LabelsDock(self)
        self.annotations_dock = AnnotationsDock(self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.images_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.labels_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.annotations_dock)
        self.status = StatusPanel(self.statusBar())
        self.loader = ImageLoader(parent=self)
        self.controller = LabelingController(self.canvas, self.inference, self.undo, self.images_dock.model,
                                             self.loader, prefetch_count=self.settings.prefetch_count, parent=self)
        self.jobs: list[BackgroundJob] = []
        self.manager: ModelManagerDialog | None = None
        self.cheatsheet: CheatSheetDialog | None = None
        self.mark_done_action = QAction(self.tr("Mark image done"), self)
        self.mark_new_action = QAction(self.tr("Mark image not done"), self)
        self.recent_menu = build_menus(self)
        install_propagation(self)  # Tools > Propagate annotations through frames (app.ui.propagate_ui)
        self.view_features = install_view_features(self)  # display dock, label counts, status fields
        self.annotation_actions = install_annotation_actions(self)  # copy/paste/duplicate, done, next undone
        self.annotation_menus = install_annotation_menus(self)  # context menus of shapes and rows, details
        self.drop_opener = install_drop_open(self)  # drop a folder, image or .samlabel onto the window
        self.attribute_features = install_attribute_features(self)  # class flags/attributes, image flags
        self._shut_down = False
        self.confirm: Callable[[str, str], bool] = self._ask_yes_no
        self._wire()
        self.extensions = install_ui_extensions(self)  # hook point: app.ui.extensions.UI_EXTENSIONS
        geometry = self.settings.get("window_geometry")
        place_window(self, geometry if isinstance(geometry, str) else None)  # fits the screen (app.ui.window_geometry)
        self.update_title()
        self.canvas.setFocus()

    # ------------------------------------------------------------------ wiring
    def _wire(self) -> None:
        act, c = self.registry.action, self.controller
        simple: dict[str, Callable[[], Any]] = {
            "prev_image": c.prev_image, "next_image": c.next_image,
            "next_candidate": lambda: c.cycle_candidate(+1), "prev_candidate": lambda: c.cycle_candidate(-1),
            "accept": c.accept, "clear": c.clear, "delete": c.delete_selected,
            "undo": lambda: c.after_accepts(self.undo.stack.undo),
            "redo": lambda: c.after_accepts(self.undo.stack.redo), "save": self.save,
            "open": self.ask_open_project, "open_folder": self.ask_open_folder, "import": self.ask_import,
            "export": self.ask_export, "quit": self.close, "zoom_in": self.canvas.zoom_in,
            "zoom_out": self.canvas.zoom_out, "fit": self.canvas.fit, "model_manager": self.open_model_manager,
            "settings": self.open_settings, "cheatsheet": self.show_cheatsheet, "encode_all": self.encode_all_images,
        }
        for action_id, fn in simple.items():
            act(action_id).triggered.connect(lambda _c=False, fn=fn: fn())
        for tool in TOOLS:
            act(f"tool_{tool}").triggered.connect(lambda _c=False, t=tool: self.set_tool(t))
        for n in range(1, 10):
            act(f"label_{n}").triggered.connect(lambda _c=False, n=n: c.choose_label_number(n))
        self.undo.stack.canUndoChanged.connect(act("undo").setEnabled)
        self.undo.stack.canRedoChanged.connect(act("redo").setEnabled)
        act("undo").setEnabled(False)
        act("redo").setEnabled(False)
        self.mark_done_action.triggered.connect(lambda: c.set_image_status("done"))
        self.mark_new_action.triggered.connect(lambda: c.set_image_status("in_progress"))
        self.registry.failed.connect(lambda msg: self.status.show_message(msg, error=True))
        self.undo.failed.connect(lambda msg: self.status.show_message(msg, error=True))
        self.undo.projectChanged.connect(self._on_project_changed)
        inf = self.inference
        inf.modelStateChanged.connect(self._on_model_state)
        inf.encodeStateChanged.connect(self.status.on_encode_state)
        inf.failed.connect(lambda msg: self.status.show_message(msg, error=True))
        inf.progress.connect(self._on_progress)
        c.message.connect(self.status.show_message)
        c.imageChanged.connect(self._on_image_changed)
        c.candidatesChanged.connect(self._on_candidates)
        c.annotationsChanged.connect(self._refresh_annotations)
        c.labelChanged.connect(self._on_label_changed)
        c.selectionChanged.connect(self.annotations_dock.select)
        self.canvas.cursorMoved.connect(self.status.set_cursor)
        self.strip.candidateClicked.connect(c.set_candidate)
        self.images_dock.imageActivated.connect(self._go_to_row)
        ld = self.labels_dock
        ld.labelChosen.connect(c.set_label)
        ld.addRequested.connect(lambda name, color: self._push_label_edit("AddLabelClass", name, color or None))
        ld.renameRequested.connect(lambda i, name: self._push_label_edit("RenameLabelClass", i, name))
        ld.recolorRequested.connect(lambda i, color: self._push_label_edit("RecolorLabelClass", i, color))
        ld.moveRequested.connect(lambda i, order: self._push_label_edit("MoveLabelClass", i, order))
        ld.deleteRequested.connect(lambda i: self._push_label_edit("DeleteLabelClass", i))
        ad = self.annotations_dock
        ad.selectionRequested.connect(c.select_annotation)
        ad.hiddenChanged.connect(c.set_hidden)
        ad.raiseRequested.connect(c.change_z)
        def delete(ann_id: int) -> None:
            c.select_annotation(ann_id)
            c.delete_selected()

        ad.deleteRequested.connect(delete)
        self.banner.openManager.connect(self.open_model_manager)

    def _push_label_edit(self, name: str, *args: Any) -> None:
        from app.core import edits

        edit = getattr(edits, name)(*args)
        self.controller.after_accepts(lambda: self.undo.push(edit))

    # ------------------------------------------------------------------ projects
    def open_path(self, path: Path | str) -> bool:
        """Open an image folder (creates/opens <folder>/<name>.samlabel) or a .samlabel project.

        A project open elsewhere offers read-only opening. Failures become one message; returns success.
        """
        path = Path(path).expanduser()
        if self.project is not None and self._same_project(path):
            return True
        project_file = self._project_file_for(path) if path.is_dir() else None
        if path.is_dir() and project_file is None:
            return False  # the person cancelled the question where the project goes
        self.controller.flush()  # accepts still being converted belong to the current project
        try:
            project = self._open(path, read_only=False, project_file=project_file)
        except ProjectLocked as exc:
            question = self.tr("{reason}\n\nOpen it read-only?").format(reason=exc)
            if not self.confirm(self.tr("Project in use"), question):
                return False
            try:
                project = self._open(path, read_only=True, project_file=project_file)
            except (CoreError, OSError, ValueError) as exc2:
                self._error(self.tr("Cannot open {path}: {reason}").format(path=path, reason=exc2))
                return False
        except (CoreError, OSError, ValueError) as exc:
            self._error(self.tr("Cannot open {path}: {reason}").format(path=path, reason=exc))
            return False
        if project_file is not None:
            session_memory.remember_project_file(self.settings, path, project.path)
        self.set_project(project)
        return True

    def _project_file_for(self, folder: Path) -> Path | None:
        """The project file of an image folder: known (remembered, or inside it), else asked."""
        known = session_memory.known_project_file(self.settings, folder)
        if known is not None:
            return known
        return self.ask_project_location(folder, session_memory.default_project_file(folder))

    def ask_project_location(self, folder: Path, default: Path) -> Path | None:
        """First open of an image folder: where its project file goes (default beside the folder, so
        the image folder stays clean). None when cancelled. Tests replace this method."""
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Where should the project of “{folder}” be saved?").format(folder=folder.name),
            str(default), self.tr("Projects (*.samlabel)"), options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return None
        chosen = Path(path)
        return chosen if chosen.suffix == ".samlabel" else chosen.with_name(chosen.name + ".samlabel")

    def _same_project(self, path: Path) -> bool:
        assert self.project is not None
        target = session_memory.known_project_file(self.settings, path) if path.is_dir() else path
        if target is None:
            return False
        try:
            return target.resolve() == self.project.path.resolve()
        except OSError:
            return False

    @staticmethod
    def _open(path: Path, read_only: bool, project_file: Path | None = None) -> Project:
        if path.is_dir():
            return Project.open_folder(path, read_only=read_only, project_path=project_file)
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        return Project.open(path, read_only=read_only)

    def set_project(self, project: Project | None) -> None:
        """Close the current project (if any) and show `project`."""
        self.controller.flush()
        old = self.project
        self.project = None
        self.controller.set_project(None)
        if old is not None:
            old.close()
        self.project = project
        if project is not None:
            project.start_background_checkpoints()  # no commit of the GUI thread pays for a WAL checkpoint
        self.images_dock.set_project(project)
        start = session_memory.last_image(self.settings, project.path) if project is not None else None
        self.controller.set_project(project, start_image=start)  # back where the person stopped
        if project is not None:
            self.settings.add_recent_project(str(project.path))
            self._save_settings()
            self.status.set_saved(self.tr("read-only") if project.read_only else self.tr("all changes saved"))
            self.status.show_message(self.tr("Opened {name}: {count} images.").format(name=project.path.name,
                                                                                  count=project.image_count()))
        else:
            self.status.set_saved("")
        self.update_recent_menu()
        self.update_title()
        freeze_long_lived()  # window and project objects are long-lived (see app.ui.gc_tuning)

    def update_title(self) -> None:
        """"NAME.samlabel — SAM Labeler" (+ read-only): the desktop's task list and window switcher tell the
        projects apart by it. Accepted edits are committed at once, so there is no unsaved marker."""
        if self.project is None:
            self.setWindowTitle(APP_NAME)
            return
        ro = self.tr(" [read-only]") if self.project.read_only else ""
        self.setWindowTitle(f"{self.project.path.name}{ro} — {APP_NAME}")

    def ask_open_folder(self) -> None:
        """File > Open image folder."""
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open image folder"),
                                                  session_memory.last_open_dir(self.settings))
        if folder:
            session_memory.remember_open_dir(self.settings, folder)
            self.open_path(folder)

    def ask_open_project(self) -> None:
        """File > Open project."""
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open project"), session_memory.last_open_dir(self.settings),
                                              self.tr("Projects (*.samlabel)"))
        if path:
            session_memory.remember_open_dir(self.settings, Path(path).parent)
            self.open_path(path)

    def update_recent_menu(self) -> None:
        """Rebuild File > Recent projects."""
        self.recent_menu.clear()
        for p in self.settings.recent_projects:
            self.recent_menu.addAction(p, partial(self.open_path, p))
        self.recent_menu.setEnabled(bool(self.settings.recent_projects))

    def save(self) -> None:
        """Ctrl+S: every accepted edit is already committed; flush the WAL into the project file."""
        if self.project is None:
            return
        if not self.project.read_only:
            self.project.checkpoint()
        self.status.show_message(self.tr("All changes are saved (each accepted edit is committed at once)."))

    # ------------------------------------------------------------------ import / export (app.ui.window_exchange)
    def ask_export(self) -> None:
        """File > Export: dialog, then a cancellable background job."""
        window_exchange.ask_export(self)

    def start_export(self, choice: Any) -> BackgroundJob | None:
        """Export in the background (own read-only connection); progress dialog with Cancel."""
        return window_exchange.start_export(self, choice)

    def ask_import(self) -> None:
        """File > Import annotations (runs on the GUI thread: the project connection lives here)."""
        window_exchange.ask_import(self)

    def run_import(self, choice: Any) -> None:
        """Import and refresh; failures become one message."""
        window_exchange.run_import(self, choice)

    # ------------------------------------------------------------------ model (app.ui.window_model)
    def start_model(self, model_id: str | None = None, checkpoint: str | None = None,
                    device: str | None = None) -> None:
        """Load a model in the worker when a checkpoint is available, else show the first-run banner."""
        window_model.start_model(self, model_id, checkpoint, device)

    def open_model_manager(self) -> None:
        """Tools > Model manager."""
        window_model.open_model_manager(self)

    def _on_model_state(self, state: str, text: str) -> None:
        window_model.on_model_state(self, state, text)

    def _on_progress(self, text: str, done: int, total: int) -> None:
        self.status.show_progress(text, done, total)

    def encode_all_images(self) -> None:
        """Tools > Pre-encode all images: every image's embedding into the cache (progress in the status bar)."""
        if self.project is None:
            return
        self.inference.encode_all([(image_key(r), self.project.image_path(r)) for r in self.project.images()
                                   if not r.missing])

    # ------------------------------------------------------------------ dialogs
    def open_settings(self) -> None:
        """Tools > Settings (shortcuts, prefetch, cache)."""
        dlg = SettingsDialog(self.registry, self.settings, self)
        if dlg.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings(dlg.mapping(), dlg.values())

    def apply_settings(self, mapping: dict[str, tuple[str, ...]], values: dict[str, Any]) -> bool:
        """Apply shortcuts (refused with a message on conflict) and the other values; saved."""
        if not self.registry.apply_shortcuts(mapping):
            return False
        language, reuse = self.settings.language, self.settings.reuse_window
        cache = (self.settings.memory_cache_mb, self.settings.disk_cache)
        for key, value in values.items():
            setattr(self.settings, key, value)
        self.controller.prefetch_count = int(self.settings.prefetch_count)
        if (self.settings.memory_cache_mb, self.settings.disk_cache) != cache:
            self.inference.apply_settings(self.settings)  # a new embedding cache, at once
        else:
            self.inference.set_prefetch_count(int(self.settings.prefetch_count))
        if self.settings.theme != current_theme():  # a theme applies at once; a language at the next start
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, self.settings.theme)
            set_action_icons(self.registry)
        self._save_settings()
        message = self.tr("Settings saved.")
        if self.settings.language != language:
            message += " " + self.tr("The new language is used from the next start.")
        if self.settings.reuse_window != reuse:
            message += " " + self.tr("Opening projects from the desktop follows the new choice from the next start.")
        self.status.show_message(message)
        return True

    def show_cheatsheet(self) -> None:
        """F1."""
        self.cheatsheet = CheatSheetDialog(self.registry, self)
        self.cheatsheet.show()

    def show_plugins(self) -> None:
        """Help > Plugins: installed plugins (with errors) and the registries."""
        from app.ui.dialogs.plugins_dialog import PluginsDialog

        PluginsDialog(self).exec()

    def show_about(self) -> None:
        """Help > About."""
        from app import __version__

        QMessageBox.about(self, self.tr("About {app}").format(app=APP_NAME),
                          self.tr("{app} {version}\nImage labeling with masks and polygons, assisted by "
                                  "Segment Anything.\nModel: {model}").format(
                              app=APP_NAME, version=__version__, model=self.inference.model_text()))

    # ------------------------------------------------------------------ slots
    def set_tool(self, tool: str) -> None:
        """Switch the canvas tool and reflect it in the Tools menu."""
        self.canvas.set_tool(tool)
        for t in TOOLS:
            self.registry.action(f"tool_{t}").setChecked(t == tool)
        self.status.show_message(self.tr("Tool: {tool}").format(tool=self.registry.action(f"tool_{tool}").text()))

    def _go_to_row(self, row: int) -> None:
        if row >= 0:
            self.controller.go_to_row(row)

    def _on_image_changed(self, rec: Any) -> None:
        self.annotations_dock.reset_hidden()
        if rec is None:
            self.status.set_keys(None, None)
            self._refresh_annotations()
            return
        self.images_dock.select_row(self.controller.row)
        if self.project is not None:
            session_memory.remember_image(self.settings, self.project.path, rec.id)
        nxt = self.images_dock.model.record(self.controller.row + 1)
        self.status.set_keys(image_key(rec), image_key(nxt) if nxt is not None else None)
        self.setWindowFilePath(str(self.controller.image_path() or ""))

    def _on_candidates(self, prediction: Any, current: int) -> None:
        color = self.controller.label_color()
        if prediction is None:
            self.strip.set_candidates(None, None, color, -1)
        else:
            self.strip.set_candidates(prediction.masks, prediction.scores, color, current)

    def _refresh_annotations(self) -> None:
        classes = {lc.id: lc for lc in self.controller.label_classes()}
        self.annotations_dock.set_annotations(self.controller.annotations(), classes, self.controller.selected)

    def _on_label_changed(self, label_id: Any) -> None:
        self.labels_dock.set_classes(self.controller.label_classes(), label_id)

    def _on_project_changed(self, _edit: Any) -> None:
        self.images_dock.update_counts(self.project)
        if self.project is not None and not self.project.read_only:
            self.status.set_saved(self.tr("all changes saved"))

    def _error(self, text: str) -> None:
        self.status.show_message(text, error=True)

    def _ask_yes_no(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.StandardButton.Yes

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except OSError as exc:
            self.status.show_message(self.tr("Settings could not be saved: {reason}").format(reason=exc), error=True)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Stop every thread we own (inference worker, image loader, jobs) and close the project."""
        if self._shut_down:
            return
        self._shut_down = True
        jobs = list(self.jobs) + list(getattr(self, "propagation_jobs", []))
        if self.manager is not None:
            jobs += self.manager.jobs()
        for job in jobs:
            job.cancel()
        for job in jobs:
            job.join(10.0)
        shutdown_ui_extensions(self.extensions)  # their pending accepts are pushed by controller.shutdown
        self.controller.shutdown()  # pushes the accepts still being converted before the project closes
        self.inference.shutdown(SHUTDOWN_TIMEOUT_S)
        self.loader.shutdown()
        self.settings.set("window_geometry", bytes(self.saveGeometry().toBase64().data()).decode("ascii"))
        self._save_settings()
        project, self.project = self.project, None
        self.controller.set_project(None)
        if project is not None:
            project.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Closing the window stops the worker cleanly and closes the project."""
        self.shutdown()
        super().closeEvent(event)


