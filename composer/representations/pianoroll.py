"""Piano-roll codec: scores to (time, pitch) arrays and back, with the pitch-range and
grid-snapping helpers its users need. numpy only; the array kernels (ticks to frames, notes to
rolls and back) are in :mod:`composer.representations.roll_arrays`.

:func:`to_pianoroll` and :func:`from_pianoroll` are a symmetric pair sharing the time-grid keywords:

* ``steps_per_beat=n``: a tempo-relative grid. A beat is a quarter note, so one step is
  ``ppq / n`` ticks and tempo changes do not move notes on the grid (symbolic timing).
* ``fps=f``: real time, ``f`` frames per second, through the score's tempo map on the way in and
  a constant tempo ``qpm`` on the way out (e.g. ``fps=16`` for a 16 Hz roll).

Exactly one of the two must be given. Rolls have shape ``(T, P)``: ``T`` frames by
``P = hi - lo`` pitches of the half-open ``pitch_range=(lo, hi)``; column ``j`` is MIDI pitch
``lo + j``. A note covers frames ``[round(start), round(end))`` of its start and end in frame
units (halves round up), and at least one frame. Notes whose pitch is outside ``pitch_range`` are
dropped; :func:`count_out_of_range` says how many, :func:`pitch_span` gives the range the notes
actually use and :func:`crop_range` widens it to whole octaves.

A binary roll cannot tell one long note from two repeated ones; ``onsets=True`` returns a second
boolean roll marking each note's first frame, and :func:`from_pianoroll` starts a new note at
every onset mark inside a run of active frames.

:func:`to_lpd5_pianoroll` / :func:`from_lpd5_pianoroll` stack the five LPD-5 tracks (see
:mod:`composer.representations.instruments`) on a last axis of size 5, as MuseGAN does.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from ..core.errors import ComposerError
from ..core.notes import NOTE_DTYPE
from ..core.score import Score, Track
from ..core.timing import DEFAULT_QPM, MAX_QPM, MIN_QPM, TempoChange, TempoMap
from .instruments import LPD5, lpd5_instrument, lpd5_slot
from .roll_arrays import frames_to_ticks, render_roll, roll_to_notes, ticks_to_frames

__all__ = [
    "to_pianoroll", "from_pianoroll", "to_lpd5_pianoroll", "from_lpd5_pianoroll",
    "pitch_span", "count_out_of_range", "crop_range", "snap_to_grid", "FULL_PITCH_RANGE",
    "MUSEGAN_PITCH_RANGE",
]

#: Every MIDI pitch.
FULL_PITCH_RANGE = (0, 128)
#: The 84 pitches C1-B7 (MIDI 24-107) used by MuseGAN.
MUSEGAN_PITCH_RANGE = (24, 108)


# --------------------------------------------------------------------------- argument checks


def _check_grid(steps_per_beat, fps) -> None:
    if (steps_per_beat is None) == (fps is None):
        raise ComposerError(
            "give exactly one of steps_per_beat (frames per quarter note) or fps "
            "(frames per second) for a piano roll"
            + ("" if steps_per_beat is None else f", not both ({steps_per_beat} and {fps})")
        )
    if steps_per_beat is not None:
        if isinstance(steps_per_beat, bool) or not isinstance(steps_per_beat, Integral) \
                or steps_per_beat <= 0:
            raise ComposerError(f"steps_per_beat must be a positive integer, not {steps_per_beat!r}")
    elif isinstance(fps, bool) or not isinstance(fps, Real) or not (math.isfinite(fps) and fps > 0):
        raise ComposerError(f"fps must be a positive number of frames per second, not {fps!r}")


def _check_range(pitch_range) -> tuple[int, int]:
    try:
        lo, hi = (int(x) for x in pitch_range)
    except (TypeError, ValueError):
        raise ComposerError(f"pitch_range must be a pair (lo, hi) of MIDI pitches, not {pitch_range!r}") from None
    if not 0 <= lo < hi <= 128:
        raise ComposerError(
            f"pitch_range {pitch_range!r} must satisfy 0 <= lo < hi <= 128 (hi is exclusive)"
        )
    return lo, hi


def _check_length(length) -> int | None:
    if length is None:
        return None
    if isinstance(length, bool) or not isinstance(length, Integral) or length < 0:
        raise ComposerError(f"length must be a non-negative number of frames, not {length!r}")
    return int(length)


def _check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or not lo <= value <= hi:
        raise ComposerError(f"{name} must be an integer {lo}-{hi}, not {value!r}")
    return int(value)


def _check_qpm(qpm) -> float:
    if isinstance(qpm, bool) or not isinstance(qpm, Real) or not MIN_QPM <= qpm <= MAX_QPM:
        raise ComposerError(f"qpm must be a tempo of {MIN_QPM:g}-{MAX_QPM:g} BPM, not {qpm!r}")
    return float(qpm)


def _source(score_or_track, tracks, include_drums, ppq, qpm):
    """Resolve the input to (selected tracks, ppq, tempo map, end tick of the whole input)."""
    if isinstance(score_or_track, Score):
        score = score_or_track
        if ppq is not None and ppq != score.ppq:
            raise ComposerError(f"ppq={ppq} conflicts with the score's own PPQ {score.ppq}; "
                                "leave ppq unset when passing a Score")
        if qpm is not None:
            raise ComposerError("qpm is only for a bare Track; a Score uses its own tempo map")
        if tracks is None:
            chosen = list(score.tracks)
        else:
            ids = [tracks] if isinstance(tracks, Integral) else list(tracks)
            chosen = [score.track(int(i)) for i in ids]
        chosen = [t for t in chosen if include_drums or not t.is_drum]
        return chosen, score.ppq, score.tempo_map, score.end_tick
    if isinstance(score_or_track, Track):
        track = score_or_track
        if tracks is not None:
            raise ComposerError("tracks= selects tracks of a Score; pass the Score, not a Track")
        if ppq is None:
            raise ComposerError(f"track {track.name or track.id!r} alone has no PPQ; pass ppq= "
                                "(ticks per quarter note) or pass its Score")
        ppq = _check_int("ppq", ppq, 1, 1 << 30)
        if track.is_drum and not include_drums:
            raise ComposerError(f"track {track.name or track.id!r} is a drum track; pass "
                                "include_drums=True to render it")
        tempo = TempoMap([TempoChange(0, _check_qpm(DEFAULT_QPM if qpm is None else qpm))], ppq)
        return [track], ppq, tempo, track.end_tick
    raise ComposerError(f"expected a Score or a Track, not {type(score_or_track).__name__}")


# --------------------------------------------------------------------------- encoding


def _gather(tracks: list[Track]) -> np.ndarray:
    if not tracks:
        return np.zeros(0, dtype=NOTE_DTYPE)
    if len(tracks) == 1:
        return tracks[0].notes
    return np.concatenate([t.notes for t in tracks])


def to_pianoroll(
    score_or_track,
    *,
    steps_per_beat: int | None = None,
    fps: float | None = None,
    pitch_range: tuple[int, int] = FULL_PITCH_RANGE,
    onsets: bool = False,
    tracks=None,
    include_drums: bool = False,
    binary: bool = True,
    length: int | None = None,
    ppq: int | None = None,
    qpm: float | None = None,
):
    """Render the notes of a score (selected tracks merged) or of one track as a piano roll.

    Parameters
    ----------
    score_or_track : Score or Track
        A bare Track has no PPQ or tempo: pass ``ppq`` (and ``qpm`` for ``fps``; default 120).
    steps_per_beat : int, optional
        Frames per quarter note (one frame = ``ppq / steps_per_beat`` ticks).
    fps : float, optional
        Frames per second, through the score's tempo map. Give exactly one of the two.
    pitch_range : (int, int)
        Half-open MIDI pitch range ``[lo, hi)``; column ``j`` is pitch ``lo + j``. Notes outside
        it are dropped (count them with :func:`count_out_of_range`).
    onsets : bool
        Also return a boolean roll marking the first frame of every note.
    tracks : int or iterable of int, optional
        Ids of the tracks to render (default: all). Drum tracks are skipped unless
        ``include_drums``, even when listed here (as in :mod:`composer.core.transforms`).
    include_drums : bool
        Render drum tracks too (their pitches are GM drum keys).
    binary : bool
        True: a bool roll. False: a uint8 roll of velocities, the loudest where notes overlap.
    length : int, optional
        Number of frames ``T``: notes are cut at it, or the roll is padded with silence. Default:
        up to the end of the last note of the whole input (all tracks, drums included), so rolls
        of different tracks of one score line up.
    ppq, qpm : optional
        Only for a bare Track: its ticks per quarter note and (for ``fps``) its constant tempo.

    Returns
    -------
    roll : np.ndarray, shape (T, P), dtype bool (``binary``) or uint8
        ``P = pitch_range[1] - pitch_range[0]``. A note covers frames
        ``[round(start), round(end))`` in frame units (halves round up), at least one frame.
    onset_roll : np.ndarray, shape (T, P), dtype bool
        Only when ``onsets``; returned as ``(roll, onset_roll)``.

    Raises
    ------
    ComposerError
        For neither or both of ``steps_per_beat`` and ``fps``, a bad ``pitch_range`` or
        ``length``, an unknown track id, or a bare drum Track without ``include_drums``.

    Examples
    --------
    >>> score = Score([Track("p", notes=make_notes([0, 480], [480, 960], [60, 64]))])
    >>> to_pianoroll(score, steps_per_beat=1, pitch_range=(60, 65)).astype(int)
    array([[1, 0, 0, 0, 0],
           [0, 0, 0, 0, 1]])
    """
    _check_grid(steps_per_beat, fps)
    lo, hi = _check_range(pitch_range)
    length = _check_length(length)
    chosen, ppq, tempo_map, end_tick = _source(score_or_track, tracks, include_drums, ppq, qpm)

    def frame_of(ticks):
        return ticks_to_frames(ticks, ppq, tempo_map, steps_per_beat, fps)

    return render_roll(_gather(chosen), frame_of, end_tick, lo, hi, binary, onsets, length)


def to_lpd5_pianoroll(
    score: Score,
    *,
    steps_per_beat: int | None = None,
    fps: float | None = None,
    pitch_range: tuple[int, int] = FULL_PITCH_RANGE,
    onsets: bool = False,
    binary: bool = True,
    length: int | None = None,
    strict: bool = False,
):
    """Merge a score's tracks into the five LPD-5 slots and render them side by side.

    Each track goes to :func:`~composer.representations.instruments.lpd5_slot` of its program
    and drum flag (with ``strict``, MuseGAN's dropped programs are left out). Other keywords are
    those of :func:`to_pianoroll`.

    Returns
    -------
    rolls : np.ndarray, shape (T, P, 5)
        Slot ``k`` of the last axis is ``LPD5[k]`` (drums, piano, guitar, bass, strings).
    onset_rolls : np.ndarray, shape (T, P, 5), dtype bool
        Only when ``onsets``; returned as ``(rolls, onset_rolls)``.
    """
    _check_grid(steps_per_beat, fps)
    lo, hi = _check_range(pitch_range)
    length = _check_length(length)
    if not isinstance(score, Score):
        raise ComposerError(f"expected a Score, not {type(score).__name__}")

    def frame_of(ticks):
        return ticks_to_frames(ticks, score.ppq, score.tempo_map, steps_per_beat, fps)

    groups: dict[str, list[Track]] = {slot: [] for slot in LPD5}
    for track in score.tracks:
        slot = lpd5_slot(track.program, track.is_drum, strict=strict)
        if slot is not None:
            groups[slot].append(track)
    if length is None:
        # A common length: the end of the whole score, or of the longest note after rounding.
        ends = [frame_of(score.end_tick)] if score.end_tick > 0 else [0]
        for track in score.tracks:
            if len(track.notes):
                s = np.maximum(frame_of(track.notes["start"]), 0)
                ends.append(np.maximum(frame_of(track.notes["end"]), s + 1).max())
        length = int(max(ends))
    parts = [render_roll(_gather(groups[slot]), frame_of, 0, lo, hi, binary, onsets, length)
             for slot in LPD5]
    if not onsets:
        return np.stack(parts, axis=-1)
    return np.stack([p[0] for p in parts], axis=-1), np.stack([p[1] for p in parts], axis=-1)


# --------------------------------------------------------------------------- decoding


def _decode_args(steps_per_beat, fps, pitch_range, ppq, qpm, velocity):
    _check_grid(steps_per_beat, fps)
    lo, hi = _check_range(pitch_range)
    ppq = _check_int("ppq", ppq, 1, 1 << 30)
    qpm = _check_qpm(qpm)
    velocity = _check_int("velocity", velocity, 1, 127)

    def to_ticks(frames):
        return frames_to_ticks(frames, ppq, qpm, steps_per_beat, fps)

    return lo, hi, ppq, qpm, velocity, to_ticks


def from_pianoroll(
    roll: np.ndarray,
    *,
    steps_per_beat: int | None = None,
    fps: float | None = None,
    pitch_range: tuple[int, int] = FULL_PITCH_RANGE,
    onsets: np.ndarray | None = None,
    ppq: int = 480,
    qpm: float = 120.0,
    velocity: int = 100,
    program: int = 0,
    is_drum: bool = False,
    name: str = "",
) -> Score:
    """Turn a piano roll back into a one-track Score: the inverse of :func:`to_pianoroll`.

    Each run of active frames of a pitch becomes a note from its first frame to the frame after
    its last; an onset mark inside a run starts a new note there. Without onsets, repeated notes
    of one pitch with no gap between them come back as one long note.

    Parameters
    ----------
    roll : np.ndarray, shape (T, P)
        bool, or numbers where positive is active (e.g. the uint8 velocity roll of
        ``to_pianoroll(binary=False)``). ``P`` must equal ``pitch_range[1] - pitch_range[0]``.
        Threshold a model's probabilities to bool first: numbers are read as velocities.
    steps_per_beat, fps, pitch_range
        As for :func:`to_pianoroll`; exactly one of ``steps_per_beat`` and ``fps``.
    onsets : np.ndarray, shape (T, P), optional
        bool marks of note starts, as returned by ``to_pianoroll(onsets=True)``.
    ppq : int
        Ticks per quarter note of the new score.
    qpm : float
        Its constant tempo; with ``fps``, frame ``f`` is at ``f / fps`` seconds at this tempo.
    velocity : int
        Velocity of every note of a bool roll; a numeric roll gives each note the (rounded,
        clipped to 1-127) value at its first frame.
    program, is_drum, name
        The track's instrument and name.

    Returns
    -------
    Score
        One track; frames are mapped to the nearest tick (halves round up) and every note lasts
        at least one tick.
    """
    lo, hi, ppq, qpm, velocity, to_ticks = _decode_args(steps_per_beat, fps, pitch_range,
                                                        ppq, qpm, velocity)
    program = _check_int("program", program, 0, 127)
    notes = roll_to_notes(roll, onsets, lo, hi, velocity, to_ticks)
    track = Track(name, program, bool(is_drum), notes)
    return Score([track], ppq, [TempoChange(0, qpm)])


def from_lpd5_pianoroll(
    rolls: np.ndarray,
    *,
    steps_per_beat: int | None = None,
    fps: float | None = None,
    pitch_range: tuple[int, int] = FULL_PITCH_RANGE,
    onsets: np.ndarray | None = None,
    ppq: int = 480,
    qpm: float = 120.0,
    velocity: int = 100,
) -> Score:
    """Turn a (T, P, 5) LPD-5 roll into a five-track Score: the inverse of :func:`to_lpd5_pianoroll`.

    Tracks come in :data:`LPD5` order, named "Drums", "Piano", "Guitar", "Bass", "Strings", with
    the slot's default program (drums 0 on a drum track, piano 0, guitar 24, bass 32, strings 48);
    empty slots give empty tracks. Other keywords as for :func:`from_pianoroll`; ``onsets`` has
    shape (T, P, 5).
    """
    lo, hi, ppq, qpm, velocity, to_ticks = _decode_args(steps_per_beat, fps, pitch_range,
                                                        ppq, qpm, velocity)
    rolls = np.asarray(rolls)
    if rolls.ndim != 3 or rolls.shape[2] != len(LPD5):
        raise ComposerError(f"an LPD-5 piano roll must have shape (T, P, 5), not {rolls.shape}")
    if onsets is not None:
        onsets = np.asarray(onsets)
        if onsets.shape != rolls.shape:
            raise ComposerError(f"onsets shape {onsets.shape} differs from the roll shape {rolls.shape}")
    tracks = []
    for k, slot in enumerate(LPD5):
        on = None if onsets is None else onsets[:, :, k]
        notes = roll_to_notes(rolls[:, :, k], on, lo, hi, velocity, to_ticks, what=f"{slot} roll")
        program, drum = lpd5_instrument(slot)
        tracks.append(Track(slot.capitalize(), program, drum, notes))
    return Score(tracks, ppq, [TempoChange(0, qpm)])


# --------------------------------------------------------------------------- pitch range helpers


def pitch_span(score_or_track, *, tracks=None, include_drums: bool = False) -> tuple[int, int]:
    """The half-open range ``(lowest, highest + 1)`` of the pitches used, ``(0, 0)`` if no notes.

    Tracks are chosen as in :func:`to_pianoroll`, so ``to_pianoroll(x, pitch_range=pitch_span(x),
    ...)`` keeps every note. A bare Track is used as it is (drums included).
    """
    if isinstance(score_or_track, Track):
        notes = score_or_track.notes
    else:
        notes = _gather(_source(score_or_track, tracks, include_drums, None, None)[0])
    if not len(notes):
        return (0, 0)
    return int(notes["pitch"].min()), int(notes["pitch"].max()) + 1


def count_out_of_range(score_or_track, pitch_range, *, tracks=None, include_drums: bool = False) -> int:
    """How many notes :func:`to_pianoroll` would drop for lying outside ``pitch_range``."""
    lo, hi = _check_range(pitch_range)
    if isinstance(score_or_track, Track):
        notes = score_or_track.notes
    else:
        notes = _gather(_source(score_or_track, tracks, include_drums, None, None)[0])
    pitch = notes["pitch"]
    return int(((pitch < lo) | (pitch >= hi)).sum())


def crop_range(lo: int, hi: int, multiple: int = 12) -> tuple[int, int]:
    """Widen the half-open pitch range ``[lo, hi)`` outward to multiples of ``multiple``.

    With the default 12, the range starts on a C and spans whole octaves (the top is capped at
    128). Use it on :func:`pitch_span` to crop a roll to what the data uses: e.g. ``(40, 85)``
    becomes ``(36, 96)``. An empty range ``(0, 0)`` stays empty.
    """
    if isinstance(multiple, bool) or not isinstance(multiple, Integral) or multiple <= 0:
        raise ComposerError(f"multiple must be a positive integer, not {multiple!r}")
    lo, hi = int(lo), int(hi)
    if not 0 <= lo <= hi <= 128:
        raise ComposerError(f"pitch range ({lo}, {hi}) must satisfy 0 <= lo <= hi <= 128")
    if lo == hi:
        return lo, hi
    return lo // multiple * multiple, min(-(-hi // multiple) * multiple, 128)


# --------------------------------------------------------------------------- grid snapping


def snap_to_grid(notes: np.ndarray, step: int, origin: int = 0, min_length: int = 0) -> np.ndarray:
    """Move every note's start and end to the nearest multiple of ``step`` ticks from ``origin``
    (halves round up), as a quantizer does.

    Starts and ends go through the same rounding, so notes that followed each other still do;
    a note shorter than half a step (a sliver) collapses and is dropped, as is one shorter than
    ``min_length`` ticks after snapping. Where snapping makes two notes of one pitch overlap, the
    earlier one ends where the later starts (the longer one is kept when both start together).

    Parameters
    ----------
    notes : np.ndarray of NOTE_DTYPE, shape (n,)
    step : int
        The grid in ticks (e.g. ``ppq // 4`` for sixteenths); a positive integer.
    origin : int
        A tick on the grid (e.g. the first bar line).
    min_length : int
        Notes shorter than this many ticks after snapping are dropped.

    Returns
    -------
    np.ndarray of NOTE_DTYPE, shape (m,), m <= n
        A copy in (start, pitch) order; other fields (velocity, id) are kept.

    Raises
    ------
    ComposerError
        For a step that is not a positive integer.
    """
    step = _check_int("step", step, 1, 1 << 40)
    notes = np.array(notes, dtype=NOTE_DTYPE, copy=True)
    if not len(notes):
        return notes
    for field in ("start", "end"):
        offset = notes[field].astype(np.int64) - int(origin)
        notes[field] = int(origin) + (2 * offset + step) // (2 * step) * step
    notes = notes[notes["end"] - notes["start"] >= max(int(min_length), 1)]
    if not len(notes):
        return notes
    # By pitch, then start, the longest first: a later note of the pitch cuts the one before.
    order = np.lexsort((-(notes["end"] - notes["start"]), notes["start"], notes["pitch"]))
    notes = notes[order]
    same_pitch = notes["pitch"][1:] == notes["pitch"][:-1]
    duplicate = np.concatenate([[False], same_pitch & (notes["start"][1:] == notes["start"][:-1])])
    notes = notes[~duplicate]
    follows = np.flatnonzero((notes["pitch"][1:] == notes["pitch"][:-1])
                             & (notes["start"][1:] < notes["end"][:-1]))
    notes["end"][follows] = notes["start"][follows + 1]
    return notes[np.lexsort((notes["pitch"], notes["start"]))]
