"""Token codecs: a score as a sequence of chord tokens (paper 001) or of pitch symbols with a
step separator (paper 003). numpy only, vectorised: no Python loop over notes.

Both start from the same grid: every pitched note (drum tracks are left out) gets its onset and
end rounded to a grid of ``steps_per_beat`` steps per quarter note (4: sixteenth notes, about what
music21 does when it quantises a MIDI file for the papers); notes of all tracks that start on the
same step form one *onset group*. A pitch that starts twice on one step counts once (the longer).

The cached encoding is **vocabulary-independent**: it holds pitches and grid steps, never token
ids, so one cache serves any vocabulary. A family builds its vocabulary from the training split
(:mod:`composer.representations.vocab`) and stores it in the checkpoint's metadata.

:class:`ChordTokenCodec` (kind ``"chord_tokens"``), one row per onset group, shape (N, 4) int64:
``[mask_lo, mask_hi, duration, shift]``: the group's pitches as a 128-bit mask (bit ``p`` of
``mask_lo`` for pitches 0-63, of ``mask_hi`` for 64-127, stored as int64), its duration (the
longest note of the group) and the shift to the next group's onset, both in grid steps.

* ``timed=False`` (preset "paper", faithful to paper 001): duration and shift are 0. A token is
  only its pitches, e.g. "C4" or "C4.E4.G4". **Keeps** which pitches start together and their
  order. **Loses** all timing: note lengths, rests, how far apart onsets are. Decoding plays one
  group every ``untimed_beats`` beats (0.5, the public implementation paper 001 follows), each
  note lasting that long.
* ``timed=True`` (preset "timed"): duration and shift are snapped to the ladder
  :data:`TIMING_STEPS` (1, 2, 3, 4, 6, 8, 12, 16 steps: a sixteenth to a whole note at 4 steps a
  beat). The family writes each group as two tokens, the chord and then one timing token
  "t{duration}:{shift}" (at most 8 x 8 = 64 of them), so the vocabulary grows by at most 64
  tokens, not by a factor of 64 as chord-and-duration tokens would. **Keeps** the rhythm of onsets
  on the sixteenth grid, rests up to a whole note and each group's length. **Loses** different
  lengths inside one chord (all its notes get the longest), rests longer than 16 steps (cut to
  16), values between the ladder's rungs (snapped to the nearest) and velocities.

:class:`NoteSymbolCodec` (kind ``"note_symbols"``), shape (N,) int16: MIDI pitches (0-127)
and :data:`NEXT` (-1), the ``<next>`` symbol that closes a time step, so a chord is its pitches
(ascending) followed by ``<next>``.

* ``grid=False`` (preset "paper", as paper 003 parsed MAESTRO with music21): a step is an onset
  group, so there are no empty steps. **Keeps** pitches and their grouping into chords.
  **Loses** all timing; decoding plays one step every ``untimed_beats`` beats.
* ``grid=True`` (preset "grid"): every grid step from the first onset on is closed by ``<next>``,
  so rests are runs of ``<next>``. **Keeps** onset times on the grid. **Loses** note lengths
  (decoding holds each note until the next step that has an onset, at most 4 beats) and
  velocities.

``encode`` raises :class:`SkipFile` for a score without pitched notes ("only drum tracks" or
"no notes"). ``encode(score, end_tick=t)`` encodes notes starting before ``t`` and lets the last
group's shift (chords) or the trailing empty steps (grid symbols) reach ``t``: that is how a
primer tells the model how long ago its last onset was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

from ..core.notes import make_notes
from ..core.score import Score, Track
from ..core.timing import DEFAULT_PPQ, TempoChange
from .errors import SkipFile

__all__ = ["ChordTokenCodec", "NoteSymbolCodec", "NEXT", "TIMING_STEPS", "pitch_name",
           "parse_pitch", "chord_name", "parse_chord", "masks_to_pitches", "pitches_to_masks",
           "grid_notes", "snap"]

#: The ``<next>`` symbol of :class:`NoteSymbolCodec` in the cached arrays.
NEXT = -1
#: Durations and shifts (grid steps) a timed chord token can have.
TIMING_STEPS = (1, 2, 3, 4, 6, 8, 12, 16)
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_NAME_INDEX = {n: i for i, n in enumerate(NOTE_NAMES)}
_NAME_INDEX.update({"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10})


# ----------------------------------------------------------------------------- names


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> scientific name, middle C (60) = "C4"; sharps, e.g. 61 -> "C#4"."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def parse_pitch(name: str) -> int:
    """"C#4" -> 61 (flats too: "Db4"). Raises ValueError for anything else."""
    name = name.strip()
    letters = name[:2] if len(name) > 1 and name[1] in "#b" else name[:1]
    if letters not in _NAME_INDEX:
        raise ValueError(f"not a pitch name: {name!r}")
    pitch = (int(name[len(letters):]) + 1) * 12 + _NAME_INDEX[letters]
    if not 0 <= pitch <= 127:
        raise ValueError(f"pitch {name!r} is outside MIDI's 0-127")
    return pitch


def chord_name(pitches) -> str:
    """Ascending pitches -> "C4.E4.G4" (paper 001's notation); one pitch -> "C4"."""
    return ".".join(pitch_name(int(p)) for p in sorted(pitches))


def parse_chord(name: str) -> tuple[int, ...]:
    """"C4.E4.G4" -> (60, 64, 67)."""
    return tuple(sorted(parse_pitch(part) for part in name.split(".")))


# ----------------------------------------------------------------------------- pitch masks


def pitches_to_masks(group: np.ndarray, pitch: np.ndarray, n_groups: int) -> np.ndarray:
    """Notes (group index, pitch), each shape (n,), -> 128-bit masks, int64 of shape (n_groups, 2)."""
    bits = np.left_shift(np.uint64(1), (pitch % 64).astype(np.uint64))
    masks = np.zeros((n_groups, 2), dtype=np.uint64)
    high = pitch >= 64
    np.bitwise_or.at(masks[:, 0], group[~high], bits[~high])
    np.bitwise_or.at(masks[:, 1], group[high], bits[high])
    return masks.view(np.int64)


def masks_to_pitches(masks: np.ndarray) -> np.ndarray:
    """Masks (n, 2) int64 -> bool (n, 128), column ``p`` true when pitch ``p`` is in the group."""
    masks = np.ascontiguousarray(masks, dtype=np.int64).astype("<i8", copy=False)
    as_bytes = masks.view(np.uint8).reshape(len(masks), 16)
    return np.unpackbits(as_bytes, axis=1, bitorder="little").astype(bool)


# ----------------------------------------------------------------------------- the grid


def grid_notes(score: Score, steps_per_beat: int, include_drums: bool = False,
               end_tick: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pitched notes on the grid, merged over tracks: (onset, pitch, duration), each (n,) int64,
    sorted by (onset, pitch), one note per (onset, pitch). With ``end_tick``, the notes whose
    onset falls on its step or later are left out: a note a few ticks before a primer's end
    belongs to the continuation's first step, and encoded it would make the primer end a step
    late, moving every onset of it off the grid counted back from the end. Raises SkipFile
    without notes."""
    tracks = [t for t in score.tracks if len(t) and (include_drums or not t.is_drum)]
    if not tracks:
        raise SkipFile("only drum tracks" if score.note_count else "no notes")
    notes = np.concatenate([t.notes for t in tracks]) if len(tracks) > 1 else tracks[0].notes
    if end_tick is not None:
        notes = notes[notes["start"] < end_tick]
        if not len(notes):
            raise SkipFile("no notes before the start")
    ppq = score.ppq
    onset = (notes["start"] * (2 * steps_per_beat) + ppq) // (2 * ppq)  # round half up
    if end_tick is not None:
        before = onset < _end_step(end_tick, ppq, steps_per_beat)
        if not before.all():
            notes, onset = notes[before], onset[before]
            if not len(notes):
                raise SkipFile("no notes before the start")
    off = (notes["end"] * (2 * steps_per_beat) + ppq) // (2 * ppq)
    duration = np.maximum(off - onset, 1)
    pitch = notes["pitch"].astype(np.int64)
    key = onset * 128 + pitch
    order = np.lexsort((-duration, key))  # per (onset, pitch) the longest note first
    key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    keep = order[first]
    return onset[keep], pitch[keep], duration[keep]


def _group_starts(onset: np.ndarray) -> np.ndarray:
    """Index of the first note of each onset group in sorted ``onset`` (n,), shape (G,)."""
    return np.flatnonzero(np.concatenate([[True], onset[1:] != onset[:-1]]))


def _first_flags(n: int, starts: np.ndarray) -> np.ndarray:
    flags = np.zeros(n, dtype=bool)
    flags[starts] = True
    return flags


def snap(values: np.ndarray, ladder=TIMING_STEPS) -> np.ndarray:
    """Each value -> the nearest rung of ``ladder`` (ties go up); below 1 -> the first rung."""
    rungs = np.asarray(ladder, dtype=np.int64)
    cuts = (rungs[1:] + rungs[:-1]) / 2
    return rungs[np.searchsorted(cuts, np.asarray(values), side="right")]


def _end_step(end_tick: int | None, ppq: int, steps_per_beat: int) -> int | None:
    return None if end_tick is None else int((end_tick * 2 * steps_per_beat + ppq) // (2 * ppq))


def _one_track(name: str, program: int, ppq: int, qpm: float, notes: np.ndarray) -> Score:
    return Score([Track(name or "Generated", program, notes=notes)], ppq, [TempoChange(0, float(qpm))])


def _step_ticks(steps: np.ndarray, ppq: int, steps_per_beat: int) -> np.ndarray:
    """Ticks at ``ppq`` of grid steps (n,): the nearest tick, halves up."""
    return (2 * np.asarray(steps, dtype=np.int64) * ppq + steps_per_beat) // (2 * steps_per_beat)


# ----------------------------------------------------------------------------- chord tokens


@dataclass(frozen=True)
class ChordTokenCodec:
    """Onset groups as chord tokens (paper 001); see the module docstring. Rows (N, 4) int64."""

    kind: ClassVar[str] = "chord_tokens"
    timed: bool = False
    steps_per_beat: int = 4
    untimed_beats: float = 0.5
    include_drums: bool = False

    def params(self) -> dict:
        return {"kind": self.kind, **asdict(self)}

    def encode(self, score: Score, end_tick: int | None = None) -> np.ndarray:
        """Rows ``[mask_lo, mask_hi, duration, shift]`` of shape (N, 4), int64 (N >= 1)."""
        onset, pitch, duration = grid_notes(score, self.steps_per_beat, self.include_drums, end_tick)
        starts = _group_starts(onset)
        bits = np.left_shift(np.uint64(1), (pitch % 64).astype(np.uint64))
        zero = np.uint64(0)
        masks = np.stack([np.bitwise_or.reduceat(np.where(pitch < 64, bits, zero), starts),
                          np.bitwise_or.reduceat(np.where(pitch >= 64, bits, zero), starts)], axis=1)
        rows = np.zeros((len(starts), 4), dtype=np.int64)
        rows[:, :2] = masks.view(np.int64)
        if self.timed:
            group_onset = onset[starts]
            group_duration = np.maximum.reduceat(duration, starts)
            end = _end_step(end_tick, score.ppq, self.steps_per_beat)
            last = group_onset[-1] + group_duration[-1] if end is None else max(end, group_onset[-1] + 1)
            shift = np.diff(group_onset, append=last)
            rows[:, 2] = snap(group_duration)
            rows[:, 3] = snap(shift)
        return rows

    def decode(self, rows: np.ndarray, *, ppq: int = DEFAULT_PPQ, qpm: float = 120.0, program: int = 0,
               name: str = "") -> Score:
        """Score at ``ppq`` (one track) from rows (N, 4); untimed rows play every ``untimed_beats``."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
        present = masks_to_pitches(rows[:, :2])
        group, pitch = np.nonzero(present)
        if self.timed:
            onset_steps = np.concatenate([[0], np.cumsum(rows[:-1, 3])]).astype(np.int64)
            starts = _step_ticks(onset_steps, ppq, self.steps_per_beat)
            ends = _step_ticks(onset_steps + np.maximum(rows[:, 2], 1), ppq, self.steps_per_beat)
        else:
            hop = int(round(self.untimed_beats * ppq))
            starts = np.arange(len(rows), dtype=np.int64) * hop
            ends = starts + hop
        notes = make_notes(starts[group], ends[group], pitch, 90)
        return _one_track(name, program, ppq, qpm, notes)

    def pitches_used(self, rows: np.ndarray) -> np.ndarray:
        """Bool (128,): the pitches any row of ``rows`` (N, 4) holds."""
        return masks_to_pitches(np.asarray(rows)[:, :2]).any(axis=0) if len(rows) else np.zeros(128, bool)

    def notes_before_end(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Where the notes of ``rows`` (N, 4) (a primer encoded up to its end) lie: (group, step,
        pitch), each (n,) int64, one entry per note: its onset group (row), its onset in grid steps
        counted back from the end (the last shift reaches it: the last row's onset is minus that
        shift), and its pitch. ``step`` is None untimed, where rows carry no time."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
        group, pitch = np.nonzero(masks_to_pitches(rows[:, :2]))
        if not self.timed:
            return group, None, pitch
        onsets = -np.cumsum(rows[::-1, 3])[::-1]
        return group, onsets[group], pitch


# ----------------------------------------------------------------------------- note symbols


@dataclass(frozen=True)
class NoteSymbolCodec:
    """Pitch symbols and ``<next>`` (paper 003); see the module docstring. Symbols (N,) int16."""

    kind: ClassVar[str] = "note_symbols"
    grid: bool = False
    steps_per_beat: int = 4
    untimed_beats: float = 0.5
    include_drums: bool = False
    #: Longest note when decoding the grid, in beats.
    max_hold_beats: int = 4

    def params(self) -> dict:
        return {"kind": self.kind, **asdict(self)}

    def encode(self, score: Score, end_tick: int | None = None) -> np.ndarray:
        """Symbols of shape (N,), int16: pitches 0-127 and NEXT (-1) closing every step."""
        onset, pitch, _ = grid_notes(score, self.steps_per_beat, self.include_drums, end_tick)
        n = len(onset)
        if self.grid:
            first = onset[0]
            end = _end_step(end_tick, score.ppq, self.steps_per_beat)
            n_steps = int(onset[-1] - first + 1) if end is None else max(int(end - first), int(onset[-1] - first + 1))
            steps = np.arange(n_steps) + first
            note_pos = np.arange(n) + (onset - first)
            next_pos = np.searchsorted(onset, steps, side="right") + np.arange(n_steps)
        else:
            starts = _group_starts(onset)
            ends = np.append(starts[1:], n)
            group = np.cumsum(_first_flags(n, starts)) - 1
            note_pos = np.arange(n) + group
            next_pos = ends + np.arange(len(starts))
        out = np.empty(len(note_pos) + len(next_pos), dtype=np.int16)
        out[note_pos] = pitch
        out[next_pos] = NEXT
        return out

    def decode(self, symbols: np.ndarray, *, ppq: int = DEFAULT_PPQ, qpm: float = 120.0, program: int = 0,
               name: str = "") -> Score:
        """Score at ``ppq`` (one track) from symbols (N,); pitches after the last ``<next>``
        count as one more step."""
        symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
        is_next = symbols < 0
        step = np.cumsum(is_next) - is_next  # steps closed before each symbol
        keep = ~is_next
        step, pitch = step[keep], symbols[keep]
        key = np.unique(step * 128 + pitch)  # one note per pitch and step, ordered
        step, pitch = key // 128, key % 128
        if self.grid:
            onset_steps = np.unique(step)
            following = np.append(onset_steps[1:], onset_steps[-1] + self.steps_per_beat) \
                if len(onset_steps) else onset_steps
            hold = np.minimum(following - onset_steps, self.max_hold_beats * self.steps_per_beat)
            start = _step_ticks(step, ppq, self.steps_per_beat)
            end = _step_ticks(step + hold[np.searchsorted(onset_steps, step)], ppq, self.steps_per_beat)
        else:
            hop = int(round(self.untimed_beats * ppq))
            start = step * hop
            end = start + hop
        return _one_track(name, program, ppq, qpm, make_notes(start, end, pitch, 90))

    def pitches_used(self, symbols: np.ndarray) -> np.ndarray:
        """Bool (128,): the pitches ``symbols`` (N,) hold."""
        used = np.zeros(128, dtype=bool)
        symbols = np.asarray(symbols)
        used[symbols[symbols >= 0].astype(np.int64)] = True
        return used

    def notes_before_end(self, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Where the notes of ``symbols`` (N,) (a primer encoded up to its end) lie: (group, step,
        pitch), each (n,) int64, one entry per pitch symbol: its step counted back from the end
        (the step the last ``<next>`` closes is -1; pitches after it are in step 0), which also
        numbers its onset group, and its pitch. ``step`` is None without the grid, where a step
        is an onset group and carries no time."""
        symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
        is_next = symbols < 0
        closing = np.cumsum(is_next[::-1])[::-1]  # the <next> symbols at or after each position
        step = -closing[~is_next]
        return step, (step if self.grid else None), symbols[~is_next]
