"""The wizard's child processes: short ``composer`` commands whose JSON lines it reads as they
come (preprocessing, the time estimate), and the monitor of a detached training run."""

from __future__ import annotations

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from composer.launcher import composer_command
from composer.training.runs import TrainingRun, parse_json_lines

#: How often a training run's progress file is read.
POLL_MS = 250
#: How long a stopping trainer may take to save and exit before it is killed.
STOP_TIMEOUT_MS = 60_000


class CommandProcess(QObject):
    """``composer ARGS`` (``python -m composer.cli ARGS``, or the frozen app) in a QProcess.

    Signals: event(dict) for each JSON line on stdout; finished(str error) once it has ended,
    with "" on success, else the error it reported (its ``error`` event or its stderr)."""

    event = Signal(dict)
    finished = Signal(str)

    def __init__(self, args: list[str], parent: QObject | None = None):
        super().__init__(parent)
        self.args = list(args)
        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self._buffer = b""
        self._error_message = ""
        self._done = False

    def start(self) -> None:
        program, *prefix = composer_command()  # the app binary itself in a frozen build
        self.process.start(program, [*prefix, *self.args])

    def cancel(self) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self._done = True  # a cancelled command reports nothing
            self.process.kill()
            self.process.waitForFinished(5000)

    def is_running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def _read(self) -> None:
        events, self._buffer = parse_json_lines(self._buffer + bytes(self.process.readAllStandardOutput()))
        for event in events:
            if event.get("event") == "error":
                self._error_message = event.get("message") or "the command failed"
            self.event.emit(event)

    def _finished(self, code: int, status) -> None:
        self._read()
        if self._done:
            return
        self._done = True
        if code == 0 and status == QProcess.ExitStatus.NormalExit:
            self.finished.emit("")
            return
        message = self._error_message
        if not message:
            errors = bytes(self.process.readAllStandardError()).decode(errors="replace").strip()
            message = errors.splitlines()[-1] if errors else f"the command ended with code {code}"
        self.finished.emit(message)

    def _error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self._done:
            self._done = True
            self.finished.emit(f"Composer could not start a child process ({self.process.errorString()})")


class RunMonitor(QObject):
    """Follows a :class:`TrainingRun` by reading its progress file (the trainer runs detached).

    Signals: event(dict) for each new event; ended(str status) when the trainer has exited:
    "done", "stopped", "error" or "crashed" (see :meth:`TrainingRun.failure`)."""

    event = Signal(dict)
    ended = Signal(str)

    def __init__(self, run: TrainingRun, parent: QObject | None = None):
        super().__init__(parent)
        self.run = run
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.stop_deadline = QTimer(self, singleShot=True, interval=STOP_TIMEOUT_MS)
        self.stop_deadline.timeout.connect(self._stop_timed_out)

    def follow(self) -> None:
        """Replay what the run has reported so far, then follow it while it runs."""
        self.poll()
        if self.run.is_alive():
            self.timer.start()

    def replay(self) -> None:
        """Report every event the run has written, from the start."""
        self.run.rewind()
        self.poll()

    def start(self, resume: bool = False) -> None:
        self.run.start(resume=resume)
        self.timer.start()

    def stop(self) -> None:
        """Ask the trainer to save and exit; kill it if it has not within the timeout."""
        if self.run.is_alive():
            self.run.request_stop()
            self.stop_deadline.start()

    def is_running(self) -> bool:
        return self.run.is_alive()

    def poll(self) -> None:
        alive = self.run.is_alive()  # before reading, so no line written before exiting is missed
        for event in self.run.read_new_events():
            self.event.emit(event)
        if not alive and self.timer.isActive():
            self.timer.stop()
            self.stop_deadline.stop()
            self.ended.emit(self.run.status())

    def _stop_timed_out(self) -> None:
        if self.run.is_alive():
            self.run.kill()
