"""The main window: the piano-roll editor over one Score, its docks (tracks, MIDI input, the
note inspector, models, generation), the transport toolbar, and the File, Edit, Transport,
Models and Help menus; it owns the document (open, save, autosave, recovery) and the undo stack.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QToolBar,
)

from composer import __version__
from composer.core.errors import ComposerError
from composer.core.edits import AddNotes
from composer.core.score import Score, Track
from composer.gui import error_log
from composer.gui.autosave import DEFAULT_INTERVAL_S, INTERVAL_SETTING, Autosaver, choose_recovery
from composer.gui.dialogs import show_error
from composer.gui.generation_controller import GenerationController
from composer.gui.generation_panel import GenerationPanel
from composer.gui.midi_output_menu import MidiOutputMenu
from composer.gui.midi_record import MidiRecordControl
from composer.gui.model_picker import ModelPicker
from composer.gui.note_inspector import NoteInspector
from composer.gui.undo import push_edit, redo_shortcuts
from composer.gui.pianoroll import PianoRollEditor
from composer.gui.pianoroll.grid import SNAP_NAMES
from composer.gui.tracks_panel import TracksPanel
from composer.gui.transport import PlaybackController, TransportBar
from composer.io.recovery import find_recoverable


MAX_RECENT = 8
INITIAL_MODEL_DELAY_MS = 400
PROJECT_FILTER = "Composer projects (*.composer.json)"
MIDI_FILTER = "MIDI files (*.mid *.midi)"
WAV_FILTER = "WAV audio (*.wav)"
STATUS_MS = 5000
#: File dialogs start in the folder last used for each kind of file (QSettings "dirs/<kind>").
DIALOG_KINDS = ("open", "project", "midi", "wav")

log = logging.getLogger(__name__)


def _new_score() -> Score:
    return Score([Track("Piano", 0)])


def _read_document(path: Path) -> tuple[Score, Path | None, str]:
    """(score, project path or None for an imported MIDI file, name to show) for ``path``."""
    from composer.io.midi import read_midi
    from composer.io.project import PROJECT_SUFFIX, load_project

    if path.name.lower().endswith((PROJECT_SUFFIX, ".json")):
        score, _settings = load_project(path)
        return score, path, path.name
    return read_midi(path), None, path.name


class MainWindow(QMainWindow):
    """``path`` is the project file the score is saved to (None until saved); a MIDI file
    opened is imported, so Save asks where to put the project.

    Signals: wav_exported(str path, str error or "").
    """

    wav_exported = Signal(str, str)

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("Composer", "Composer")
        self.path: Path | None = None
        self.source_name = "Untitled"
        self._shutting_down = False  # closing for a signal (logout): no questions asked
        self._released = False
        self.setAcceptDrops(True)
        self.undo_stack = QUndoStack(self)
        self.editor = PianoRollEditor(self)
        self.setCentralWidget(self.editor)
        self.tracks_panel = TracksPanel(self)
        self.tracks_panel.active_track_changed.connect(self.editor.set_active_track)
        self.tracks_panel.song_name = lambda: self.source_name  # (names of dragged .mid files)
        self.song_drag = self.tracks_panel.song_drag
        self.song_drag.provider = lambda: (self.score, self.source_name, None)
        self.model_picker = ModelPicker(self)
        self.generation_panel = GenerationPanel(self)
        self.generation = GenerationController(self.generation_panel, self.editor, parent=self)
        self.generation_panel.use_settings(self.settings)
        self.generation_panel.candidates.row_provider = self._variation_drag
        self.model_picker.model_chosen.connect(self._choose_model)
        self.training_wizard = None  # created when first opened (pyqtgraph loads then)
        self.playback = PlaybackController(self)
        self.playback.position_changed.connect(self._follow_playhead)
        self.playback.state_changed.connect(self._on_playback_state)
        self.editor.playhead_requested.connect(self.playback.set_start_tick)
        self.editor.loop_requested.connect(self.playback.set_loop)
        self.editor.note_preview_requested.connect(self.playback.preview_note)
        self.editor.key_pressed.connect(self._preview_key)
        self.generation.audition_requested.connect(self.audition)
        self._auditioning = False
        self.midi_record = MidiRecordControl(self)
        self._record_track_id: int | None = None
        self.midi_record.set_start_tick(lambda: self.editor.view.roll.playhead or 0)
        self.midi_record.recording_changed.connect(self._on_recording_changed)
        self.midi_record.candidates_changed.connect(
            lambda notes: self.editor.set_candidates(self._record_track_id, notes))
        self.midi_record.position_changed.connect(self.editor.set_playhead)
        self.midi_record.recorded.connect(self._add_recorded_notes)
        # The on-screen keyboard records too, like a MIDI keyboard would.
        self.editor.key_pressed.connect(lambda p: self.midi_record.feed(None, bytes([0x90, p, 100])))
        self.editor.key_released.connect(lambda p: self.midi_record.feed(None, bytes([0x80, p, 0])))
        self.note_inspector = NoteInspector(self.editor, self)  # the selected notes, as numbers
        docks = {}
        for title, widget, area in (("Tracks", self.tracks_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("MIDI Input", self.midi_record, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Note", self.note_inspector, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Models", self.model_picker, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Generate", self.generation_panel, Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title.lower())
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            docks[title] = dock
        self.splitDockWidget(docks["Models"], docks["Generate"], Qt.Orientation.Vertical)
        self.splitDockWidget(docks["Tracks"], docks["MIDI Input"], Qt.Orientation.Vertical)
        self.splitDockWidget(docks["MIDI Input"], docks["Note"], Qt.Orientation.Vertical)
        self.resizeDocks([docks["Tracks"], docks["Models"]], [250, 340], Qt.Orientation.Horizontal)
        self.resizeDocks([docks["Models"], docks["Generate"]], [380, 520], Qt.Orientation.Vertical)
        self.tracks_panel.active_track_changed.connect(lambda _id: self._refresh_targets())
        self.resize(1400, 800)
        self._build_menus()
        self.undo_stack.cleanChanged.connect(self._refresh_title)
        self._load(_new_score(), None)
        self.autosaver = Autosaver(self, self.settings.value(INTERVAL_SETTING, DEFAULT_INTERVAL_S, type=int), self)
        self.autosaver.failed.connect(lambda msg: self.statusBar().showMessage(f"Autosave failed: {msg}", 10000))
        # Load a model soon after the window shows (never before: torch takes a second to import).
        QTimer.singleShot(INITIAL_MODEL_DELAY_MS, self._choose_initial_model)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
            self.restoreState(self.settings.value("window/state"))

    # ------------------------------------------------------------------------- playback
    def _follow_playhead(self, tick: int) -> None:
        self.editor.set_playhead(tick)
        if self.playback.is_playing:
            self.editor.view.ensure_tick_visible(tick)

    def _preview_key(self, pitch: int) -> None:
        track = self.editor.view.active_track
        if track is not None:
            self.playback.preview_note(pitch, int(track.program), track.is_drum)

    def audition(self, preview: Score, start_tick: int) -> None:
        """Play a candidate (the score with it accepted) from ``start_tick``; stopping returns
        playback to the real score."""
        self.playback.stop()
        self._auditioning = True
        self.playback.set_score(preview)
        self.playback.set_start_tick(start_tick)
        self.playback.play()

    def _on_playback_state(self, state: str) -> None:
        if state == "stopped" and self._auditioning:
            self._auditioning = False
            self.playback.set_score(self.score)

    # ------------------------------------------------------------------- MIDI recording
    def _on_recording_changed(self, recording: bool) -> None:
        if recording:
            self.generation.discard()  # both show candidates on the active track
            self._record_track_id = self.editor.active_track_id

    def _add_recorded_notes(self, notes) -> None:
        try:
            track = self.score.track(self._record_track_id)
            notes["id"] = track.new_note_ids(len(notes))
            push_edit(self.undo_stack, self.score, AddNotes(track.id, notes, text="Record MIDI"))
        except ComposerError as exc:  # the track was removed while recording
            show_error(self, "Cannot add the recording", str(exc))

    def _choose_model(self, path: str) -> None:
        self.settings.setValue("model/last", path)
        self.generation.choose_model(path)

    def _choose_initial_model(self) -> None:
        """The model used last time, else the first in the list, so Generate is ready to use."""
        last = self.settings.value("model/last")
        if last and self.model_picker.select_path(last):
            self._choose_model(last)  # (a no-op when selecting it has already chosen it)
        elif self.model_picker.current_path():
            self._choose_model(self.model_picker.current_path())

    @property
    def score(self) -> Score:
        return self.editor.score

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _toolbar_combo(self, toolbar: QToolBar, label: str, items, current: str, slot, tip: str) -> QComboBox:
        toolbar.addWidget(QLabel(f" {label} ", toolbar))
        box = QComboBox(toolbar)
        box.addItems(list(items))
        box.setCurrentText(current)
        box.setToolTip(tip)
        box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep keys (space, arrows) for the editor
        box.currentTextChanged.connect(slot)
        toolbar.addWidget(box)
        return box

    def _build_menus(self) -> None:
        keys = QKeySequence.StandardKey
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New", self.new_document, keys.New)
        self._action(file_menu, "&Open...", self._open_dialog, keys.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._action(file_menu, "&Save", self.save, keys.Save)
        self._action(file_menu, "Save &As...", self.save_as, keys.SaveAs)
        self._action(file_menu, "&Export MIDI...", self._export_midi_dialog, QKeySequence("Ctrl+E"))
        self._action(file_menu, "Export &WAV...", self._export_wav_dialog, QKeySequence("Ctrl+Shift+E"))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, keys.Quit)
        self._refresh_recent()

        edit_menu = self.menuBar().addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(keys.Undo)
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts(redo_shortcuts())  # Ctrl+Y too, as on Windows and most Linux apps
        edit_menu.addActions([undo, redo])
        edit_menu.addSeparator()
        editor = self.editor
        self._action(edit_menu, "Cu&t", editor.cut_selection, keys.Cut)
        self._action(edit_menu, "&Copy", editor.copy_selection, keys.Copy)
        self._action(edit_menu, "&Paste", lambda: editor.paste(), keys.Paste)
        self._action(edit_menu, "D&uplicate", editor.duplicate_selection, QKeySequence("Ctrl+D"))
        self._action(edit_menu, "&Delete", editor.delete_selection, keys.Delete)
        self._action(edit_menu, "Select &All", editor.select_all, keys.SelectAll)
        edit_menu.addSeparator()
        self._action(edit_menu, "&Quantize", lambda: editor.quantize_selection(), QKeySequence("Q"))
        self._action(edit_menu, "Transpose Octave U&p", lambda: editor.transpose_selection(12))
        self._action(edit_menu, "Transpose Octave Do&wn", lambda: editor.transpose_selection(-12))

        transport_menu = self.menuBar().addMenu("&Transport")
        self._action(transport_menu, "&Play / Pause", self.playback.toggle, QKeySequence(Qt.Key.Key_Space))
        self._action(transport_menu, "&Stop", self.playback.stop, QKeySequence("Ctrl+Space"))
        self._action(transport_menu, "&Loop", lambda: self.transport.loop_action.trigger(), QKeySequence("L"))
        transport_menu.addSeparator()
        self.midi_output_menu = MidiOutputMenu(transport_menu, self.playback,
                                               lambda text: self.statusBar().showMessage(text, STATUS_MS))
        self.transport = TransportBar(self.playback, self)
        self.transport.setObjectName("transport")
        self.addToolBar(self.transport)
        self.timing_fields = self.transport.add_timing_fields(self.editor.view)
        self.timing_fields.problem.connect(lambda text: self.statusBar().showMessage(text, STATUS_MS))

        tools = QToolBar("Tools", self)
        tools.setObjectName("tools")
        self.addToolBar(tools)
        group = QActionGroup(self)
        for name, key in (("draw", "D"), ("select", "S"), ("erase", "E")):
            action = QAction(name.capitalize(), self, checkable=True)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _checked, n=name: self.editor.set_tool(n))
            group.addAction(action)
            tools.addAction(action)
            if name == "draw":
                action.setChecked(True)
                self.editor.set_tool(name)
        tools.addSeparator()
        self.snap_box = self._toolbar_combo(tools, "Snap", SNAP_NAMES, self.editor.view.snap_name,
                                            self.editor.set_snap, "Grid that notes snap to")
        self.length_box = self._toolbar_combo(
            tools, "Length", ("grid",) + tuple(n for n in SNAP_NAMES if n != "off"), "grid",
            lambda name: self.editor.set_note_length(None if name == "grid" else name),
            "Length of drawn notes (grid: one snap step)")

        models_menu = self.menuBar().addMenu("&Models")
        self._action(models_menu, "&Train a Model...", self.open_training_wizard, QKeySequence("Ctrl+Shift+T"))
        self._action(models_menu, "&Add Model File...", self.model_picker.add_dialog)

        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "Open &Log File", error_log.open_log_file)
        self._action(help_menu, "Show Log &Folder", error_log.show_log_folder)
        help_menu.addSeparator()
        self._action(help_menu, "&About Composer", self.show_about)

    def show_about(self) -> None:
        """The version and the credits of the data the bundled models learnt from."""
        from composer.models.credits import about_text

        QMessageBox.about(self, "About Composer", about_text(__version__))

    # ------------------------------------------------------------------------------ files
    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open", str(self.dialog_folder("open")),
                                              f"{MIDI_FILTER};;{PROJECT_FILTER}")
        if path and self.open_path(path):
            self._remember_folder("open", path)

    def dialog_folder(self, kind: str) -> Path:
        """Where a file dialog for ``kind`` (one of DIALOG_KINDS) starts: the folder last used
        for that kind, else the user's Music folder, else home."""
        last = self.settings.value(f"dirs/{kind}", "", type=str)
        if last and Path(last).is_dir():
            return Path(last)
        music = Path.home() / "Music"
        return music if music.is_dir() else Path.home()

    def _remember_folder(self, kind: str, path: str | Path) -> None:
        self.settings.setValue(f"dirs/{kind}", str(Path(path).resolve().parent))

    def new_document(self) -> None:
        if self.confirm_unsaved():
            self._load(_new_score(), None)

    def ask_to_save(self) -> str:
        """Ask about unsaved changes: "save", "discard" or "cancel"."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.source_name}?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def ask_about_training(self) -> str:
        """A training runs while the app closes: "stop" (it saves), "keep" (it runs on) or "cancel"."""
        box = QMessageBox(QMessageBox.Icon.Question, "A model is training",
                          "A model is still training. Stop it now (the best model so far is saved, and you "
                          "can continue it later), or keep it training after Composer closes?",
                          QMessageBox.StandardButton.Cancel, self)
        stop = box.addButton("Stop and Save", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep Training", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(keep)
        box.exec()
        return {stop: "stop", keep: "keep"}.get(box.clickedButton(), "cancel")

    def open_training_wizard(self):
        """Show the training wizard (a TrainingWizard): the one still training or just
        finished, else a new one."""
        from composer.gui.training.wizard import TrainingWizard

        wizard = self.training_wizard
        if wizard is None or not (wizard.isVisible() or wizard.is_training()):
            if wizard is not None:
                wizard.deleteLater()
            wizard = self.training_wizard = TrainingWizard(self)
            wizard.model_ready.connect(lambda _path: self.model_picker.refresh())
            wizard.try_requested.connect(self._try_trained_model)
        wizard.show()
        wizard.raise_()
        wizard.activateWindow()
        return wizard

    def _try_trained_model(self, path: str) -> None:
        if not self.model_picker.select_path(path):  # (model_ready has usually listed it already)
            self.model_picker.refresh(select=path)
        self._choose_model(path)  # (a no-op when selecting it has already chosen it)

    def confirm_unsaved(self) -> bool:
        """True when the document may be replaced or closed (saved, or the user let it go)."""
        if self.undo_stack.isClean():
            return True
        answer = self.ask_to_save()
        return answer == "discard" or (answer == "save" and self.save())

    def offer_recovery(self) -> None:
        """After a crash, offer the unsaved work the last session left behind."""
        chosen = choose_recovery(self, find_recoverable())
        if chosen is not None:
            recovery, score = chosen
            self._load(score, recovery.original_path, recovery.source_name)
            self.undo_stack.resetClean()  # restored work is unsaved: marked, and autosaved again

    def open_path(self, path: str) -> bool:
        """Open a MIDI file (imported) or a project; a damaged or odd file (or a folder, or a
        missing file) becomes one message and leaves the open document as it was."""
        if not self.confirm_unsaved():
            return False
        try:
            score, project_path, name = _read_document(Path(path))
        except ComposerError as exc:
            show_error(self, "Cannot open file", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a case the readers did not foresee: never a crash
            log.exception("opening %s failed", path)
            show_error(self, "Cannot open file", f"{Path(path).name}: cannot be opened ({type(exc).__name__}: "
                       f"{exc}). The details are in the log file ({error_log.log_path()}).")
            return False
        self._load(score, project_path, name)
        self._remember(path)
        return True

    def save(self) -> bool:
        return self.save_to(self.path) if self.path else self.save_as()

    def save_as(self) -> bool:
        from composer.io.project import PROJECT_SUFFIX

        suggested = self.source_name.rsplit(".", 1)[0] + PROJECT_SUFFIX
        start = self.path.parent if self.path else self.dialog_folder("project")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", str(start / suggested), PROJECT_FILTER)
        if not path:
            return False
        self._remember_folder("project", path)
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        """Save the project (atomically); marks the document clean."""
        from composer.io.project import save_project

        try:
            save_project(path, self.score)
        except ComposerError as exc:
            show_error(self, "Cannot save", str(exc))
            return False
        self.path = Path(path)
        self.source_name = self.path.name
        self.undo_stack.setClean()
        self._remember(str(path))
        self._refresh_title()
        return True

    def _export_midi_dialog(self) -> None:
        suggested = self.source_name.split(".")[0] + ".mid"
        path, _ = QFileDialog.getSaveFileName(self, "Export MIDI", str(self.dialog_folder("midi") / suggested),
                                              MIDI_FILTER)
        if path:
            self._remember_folder("midi", path)
            self.export_midi(Path(path))

    def export_midi(self, path: Path) -> bool:
        """Write a type 1 multitrack MIDI file for BandLab and other DAWs."""
        from composer.io.midi import write_midi

        try:
            write_midi(self.score, path)
        except ComposerError as exc:
            show_error(self, "Cannot export MIDI", str(exc))
            return False
        self.statusBar().showMessage(f"Exported {path}", STATUS_MS)  # as Export WAV confirms
        return True

    def _export_wav_dialog(self) -> None:
        suggested = self.source_name.split(".")[0] + ".wav"
        path, _ = QFileDialog.getSaveFileName(self, "Export WAV", str(self.dialog_folder("wav") / suggested),
                                              WAV_FILTER)
        if path:
            self._remember_folder("wav", path)
            self.export_wav(Path(path))

    def export_wav(self, path: Path) -> None:
        """Render the score (mute and solo as set, reverb on) to a WAV file in the background.

        Ends with ``wav_exported(path, "")`` or ``wav_exported(path, error)``; errors also
        become a dialog.
        """
        from superqt.utils import create_worker

        from composer.io.audio import render_wav

        snapshot = self.score.copy()  # the user may keep editing while it renders
        self.statusBar().showMessage(f"Exporting {path.name}...")

        def done(_result) -> None:
            self.statusBar().showMessage(f"Exported {path}", STATUS_MS)
            self.wav_exported.emit(str(path), "")

        def failed(exc: Exception) -> None:
            message = str(exc) if isinstance(exc, ComposerError) else f"{type(exc).__name__}: {exc}"
            self.statusBar().clearMessage()
            show_error(self, "Cannot export WAV", message)
            self.wav_exported.emit(str(path), message)

        self._wav_worker = create_worker(render_wav, snapshot, path, effects=True, _ignore_errors=True,
                                         _connect={"returned": done, "errored": failed})

    def _remember(self, path: str) -> None:
        recent = [p for p in self.settings.value("recent", [], type=list) if p != str(path)]
        self.settings.setValue("recent", [str(path)] + recent[: MAX_RECENT - 1])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.value("recent", [], type=list):
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(not self.recent_menu.isEmpty())

    # ------------------------------------------------------------------- drag and drop
    def _variation_drag(self, row: int):
        """What dragging variation ``row`` out of the Generate panel carries."""
        score = self.generation.variation_score(row)
        return None if score is None else (score, self.source_name, f"Variation {row + 1}")

    def dragEnterEvent(self, event) -> None:
        if any(url.toLocalFile().lower().endswith((".mid", ".midi", ".json")) for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if self.open_path(url.toLocalFile()):
                event.acceptProposedAction()
                break

    def closeEvent(self, event) -> None:
        if not self._shutting_down:
            if not self.confirm_unsaved():
                event.ignore()
                return
            if self.training_wizard is not None and self.training_wizard.is_training():
                answer = self.ask_about_training()
                if answer == "cancel":
                    event.ignore()
                    return
                if answer == "stop":
                    self.training_wizard.stop_run()  # the trainer saves and exits on its own
        self.release_resources()
        super().closeEvent(event)

    def close_for_shutdown(self) -> None:
        """Close without questions (logout, shutdown, Ctrl+C): unsaved work goes into the recovery
        copy, which the next start offers; a training keeps running as "Keep Training" would."""
        self._shutting_down = True
        if not self.autosaver.keep_for_recovery():
            log.warning("closing with unsaved work that could not be kept for recovery")
        self.close()

    def release_resources(self) -> None:
        """Stop autosave, recording, playback and the model thread; remember the layout. Runs
        once, however the window ends (closed, or the event loop ended by a signal)."""
        if self._released:
            return
        self._released = True
        self.autosaver.shutdown()  # (deletes the recovery copy, unless close_for_shutdown kept it)
        self.midi_record.cancel_recording()
        self.playback.close()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.generation.service.shutdown()

    def _load(self, score: Score, path: Path | None, source_name: str | None = None) -> None:
        self.midi_record.cancel_recording()
        self.playback.stop()
        self.undo_stack.clear()
        self.path = path
        self.source_name = source_name or (path.name if path else "Untitled")
        self.editor.set_score(score, self.undo_stack)
        self.tracks_panel.set_score(score, self.undo_stack)
        pitched = [t for t in score.tracks if not t.is_drum] or score.tracks
        if pitched:
            self.tracks_panel.list.setCurrentRow(score.tracks.index(pitched[0]))
            self.editor.set_active_track(pitched[0].id)
            notes = pitched[0].notes
            self.editor.center_on_pitch(int(notes["pitch"].mean()) if len(notes) else 60)
        self.generation.discard()
        self.midi_record.set_score(score)
        self.playback.set_score(score)
        self.playback.set_start_tick(0)
        self.editor.set_loop(None, None)  # a loop region belongs to its document
        self.playback.set_loop(None)  # (and switches loop playback off)
        score.events.tracks_changed.connect(self._refresh_targets)
        self._refresh_targets()
        self._refresh_title()

    def _refresh_targets(self) -> None:
        """Offer the pitched tracks (and a new track) as generation targets."""
        tracks = [(t.id, t.name or f"Track {i + 1}") for i, t in enumerate(self.score.tracks) if not t.is_drum]
        self.generation_panel.set_tracks(tracks, self.editor.active_track_id)

    def _refresh_title(self, clean: bool | None = None) -> None:
        # ``clean`` comes with cleanChanged, which also fires while the stack is being destroyed
        name = self.source_name
        marker = "" if (self.undo_stack.isClean() if clean is None else clean) else " *"
        self.setWindowTitle(f"{name}{marker} - Composer")
