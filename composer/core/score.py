"""The score model: a Score holds Tracks of notes, a tempo map and time signatures.

Everything is integer ticks at the score's PPQ (ticks per quarter note); seconds appear only at the
MIDI and audio boundaries. The Score changes itself (``insert_track``, ``add_notes``, ``set_timing``,
...) and emits Qt-free change signals (psygnal) so an editor can follow edits without the model
knowing about the editor.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from psygnal import Signal

from .errors import ScoreError
from .notes import (
    MAX_PITCH,
    MAX_VELOCITY,
    MIN_PITCH,
    MIN_VELOCITY,
    NOTE_DTYPE,
    empty_notes,
    sort_notes,
)
from .timing import (
    DEFAULT_PPQ,
    MAX_QPM,
    MIN_QPM,
    TempoChange,
    TempoMap,
    TimeSignature,
    bar_starts,
    meter_problem,
    signature_at,
    signatures_from_zero,
    tempo_problem,
)

_track_ids = itertools.count(1)


def _new_track_id() -> int:
    return next(_track_ids)


def reserve_track_ids(up_to: int) -> None:
    """Make sure newly created tracks get ids above ``up_to`` (used when loading saved ids)."""
    global _track_ids
    current = next(_track_ids)
    _track_ids = itertools.count(max(current, up_to + 1))


@dataclass(eq=False)
class Track:
    """One instrument part.

    ``notes`` is a structured array of dtype :data:`NOTE_DTYPE`, shape (n,), kept in
    (start, pitch, id) order. Note ids are unique within the track and never reused, so edits can
    refer to notes by id across undo and redo.
    """

    name: str = ""
    program: int = 0
    is_drum: bool = False
    notes: np.ndarray = field(default_factory=empty_notes)
    id: int = field(default_factory=_new_track_id)
    color: str = ""
    muted: bool = False
    solo: bool = False

    def __post_init__(self) -> None:
        notes = np.asarray(self.notes)
        if notes.dtype != NOTE_DTYPE:
            raise ScoreError(f"track {self.name!r}: notes must have dtype NOTE_DTYPE")
        self.notes = sort_notes(notes)
        missing = self.notes["id"] < 0
        self._next_note_id = int(self.notes["id"].max()) + 1 if len(self.notes) else 0
        if missing.any():
            self.notes["id"][missing] = self.new_note_ids(int(missing.sum()))
            self.notes = sort_notes(self.notes)

    def __len__(self) -> int:
        return len(self.notes)

    def __repr__(self) -> str:
        drum = ", drum" if self.is_drum else ""
        return f"Track({self.name!r}, program={self.program}{drum}, {len(self.notes)} notes)"

    @property
    def next_note_id(self) -> int:
        """The id the next new note will get."""
        return self._next_note_id

    @next_note_id.setter
    def next_note_id(self, value: int) -> None:
        # Never below an id in use: ids must stay unique.
        self._next_note_id = max(int(value), int(self.notes["id"].max()) + 1 if len(self.notes) else 0)

    def new_note_ids(self, n: int) -> np.ndarray:
        """Reserve ``n`` fresh note ids, shape (n,)."""
        ids = np.arange(self._next_note_id, self._next_note_id + n, dtype=np.int64)
        self._next_note_id += n
        return ids

    def copy(self) -> "Track":
        """A deep copy with the same track id and note ids."""
        twin = Track(self.name, self.program, self.is_drum, self.notes.copy(), self.id,
                     self.color, self.muted, self.solo)
        twin._next_note_id = self._next_note_id
        return twin

    def same_content(self, other: "Track") -> bool:
        """True when name, instrument and notes (ids included) are equal."""
        return (
            self.name == other.name
            and self.program == other.program
            and self.is_drum == other.is_drum
            and np.array_equal(self.notes, other.notes)
        )

    @property
    def end_tick(self) -> int:
        return int(self.notes["end"].max()) if len(self.notes) else 0

    def index_of(self, ids) -> np.ndarray:
        """Row indices of the given note ids; raises ScoreError for an unknown id."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) == 0:  # (an empty track has no rows to search)
            return np.zeros(0, np.int64)
        order = np.argsort(self.notes["id"], kind="stable")
        pos = np.searchsorted(self.notes["id"], ids, sorter=order)
        pos = np.clip(pos, 0, max(len(order) - 1, 0))
        if len(order) == 0 or not np.array_equal(self.notes["id"][order[pos]], ids):
            raise ScoreError(f"track {self.name!r} has no note with id(s) {ids.tolist()}")
        return order[pos]

    def get(self, ids) -> np.ndarray:
        """Copies of the notes with the given ids, in the order of ``ids``."""
        return self.notes[self.index_of(ids)].copy()

    def add_new_notes(self, notes: np.ndarray) -> np.ndarray:
        """Add copies of ``notes`` (NOTE_DTYPE, (n,)) under new ids and return them. For a
        score being built (a generated variation, a file being read): no undo step and no
        signal; a document's tracks change through edits (composer.core.edits)."""
        added = np.array(notes, dtype=NOTE_DTYPE, copy=True)
        added["id"] = self.new_note_ids(len(added))
        self._insert(added)
        return added

    # Low-level mutation without signals (a track does not know its score): only the Score's
    # change methods (Score.add_notes, ...) call these, and they emit the signals.
    def _insert(self, notes: np.ndarray) -> None:
        if len(notes) and np.isin(notes["id"], self.notes["id"]).any():
            raise ScoreError(f"track {self.name!r}: note ids already present")
        self.notes = sort_notes(np.concatenate([self.notes, notes]))
        if len(notes):
            self._next_note_id = max(self._next_note_id, int(notes["id"].max()) + 1)

    def _delete(self, ids) -> np.ndarray:
        rows = self.index_of(ids)
        removed = self.notes[rows].copy()
        self.notes = np.delete(self.notes, rows)
        return removed

    def _replace(self, notes: np.ndarray) -> None:
        rows = self.index_of(notes["id"])
        self.notes[rows] = notes
        self.notes = sort_notes(self.notes)


