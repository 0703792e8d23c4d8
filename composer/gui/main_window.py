"""The main window: the piano-roll editor over one Score, with File and Edit menus.

The full desktop app (tracks panel, model picker, generation panel, playback) is built on this.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QToolBar

from composer import __version__
from composer.core.errors import ComposerError
from composer.core.score import Score, Track
from composer.gui.model_picker import ModelPicker
from composer.gui.pianoroll import PianoRollEditor


def _new_score() -> Score:
    return Score([Track("Piano", 0)])


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.path: Path | None = None
        self.undo_stack = QUndoStack(self)
        self.editor = PianoRollEditor(self)
        self.setCentralWidget(self.editor)
        self.model_picker = ModelPicker(self)
        dock = QDockWidget("Models", self)
        dock.setObjectName("models")
        dock.setWidget(self.model_picker)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.resize(1400, 800)
        self._build_menus()
        self.undo_stack.cleanChanged.connect(lambda _clean: self._refresh_title())
        self._load(_new_score(), None)

    @property
    def score(self) -> Score:
        return self.editor.score()

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        keys = QKeySequence.StandardKey
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New", lambda: self._load(_new_score(), None), keys.New)
        self._action(file_menu, "&Open...", self._open_dialog, keys.Open)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, keys.Quit)

        edit_menu = self.menuBar().addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(keys.Undo)
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcut(keys.Redo)
        edit_menu.addActions([undo, redo])

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

        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Composer", lambda: QMessageBox.about(
            self, "About Composer", f"Composer {__version__}\nCompose music with AI help."))

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open MIDI file", "", "MIDI files (*.mid *.midi)")
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        from composer.io.midi import read_midi

        try:
            score = read_midi(path)
        except ComposerError as exc:
            QMessageBox.warning(self, "Cannot open file", str(exc))
            return False
        self._load(score, Path(path))
        return True

    def _load(self, score: Score, path: Path | None) -> None:
        self.undo_stack.clear()
        self.path = path
        self.editor.set_score(score, self.undo_stack)
        pitched = [t for t in score.tracks if not t.is_drum] or score.tracks
        if pitched:
            self.editor.set_active_track(pitched[0].id)
            notes = pitched[0].notes
            self.editor.center_on_pitch(int(notes["pitch"].mean()) if len(notes) else 60)
        self._refresh_title()

    def _refresh_title(self) -> None:
        name = self.path.name if self.path else "Untitled"
        marker = "" if self.undo_stack.isClean() else " *"
        self.setWindowTitle(f"{name}{marker} - Composer")
