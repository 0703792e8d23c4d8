"""The pop band VAE after a primer whose tracks are not named after its slots (MELODY, BRIDGE,
PIANO, BASS): a drawn "Track 1", a melody and a chord track, a named track beside an unnamed
one. At generation time they fill the empty slots by register and the continuation goes into
the user's tracks; training data is still read by name alone. The bundled checkpoint, nothing
mocked."""

import warnings

import numpy as np
import pytest

from composer.core import Score, TempoChange, Track, make_notes
from composer.core.errors import ComposerWarning
from composer.core.timing import TimeSignature
from composer.generation.generate import generate
from composer.generation.request import GenerateRequest, sampling_defaults
from composer.models.base import load_model, preset_config
from composer.models.library import BUNDLED
from composer.models.multitrack_adapter import codec_for
from composer.models.registry import family_spec
from composer.representations.errors import SkipFile
from composer.representations.multitrack import chord_share

POP = BUNDLED / "multitrack_vae-pop909.safetensors"
PPQ = 480
BAR = 4 * PPQ
BARS = 4


def melody(bars: int = BARS) -> np.ndarray:
    """A tune in C major on quarters and eighths, C5 to G5."""
    pitches = np.array([72, 74, 76, 77, 79, 77, 76, 74, 72, 76, 79, 76])
    starts = np.arange(bars * 6) * (BAR // 6) // 80 * 80  # six notes a bar, on the 16th grid
    return make_notes(starts, starts + 240, np.resize(pitches, len(starts)), 90)


def chords(bars: int = BARS) -> np.ndarray:
    """Left-hand roots held under right-hand triads struck with them: I-IV-V-I."""
    roots = np.resize([48, 53, 55, 48], bars)
    downs = np.arange(bars) * BAR
    left = make_notes(downs, downs + BAR, roots, 80)
    right = make_notes(np.repeat(downs, 3), np.repeat(downs, 3) + BAR // 2,
                       np.stack([roots + 16, roots + 19, roots + 24], 1).ravel(), 70)
    return np.sort(np.concatenate([left, right]), order=["start", "pitch"])


def song(*tracks: Track) -> Score:
    return Score(list(tracks), PPQ, [TempoChange(0, 100.0)], [TimeSignature(0, 4, 4)])


@pytest.fixture(scope="module")
def pop():
    if not POP.is_file():
        pytest.skip("the pop model is not bundled")
    return load_model(POP)[0]


def continue_(model, primer: Score, **settings):
    """8 bars after the primer with the family's defaults; (result, warning messages)."""
    defaults = {**sampling_defaults(family_spec("multitrack_vae").sampling_defaults), **settings}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = generate(model, GenerateRequest(primer=primer, start_tick=BARS * BAR, bars=8, seed=0,
                                                 variations=2, **defaults))
    return result, [str(w.message) for w in caught if issubclass(w.category, ComposerWarning)]


def after(track: Track) -> np.ndarray:
    return track.notes[track.notes["start"] >= BARS * BAR]


def test_a_drawn_melody_in_track_1_continues_in_it_under_a_new_band(pop):
    primer = song(Track("Track 1", 0, notes=melody()))
    result, said = continue_(pop, primer, missing_slots="prior")
    assert said == ["no track is named after this model's slots (MELODY, BRIDGE, PIANO, BASS); "
                    "placed by register: 'Track 1' as MELODY"]
    assert result.slot_targets == [primer.tracks[0].id, None, None, None]
    for score in result.scores:
        assert [t.name for t in score.tracks] == ["Track 1", "BRIDGE", "PIANO", "BASS"]
        tune = score.tracks[0]
        assert np.array_equal(tune.notes[tune.notes["start"] < BARS * BAR]["pitch"], primer.tracks[0].notes["pitch"])
        assert len(after(tune)) >= 8 and abs(after(tune)["pitch"].mean() - 75) < 12  # in the tune's register
        assert all(len(t) for t in score.tracks[1:])  # the band's other slots, each in a new track
        assert score.tracks[3].notes["pitch"].mean() < score.tracks[2].notes["pitch"].mean()  # bass under keys
    # Missing voices left silent (the default): the tune goes on alone, in its own track.
    result, _ = continue_(pop, primer)
    assert len(after(result.scores[0].tracks[0])) >= 8
    assert sum(len(t) for t in result.scores[0].tracks[1:]) == 0


def test_a_melody_and_a_chord_track_become_the_lead_and_the_piano_over_a_bass(pop):
    tune, keys = Track("Track 1", 0, notes=melody()), Track("Track 2", 0, notes=chords())
    primer = song(keys, tune)  # the chords first: the order of the tracks does not decide
    result, said = continue_(pop, primer)
    assert said == ["no track is named after this model's slots (MELODY, BRIDGE, PIANO, BASS); placed by "
                    "register: 'Track 2' as PIANO (its lowest line as BASS), 'Track 1' as MELODY"]
    assert result.slot_targets[:3] == [tune.id, None, keys.id]
    score = result.scores[0]
    assert [t.name for t in score.tracks] == ["Track 2", "Track 1", "BRIDGE", "BASS"]
    assert len(after(score.tracks[1])) and after(score.tracks[1])["pitch"].min() >= 60  # the tune goes on
    chords_after, bass = after(score.tracks[0]), score.tracks[3].notes
    assert chord_share(chords_after, PPQ) > 0.3  # chords go on in the chord track
    assert len(bass) and bass["pitch"].mean() < chords_after["pitch"].mean()


def test_a_named_track_keeps_its_slot_and_an_unnamed_one_fills_an_empty_slot(pop):
    lead, keys = Track("Melody", 80, notes=melody()), Track("Keys", 4, notes=chords())
    primer = song(lead, keys)
    result, said = continue_(pop, primer)
    assert said == ["not every track is named after this model's slots (MELODY, BRIDGE, PIANO, BASS); "
                    "placed by register: 'Keys' as PIANO (its lowest line as BASS)"]
    assert result.slot_targets[:3] == [lead.id, None, keys.id]
    assert all(len(after(t)) for t in result.scores[0].tracks[:2])


def test_placing_by_register_is_for_generation_only():
    """Which empty slot each unnamed track takes (no model needed), and training data: songs
    whose tracks have other names are still skipped, not guessed."""
    codec = codec_for(preset_config("multitrack_vae", "pop"))
    tune = Track("Track 1", 0, notes=melody())
    bass = Track("Track 2", 33, notes=chords()[chords()["pitch"] < 60])
    keys = Track("Track 3", 0, notes=chords())
    slots = {name: k for k, name in enumerate(codec.slot_names)}
    assert codec.place_by_register(song(bass, tune)) == {tune.id: slots["MELODY"], bass.id: slots["BASS"]}
    second = Track("Track 4", 0, notes=make_notes([0, 960], [960, 1920], [64, 67], 70))
    placed = codec.place_by_register(song(tune, keys, second))
    assert placed == {tune.id: slots["MELODY"], keys.id: slots["PIANO"], second.id: slots["BRIDGE"]}
    named = song(Track("BASS", 33, notes=bass.notes), tune, Track("Drums", 0, True, make_notes([0], [60], [36])))
    assert codec.place_by_register(named) == {tune.id: slots["MELODY"]}
    groups = codec.assign(song(tune, keys), codec.place_by_register(song(tune, keys)))
    assert [len(g) for g in groups] == [1, 0, 1, 1] and groups[0][0].id == tune.id
    assert codec.assign(song(tune, keys)) == [[], [], [], []]  # by name alone, as training reads
    with pytest.raises(SkipFile, match="no track fits"):
        codec.encode(song(tune, keys))
    assert chord_share(keys.notes, PPQ) == 1.0 and chord_share(tune.notes, PPQ) == 0.0
