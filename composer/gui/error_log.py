"""The GUI's log file and its last line of defence against unexpected exceptions.

:func:`start_log_file` sends the app's log to ``composer.log`` in the user folder, next to the
recovery copies and the models (``COMPOSER_LOG_DIR`` overrides it). :class:`ErrorReporter`
replaces ``sys.excepthook`` and ``threading.excepthook`` in the GUI process: an exception that
escapes a Qt callback (PySide prints those through ``sys.excepthook``) or a thread is written to
the log with its traceback and shown as one short dialog; the app keeps running. While that dialog
is open, further errors only count ("This happened 3 times"), so a failing paint or timer callback
cannot bury the window under dialogs.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from composer.gui.dialogs import headline_text, message_box
from composer.io.files import user_folder

log = logging.getLogger(__name__)

LOG_DIR_ENV = "COMPOSER_LOG_DIR"
LOG_NAME = "composer.log"
#: The log rotates at this size, keeping two old files: enough for weeks, never a disk filler.
MAX_LOG_BYTES = 1_000_000
UNEXPECTED_OBJECT_NAME = "unexpectedError"
_FORMAT = "%(asctime)s %(levelname)s [%(process)d %(threadName)s] %(name)s: %(message)s"


def log_dir() -> Path:
    """The folder of the log file (``COMPOSER_LOG_DIR`` or the platform's data folder)."""
    return user_folder("logs", LOG_DIR_ENV)


def log_path() -> Path:
    return log_dir() / LOG_NAME


def start_log_file() -> Path | None:
    """Log Composer's messages (INFO and up) and everyone's warnings to :func:`log_path`.

    Returns the path, or None when the folder cannot be written (then nothing is logged to a
    file; the app works all the same). Calling it again does not add a second handler.
    """
    path = log_path()
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path.resolve():
            return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_LOG_BYTES, backupCount=2,
                                                       encoding="utf-8")
    except OSError as exc:
        print(f"composer: cannot write the log file {path}: {exc}", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)  # other libraries: warnings and errors only
    logging.getLogger("composer").setLevel(logging.INFO)
    return path


def open_log_file() -> bool:
    """Open the log in the user's text viewer (created empty when nothing was logged yet)."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError as exc:
        log.warning("cannot create the log file %s: %s", path, exc)
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def show_log_folder() -> bool:
    """Open the log folder in the file manager."""
    folder = log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("cannot create the log folder %s: %s", folder, exc)
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def summary(exc: BaseException) -> str:
    """One line for the dialog: the exception's type and message, cut to a readable length."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class ErrorReporter(QObject):
    """Turns uncaught exceptions into a log entry and one dialog on ``parent``.

    :meth:`install` takes over ``sys.excepthook`` and ``threading.excepthook``; :meth:`uninstall`
    gives them back. ``count`` is how many errors the open dialog stands for.

    Signals: reported(str summary), once per error, on the GUI thread.
    """

    reported = Signal(str)
    _arrived = Signal(str, str)  # summary, traceback; from any thread, delivered queued

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self._window = parent
        self.box: QMessageBox | None = None
        self.count = 0
        self._previous = None
        self._arrived.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def handle(self, exc_type, exc, tb, thread_name: str | None = None) -> None:
        """The excepthook: log the exception with its traceback and queue the dialog."""
        if issubclass(exc_type, (KeyboardInterrupt, SystemExit)):
            sys.__excepthook__(exc_type, exc, tb)
            return
        where = f" in thread {thread_name}" if thread_name else ""
        log.error("Unexpected error%s", where, exc_info=(exc_type, exc, tb))
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        try:
            self._arrived.emit(summary(exc), details)
        except RuntimeError:  # the window (and this object) is gone: the log has it
            pass

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else None
        self.handle(args.exc_type, args.exc_value, args.exc_traceback, name)

    def _show(self, text: str, details: str) -> None:
        self.reported.emit(text)
        if self.box is not None and self.box.isVisible():
            self.count += 1  # one dialog at a time: the open one counts the rest
            self.box.setText(self._message(text))
            return
        self.count = 1
        self.box = message_box(self._window, "Something went wrong", self._body(text), details=details,
                               object_name=UNEXPECTED_OBJECT_NAME)
        log_button = self.box.addButton("Open Log File", QMessageBox.ButtonRole.HelpRole)
        log_button.clicked.disconnect()  # keep the box open: the user may want to read both
        log_button.clicked.connect(open_log_file)
        self.box.finished.connect(self._closed)
        self.box.open()

    def _body(self, text: str) -> str:
        return (f"{text}\n\nComposer keeps running; save your work to be safe. "
                f"The details are in the log file:\n{log_path()}")

    def _message(self, text: str) -> str:
        return headline_text(f"Something went wrong ({self.count} times)", self._body(text))

    def _closed(self) -> None:
        self.box.deleteLater()
        self.box = None
