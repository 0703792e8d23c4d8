"""Training runs started from the training wizard, kept on disk.

Each run is a folder holding ``run.json`` (what to train and how: :class:`TrainSettings`),
``progress.jsonl`` (the trainer's ``--progress json`` lines, plus one ``launch`` line per
start) and ``train.log`` (the command line of each start, then the trainer's stderr: the
same progress as readable lines, warnings, a traceback if it fails). The trainer runs as a detached child process
(``composer train``), so the app can follow it by reading the file, close while it trains
(the run goes on), find it again after a restart, and resume it once stopped or crashed.

Qt-free and torch-free: the GUI process imports it.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from composer.core.errors import ComposerError
from composer.launcher import composer_command, is_frozen
from composer.io.files import user_folder

from .options import DATA_OPTIONS, TRAIN_OPTIONS

RUNS_ENV = "COMPOSER_RUNS"
#: How much of the end of a progress file is read first to tell a run's status.
STATUS_TAIL_BYTES = 64 * 1024
#: Events after which a trainer has exited on its own.
FINAL_EVENTS = ("done", "stopped", "error")
#: The Python that runs the trainer when :meth:`TrainingRun.start` is given none (None: this one,
#: or the app binary itself in a frozen build).
#: Tests point it at a wrapper script (e.g. one that limits the size of the files it may write).
TRAINER_PYTHON: str | None = None


def parse_json_lines(data: bytes) -> tuple[list[dict], bytes]:
    """The JSON objects of the complete lines of ``data``, and its unfinished last line.

    Lines that are not JSON objects (a library's print on stdout) are skipped."""
    lines = data.split(b"\n")
    rest = lines.pop()
    events = []
    for line in lines:
        if line.startswith(b"{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events, rest


def runs_dir() -> Path:
    """Where runs are kept (``COMPOSER_RUNS`` or the platform's data folder)."""
    return user_folder("runs", RUNS_ENV)


@dataclass
class TrainSettings:
    """Everything ``composer train`` needs; None leaves a field to the preset."""

    family: str
    data: str
    out: str
    preset: str | None = None
    name: str = ""
    recursive: bool = True
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    seq_len: int | None = None
    valid_fraction: float | None = None
    test_fraction: float | None = None
    augment: bool = True
    patience: int | None = None
    #: Batches an epoch; 0: one pass over the training examples (the trainer counts them).
    steps_per_epoch: int | None = None
    #: Stop after this many minutes of training (None: no limit).
    minutes: float | None = None
    device: str = "auto"
    seed: int = 0
    #: Preset fields as text, as ``--set FIELD=VALUE`` takes them (e.g. the VAE's slots).
    overrides: dict = field(default_factory=dict)

    def _model_options(self) -> list[str]:
        """The preset, --set and subfolder options both commands take."""
        args = []
        if self.preset:
            args += ["--preset", self.preset]
        for key, value in self.overrides.items():
            args += ["--set", f"{key}={value}"]
        if not self.recursive:
            args.append("--no-recursive")
        return args

    def train_args(self) -> list[str]:
        """The arguments after ``composer train`` (without progress or stop options)."""
        args = ["--family", self.family, "--data", self.data, *self._model_options(), "--out", self.out]
        if self.name:
            args += ["--name", self.name]
        args += ["--device", self.device]
        for option in TRAIN_OPTIONS:  # (the seed among them)
            args += option.args(getattr(self, option.field))
        return args + ([] if self.augment else ["--no-augment"])

    def preprocess_args(self) -> list[str]:
        """The arguments after ``composer preprocess`` that read the data as training will."""
        args = [self.data, "--family", self.family, *self._model_options()]
        for option in DATA_OPTIONS:
            args += option.args(getattr(self, option.field))
        return args

    def command(self) -> str:
        """The same training from a terminal."""
        return shlex.join(["composer", "train", *self.train_args()])

    def torchrun_command(self) -> str:
        """The same training on every GPU of one machine."""
        return shlex.join(["torchrun", "--nproc_per_node=gpu", "-m", "composer.cli", "train", *self.train_args()])


#: Settings renamed since runs were first saved: old name -> new.
_RENAMED_SETTINGS = {"valid_split": "valid_fraction", "test_split": "test_fraction"}


class TrainingRun:
    """One run folder; see the module docstring."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._offset = 0
        self._partial = b""
        self._process: subprocess.Popen | None = None

    # ------------------------------------------------------------------ files
    @property
    def record_path(self) -> Path:
        return self.folder / "run.json"

    @property
    def progress_path(self) -> Path:
        return self.folder / "progress.jsonl"

    @property
    def log_path(self) -> Path:
        return self.folder / "train.log"

    @property
    def stop_path(self) -> Path:
        return self.folder / "stop"

    @classmethod
    def create(cls, settings: TrainSettings, root: Path | None = None) -> "TrainingRun":
        """A new run folder for ``settings`` (nothing started yet)."""
        root = Path(root) if root is not None else runs_dir()
        stem = Path(settings.out).name.removesuffix(".safetensors") or "model"
        try:
            root.mkdir(parents=True, exist_ok=True)
            folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}"
            n = 1
            while folder.exists():
                n += 1
                folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}-{n}"
            folder.mkdir()
        except OSError as exc:
            raise ComposerError(f"cannot create a run folder in {root} ({exc.strerror or exc})") from None
        run = cls(folder)
        run._write_record({"settings": asdict(settings), "created": time.time(), "pid": None})
        return run

    def _read_record(self) -> dict:
        try:
            return json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ComposerError(f"{self.folder.name}: not a readable training run ({exc})") from None

    def _write_record(self, record: dict) -> None:
        from composer.io.files import atomic_write_bytes

        atomic_write_bytes(self.record_path, json.dumps(record, indent=1).encode("utf-8"))

    @property
    def settings(self) -> TrainSettings:
        saved = dict(self._read_record()["settings"])
        for old, new in _RENAMED_SETTINGS.items():  # run.json from before the names were one
            if old in saved:
                saved[new] = saved.pop(old)
        return TrainSettings(**saved)

    def update_settings(self, **changes) -> None:
        """Change fields of the run's settings (e.g. more epochs, to continue it)."""
        record = self._read_record()
        record["settings"] = {**record["settings"], **changes}
        self._write_record(record)

    @property
    def pid(self) -> int | None:
        return self._read_record().get("pid")

    # ------------------------------------------------------------------ the child process
    def start(self, resume: bool = False, python: str | None = None) -> int:
        """Start (or resume) the trainer, detached: it runs on when the app exits. Returns its pid."""
        if self.is_alive():
            raise ComposerError("this training is already running")
        self.stop_path.unlink(missing_ok=True)
        args = [*composer_command(python or TRAINER_PYTHON), "train", *self.settings.train_args(),
                "--progress", "json", "--stop-file", str(self.stop_path)]
        if resume:
            args.append("--resume")
        detach = {"start_new_session": True} if os.name == "posix" else \
            {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        with open(self.progress_path, "ab") as progress, open(self.log_path, "ab") as log:
            progress.write((json.dumps({"event": "launch", "resume": resume, "at": time.time()}) + "\n").encode())
            progress.flush()
            log.write(f"\n$ {shlex.join(args)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=progress, stderr=log,
                                             **detach)
        record = self._read_record()
        record["pid"] = self._process.pid
        self._write_record(record)
        return self._process.pid

    def is_alive(self) -> bool:
        """Is the trainer still running (started by this app, or found again by its pid)?"""
        if self._process is not None:
            return self._process.poll() is None
        pid = self.pid
        if not pid or os.name != "posix":
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process took the pid
            return False
        return _is_our_trainer(pid)

    def exit_code(self) -> int | None:
        """The trainer's exit code, when this app started it and it has ended."""
        return None if self._process is None else self._process.poll()

    def request_stop(self) -> None:
        """Ask the trainer to save and exit (it checks between steps)."""
        self.stop_path.touch()

    def kill(self) -> None:
        """End the trainer at once (after a stop request timed out)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
        elif self.is_alive():
            os.kill(self.pid, signal.SIGKILL)

    # ------------------------------------------------------------------ what it reported
    def read_new_events(self) -> list[dict]:
        """Events written since the last call (a half-written last line waits for the next)."""
        try:
            with open(self.progress_path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        events, self._partial = parse_json_lines(self._partial + chunk)
        return events

    def rewind(self) -> None:
        """:meth:`read_new_events` starts again from the first event."""
        self._offset, self._partial = 0, b""

    def all_events(self) -> list[dict]:
        """Every event of every launch, from the start of the file."""
        reader = TrainingRun(self.folder)
        return reader.read_new_events()

    def status(self) -> str:
        """"running", "done", "stopped", "error", "crashed" or "new" (never started)."""
        if self.is_alive():
            return "running"
        events = self._last_launch_events()
        if not events:
            return "new"
        last = [e["event"] for e in events if e["event"] in FINAL_EVENTS]
        return last[-1] if last else "crashed"

    def _last_launch_events(self) -> list[dict]:
        """The events from the last ``launch`` on ([] when never launched). Reads the end of
        the progress file first: a long run writes megabytes, and the wizard lists every run."""
        try:
            size = self.progress_path.stat().st_size
        except FileNotFoundError:
            return []
        reader = TrainingRun(self.folder)
        reader._offset = max(size - STATUS_TAIL_BYTES, 0)
        events = reader.read_new_events()  # (a cut first line is not JSON and is skipped)
        launches = [i for i, e in enumerate(events) if e["event"] == "launch"]
        if not launches and reader._offset > 0:
            events = self.all_events()
            launches = [i for i, e in enumerate(events) if e["event"] == "launch"]
        return events[launches[-1]:] if launches else []

    def failure(self) -> str:
        """What went wrong, for a run whose status is "error" or "crashed"."""
        errors = [e for e in self._last_launch_events() if e["event"] == "error"]
        if errors and not self.is_alive():  # the last launch's own error, not an earlier one
            return errors[-1].get("message") or "the trainer reported an error"
        code = self.exit_code()
        how = f"killed by signal {-code}" if code is not None and code < 0 else \
            f"exit code {code}" if code is not None else "it is no longer running"
        tail = self.log_tail(3)
        return f"The trainer stopped unexpectedly ({how})." + (f"\n\nLast lines of its log:\n{tail}" if tail else "")

    def log_tail(self, n: int = 20) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(line for line in lines[-n:] if not line.startswith("$ "))


def _is_our_trainer(pid: int) -> bool:
    """On Linux, check the pid runs ``composer ... train`` (pids are reused); elsewhere trust it."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True
    try:
        parts = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    if is_frozen() and parts[0] == os.fsencode(sys.executable):  # the app binary is the CLI
        return b"train" in parts
    return b"composer.cli" in parts and b"train" in parts


def list_runs(root: Path | None = None) -> list[TrainingRun]:
    """Every run folder, newest first."""
    root = Path(root) if root is not None else runs_dir()
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if (p / "run.json").is_file()]
    return [TrainingRun(p) for p in sorted(folders, key=lambda p: p.name, reverse=True)]