#: The track fields :meth:`Score.set_track_properties` may change.
TRACK_PROPERTIES = ("name", "program", "is_drum", "color", "muted", "solo")


class ScoreEvents:
    """Change signals of one Score. Arguments: the track id and the note ids, shape (n,)."""

    notes_added = Signal(int, object)
    notes_removed = Signal(int, object)
    notes_changed = Signal(int, object)
    #: A track was added, removed, reordered or had its name/instrument/mixer state changed.
    tracks_changed = Signal()
    #: Tempo, time signatures or PPQ changed.
    timing_changed = Signal()


class Score:
    """A composition: tracks, tempo map, time signatures, at ``ppq`` ticks per quarter note."""

    def __init__(
        self,
        tracks: list[Track] | None = None,
        ppq: int = DEFAULT_PPQ,
        tempos: list[TempoChange] | None = None,
        time_signatures: list[TimeSignature] | None = None,
        title: str = "",
    ):
        if not isinstance(ppq, (int, np.integer)) or ppq <= 0:
            raise ScoreError(f"PPQ must be a positive integer, not {ppq!r}")
        self.ppq = int(ppq)
        self.tracks: list[Track] = list(tracks or [])
        self.tempo_map = TempoMap(tempos, self.ppq)
        self.time_signatures = sorted(time_signatures or [TimeSignature(0)], key=lambda s: s.tick)
        self.title = title
        self._events: ScoreEvents | None = None

    # Signals are created on first use and never pickled, so Scores cross process boundaries.
    @property
    def events(self) -> ScoreEvents:
        if self._events is None:
            self._events = ScoreEvents()
        return self._events

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_events"] = None
        return state

    def __repr__(self) -> str:
        return f"Score({len(self.tracks)} tracks, {self.note_count} notes, ppq={self.ppq})"

    @property
    def tempos(self) -> list[TempoChange]:
        return list(self.tempo_map.changes)

    @property
    def note_count(self) -> int:
        return sum(len(t) for t in self.tracks)

    @property
    def end_tick(self) -> int:
        return max((t.end_tick for t in self.tracks), default=0)

    @property
    def duration_seconds(self) -> float:
        return float(self.tempo_map.tick_to_seconds(self.end_tick))

    def bar_starts(self, end_tick: int | None = None) -> np.ndarray:
        """Bar start ticks covering the score, shape (n_bars + 1,); see :func:`bar_starts`."""
        return bar_starts(self.time_signatures, self.ppq, self.end_tick if end_tick is None else end_tick)

    def bar_index_at(self, tick: int) -> int:
        """0-based index of the bar holding ``tick`` (0 for negative ticks)."""
        starts = self.bar_starts(max(int(tick), 0) + 1)
        return max(int(np.searchsorted(starts, max(int(tick), 0), side="right")) - 1, 0)

    def bar_start_at(self, tick: int) -> int:
        """Start tick of the bar holding ``tick``."""
        starts = self.bar_starts(max(int(tick), 0) + 1)
        return int(starts[self.bar_index_at(tick)])

    def time_signature_at(self, tick: int) -> TimeSignature:
        """The time signature in force at ``tick`` (4/4 before the first one)."""
        return signature_at(self.time_signatures, int(tick))

    def bar_ticks_at(self, tick: int) -> int:
        """The length in ticks of a bar in the meter in force at ``tick`` (at least 1)."""
        return max(self.time_signature_at(tick).bar_ticks(self.ppq), 1)

    def beat_ticks_at(self, tick: int) -> int:
        """Ticks in one beat (the signature's denominator: a quarter in 4/4, an eighth in 7/8)
        at ``tick``."""
        return max(self.ppq * 4 // max(self.time_signature_at(tick).denominator, 1), 1)

    def bar_lengths(self) -> list[int]:
        """The bar length in ticks of every meter, in time order from tick 0 (4/4 before the
        first signature, as MIDI defines), e.g. ``[1920, 1440]`` for 4/4 then 3/4."""
        return [max(s.bar_ticks(self.ppq), 1) for s in signatures_from_zero(self.time_signatures)]

    def timing_change_tick(self, kind: str, tick: int) -> int:
        """Where an edit of the tempo (``kind`` "tempo") or the time signature ("meter") at
        ``tick`` belongs, as a DAW's tempo and signature fields do it: the change already in force
        at ``tick`` when it lies in the same bar (so the first bar edits the value at the start),
        else the start of ``tick``'s bar (a new change there)."""
        if kind not in ("tempo", "meter"):
            raise ValueError(f"kind must be 'tempo' or 'meter', not {kind!r}")
        tick = max(int(tick), 0)
        bar_start = self.bar_start_at(tick)
        ticks = [c.tick for c in self.tempos] if kind == "tempo" else [s.tick for s in self.time_signatures]
        in_force = max((t for t in ticks if t <= tick), default=0)
        return in_force if in_force >= bar_start else bar_start

    def track(self, track_id: int) -> Track:
        for t in self.tracks:
            if t.id == track_id:
                return t
        raise ScoreError(f"no track with id {track_id}")

    def track_index(self, track_id: int) -> int:
        return self.tracks.index(self.track(track_id))

    # ---------------------------------------------------------------------------- changes
    # A document's tracks, notes and timing change only through these methods. Each changes the
    # score and then emits exactly one signal, so no caller can forget one and the editor never
    # misses a change; undoable edits (composer.core.edits) call them and only remember what to
    # undo, as Orange's undo commands call the scheme's methods. A score being built (a file
    # read, a generated result) may fill ``tracks`` and use ``Track.add_new_notes`` directly:
    # nothing listens to it yet.

    def insert_track(self, track: Track, index: int | None = None) -> int:
        """Insert ``track`` at ``index`` (the end when None; ``list.insert`` rules otherwise),
        emit ``tracks_changed`` and return the index it is at. Raises ScoreError when a track
        with its id is already in the score."""
        if any(t.id == track.id for t in self.tracks):
            raise ScoreError(f"the score already has a track with id {track.id}")
        self.tracks.insert(len(self.tracks) if index is None else index, track)
        self.events.tracks_changed.emit()
        return self.track_index(track.id)

    def remove_track(self, track_id: int) -> tuple[int, Track]:
        """Remove track ``track_id``, emit ``tracks_changed`` and return ``(index, track)`` (what
        :meth:`insert_track` needs to put it back)."""
        index = self.track_index(track_id)
        track = self.tracks.pop(index)
        self.events.tracks_changed.emit()
        return index, track

    def move_track(self, track_id: int, new_index: int) -> int:
        """Move track ``track_id`` to ``new_index`` (``list.insert`` rules, counted without the
        track), emit ``tracks_changed`` and return its old index (moving back there undoes it)."""
        old_index = self.track_index(track_id)
        self.tracks.insert(new_index, self.tracks.pop(old_index))
        self.events.tracks_changed.emit()
        return old_index

    def set_track_properties(self, track_id: int, **values) -> dict:
        """Set fields of track ``track_id`` by name (any of :data:`TRACK_PROPERTIES`, e.g.
        ``name="Lead", muted=True``), emit ``tracks_changed`` and return the old values as a
        dict (passing it back undoes it). Raises ScoreError for another name."""
        unknown = set(values) - set(TRACK_PROPERTIES)
        if unknown:
            raise ScoreError(f"unknown track properties: {sorted(unknown)}")
        track = self.track(track_id)
        before = {key: getattr(track, key) for key in values}
        for key, value in values.items():
            setattr(track, key, value)
        self.events.tracks_changed.emit()
        return before

    def add_notes(self, track_id: int, notes: np.ndarray) -> None:
        """Add copies of ``notes`` (NOTE_DTYPE, shape (n,)) to track ``track_id`` and emit
        ``notes_added(track_id, ids)`` with their ids (int64, shape (n,)). The notes carry ids
        reserved with ``Track.new_note_ids`` (or removed earlier); raises ScoreError for a
        missing (negative) id or one the track already has."""
        notes = np.asarray(notes)
        if notes.dtype != NOTE_DTYPE or (notes["id"] < 0).any():
            raise ScoreError("add_notes needs NOTE_DTYPE notes with ids (use track.new_note_ids)")
        self.track(track_id)._insert(notes.copy())
        self.events.notes_added.emit(track_id, notes["id"].copy())

    def delete_notes(self, track_id: int, ids) -> np.ndarray:
        """Remove the notes with ``ids`` (int, shape (n,)) from track ``track_id``, emit
        ``notes_removed(track_id, ids)`` (int64, shape (n,)) and return the removed notes
        (NOTE_DTYPE, shape (n,), in the order of ``ids``). Raises ScoreError for an unknown id."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        removed = self.track(track_id)._delete(ids)
        self.events.notes_removed.emit(track_id, ids.copy())
        return removed

    def replace_notes(self, track_id: int, notes: np.ndarray) -> None:
        """Overwrite the notes of track ``track_id`` that have the ids of ``notes`` (NOTE_DTYPE,
        shape (n,)) with copies of ``notes`` and emit ``notes_changed(track_id, ids)`` (int64,
        shape (n,)). Raises ScoreError for an unknown id."""
        notes = np.asarray(notes)
        if notes.dtype != NOTE_DTYPE:
            raise ScoreError("replace_notes needs NOTE_DTYPE notes")
        self.track(track_id)._replace(notes.copy())
        self.events.notes_changed.emit(track_id, notes["id"].copy())

    def set_timing(self, tempos: list[TempoChange] | None = None,
                   time_signatures: list[TimeSignature] | None = None) -> None:
        """Replace the tempo changes and/or the time signatures (None keeps them) and emit
        ``timing_changed``; undoable edits (``SetTempo``, ``SetTimeSignature``, ...) call this."""
        if tempos is not None:
            self.tempo_map = TempoMap(tempos, self.ppq)
        if time_signatures is not None:
            self.time_signatures = sorted(time_signatures or [TimeSignature(0)], key=lambda s: s.tick)
        self.events.timing_changed.emit()

    def copy(self) -> "Score":
        """A deep copy with the same track and note ids (signal connections are not copied)."""
        return Score(
            [t.copy() for t in self.tracks],
            self.ppq,
            self.tempos,
            list(self.time_signatures),
            self.title,
        )

    def same_content(self, other: "Score") -> bool:
        """True when timing and every track (notes with ids) are equal."""
        return (
            self.ppq == other.ppq
            and self.tempo_map == other.tempo_map
            and self.time_signatures == other.time_signatures
            and len(self.tracks) == len(other.tracks)
            and all(a.same_content(b) for a, b in zip(self.tracks, other.tracks))
        )

    def validate(self) -> None:
        """Raise :class:`ScoreError` naming the first problem found; return None when valid."""
        for problem in score_problems(self):
            raise ScoreError(problem)


def score_problems(score: Score) -> list[str]:
    """Human-readable descriptions of everything invalid in ``score`` (empty when valid)."""
    problems = []
    for change in score.tempos:
        problem = tempo_problem(change.qpm)
        if problem:
            problems.append(f"{problem} (at tick {change.tick})")
    for sig in score.time_signatures:
        problem = meter_problem(sig.numerator, sig.denominator)
        if problem:
            problems.append(f"{problem} (at tick {sig.tick})")
    for track in score.tracks:
        n = track.notes
        label = f"track {track.name or track.id!r}"
        if not 0 <= track.program <= 127:
            problems.append(f"{label}: program {track.program} is outside 0-127")
        if len(n) == 0:
            continue
        if (n["start"] < 0).any():
            problems.append(f"{label}: {(n['start'] < 0).sum()} notes start before tick 0")
        if (n["end"] <= n["start"]).any():
            problems.append(f"{label}: {(n['end'] <= n['start']).sum()} notes end at or before they start")
        if ((n["pitch"] < MIN_PITCH) | (n["pitch"] > MAX_PITCH)).any():
            problems.append(f"{label}: pitches outside {MIN_PITCH}-{MAX_PITCH}")
        if ((n["velocity"] < MIN_VELOCITY) | (n["velocity"] > MAX_VELOCITY)).any():
            problems.append(f"{label}: velocities outside {MIN_VELOCITY}-{MAX_VELOCITY}")
    return problems


def repaired(score: Score) -> tuple[Score, list[str]]:
    """Return a valid copy of ``score`` and a description of each repair made.

    Fixable oddities are repaired rather than rejected: tempos are clamped into range, notes that
    end before they start are swapped, zero-length notes get one tick, notes before tick 0 are
    dropped, pitches outside 0-127 are dropped and velocities are clipped to 1-127.
    """
    fixed = score.copy()
    notes_fixed: list[str] = []
    clamped = [TempoChange(c.tick, float(np.clip(c.qpm, MIN_QPM, MAX_QPM))) for c in fixed.tempos]
    if clamped != fixed.tempos:
        notes_fixed.append(f"clamped tempos outside {MIN_QPM:g}-{MAX_QPM:g} BPM")
        fixed.tempo_map = TempoMap(clamped, fixed.ppq)
    good_sigs = [s for s in fixed.time_signatures if meter_problem(s.numerator, s.denominator) is None]
    if len(good_sigs) != len(fixed.time_signatures):
        notes_fixed.append("dropped invalid time signatures")
        fixed.time_signatures = good_sigs or [TimeSignature(0)]
    for track in fixed.tracks:
        n = track.notes
        label = f"track {track.name or track.id!r}"
        swap = n["end"] < n["start"]
        if swap.any():
            n["start"][swap], n["end"][swap] = n["end"][swap].copy(), n["start"][swap].copy()
            notes_fixed.append(f"{label}: swapped start and end of {swap.sum()} notes")
        zero = n["end"] == n["start"]
        if zero.any():
            n["end"][zero] += 1
            notes_fixed.append(f"{label}: lengthened {zero.sum()} zero-length notes to one tick")
        keep = (n["start"] >= 0) & (n["pitch"] >= MIN_PITCH) & (n["pitch"] <= MAX_PITCH)
        if not keep.all():
            notes_fixed.append(f"{label}: dropped {(~keep).sum()} notes with negative time or "
                               f"pitch outside {MIN_PITCH}-{MAX_PITCH}")
            n = n[keep]
        bad_vel = (n["velocity"] < MIN_VELOCITY) | (n["velocity"] > MAX_VELOCITY)
        if bad_vel.any():
            n["velocity"] = np.clip(n["velocity"], MIN_VELOCITY, MAX_VELOCITY)
            notes_fixed.append(f"{label}: clipped {bad_vel.sum()} velocities to "
                               f"{MIN_VELOCITY}-{MAX_VELOCITY}")
        track.notes = sort_notes(n)
        track.program = int(np.clip(track.program, 0, 127))
    return fixed, notes_fixed
