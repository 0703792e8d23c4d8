"""The array work of the piano-roll codecs: ticks to frames and back, notes painted into a
roll and runs of active frames read back as notes. numpy only, vectorised.

A roll has shape ``(T, P)``: ``T`` frames by the ``P = hi - lo`` pitches of the half-open range
``[lo, hi)``; column ``j`` is MIDI pitch ``lo + j``. Notes are arrays of NOTE_DTYPE, shape (n,).
:func:`render_roll` and :func:`roll_to_notes` take the frame grid as a function (ticks to frames,
frames to ticks), so the tempo-relative and real-time grids of
:mod:`composer.representations.pianoroll` and the bar grid of
:mod:`composer.representations.multitrack` share them.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import ComposerError
from ..core.notes import make_notes
from ..core.timing import TempoMap

__all__ = ["ticks_to_frames", "frames_to_ticks", "render_roll", "roll_to_notes"]


def ticks_to_frames(ticks: np.ndarray, ppq: int, tempo_map: TempoMap, steps_per_beat, fps) -> np.ndarray:
    """Nearest frame (halves round up) of each tick, int64, same shape as ``ticks``: on a grid of
    ``steps_per_beat`` frames a quarter note, or of ``fps`` frames a second through ``tempo_map``
    (exactly one of the two is given)."""
    ticks = np.asarray(ticks, dtype=np.int64)
    if steps_per_beat is not None:
        # round(ticks * spb / ppq) in exact integer arithmetic
        return (2 * ticks * int(steps_per_beat) + ppq) // (2 * ppq)
    return np.floor(tempo_map.tick_to_seconds(ticks) * float(fps) + 0.5).astype(np.int64)


def frames_to_ticks(frames: np.ndarray, ppq: int, qpm: float, steps_per_beat, fps) -> np.ndarray:
    """Nearest tick (halves round up) of each frame at a constant tempo ``qpm``."""
    frames = np.asarray(frames, dtype=np.int64)
    if steps_per_beat is not None:
        spb = int(steps_per_beat)
        return (2 * frames * ppq + spb) // (2 * spb)
    ticks_per_frame = qpm * ppq / (60.0 * float(fps))
    return np.floor(frames * ticks_per_frame + 0.5).astype(np.int64)


def render_roll(notes, frame_of, end_tick, lo, hi, binary, onsets, length):
    """Paint ``notes`` into a (T, P) roll of pitches ``[lo, hi)``; ``frame_of`` maps ticks to frames.

    ``T`` is ``length``, or else reaches the frame of ``end_tick`` and the end of every note.
    The roll is bool (``binary``) or uint8 velocities (the loudest where notes overlap); with
    ``onsets``, ``(roll, onset_roll)``, the second bool marking each note's first frame.
    """
    P = hi - lo
    n = len(notes)
    # One conversion for starts, ends and the end tick.
    frames = frame_of(np.concatenate([notes["start"], notes["end"], [max(end_tick, 0)]]))
    s = np.maximum(frames[:n], 0)
    e = np.maximum(frames[n:2 * n], s + 1)
    T = length if length is not None else max(int(frames[-1]), int(e.max()) if n else 0)
    pitch = notes["pitch"].astype(np.int64)
    keep = (pitch >= lo) & (pitch < hi) & (s < T)
    dropping = not keep.all()
    if dropping:
        s, e, pitch = s[keep], e[keep], pitch[keep]
    np.minimum(e, T, out=e)

    roll = np.zeros((T, P), dtype=bool if binary else np.uint8)
    flat = roll.reshape(-1)
    base = s * P + (pitch - lo)  # flat index of each note's first cell
    lengths = e - s
    total = int(lengths.sum())
    if total:
        # Cell k of note i sits at base_i + k*P; with j the running cell number over all notes
        # and c_i the number of cells before note i, that is (base_i - c_i*P) + j*P.
        before = np.cumsum(lengths) - lengths
        idx = np.repeat(base - before * P, lengths)
        idx += np.arange(0, total * P, P, dtype=np.int64)
        if binary:
            flat[idx] = True
        else:
            vel = np.clip(notes["velocity"], 1, 127).astype(np.uint8)
            if dropping:
                vel = vel[keep]
            np.maximum.at(flat, idx, np.repeat(vel, lengths))
    if not onsets:
        return roll
    on = np.zeros((T, P), dtype=bool)
    on.reshape(-1)[base] = True
    return roll, on


def roll_to_notes(roll, onsets, lo, hi, velocity, to_ticks, what="roll") -> np.ndarray:
    """Runs of active frames (split at onset marks) of a (T, P) roll as a note array; ``to_ticks``
    maps frames to ticks. A bool roll's notes get ``velocity``, a numeric roll's the value at
    their first frame; ``what`` names the roll in errors."""
    roll = np.asarray(roll)
    if roll.ndim != 2:
        raise ComposerError(f"a piano {what} must have shape (T, P), not {roll.shape}")
    if roll.shape[1] != hi - lo:
        raise ComposerError(f"piano {what} has {roll.shape[1]} pitch columns but pitch_range "
                            f"({lo}, {hi}) has {hi - lo}")
    active = roll if roll.dtype == bool else roll > 0
    T, P = active.shape
    # edges[t] marks where a pitch switches on or off between frames t-1 and t (silence outside).
    edges = np.empty((T + 1, P), dtype=bool)
    if T:
        edges[0] = active[0]
        edges[T] = active[T - 1]
        np.not_equal(active[1:], active[:-1], out=edges[1:T])
    else:
        edges[0] = False
    if onsets is not None:
        on = np.asarray(onsets)
        if on.shape != active.shape:
            raise ComposerError(f"onsets shape {on.shape} differs from the {what} shape {active.shape}")
        # An onset inside a run ends the note before it and starts another: a doubled edge.
        inner = np.zeros_like(edges)
        np.logical_and(on[1:] if on.dtype == bool else on[1:] > 0, active[1:], out=inner[1:T])
        inner[1:T] &= active[:-1]
        keys = np.flatnonzero(edges | inner)
        keys = np.repeat(keys, 1 + inner.reshape(-1)[keys])
    else:
        keys = np.flatnonzero(edges)
    # keys are in (time, pitch) order. Per pitch, the edges alternate start, end, start, end...
    t, pitch = np.divmod(keys, P)
    by_pitch = np.argsort(pitch.astype(np.uint8), kind="stable")  # radix sort: O(n)
    rank = np.empty_like(by_pitch)
    rank[by_pitch] = np.arange(len(by_pitch))
    is_start = (rank & 1) == 0
    # Starts stay in (time, pitch) order, which is the Track's note order; ids follow it.
    t0, pitch = t[is_start], pitch[is_start]
    t1 = t[by_pitch[rank[is_start] + 1]]
    start = to_ticks(t0)
    end = np.maximum(to_ticks(t1), start + 1)
    if roll.dtype == bool:
        vel = velocity
    else:
        vel = np.clip(np.rint(roll[t0, pitch]), 1, 127).astype(np.int16)
    return make_notes(start, end, pitch + lo, vel, ids=np.arange(len(start)))
