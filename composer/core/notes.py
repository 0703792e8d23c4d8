"""Notes stored column-wise in numpy structured arrays.

A track can hold tens of thousands of notes and the data layer reads thousands of files a second,
so notes live in one structured array per track (fields ``id, start, end, pitch, velocity``) rather
than as one Python object each. :class:`Note` is the value type used where single notes are handy
(iteration, tests, the editor's hit testing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

#: One row per note. Times are integer ticks; ``end`` is exclusive.
NOTE_DTYPE = np.dtype(
    [
        ("id", np.int64),
        ("start", np.int64),
        ("end", np.int64),
        ("pitch", np.int16),
        ("velocity", np.int16),
    ]
)

MIN_PITCH, MAX_PITCH = 0, 127
MIN_VELOCITY, MAX_VELOCITY = 1, 127


@dataclass(frozen=True, slots=True)
class Note:
    """One note: MIDI pitch and velocity, start and end in integer ticks (end exclusive)."""

    pitch: int
    velocity: int
    start: int
    end: int
    id: int = -1

    @property
    def duration(self) -> int:
        return self.end - self.start


def empty_notes(n: int = 0) -> np.ndarray:
    """A zeroed note array of shape (n,) with dtype :data:`NOTE_DTYPE`."""
    return np.zeros(n, dtype=NOTE_DTYPE)


def make_notes(start, end, pitch, velocity=100, ids=None) -> np.ndarray:
    """Build a note array from columns.

    Parameters
    ----------
    start, end, pitch : array-like of int, shape (n,)
    velocity : int or array-like of int, shape (n,)
    ids : array-like of int, shape (n,), optional
        Defaults to ``-1`` (no id yet); a Track assigns ids when the notes are added.
    """
    start = np.asarray(start, dtype=np.int64).reshape(-1)
    notes = empty_notes(len(start))
    notes["start"] = start
    notes["end"] = np.asarray(end, dtype=np.int64).reshape(-1)
    notes["pitch"] = np.asarray(pitch).reshape(-1)
    notes["velocity"] = velocity
    notes["id"] = -1 if ids is None else np.asarray(ids, dtype=np.int64).reshape(-1)
    return notes


def notes_from_objects(notes: Iterable[Note]) -> np.ndarray:
    """Convert :class:`Note` values to a note array, keeping their ids."""
    notes = list(notes)
    return make_notes(
        [n.start for n in notes],
        [n.end for n in notes],
        [n.pitch for n in notes],
        [n.velocity for n in notes],
        [n.id for n in notes],
    )


def notes_to_objects(notes: np.ndarray) -> list[Note]:
    """Convert a note array to a list of :class:`Note` values."""
    return [
        Note(int(p), int(v), int(s), int(e), int(i))
        for i, s, e, p, v in zip(
            notes["id"].tolist(),
            notes["start"].tolist(),
            notes["end"].tolist(),
            notes["pitch"].tolist(),
            notes["velocity"].tolist(),
        )
    ]


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """Return a copy of the notes ordered by (start, pitch, id): the canonical order of a track."""
    if len(notes) < 2:
        return notes.copy()
    key = notes["start"] * 256 + notes["pitch"]  # pitch is in 0..255 after validation
    if (key[1:] > key[:-1]).all():  # the common case: already in order, no ties
        return notes.copy()
    return notes[np.lexsort((notes["id"], key))]
