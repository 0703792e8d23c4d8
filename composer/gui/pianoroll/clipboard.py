"""Notes on the system clipboard, so copy and paste work between tracks, projects and windows.

The notes travel as JSON under a private MIME type, with times relative to the first note, and
as plain text (one note per line) for anything else that reads the clipboard.
"""

from __future__ import annotations

import atexit
import json

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from composer.core.notes import make_notes

from .theme import pitch_name

MIME_TYPE = "application/x-composer-notes"


_release_registered = False


def _release_clipboard() -> None:
    """Take our data off the clipboard before Qt tears down: a QMimeData made in Python and
    still held by the clipboard when the application object is destroyed crashes the process
    on exit (SIGSEGV, seen with PySide6 6.11)."""
    app = QGuiApplication.instance()
    if app is None:
        return
    clipboard = app.clipboard()
    mime = clipboard.mimeData()
    if mime is not None and mime.hasFormat(MIME_TYPE):
        clipboard.clear()


def copy_notes(notes: np.ndarray, ppq: int) -> None:
    """Put ``notes`` (shape (n,), NOTE_DTYPE) on the clipboard, times relative to the earliest."""
    origin = int(notes["start"].min())
    payload = {"ppq": ppq, "notes": [[int(n["start"]) - origin, int(n["end"]) - origin, int(n["pitch"]),
                                      int(n["velocity"])] for n in notes]}
    mime = QMimeData()
    mime.setData(MIME_TYPE, json.dumps(payload).encode())
    mime.setText("\n".join(f"{pitch_name(int(p))} start {s} end {e} velocity {v}"
                           for s, e, p, v in payload["notes"]))
    QGuiApplication.clipboard().setMimeData(mime)
    global _release_registered
    if not _release_registered:
        atexit.register(_release_clipboard)
        _release_registered = True


def pasted_notes(ppq: int) -> np.ndarray | None:
    """Notes on the clipboard, relative to tick 0 and rescaled to ``ppq``; None if there are none."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is None or not mime.hasFormat(MIME_TYPE):
        return None
    try:
        payload = json.loads(bytes(mime.data(MIME_TYPE)).decode())
        rows = np.asarray(payload["notes"], dtype=np.int64).reshape(-1, 4)
        scale = ppq / int(payload["ppq"])
    except (ValueError, KeyError, TypeError, ZeroDivisionError):
        return None  # someone else's data under our type: nothing to paste
    if not len(rows):
        return None
    starts = np.rint(rows[:, 0] * scale).astype(np.int64)
    ends = np.maximum(np.rint(rows[:, 1] * scale).astype(np.int64), starts + 1)
    return make_notes(starts, ends, np.clip(rows[:, 2], 0, 127), np.clip(rows[:, 3], 1, 127))
