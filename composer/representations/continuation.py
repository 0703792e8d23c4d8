"""How well a continuation follows its primer: key, beat grid, density, register, repetition.

A continuation is judged against the music it continues, not against a model's training data
(whose statistics can look right while every bar is in the wrong key). All measures take note
arrays (NOTE_DTYPE, pitched notes only: the caller leaves drums out) in the score's ticks, and
are NaN where they cannot be taken (no notes on one side). numpy only.

- ``in_key``: share of the continuation's duration in the primer's key (Krumhansl-Schmuckler,
  :mod:`composer.representations.keys`); NaN when the primer has no clear key.
- ``on_grid``: share of the continuation's onsets on the primer's grid: the coarsest of
  quarters, eighths, sixteenths, eighth triplets and sixteenth triplets that holds
  :data:`GRID_COVER` of the primer's onsets (sixteenths when none does, or when the primer has
  too few onsets to set a grid).
- ``density_ratio``: the continuation's notes per beat over the primer's.
- ``register_jump``: semitones between the mean pitch of the primer's last bar and the mean
  pitch of the continuation's first bar (absolute).
- ``identical_bars``: the longest run of consecutive, identical, non-empty bars of the
  continuation (1 when no bar repeats the one before).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .keys import Key, find_key, in_key_share

#: Share of the primer's onsets a grid must hold to be the primer's grid.
GRID_COVER = 0.95
#: Fewer distinct onsets than this set no grid of their own.
MIN_GRID_ONSETS = 4
#: Grids tried, coarsest first, as divisions of a quarter note.
GRID_DIVISIONS = (1, 2, 4, 3, 6)
#: Names of the measures, in the order reports list them.
MEASURES = ("in_key", "on_grid", "density_ratio", "register_jump", "identical_bars")


@dataclass(frozen=True)
class Seam:
    """Where the primer ends and the continuation starts, in ticks: ``primer_start`` (the first
    bar line at or before the primer's first note), ``start`` (the seam), ``end`` (the
    continuation's end), the tick resolution ``ppq`` and the bar lines covering both, shape (n,)."""

    primer_start: int
    start: int
    end: int
    ppq: int
    bar_lines: np.ndarray


def primer_grid(primer: np.ndarray, ppq: int) -> int:
    """The primer's grid step in ticks (see the module docstring); sixteenths when the primer
    has fewer than :data:`MIN_GRID_ONSETS` distinct onsets (a note or two set no grid)."""
    onsets = np.unique(primer["start"].astype(np.int64))
    if len(onsets) < MIN_GRID_ONSETS:
        return max(ppq // 4, 1)
    for division in GRID_DIVISIONS:
        step = ppq // division
        if step and len(onsets) and np.mean(_on(onsets, step, ppq)) >= GRID_COVER:
            return step
    return max(ppq // 4, 1)


def most_voices(notes: np.ndarray) -> int:
    """The most of ``notes`` (NOTE_DTYPE) sounding at once; 0 without notes. A note ending
    where another starts does not overlap it."""
    if not len(notes):
        return 0
    times = np.concatenate([notes["start"], notes["end"]]).astype(np.int64)
    change = np.concatenate([np.ones(len(notes), np.int64), -np.ones(len(notes), np.int64)])
    order = np.lexsort((change, times))  # at one tick, the ends (-1) first
    return int(np.cumsum(change[order]).max())


def limit_voices(notes: np.ndarray, voices: int) -> np.ndarray:
    """``notes`` (NOTE_DTYPE) with at most ``voices`` sounding at once: where a note would be
    one too many, the note sounding longest ends as it starts (a held note gives way to the
    new one, as on a keyboard with that many fingers); notes left without length are dropped."""
    if voices < 1 or most_voices(notes) <= voices:
        return notes
    out = notes[np.lexsort((notes["pitch"], notes["start"]))].copy()
    for i in range(len(out)):
        start = out["start"][i]
        sounding = np.flatnonzero((out["start"][:i] <= start) & (out["end"][:i] > start))
        for j in sounding[:max(len(sounding) - voices + 1, 0)]:  # the earliest starts first
            out["end"][j] = start
    return out[out["end"] > out["start"]]


def _on(onsets: np.ndarray, step: int, ppq: int) -> np.ndarray:
    """Which onsets lie on multiples of ``step`` (within a 64th-note triplet's width)."""
    tolerance = max(ppq // 48, 1)
    offset = onsets % step
    return (offset <= tolerance) | (step - offset <= tolerance)


def _bar_notes(notes: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return notes[(notes["start"] >= lo) & (notes["start"] < hi)]


def _longest_identical_run(notes: np.ndarray, lines: np.ndarray) -> int:
    """Longest run of consecutive identical non-empty bars (by onset offset, length and pitch)."""
    best = run = 0
    previous = None
    for lo, hi in zip(lines[:-1], lines[1:]):
        bar = _bar_notes(notes, int(lo), int(hi))
        content = tuple(sorted(zip((bar["start"] - lo).tolist(), (bar["end"] - bar["start"]).tolist(),
                                   bar["pitch"].tolist())))
        if content and content == previous:
            run += 1
        else:
            run = 1 if content else 0
        previous = content
        best = max(best, run)
    return best


def continuation_measures(primer: np.ndarray, continuation: np.ndarray, seam: Seam,
                          key: Key | None = None) -> dict[str, float]:
    """The measures of ``continuation`` against ``primer`` (see the module docstring); ``key``
    overrides the primer's detected key."""
    key = key or find_key(primer)
    out = dict.fromkeys(MEASURES, math.nan)
    if len(continuation):
        if key is not None:
            out["in_key"] = in_key_share(continuation, key)
        step = primer_grid(primer, seam.ppq) if len(primer) else max(seam.ppq // 4, 1)
        out["on_grid"] = float(np.mean(_on(continuation["start"].astype(np.int64) - seam.start, step, seam.ppq)))
        inside = seam.bar_lines[(seam.bar_lines >= seam.start) & (seam.bar_lines <= seam.end)]
        lines = np.unique(np.concatenate([[seam.start], inside, [seam.end]]))
        out["identical_bars"] = float(_longest_identical_run(continuation, lines))
    if len(primer) and len(continuation):
        primer_beats = (seam.start - seam.primer_start) / seam.ppq
        continuation_beats = (seam.end - seam.start) / seam.ppq
        if primer_beats > 0 and continuation_beats > 0:
            out["density_ratio"] = (len(continuation) / continuation_beats) / (len(primer) / primer_beats)
        before = seam.bar_lines[seam.bar_lines < seam.start]
        last_bar = _bar_notes(primer, int(before[-1]) if len(before) else seam.primer_start, seam.start)
        after = seam.bar_lines[seam.bar_lines > seam.start]
        first_bar = _bar_notes(continuation, seam.start, int(after[0]) if len(after) else seam.end)
        if len(last_bar) and len(first_bar):
            out["register_jump"] = abs(float(first_bar["pitch"].mean()) - float(last_bar["pitch"].mean()))
    return out


def seam_for(score, primer: np.ndarray, start: int, end: int) -> Seam:
    """The :class:`Seam` of a continuation of ``score`` over ticks [start, end) whose primer
    notes are ``primer`` (the score's bars, meter changes included)."""
    lines = score.bar_starts(int(end))
    first = int(primer["start"].min()) if len(primer) else int(start)
    primer_start = int(lines[max(int(np.searchsorted(lines, first, side="right")) - 1, 0)])
    return Seam(min(primer_start, int(start)), int(start), int(end), score.ppq, lines)
