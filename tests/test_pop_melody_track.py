"""The pop melody model (trained on POP909's MELODY tracks) continues a primer's MELODY track
on its own when the request names no track: the piano under it is neither read nor touched.
The bundled checkpoint and a POP909-like song made here; nothing mocked."""

import numpy as np
import pytest

from composer.core import Score, TempoChange, Track, make_notes
from composer.core.timing import TimeSignature
from composer.generation.generate import generate, with_own_track
from composer.generation.request import GenerateRequest
from composer.models.base import load_model
from composer.models.library import BUNDLED

MODEL = BUNDLED / "note_symbol_lstm-pop909.safetensors"
PPQ = 480
BAR = 4 * PPQ
BARS = 4


def pop_opening(melody_name: str = "MELODY") -> Score:
    """Four bars of a POP909-like song in C major: a tune on eighths and quarters over piano
    chords (roots held under triads)."""
    rng = np.random.default_rng(3)
    starts = np.cumsum(np.r_[0, rng.choice([240, 480], 23)])
    starts = starts[starts < BARS * BAR - 240]
    tune = make_notes(starts, starts + 220, rng.choice([72, 74, 76, 77, 79, 81], len(starts)), 90)
    roots = np.resize([48, 53, 55, 48], BARS)
    downs = np.arange(BARS) * BAR
    left = make_notes(downs, downs + BAR, roots, 70)
    right = make_notes(np.repeat(downs, 3), np.repeat(downs, 3) + BAR,
                       np.stack([roots + 16, roots + 19, roots + 24], 1).ravel(), 60)
    piano = np.sort(np.concatenate([left, right]), order=["start", "pitch"])
    return Score([Track(melody_name, 0, notes=tune), Track("PIANO", 0, notes=piano)], PPQ,
                 [TempoChange(0, 96.0)], [TimeSignature(0, 4, 4)])


@pytest.fixture(scope="module")
def melody_model():
    if not MODEL.is_file():
        pytest.skip("the pop melody model is not bundled")
    model = load_model(MODEL)[0]
    assert model.config.track_names == "MELODY"
    return model


def request(primer: Score, **kw) -> GenerateRequest:
    return GenerateRequest(primer=primer, start_tick=BARS * BAR, bars=8, variations=4, seed=1, **kw)


def test_the_melody_model_continues_the_melody_track_and_leaves_the_piano(melody_model):
    primer = pop_opening()
    melody, piano = primer.tracks
    result = generate(melody_model, request(primer))
    assert result.track_index == 0
    for score, notes in zip(result.scores, result.continuations):
        assert [t.name for t in score.tracks] == ["MELODY", "PIANO"]  # no new track
        assert np.array_equal(score.tracks[1].notes, piano.notes)  # the piano untouched
        new = score.tracks[0].notes[score.tracks[0].notes["start"] >= BARS * BAR]
        assert len(new) == len(notes)
    assert sum(len(n) for n in result.continuations) > 0
    heard = [n for n in result.continuations if len(n)]
    assert np.mean([n["pitch"].mean() for n in heard]) > 62  # the tune's register, not the piano's
    # The same as naming the track: only the melody is the primer.
    named = generate(melody_model, request(primer, track_id=melody.id))
    assert all(np.array_equal(a, b) for a, b in zip(result.continuations, named.continuations))
    # The name is matched without regard to case.
    lower = pop_opening("melody")
    assert with_own_track(melody_model, request(lower)).track_id == lower.tracks[0].id


def test_without_a_melody_track_the_whole_primer_is_read_as_before(melody_model):
    primer = pop_opening("Lead")
    assert with_own_track(melody_model, request(primer)).track_id is None
    result = generate(melody_model, request(primer))
    assert [t.name for t in result.scores[0].tracks] == ["Lead", "PIANO", "Generated"]
    # A MELODY track silent before the start (the tune enters later) is not the primer either.
    late = pop_opening()
    late.tracks[0].notes = late.tracks[0].notes[late.tracks[0].notes["start"] >= BARS * BAR]
    assert with_own_track(melody_model, request(late)).track_id is None
