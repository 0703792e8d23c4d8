"""Objective measures of a piece, as muspy's documentation defines them (numpy only).

Papers 000 and 001 could only judge their generations by ear; these put a number on a piece and
on a model's training data, so the two can be compared. Time runs on a grid of
:data:`STEPS_PER_BEAT` steps a quarter note (muspy's default resolution); a note's start and end
are rounded to it. Drum tracks count only where muspy counts them (empty beats, groove, drum
pattern). A measure that cannot be taken (no pitched note, no drums, one bar) is NaN.

- ``pitch_class_entropy``: Shannon entropy (bits) of the notes' pitch-class histogram.
- ``scale_consistency``: the largest share of notes inside one major or minor scale.
- ``polyphony``: mean number of pitches sounding, over the steps where at least one sounds.
- ``polyphony_rate``: share of steps where at least two pitches sound ("multiple pitches").
- ``empty_beat_rate``: share of beats in which no note (drums included) sounds, up to the last
  note's end.
- ``pitches_used``: number of distinct pitches.
- ``groove_consistency``: 1 - mean Hamming distance between neighbouring bars' onset patterns,
  over steps per bar (the first time signature's bar).
- ``drum_pattern_consistency``: the larger share of drum onsets on a duple grid (eighths and
  sixteenths) or on a triple grid (triplet eighths).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.notes import NOTE_DTYPE
from ..core.score import Score

STEPS_PER_BEAT = 24
#: Name -> what it means, in the order shown to users.
METRICS = {
    "pitch_class_entropy": "pitch-class entropy (bits)",
    "scale_consistency": "scale consistency",
    "polyphony": "polyphony (pitches at once)",
    "polyphony_rate": "polyphony rate",
    "empty_beat_rate": "empty-beat rate",
    "pitches_used": "pitches used",
    "groove_consistency": "groove consistency",
    "drum_pattern_consistency": "drum pattern consistency",
}
_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], bool)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], bool)
#: Every major and minor scale as a (24, 12) mask.
_SCALES = np.array([np.roll(m, root) for m in (_MAJOR, _MINOR) for root in range(12)])


def _steps(ticks: np.ndarray, ppq: int) -> np.ndarray:
    return (np.asarray(ticks, np.int64) * STEPS_PER_BEAT * 2 + ppq) // (2 * ppq)


def measure(score: Score, start_tick: int = 0, end_tick: int | None = None) -> dict[str, float]:
    """Every measure of :data:`METRICS` for the notes of ``score`` that start in
    [start_tick, end_tick) (default: the whole score), timed from ``start_tick``."""
    end_tick = score.end_tick if end_tick is None else end_tick
    pitched, drums = [], []
    for track in score.tracks:
        notes = track.notes[(track.notes["start"] >= start_tick) & (track.notes["start"] < end_tick)]
        (drums if track.is_drum else pitched).append(notes)
    pitched = np.concatenate(pitched) if pitched else np.zeros(0, NOTE_DTYPE)
    drums = np.concatenate(drums) if drums else np.zeros(0, NOTE_DTYPE)
    every = np.concatenate([pitched, drums])
    ppq = score.ppq
    start = {"pitched": _steps(pitched["start"] - start_tick, ppq), "drums": _steps(drums["start"] - start_tick, ppq)}
    end = np.maximum(_steps(pitched["end"] - start_tick, ppq), start["pitched"] + 1)
    bar_steps = max(int(_steps(score.bar_ticks_at(start_tick), ppq)), 1)
    return {
        "pitch_class_entropy": _pitch_class_entropy(pitched["pitch"]),
        "scale_consistency": _scale_consistency(pitched["pitch"]),
        **_polyphony(start["pitched"], end, pitched["pitch"].astype(np.int64)),
        "empty_beat_rate": _empty_beat_rate(_steps(every["start"] - start_tick, ppq),
                                            _steps(every["end"] - start_tick, ppq)),
        "pitches_used": float(len(np.unique(pitched["pitch"]))),
        "groove_consistency": _groove_consistency(np.concatenate([start["pitched"], start["drums"]]), bar_steps),
        "drum_pattern_consistency": _drum_pattern_consistency(start["drums"]),
    }


def _pitch_class_entropy(pitches: np.ndarray) -> float:
    if len(pitches) == 0:
        return math.nan
    p = np.bincount(np.asarray(pitches, np.int64) % 12, minlength=12) / len(pitches)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _scale_consistency(pitches: np.ndarray) -> float:
    if len(pitches) == 0:
        return math.nan
    counts = np.bincount(np.asarray(pitches, np.int64) % 12, minlength=12)
    return float((_SCALES @ counts).max() / len(pitches))


def _polyphony(starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray) -> dict[str, float]:
    """Pitches sounding per step, as in a piano roll (one pitch held twice at once sounds once),
    from a sweep over note starts and ends instead of a roll (20x faster on a long song)."""
    if len(starts) == 0:
        return {"polyphony": math.nan, "polyphony_rate": math.nan}
    # Merge each pitch's overlapping notes: a run starts where a note begins after every
    # earlier note of its pitch has ended.
    order = np.lexsort((starts, pitches))
    s, e, p = starts[order], ends[order], pitches[order]
    offset = p * (int(e.max()) + 1)  # keeps the running maximum inside each pitch
    reach = np.maximum.accumulate(e + offset) - offset
    new_run = np.r_[True, (p[1:] != p[:-1]) | (s[1:] >= reach[:-1])]
    run = np.cumsum(new_run) - 1
    run_start = s[new_run]
    run_end = np.zeros(len(run_start), np.int64)
    np.maximum.at(run_end, run, e)
    times = np.concatenate([run_start, run_end])
    change = np.concatenate([np.ones(len(run_start), np.int64), -np.ones(len(run_end), np.int64)])
    order = np.argsort(times, kind="stable")
    times, sounding = times[order], np.cumsum(change[order])
    widths = np.diff(times)  # step span after each event, sounding[:-1] pitches during it
    counts = sounding[:-1]
    on = widths[counts > 0].sum()
    length = int(times[-1])
    return {"polyphony": float((counts * widths).sum() / on) if on else math.nan,
            "polyphony_rate": float(widths[counts >= 2].sum() / length) if length else math.nan}


def _empty_beat_rate(starts: np.ndarray, ends: np.ndarray) -> float:
    if len(starts) == 0:
        return math.nan
    # A note fills the beats it sounds in; one ending on a beat line leaves the next beat empty
    # (muspy's code counts that beat too, its documentation does not).
    first, last = starts // STEPS_PER_BEAT, (np.maximum(ends, starts + 1) - 1) // STEPS_PER_BEAT
    n_beats = int(last.max()) + 1
    change = np.zeros(n_beats + 1, np.int64)
    np.add.at(change, first, 1)
    np.add.at(change, last + 1, -1)
    return float(1 - (np.cumsum(change)[:-1] > 0).mean())


def _groove_consistency(onsets: np.ndarray, bar_steps: int) -> float:
    if len(onsets) == 0:
        return math.nan
    n_bars = int(onsets.max()) // bar_steps + 1
    if n_bars < 2:
        return math.nan
    grooves = np.zeros((n_bars, bar_steps), bool)
    grooves[onsets // bar_steps, onsets % bar_steps] = True
    return float(1 - np.count_nonzero(grooves[:-1] != grooves[1:]) / (bar_steps * (n_bars - 1)))


def _drum_pattern_consistency(onsets: np.ndarray) -> float:
    if len(onsets) == 0:
        return math.nan
    position = onsets % STEPS_PER_BEAT
    duple = np.isin(position, np.arange(0, STEPS_PER_BEAT, STEPS_PER_BEAT // 4)).mean()
    triple = np.isin(position, np.arange(0, STEPS_PER_BEAT, STEPS_PER_BEAT // 3)).mean()
    return float(max(duple, triple))


def summarize(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean, standard deviation and count of each measure over pieces (NaNs left out)."""
    out = {}
    for name in METRICS:
        values = np.array([r[name] for r in rows if name in r and r[name] is not None], float)
        values = values[np.isfinite(values)]
        out[name] = {"mean": float(values.mean()) if len(values) else math.nan,
                     "std": float(values.std()) if len(values) else math.nan, "n": int(len(values))}
    return out
