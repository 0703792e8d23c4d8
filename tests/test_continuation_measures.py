"""Measures of a continuation against its primer, on hand-made cases with known answers."""

import math

import numpy as np

from composer.core import Score, TimeSignature, Track, make_notes
from composer.representations.continuation import continuation_measures, most_voices, primer_grid, seam_for

Q = 480
BAR = 4 * Q


def notes(starts, pitches, length=Q):
    starts = np.asarray(starts)
    return make_notes(starts, starts + length, list(pitches))


def measure(primer, continuation, start, end, score=None):
    score = score or Score([Track("x", 0)])
    return continuation_measures(primer, continuation, seam_for(score, primer, start, end))


def test_a_faithful_continuation():
    primer = notes(np.arange(8) * Q, [60, 62, 64, 65, 67, 69, 71, 72])  # C major, 2 bars
    continuation = notes(2 * BAR + np.arange(8) * Q, [60, 64, 67, 72, 71, 67, 65, 64])
    m = measure(primer, continuation, 2 * BAR, 4 * BAR)
    assert m["in_key"] == 1.0 and m["on_grid"] == 1.0 and m["density_ratio"] == 1.0
    assert m["register_jump"] == abs(np.mean([60, 64, 67, 72]) - np.mean([67, 69, 71, 72]))
    assert m["identical_bars"] == 1


def test_wrong_key_off_grid_sparse_and_stuck():
    primer = notes(np.arange(8) * Q, [60, 62, 64, 65, 67, 65, 64, 62])
    sliver = Q // 3 + 7  # off every grid
    continuation = notes(2 * BAR + np.array([0, BAR, 2 * BAR, 3 * BAR]) + sliver, [66, 66, 66, 66])  # F#: in no key near C
    m = measure(primer, continuation, 2 * BAR, 6 * BAR)
    assert m["in_key"] == 0.0 and m["on_grid"] == 0.0
    assert m["density_ratio"] == (4 / 16) / (8 / 8)
    assert m["identical_bars"] == 4


def test_the_primers_grid():
    assert primer_grid(notes(np.arange(8) * Q, [60] * 8), Q) == Q
    assert primer_grid(notes(np.arange(8) * Q // 2, [60] * 8), Q) == Q // 2
    assert primer_grid(notes(np.arange(9) * Q // 3, [60] * 9), Q) == Q // 3
    assert primer_grid(notes([0, 100, 2 * Q, 3 * Q], [60, 62, 64, 65]), Q) == Q // 4  # no grid holds it
    assert primer_grid(notes([0, Q], [60, 62]), Q) == Q // 4  # two onsets set no grid: sixteenths


def test_measures_that_cannot_be_taken_are_nan():
    empty = notes([], [])
    m = measure(notes([0, Q, 2 * Q], [60, 64, 67]), empty, BAR, 2 * BAR)
    assert all(math.isnan(v) for v in m.values())
    m = measure(notes([0], [60]), notes([BAR], [60]), BAR, 2 * BAR)  # one note: no key
    assert math.isnan(m["in_key"]) and m["on_grid"] == 1.0


def test_bars_follow_the_meter():
    score = Score([Track("x", 0)], time_signatures=[TimeSignature(0, 3, 4)])
    primer = notes(np.arange(6) * Q, [60, 62, 64, 65, 67, 69])
    bar = 3 * Q
    continuation = notes(2 * bar + np.array([0, Q, 2 * Q] * 3) + np.repeat([0, bar, 2 * bar], 3), [60, 64, 67] * 3)
    m = measure(primer, continuation, 2 * bar, 5 * bar, score)
    assert m["identical_bars"] == 3 and m["density_ratio"] == 1.0


def test_most_voices_counts_notes_sounding_together():
    assert most_voices(make_notes([], [], [])) == 0
    line = make_notes([0, Q, 2 * Q], [Q, 2 * Q, 3 * Q], [60, 62, 64])  # one note ends as the next starts
    assert most_voices(line) == 1
    assert most_voices(make_notes([0, 0, Q, 2 * Q], [4 * Q, Q, 2 * Q, 3 * Q], [48, 60, 62, 64])) == 2
