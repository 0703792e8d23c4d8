"""Undoable edits: Qt-free objects with ``apply(score)`` and ``revert(score)``.

An edit holds a track id, note ids and plain values, never graphics items, so the GUI wraps each in
a thin QUndoCommand and tests can drive them without Qt. ``apply`` after ``revert`` gives back the
exact score (same ids), which is what redo needs. Edits change the score only through its change
methods (``Score.add_notes``, ``Score.insert_track``, ...), which emit the signals; an edit only
remembers what it needs to undo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ScoreError
from .notes import NOTE_DTYPE
from .score import TRACK_PROPERTIES, Score, Track
from .timing import TempoChange, TimeSignature, meter_problem, tempo_problem


class Edit:
    """Base class. ``text`` is the label shown in the Edit menu ("Undo Move Notes")."""

    text = "Edit"

    def apply(self, score: Score) -> None:
        raise NotImplementedError

    def revert(self, score: Score) -> None:
        raise NotImplementedError


def _ids(notes_or_ids) -> np.ndarray:
    arr = np.asarray(notes_or_ids)
    if arr.dtype == NOTE_DTYPE:
        return arr["id"].copy()
    return arr.astype(np.int64).reshape(-1)


@dataclass
class AddNotes(Edit):
    """Add notes to a track. The notes must carry ids from ``track.new_note_ids``."""

    track_id: int
    notes: np.ndarray
    text: str = "Add Notes"

    def __post_init__(self) -> None:
        if (self.notes["id"] < 0).any():
            raise ScoreError("AddNotes needs notes with ids (use track.new_note_ids)")

    def apply(self, score: Score) -> None:
        score.add_notes(self.track_id, self.notes)

    def revert(self, score: Score) -> None:
        score.delete_notes(self.track_id, _ids(self.notes))


@dataclass
class RemoveNotes(Edit):
    """Remove notes by id; the removed notes are remembered for revert."""

    track_id: int
    ids: np.ndarray
    text: str = "Delete Notes"
    _removed: np.ndarray | None = field(default=None, repr=False)

    def apply(self, score: Score) -> None:
        self._removed = score.delete_notes(self.track_id, _ids(self.ids))

    def revert(self, score: Score) -> None:
        score.add_notes(self.track_id, self._removed)


@dataclass
class _ChangeNotes(Edit):
    """Replace notes (matched by id) with new values; remembers the old values."""

    track_id: int
    ids: np.ndarray
    _before: np.ndarray | None = field(default=None, repr=False)

    def changed(self, before: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def apply(self, score: Score) -> None:
        self._before = score.track(self.track_id).get(_ids(self.ids))
        score.replace_notes(self.track_id, self.changed(self._before.copy()))

    def revert(self, score: Score) -> None:
        score.replace_notes(self.track_id, self._before)


@dataclass
class MoveNotes(_ChangeNotes):
    """Shift notes by ``d_ticks`` in time and ``d_pitch`` semitones."""

    d_ticks: int = 0
    d_pitch: int = 0
    text: str = "Move Notes"

    def changed(self, notes: np.ndarray) -> np.ndarray:
        if (notes["start"] + self.d_ticks < 0).any():
            raise ScoreError("cannot move notes before the start of the score")
        pitch = notes["pitch"] + self.d_pitch
        if ((pitch < 0) | (pitch > 127)).any():
            raise ScoreError("cannot move notes outside MIDI pitches 0-127")
        notes["start"] += self.d_ticks
        notes["end"] += self.d_ticks
        notes["pitch"] = pitch
        return notes


@dataclass
class ResizeNotes(_ChangeNotes):
    """Set new end ticks (scalar or shape (n,) in the order of ``ids``); ends stay after starts."""

    new_ends: object = 0
    text: str = "Resize Notes"

    def changed(self, notes: np.ndarray) -> np.ndarray:
        ends = np.broadcast_to(np.asarray(self.new_ends, dtype=np.int64), notes.shape)
        notes["end"] = np.maximum(ends, notes["start"] + 1)
        return notes


@dataclass
class SetVelocity(_ChangeNotes):
    """Set velocities (scalar or shape (n,)), clipped to 1-127."""

    velocity: object = 100
    text: str = "Set Velocity"

    def changed(self, notes: np.ndarray) -> np.ndarray:
        vel = np.broadcast_to(np.asarray(self.velocity), notes.shape)
        notes["velocity"] = np.clip(vel, 1, 127)
        return notes


@dataclass
class ReplaceRegion(Edit):
    """Replace the notes of a track that start in [start, end) with ``notes`` (e.g. a generation).

    ``notes`` may come without ids; fresh ids are taken from the track on first apply and kept
    for redo.
    """

    track_id: int
    start: int
    end: int
    notes: np.ndarray
    text: str = "Replace Region"
    _removed: np.ndarray | None = field(default=None, repr=False)

    def apply(self, score: Score) -> None:
        track = score.track(self.track_id)
        if (self.notes["id"] < 0).any():
            self.notes = self.notes.copy()
            self.notes["id"] = track.new_note_ids(len(self.notes))
        inside = (track.notes["start"] >= self.start) & (track.notes["start"] < self.end)
        self._removed = score.delete_notes(self.track_id, track.notes["id"][inside])
        score.add_notes(self.track_id, self.notes)

    def revert(self, score: Score) -> None:
        score.delete_notes(self.track_id, _ids(self.notes))
        score.add_notes(self.track_id, self._removed)


@dataclass
class AddTrack(Edit):
    """Insert a track at ``index`` (the end when None)."""

    track: Track
    index: int | None = None
    text: str = "Add Track"

    def apply(self, score: Score) -> None:
        score.insert_track(self.track, self.index)

    def revert(self, score: Score) -> None:
        score.remove_track(self.track.id)


@dataclass
class RemoveTrack(Edit):
    track_id: int
    text: str = "Remove Track"
    _track: Track | None = field(default=None, repr=False)
    _index: int = 0

    def apply(self, score: Score) -> None:
        self._index, self._track = score.remove_track(self.track_id)

    def revert(self, score: Score) -> None:
        score.insert_track(self._track, self._index)


@dataclass
class MoveTrack(Edit):
    track_id: int
    new_index: int
    text: str = "Reorder Tracks"
    _old_index: int = 0

    def apply(self, score: Score) -> None:
        self._old_index = score.move_track(self.track_id, self.new_index)

    def revert(self, score: Score) -> None:
        score.move_track(self.track_id, self._old_index)


@dataclass
class SetTrackProperties(Edit):
    """Change track properties by name (any of :data:`TRACK_PROPERTIES`)."""

    track_id: int
    values: dict
    text: str = "Change Track"
    _before: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Checked here too so that a bad edit fails where it is made, not on first apply.
        unknown = set(self.values) - set(TRACK_PROPERTIES)
        if unknown:
            raise ScoreError(f"unknown track properties: {sorted(unknown)}")

    def apply(self, score: Score) -> None:
        self._before = score.set_track_properties(self.track_id, **self.values)

    def revert(self, score: Score) -> None:
        score.set_track_properties(self.track_id, **self._before)


def _checked_tick(tick) -> int:
    if isinstance(tick, bool) or int(tick) != tick or tick < 0:
        raise ScoreError(f"a tempo or time signature change needs a tick >= 0, not {tick!r}")
    return int(tick)


@dataclass
class SetTempo(Edit):
    """Set the tempo at ``tick`` to ``qpm`` BPM: the change at that tick is replaced, or a new
    change is added there. Tick 0 sets the tempo at the start. Raises ScoreError for a tempo
    outside :data:`~composer.core.timing.MIN_QPM`-:data:`~composer.core.timing.MAX_QPM`."""

    tick: int
    qpm: float
    text: str = "Set Tempo"
    _before: list | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.tick = _checked_tick(self.tick)
        problem = tempo_problem(self.qpm)
        if problem:
            raise ScoreError(problem)
        self.qpm = float(self.qpm)

    def apply(self, score: Score) -> None:
        self._before = score.tempos
        kept = [c for c in self._before if c.tick != self.tick]
        score.set_timing(tempos=kept + [TempoChange(self.tick, self.qpm)])

    def revert(self, score: Score) -> None:
        score.set_timing(tempos=self._before)


@dataclass
class RemoveTempo(Edit):
    """Remove the tempo change at ``tick`` (the tempo before it goes on). The tempo at the start
    cannot be removed, only set."""

    tick: int
    text: str = "Remove Tempo Change"
    _before: list | None = field(default=None, repr=False)

    def apply(self, score: Score) -> None:
        if self.tick <= 0:
            raise ScoreError("the tempo at the start cannot be removed, only changed")
        before = score.tempos
        if all(c.tick != self.tick for c in before):
            raise ScoreError(f"there is no tempo change at tick {self.tick}")
        self._before = before
        score.set_timing(tempos=[c for c in before if c.tick != self.tick])

    def revert(self, score: Score) -> None:
        score.set_timing(tempos=self._before)


@dataclass
class SetTimeSignature(Edit):
    """Set the time signature at ``tick`` (a bar start) to ``numerator/denominator``: the one at
    that tick is replaced, or a new one starts there. Raises ScoreError for a signature outside
    the limits of :func:`~composer.core.timing.meter_problem`."""

    tick: int
    numerator: int
    denominator: int
    text: str = "Set Time Signature"
    _before: list | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.tick = _checked_tick(self.tick)
        problem = meter_problem(self.numerator, self.denominator)
        if problem:
            raise ScoreError(problem)
        self.numerator, self.denominator = int(self.numerator), int(self.denominator)

    def apply(self, score: Score) -> None:
        self._before = list(score.time_signatures)
        kept = [s for s in self._before if s.tick != self.tick]
        score.set_timing(time_signatures=kept + [TimeSignature(self.tick, self.numerator,
                                                               self.denominator)])

    def revert(self, score: Score) -> None:
        score.set_timing(time_signatures=self._before)


@dataclass
class RemoveTimeSignature(Edit):
    """Remove the time signature change at ``tick`` (the signature before it goes on). The one
    at the start cannot be removed, only set."""

    tick: int
    text: str = "Remove Time Signature"
    _before: list | None = field(default=None, repr=False)

    def apply(self, score: Score) -> None:
        if self.tick <= 0:
            raise ScoreError("the time signature at the start cannot be removed, only changed")
        before = list(score.time_signatures)
        if all(s.tick != self.tick for s in before):
            raise ScoreError(f"there is no time signature change at tick {self.tick}")
        self._before = before
        score.set_timing(time_signatures=[s for s in before if s.tick != self.tick])

    def revert(self, score: Score) -> None:
        score.set_timing(time_signatures=self._before)


@dataclass
class EditGroup(Edit):
    """Several edits applied in order and reverted in reverse order, as one undo step."""

    edits: list
    text: str = "Edit"

    def apply(self, score: Score) -> None:
        for edit in self.edits:
            edit.apply(score)

    def revert(self, score: Score) -> None:
        for edit in reversed(self.edits):
            edit.revert(score)
