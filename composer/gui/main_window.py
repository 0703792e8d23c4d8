"""The main window. For now a shell with the File menu; the editor arrives with the desktop issue."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox

from composer import __version__
from composer.core.errors import ComposerError
from composer.core.score import Score


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.score = Score()
        self.path: Path | None = None
        self.summary = QLabel()
        self.summary.setMargin(24)
        self.setCentralWidget(self.summary)
        self.resize(1100, 700)
        self._build_menus()
        self._refresh()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, shortcut, slot in (
            ("&Open...", QKeySequence.StandardKey.Open, self._open_dialog),
            ("&Quit", QKeySequence.StandardKey.Quit, self.close),
        ):
            action = QAction(text, self)
            action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About Composer", self)
        about.triggered.connect(lambda: QMessageBox.about(
            self, "About Composer", f"Composer {__version__}\nCompose music with AI help."))
        help_menu.addAction(about)

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open MIDI file", "", "MIDI files (*.mid *.midi)")
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        from composer.io.midi import read_midi

        try:
            self.score = read_midi(path)
        except ComposerError as exc:
            QMessageBox.warning(self, "Cannot open file", str(exc))
            return False
        self.path = Path(path)
        self._refresh()
        return True

    def _refresh(self) -> None:
        name = self.path.name if self.path else "Untitled"
        self.setWindowTitle(f"{name} - Composer")
        lines = [f"<h2>{name}</h2>", f"{len(self.score.tracks)} tracks, {self.score.note_count} notes, "
                 f"{self.score.duration_seconds:.1f} s"]
        lines += [f"&nbsp;&nbsp;{t.name or '(unnamed)'}: {len(t)} notes" for t in self.score.tracks]
        self.summary.setText("<br>".join(lines))
