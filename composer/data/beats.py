"""Bar lines from a beat annotation beside a MIDI file (POP909's ``beat_midi.txt``). numpy only.

POP909's time-signature events are unreliable (617 of 909 files declare 1/4, others 2/4), and its
notes sit a few ticks to a beat off the tick grid. Its ``beat_midi.txt`` holds one row per beat:
the time in seconds, then two 0/1 columns, the last marking downbeats. :func:`repair_meter`
reads the meter from it (beats from one downbeat to the next, their median: 4 or 3) and shifts
the song so the first downbeat falls on a bar line of that meter from tick 0; the training
reader (:func:`read_training_midi`) applies it wherever such a file lies beside the MIDI file,
so training bars are the song's real bars. Files without one read as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from composer.core.score import Score
from composer.core.timing import TimeSignature
from composer.core.transforms import shift
from composer.io.midi import read_midi

__all__ = ["BEATS_FILE", "read_beats", "repair_meter", "read_training_midi"]

BEATS_FILE = "beat_midi.txt"


def read_beats(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray] | None:
    """(beat times, downbeat flags) in seconds from a beat file, or None where it is missing,
    unreadable or marks fewer than two downbeats."""
    try:
        rows = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError):
        return None
    if rows.shape[1] < 2 or len(rows) < 2:
        return None
    down = rows[:, -1] == 1
    if down.sum() < 2:
        return None
    return rows[:, 0], down


def repair_meter(score: Score, beat_seconds: np.ndarray, downbeats: np.ndarray) -> Score:
    """``score`` in the meter of its beat annotation: one time signature (the median count of
    beats from one downbeat to the next over a quarter note, or an eighth where the beats are
    half a quarter apart), and every note, tempo and the rest shifted later by less than a bar
    so the first annotated downbeat starts a bar."""
    ticks = np.round(score.tempo_map.seconds_to_tick(np.asarray(beat_seconds, dtype=float))).astype(np.int64)
    numerator = int(np.median(np.diff(np.flatnonzero(downbeats))))
    beat = int(np.median(np.diff(ticks)))
    denominator = 8 if abs(beat - score.ppq / 2) < abs(beat - score.ppq) else 4
    if not 1 <= numerator <= 32 or beat <= 0:
        return score
    signature = TimeSignature(0, numerator, denominator)
    bar = signature.bar_ticks(score.ppq)
    first = int(ticks[np.flatnonzero(downbeats)[0]])
    out = shift(score, (-first) % bar)  # (the tempo map starts at 0 with its first tempo)
    out.time_signatures = [signature]
    return out


def read_training_midi(path: str | os.PathLike) -> Score:
    """:func:`~composer.io.midi.read_midi`, with the meter and bar lines of a ``beat_midi.txt``
    beside the file where there is one (:func:`repair_meter`)."""
    score = read_midi(path)
    beats = read_beats(Path(path).with_name(BEATS_FILE))
    if beats is None or not score.note_count:
        return score
    return repair_meter(score, *beats)
