"""Objective measures (composer.representations.music_metrics, muspy's definitions) on scores
whose values can be worked out by hand, the training data's measures recorded when a folder is
encoded, ``composer metrics``, and the measures shown for a variation in the app."""

import math

import numpy as np
import pytest

from composer.core import Score, TempoChange, Track, make_notes
from composer.core.errors import ComposerError
from composer.core.timing import TimeSignature
from composer.data.dataset import encode_folder
from composer.io.midi import write_midi
from composer.representations.codecs import PianoRollCodec
from composer.representations.music_metrics import METRICS, measure, summarize


def chord_and_melody() -> Score:
    """C4 and E4 held for two beats; C4 again over the first (one pitch held twice sounds once);
    G4 in beat 2; then a beat of silence and a last D4 in beat 4."""
    notes = make_notes([0, 0, 240, 480, 1440], [480, 960, 720, 960, 1920], [60, 64, 60, 67, 62])
    return Score([Track("Piano", notes=notes)], 480, [TempoChange(0, 120.0)])


def test_pitch_measures_by_hand():
    m = measure(chord_and_melody())
    # Pitch classes C, C, E, G, D: p = 2/5, 1/5, 1/5, 1/5.
    assert m["pitch_class_entropy"] == pytest.approx(-(0.4 * math.log2(0.4) + 3 * 0.2 * math.log2(0.2)))
    assert m["scale_consistency"] == 1.0 and m["pitches_used"] == 4
    # Steps of a sixteenth: beat 1: {C, E} x 4; beat 2: {C, E, G} x 2, then {E, G} x 2; beat 3:
    # silence; beat 4: {D} x 4. Sounding steps: 12; pitches summed: 8 + 6 + 4 + 4 = 22.
    assert m["polyphony"] == pytest.approx(22 / 12)
    assert m["polyphony_rate"] == pytest.approx(8 / 16)
    assert m["empty_beat_rate"] == pytest.approx(1 / 4)
    out_of_scale = Score([Track("x", notes=make_notes(range(0, 480 * 12, 480), range(480, 480 * 13, 480),
                                                      range(60, 72)))], 480)
    assert measure(out_of_scale)["scale_consistency"] == pytest.approx(7 / 12)
    assert measure(out_of_scale)["pitch_class_entropy"] == pytest.approx(math.log2(12))


def test_groove_and_drums_by_hand():
    # Two bars of 4/4 (96 steps each): the piano plays every beat of bar 1 and beats 1 and 3 of
    # bar 2; the drums add onsets at steps 6 and 8 of bar 1. The bars differ at steps 6, 8, 24, 72.
    starts = [0, 480, 960, 1440, 1920, 2880]
    piano = Track("Piano", notes=make_notes(starts, [s + 240 for s in starts], [60] * 6))
    kit = Track("Drums", 0, True, make_notes([0, 120, 160, 480], [60, 180, 220, 540], [36, 42, 38, 36]))
    score = Score([piano, kit], 480, [TempoChange(0, 100.0)], [TimeSignature(0, 4, 4)])
    m = measure(score)
    assert m["groove_consistency"] == pytest.approx(1 - 4 / 96)
    # Drum onsets at 0, a sixteenth (120), a triplet eighth (160) and a beat: 3 of 4 on either grid.
    assert m["drum_pattern_consistency"] == pytest.approx(3 / 4)
    assert m["pitches_used"] == 1  # drums are not pitches


def test_what_cannot_be_measured_is_nan():
    m = measure(Score([Track("Kit", 0, True, make_notes([0], [100], [36]))], 480))
    for name in ("pitch_class_entropy", "scale_consistency", "polyphony", "polyphony_rate"):
        assert math.isnan(m[name])
    assert math.isnan(m["groove_consistency"])  # one bar
    empty = measure(Score([Track("x")], 480))
    assert set(empty) == set(METRICS) and math.isnan(empty["empty_beat_rate"])
    summary = summarize([m, measure(chord_and_melody())])
    assert summary["polyphony"]["n"] == 1 and summary["drum_pattern_consistency"]["n"] == 1


def test_a_range_is_measured_from_its_start():
    score = chord_and_melody()
    later = measure(score, 1440, 1920)
    assert later["pitches_used"] == 1 and later["empty_beat_rate"] == 0.0 and later["polyphony"] == 1.0


def test_encoding_a_folder_records_the_training_files_measures(tmp_path):
    for i in range(6):
        write_midi(chord_and_melody(), tmp_path / f"song{i}.mid")
    data = encode_folder(tmp_path, PianoRollCodec(steps_per_beat=4), valid_fraction=0.0, test_fraction=0.0,
                         workers=1, write_cache=False)
    recorded = data.summary["music_metrics"]
    assert recorded["polyphony"]["n"] == 6 and recorded["polyphony"]["std"] == pytest.approx(0.0)
    assert recorded["polyphony"]["mean"] == pytest.approx(22 / 12)


def test_metrics_command(tmp_path, capsys):
    from composer.cli import main

    song = tmp_path / "song.mid"
    write_midi(chord_and_melody(), song)
    folder = tmp_path / "refs"
    folder.mkdir()
    for i in range(3):
        write_midi(chord_and_melody(), folder / f"r{i}.mid")
    assert main(["metrics", str(song), "--reference", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "refs (3 files)" in out and "polyphony (pitches at once)" in out and "1.83" in out
    bad = tmp_path / "bad.mid"
    bad.write_text("not midi")
    assert main(["metrics", str(bad)]) != 0
    assert main(["metrics", str(song), "--from-bar", "9"]) != 0
    assert "--from-bar must be" in capsys.readouterr().err


def test_bundled_models_record_their_training_data_measures():
    from composer.models.library import BUNDLED
    from composer.models.checkpoint import read_metadata

    for path in sorted(BUNDLED.glob("*.safetensors")):
        recorded = read_metadata(path)["data"]["music_metrics"]
        if recorded["pitch_class_entropy"]["mean"] is None:  # drums only: no pitch classes
            assert 0.0 < recorded["groove_consistency"]["mean"] <= 1.0, path.name
            continue
        assert 2.0 < recorded["pitch_class_entropy"]["mean"] < 3.6, path.name
        assert recorded["polyphony"]["n"] >= 50, path.name  # (an evenly spaced sample of a folder)
