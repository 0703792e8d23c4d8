"""The run's log, shown in the app: what the trainer wrote on stderr (its readable progress,
warnings, a traceback), followed while it trains (:mod:`composer.training.runs`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QPushButton, QVBoxLayout

#: How often an open log is read again while it may grow.
REFRESH_MS = 1000
#: The end of a long log that is shown (a run of many epochs writes a line an epoch).
SHOWN_BYTES = 512 * 1024


def read_log(path: Path, limit: int = SHOWN_BYTES) -> str:
    """The last ``limit`` bytes of the log at ``path`` as text ("" when there is none yet)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(size - limit, 0))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return text if size <= limit else "...\n" + text.split("\n", 1)[-1]


class LogDialog(QDialog):
    """The log of one run, read again every second while shown; "Open in editor" hands the
    file to the desktop's text editor."""

    def __init__(self, path: Path, title: str = "", parent=None):
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle(f"Training log: {title}" if title else "Training log")
        self.resize(760, 460)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)  # (a long command line)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        editor = QPushButton("Open in editor", self)
        buttons.addButton(editor, QDialogButtonBox.ButtonRole.ActionRole)
        editor.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path))))
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self.reload)
        self.reload()

    def reload(self) -> None:
        """Show the log as it is now, keeping the view at the end when it was there."""
        text = read_log(self.path) or f"Nothing in the log yet ({self.path})."
        if text == self.text.toPlainText():
            return
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        self.text.setPlainText(text)
        if at_end:
            bar.setValue(bar.maximum())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.reload()
        self.timer.start()

    def hideEvent(self, event) -> None:
        self.timer.stop()
        super().hideEvent(event)
