"""The key finder (Krumhansl-Schmuckler) and the in-key share, on passages whose key is known."""

import numpy as np
import pytest

from composer.core import make_notes
from composer.io.midi import read_midi
from composer.representations.keys import Key, find_key, in_key_share

Q = 480


def line(pitches, beats=None) -> np.ndarray:
    beats = beats or [1] * len(pitches)
    starts = np.concatenate([[0], np.cumsum(beats)[:-1]]) * Q
    return make_notes(starts, starts + np.array(beats) * Q, list(pitches))


@pytest.mark.parametrize("shift", range(12))
def test_a_cadence_in_every_major_key(shift):
    # I - IV - V - I as melody and bass: C E G, F A C, G B D, C.
    notes = line([p + shift for p in (48, 64, 67, 53, 69, 72, 55, 71, 74, 48, 60, 64, 67)],
                 [2, 1, 1, 2, 1, 1, 2, 1, 1, 2, 1, 1, 2])
    key = find_key(notes)
    assert (key.tonic, key.mode) == (shift, "major")
    assert in_key_share(notes, key) == 1.0


def test_a_minor_melody_with_its_raised_seventh():
    notes = line([57, 60, 64, 69, 68, 69, 71, 72, 71, 69, 64, 57], [2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 4])
    key = find_key(notes)
    assert key.name == "A minor"
    assert in_key_share(notes, key) == 1.0  # G# belongs to the key
    assert Key(9, "minor").shift_to() == 0 and Key(7, "major").shift_to() == 5 and Key(6, "major").shift_to() == -6


def test_passages_without_a_clear_key():
    assert find_key(line([60])) is None  # one note
    assert find_key(line([60, 67, 60, 67])) is None  # two pitch classes
    assert find_key(line(list(range(60, 72)))) is None  # the chromatic scale
    assert find_key(line([60])[:0]) is None  # no notes


def test_a_real_chorale(fixtures):
    score = read_midi(fixtures / "song.mid")
    notes = np.concatenate([t.notes for t in score.tracks if not t.is_drum])
    key = find_key(notes)
    assert key is not None and in_key_share(notes, key) > 0.8
