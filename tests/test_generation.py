"""Generation requests on real (tiny, quickly trained) models: primer + continuation, variations,
seeds, cancel, constraints, bad primers, and the `composer generate` command."""

import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

from composer.core import ComposerError, ComposerWarning, Score, TempoChange, Track, make_notes
from composer.generation.generate import GenerationCancelled, generate
from composer.generation.request import GenerateRequest, scale_pitch_classes
from composer.io.midi import read_midi
from composer.models.base import load_model
from composer.representations.metrics import generation_check
from composer.training.trainer import TrainRequest, train
from engine_fixtures import arpeggio_song, write_training_folder


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """One tiny trained model per piano-roll family (trained in-process, a few seconds each)."""
    root = tmp_path_factory.mktemp("gen")
    songs = write_training_folder(root / "songs")
    paths = {}
    for family in ("pianoroll_lstm", "pianoroll_seq2seq", "bar_lstm"):
        out = root / f"{family}.safetensors"
        train(TrainRequest(family=family, data=str(songs), out=out, preset="tiny", epochs=3, workers=1))
        paths[family] = out
    return paths


@pytest.mark.filterwarnings("ignore:the primer is longer than the model's context")
@pytest.mark.parametrize("family", ["pianoroll_lstm", "pianoroll_seq2seq", "bar_lstm"])
def test_result_is_the_primer_followed_by_the_continuation(models, family):
    model, _ = load_model(models[family])
    primer = arpeggio_song(60, bars=2)
    request = GenerateRequest(primer=primer, track_id=primer.tracks[0].id, bars=4, variations=3, seed=1,
                              temperature=1.5)
    progress = []
    result = generate(model, request, progress=progress.append)
    assert len(result.scores) == 3 and progress[-1] == 1.0
    assert result.start_tick == primer.end_tick
    for score, notes in zip(result.scores, result.continuations):
        track = score.tracks[result.track_index]
        before = track.notes[track.notes["start"] < result.start_tick]
        assert np.array_equal(before[["start", "end", "pitch"]], primer.tracks[0].notes[["start", "end", "pitch"]])
        if len(notes):
            assert notes["start"].min() >= result.start_tick
            assert notes["start"].max() < result.start_tick + 4 * 4 * 480 + 480
    again = generate(model, request)
    assert all(np.array_equal(a, b) for a, b in zip(result.continuations, again.continuations))


def test_variations_differ_and_seeds_matter(models):
    model, _ = load_model(models["pianoroll_lstm"])
    request = GenerateRequest(primer=arpeggio_song(60, bars=2), bars=4, variations=2, seed=3, temperature=2.0)
    a = generate(model, request)
    assert not np.array_equal(a.continuations[0], a.continuations[1])
    request.seed = 4
    b = generate(model, request)
    assert not np.array_equal(a.continuations[0], b.continuations[0])


def test_cancel_stops_generation(models):
    model, _ = load_model(models["pianoroll_lstm"])
    cancel = threading.Event()
    calls = []

    def progress(value):
        calls.append(value)
        if len(calls) == 2:
            cancel.set()

    with pytest.raises(GenerationCancelled):
        generate(model, GenerateRequest(bars=64), progress=progress, cancel=cancel)
    assert len(calls) == 2


def test_key_scale_and_range_constraints(models):
    model, _ = load_model(models["pianoroll_lstm"])
    request = GenerateRequest(primer=arpeggio_song(60, bars=1), bars=8, temperature=3.0, key="D",
                              scale="minor", pitch_min=50, pitch_max=74, seed=2)
    result = generate(model, request)
    allowed = scale_pitch_classes("D", "minor")
    pitches = result.continuations[0]["pitch"]
    assert len(pitches) and all(p % 12 in allowed and 50 <= p <= 74 for p in pitches.tolist())


def test_from_silence_without_a_primer(models):
    model, _ = load_model(models["pianoroll_lstm"])
    result = generate(model, GenerateRequest(seconds=4, temperature=2.0))
    assert result.scores[0].tracks[-1].name == "Generated"
    assert result.start_tick == 0


def test_bad_primers(models):
    model, _ = load_model(models["pianoroll_lstm"])
    lo, hi = model.info["pitch_range"]
    high = Score([Track("high", notes=make_notes([0], [960], [min(hi + 5, 127)]))], tempos=[TempoChange(0, 120.0)])
    if hi + 5 <= 127:
        with pytest.raises(ComposerError, match="outside this model's pitch range"):
            generate(model, GenerateRequest(primer=high, bars=1))
    drums = Score([Track("kit", 0, True, make_notes([0], [240], [36]))])
    with pytest.raises(ComposerError, match="drum track"):
        generate(model, GenerateRequest(primer=drums, track_id=drums.tracks[0].id, bars=1))
    with pytest.raises(ComposerError, match="variations"):
        generate(model, GenerateRequest(bars=1, variations=0))
    with pytest.raises(ComposerError, match="key"):
        generate(model, GenerateRequest(bars=1, key="H", scale="major"))


def test_primer_longer_than_the_context_warns(models):
    model, _ = load_model(models["pianoroll_seq2seq"])
    with pytest.warns(ComposerWarning, match="longer than the model's context"):
        generate(model, GenerateRequest(primer=arpeggio_song(60, bars=8), bars=1))


def test_generation_check_figures():
    silent = Score()
    assert generation_check(silent)["empty_beat_rate"] == 1.0
    stuck = Score([Track("p", notes=make_notes(np.arange(8) * 480, np.arange(8) * 480 + 480, [60] * 8))])
    figures = generation_check(stuck)
    assert figures == {"empty_beat_rate": 0.0, "onsets": 8, "distinct_onset_chords": 1,
                       "longest_chord_run": 8, "distinct_pitches": 1}
    song = generation_check(arpeggio_song(60, bars=2))
    assert song["distinct_onset_chords"] > 3 and song["longest_chord_run"] <= 2


def test_generate_command_writes_midi_and_wav(models, tmp_path, fixtures):
    out = tmp_path / "out.mid"
    wav = tmp_path / "out.wav"
    result = subprocess.run([sys.executable, "-m", "composer.cli", "generate", "--model",
                             str(models["pianoroll_lstm"]), "--primer", str(fixtures / "song.mid"),
                             "--track", "1", "--bars", "2", "--out", str(out), "--wav", str(wav)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = read_midi(out)
    primer = read_midi(fixtures / "song.mid")
    assert len(back.tracks) == len(primer.tracks)
    assert wav.stat().st_size > 44
