"""Model loading and generation off the GUI thread.

One :class:`ModelWorker` lives in its own QThread for the whole session. It imports torch the
first time a model is loaded (so the window shows before torch is imported), keeps the loaded
model, and runs one generation at a time. The GUI talks to it only through queued signals, and
cancels through a ``threading.Event`` because the worker's event loop is busy while generating.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from composer.core.errors import ComposerError

#: Progress is reported at most this often, so a fast model cannot flood the GUI's event queue.
PROGRESS_INTERVAL_S = 0.05


@dataclass
class LoadedModel:
    """What the GUI needs to know about the model the worker holds."""

    path: str
    metadata: dict
    device: str


@dataclass
class GenerationJob:
    """One press of Generate: the request (with a private copy of the primer) and its context."""

    job_id: int
    request: object  # composer.generation.request.GenerateRequest (no torch import here)
    #: Filled in by the worker: warnings the generation raised (shown in the status bar).
    warnings: list[str] = field(default_factory=list)


def _preload_torch_libraries() -> None:
    """Load torch's big shared libraries through libc's dlopen, which ctypes calls without the GIL.

    ``import torch`` would dlopen libtorch_cpu (a quarter of a second here) while holding the
    GIL, freezing the window that long; loaded this way first, the import finds them in place.
    Best effort: on any platform where this does not apply, the plain import still works.
    """
    if sys.platform not in ("linux", "darwin") or "torch" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("torch")
        lib_dir = Path(spec.origin).parent / "lib"
        libc = ctypes.CDLL(None)
        libc.dlopen.restype = ctypes.c_void_p
        libc.dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
        suffix = ".dylib" if sys.platform == "darwin" else ".so"
        for name in ("libc10", "libtorch_cpu", "libtorch", "libtorch_python"):
            path = lib_dir / f"{name}{suffix}"
            if path.exists():
                libc.dlopen(str(path).encode(), os.RTLD_NOW | os.RTLD_GLOBAL)
    except (AttributeError, OSError, TypeError):
        pass


class _ModelSignals(QObject):
    """The signals the worker emits and the service re-emits on the GUI thread (see
    :class:`ModelWorker`)."""

    model_loaded = Signal(object)
    model_failed = Signal(str, str)
    started = Signal(int)
    progress = Signal(int, float)
    finished = Signal(int, object, object)
    failed = Signal(int, str)
    cancelled = Signal(int)


class ModelWorker(_ModelSignals):
    """Loads models and generates, in the thread it was moved to.

    Signals
    -------
    model_loaded(LoadedModel), model_failed(str path, str message)
    started(int job_id), progress(int job_id, float fraction 0-1)
    finished(int job_id, GenerationJob, GenerationResult), failed(int job_id, str message),
    cancelled(int job_id)
    """

    def __init__(self, device: str = "auto"):
        super().__init__()
        self.device_request = device
        self.cancel_event = threading.Event()
        self._model = None
        self._path: str | None = None

    @Slot(str)
    def load(self, path: str) -> None:
        """Load the checkpoint at ``path`` onto the best device (CUDA, MPS, else the CPU)."""
        _preload_torch_libraries()
        try:
            from composer.models.base import load_model
            from composer.models.device import choose_device

            model, metadata = load_model(path)
            device = choose_device(self.device_request)
            model.to(device)
        except ComposerError as exc:
            self.model_failed.emit(path, str(exc))
            return
        except Exception as exc:  # a damaged file can fail deep inside torch or safetensors
            self.model_failed.emit(path, f"{type(exc).__name__}: {exc}")
            return
        self._model, self._path = model, path
        self.model_loaded.emit(LoadedModel(path, metadata, str(device)))

    @Slot(object)
    def generate(self, job: GenerationJob) -> None:
        """Run ``job`` on the loaded model; ends with exactly one of finished/failed/cancelled."""
        from composer.generation.generate import GenerationCancelled, generate

        self.cancel_event.clear()
        self.started.emit(job.job_id)
        if self._model is None:
            self.failed.emit(job.job_id, "No model is loaded: pick one in the Models panel.")
            return
        last = [0.0]

        def report(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL_S or fraction >= 1.0:
                last[0] = now
                self.progress.emit(job.job_id, fraction)

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = generate(self._model, job.request, progress=report, cancel=self.cancel_event)
            job.warnings = [str(w.message) for w in caught]
        except GenerationCancelled:
            self.cancelled.emit(job.job_id)
            return
        except ComposerError as exc:
            self.failed.emit(job.job_id, str(exc))
            return
        except Exception as exc:  # never let a model bug kill the worker thread silently
            self.failed.emit(job.job_id, f"The model failed: {type(exc).__name__}: {exc}")
            return
        self.finished.emit(job.job_id, job, result)


class ModelService(_ModelSignals):
    """The GUI-side handle: owns the worker thread and forwards requests to it.

    Its signals are the worker's (see :class:`ModelWorker`), re-emitted on the GUI thread, so
    slots and tests never run on the worker's thread.
    """

    _load_requested = Signal(str)
    _generate_requested = Signal(object)

    def __init__(self, parent=None, device: str = "auto"):
        super().__init__(parent)
        self.thread = QThread(self)
        self.thread.setObjectName("composer-model-worker")
        self.worker = ModelWorker(device)
        self.worker.moveToThread(self.thread)
        self._load_requested.connect(self.worker.load)
        self._generate_requested.connect(self.worker.generate)
        for name in ("model_loaded", "model_failed", "started", "progress", "finished", "failed",
                     "cancelled"):
            getattr(self.worker, name).connect(getattr(self, name), Qt.ConnectionType.QueuedConnection)
        self.thread.start()
        self._next_job = 0
        self.loaded: LoadedModel | None = None
        self.model_loaded.connect(self._remember)

    def _remember(self, loaded: LoadedModel) -> None:
        self.loaded = loaded

    def load(self, path: str) -> None:
        self._load_requested.emit(str(path))

    def generate(self, request) -> int:
        """Queue ``request``; returns the job id the worker's signals will carry."""
        self._next_job += 1
        self._generate_requested.emit(GenerationJob(self._next_job, request))
        return self._next_job

    def cancel(self) -> None:
        self.worker.cancel_event.set()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel what runs and stop the thread (called when the window closes)."""
        self.cancel()
        self.thread.quit()
        self.thread.wait(timeout_ms)
