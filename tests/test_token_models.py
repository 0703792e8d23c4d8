"""The token families (chord_token_lstm, note_symbol_lstm) on real tiny models trained here:
learning, checkpoints, generation through composer.generation, the repetition guard, the
commands, and bad input."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from composer.core import ComposerError, ComposerWarning, Score, TempoChange, Track, make_notes
from composer.generation.generate import generate
from composer.generation.request import GenerateRequest, scale_pitch_classes
from composer.io.midi import write_midi
from composer.models.base import SamplingOptions, load_model, save_model
from composer.models.checkpoint import read_metadata, save_checkpoint
from composer.models.lstm_dropout import RecurrentDropoutLSTM
from composer.models.registry import UnknownFamily, family_spec, load_family
from composer.representations.metrics import token_check
from composer.training.trainer import TrainingError, TrainRequest, train
from engine_fixtures import arpeggio_song, write_training_folder

FAMILIES = ["chord_token_lstm", "note_symbol_lstm"]
PY = sys.executable


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    return write_training_folder(tmp_path_factory.mktemp("songs"))


@pytest.fixture(scope="module")
def models(songs, tmp_path_factory):
    """Tiny models trained in-process for a few seconds; note_symbol_lstm on its grid. The
    songs' twelve keys are kept (no key normalisation): the vocabulary's variety is what the
    repetition and collapse tests need (tests/test_key_normalize.py trains normalised ones)."""
    root = tmp_path_factory.mktemp("token_models")
    paths = {}
    for family, overrides in (("chord_token_lstm", {}), ("note_symbol_lstm", {"grid": "true"}),
                              ("chord_paper", {"timed": "false", "embedding": "0"})):
        overrides = {**overrides, "key_normalize": "false"}
        out = root / f"{family}.safetensors"
        name = "chord_token_lstm" if family == "chord_paper" else family
        train(TrainRequest(family=name, data=str(songs), out=out, preset="tiny", epochs=6,
                           steps_per_epoch=15, learning_rate=1e-2, workers=1, overrides=overrides))
        paths[family] = out
    return paths


def load(models, family):
    return load_model(models[family])[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_registered_with_presets_and_controls(family):
    spec = family_spec(family)
    assert set(spec.presets) == set(load_family(family).PRESETS)
    assert {"continue", "from_scratch"} <= spec.capabilities
    assert spec.controls == ("temperature", "top_p", "density", "polyphony")


@pytest.mark.parametrize("family", FAMILIES)
def test_training_learns_and_reports_accuracy(models, family):
    meta = read_metadata(models[family])
    metrics = meta["metrics"]
    assert np.isfinite(metrics["valid_loss"]) and 0 <= metrics["valid_accuracy"] <= 1
    assert metrics["valid_perplexity"] < len(meta["info"]["vocab"]) / 2  # far better than chance
    assert meta["info"]["vocab"] and meta["info"]["codec"]["kind"] in ("chord_tokens", "note_symbols")


@pytest.mark.parametrize("family", FAMILIES)
def test_overfits_one_batch_and_save_load_is_identical(models, family, tmp_path):
    model = load(models, family)
    model.train()
    batch = model.make_dataset([p for p in _pieces(model)], augment=False, training=False).sample_batch(4)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    first = float(model.loss(batch)[0].detach())
    for _ in range(60):
        optimizer.zero_grad()
        loss, _ = model.loss(batch)
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < first * 0.5
    model.eval()
    path = tmp_path / "m.safetensors"
    save_model(path, model, {"name": "x"})
    again, meta = load_model(path)
    assert meta["info"]["vocab"] == model.info["vocab"]
    with torch.no_grad():
        assert torch.equal(model(batch)[0], again(batch)[0])


def _pieces(model):
    codec = model.adapter.codec
    return [codec.encode(arpeggio_song(55 + k, bars=6, seed=k)) for k in range(3)]


@pytest.mark.parametrize("family", FAMILIES + ["chord_paper"])
def test_generation_continues_a_primer(models, family):
    model = load(models, family)
    primer = arpeggio_song(60, bars=2)
    request = GenerateRequest(primer=primer, track_id=primer.tracks[0].id, bars=4, variations=3,
                              seed=1, temperature=1.2, top_p=0.95)
    progress = []
    result = generate(model, request, progress=progress.append)
    assert len(result.scores) == 3 and progress[-1] == 1.0 and result.start_tick == primer.end_tick
    end = result.start_tick + 4 * 4 * 480
    for score, notes in zip(result.scores, result.continuations):
        assert len(notes) > 4
        assert notes["start"].min() >= result.start_tick and notes["end"].max() <= end
        track = score.tracks[result.track_index]
        before = track.notes[track.notes["start"] < result.start_tick]
        assert np.array_equal(before["pitch"], primer.tracks[0].notes["pitch"])
    again = generate(model, request)
    assert all(np.array_equal(a, b) for a, b in zip(result.continuations, again.continuations))
    assert not all(np.array_equal(result.continuations[0], c) for c in result.continuations[1:])


def test_timed_tokens_keep_the_primer_rhythm(models):
    """Eighth-note arpeggios in, mostly eighth-note onsets out; the untimed preset cannot."""
    model = load(models, "chord_token_lstm")
    result = generate(model, GenerateRequest(primer=arpeggio_song(60, bars=2), bars=4, temperature=0.7, seed=0))
    starts = np.unique(result.continuations[0]["start"] - result.start_tick)
    assert (starts % 240 == 0).mean() > 0.8


@pytest.mark.parametrize("family", FAMILIES)
def test_from_scratch_with_a_chosen_or_random_start(models, family):
    model = load(models, family)
    chosen = generate(model, GenerateRequest(bars=2, start_token="G4", seed=3))
    first = chosen.continuations[0]
    assert first["start"].min() == 0 and 67 in first["pitch"][first["start"] == 0]
    random_start = generate(model, GenerateRequest(seconds=4, variations=2, seed=3))
    assert all(len(n) for n in random_start.continuations)
    with pytest.warns(ComposerWarning, match="not in this model's"):
        generate(model, GenerateRequest(bars=1, start_token="C8"))
    with pytest.raises(ComposerError, match="not a note"):
        generate(model, GenerateRequest(bars=1, start_token="H2"))


@pytest.mark.parametrize("family", FAMILIES)
def test_unknown_primer_tokens_are_mapped_with_a_warning(models, family):
    model = load(models, family)
    odd = Score([Track("p", notes=make_notes([0, 0, 480], [480, 480, 960], [101, 106, 30]))],
                tempos=[TempoChange(0, 120.0)])
    with pytest.warns(ComposerWarning, match="replaced by the nearest known"):
        result = generate(model, GenerateRequest(primer=odd, bars=2))
    assert len(result.continuations[0])


@pytest.mark.parametrize("family", FAMILIES)
def test_bad_primers(models, family):
    model = load(models, family)
    drums = Score([Track("kit", 0, True, make_notes([0, 480], [240, 720], [36, 38]))],
                  tempos=[TempoChange(0, 120.0)])
    with pytest.warns(ComposerWarning, match="only drum tracks"):
        result = generate(model, GenerateRequest(primer=drums, bars=1))
    assert len(result.continuations[0])
    with pytest.raises(ComposerError, match="drum track"):
        generate(model, GenerateRequest(primer=drums, track_id=drums.tracks[0].id, bars=1))
    blip = Score([Track("p", notes=make_notes([0], [3], [60]))], tempos=[TempoChange(0, 120.0)])
    result = generate(model, GenerateRequest(primer=blip, bars=1))  # shorter than one grid step
    assert result.start_tick == 3 and len(result.continuations[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generate(model, GenerateRequest(primer=Score(), bars=1))  # empty: a start token, no fuss


@pytest.mark.parametrize("family", FAMILIES)
def test_key_and_range_constraints(models, family):
    model = load(models, family)
    request = GenerateRequest(primer=arpeggio_song(60, bars=1), bars=4, key="C", scale="major",
                              pitch_min=55, pitch_max=80, temperature=2.0, seed=5)
    notes = generate(model, request).continuations[0]
    allowed = scale_pitch_classes("C", "major")
    assert len(notes) and all(p % 12 in allowed and 55 <= p <= 80 for p in notes["pitch"].tolist())
    with pytest.raises(ComposerError, match="widen the constraint"):
        generate(model, GenerateRequest(bars=1, pitch_min=0, pitch_max=5))


@pytest.mark.parametrize("family", FAMILIES + ["chord_paper"])
def test_500_tokens_do_not_collapse(models, family):
    """With the repetition guard no unit repeats beyond the data's limit, and the generation
    keeps using a good share of the vocabulary, hot or cold."""
    model = load(models, family)
    limit = model.info["max_repeat"]

    def run(max_repeat, temperature):
        options = SamplingOptions(temperature=temperature, top_p=0.9, max_repeat=max_repeat)
        ids = list(model.generate(np.zeros(0, np.int64), 500, 2, options, torch.Generator().manual_seed(0)))[-1]
        return [token_check(model.adapter.content_units(row)) for row in ids]

    for figures in run(None, 1.0) + run(None, 0.05):
        assert figures["longest_run"] <= limit
        assert figures["distinct"] >= 4 and figures["distinct_share"] > 0.005


def test_recurrent_dropout_is_active_only_in_training():
    torch.manual_seed(0)
    rnn = RecurrentDropoutLSTM(3, 8, 2, recurrent_dropout=0.5)
    x = torch.randn(2, 7, 3)
    rnn.train()
    a, b = rnn(x)[0], rnn(x)[0]
    assert not torch.equal(a, b)
    a.sum().backward()
    assert rnn.lstm.weight_hh_l1.grad is not None and rnn.lstm.weight_hh_l1.grad.abs().sum() > 0
    rnn.eval()
    assert torch.equal(rnn(x)[0], rnn.lstm(x)[0])


def test_cyclical_learning_rate_stays_between_its_bounds(models):
    model = load(models, "note_symbol_lstm")
    optimizer = model.make_optimizer(1e-3)
    scheduler = model.make_scheduler(optimizer, steps_per_epoch=10)
    rates = []
    for _ in range(30):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    low, high = model.config.min_learning_rate, model.config.learning_rate
    assert min(rates) >= low * (1 - 1e-9) and max(rates) <= high * (1 + 1e-9) and max(rates) > 0.9 * high


def test_one_symbol_vocabulary_trains_and_generates(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    for k in range(4):
        notes = make_notes(np.arange(40) * 240, np.arange(40) * 240 + 240, [60] * 40)
        write_midi(Score([Track("p", notes=notes)], 480, [TempoChange(0, 120.0)]), folder / f"{k}.mid")
    out = tmp_path / "one.safetensors"
    train(TrainRequest(family="chord_token_lstm", data=str(folder), out=out, preset="tiny", epochs=1,
                       workers=1, valid_fraction=0.25, overrides={"timed": "false"}))
    model, meta = load_model(out)
    assert meta["info"]["vocab"] == ["C4"]
    notes = generate(model, GenerateRequest(bars=2)).continuations[0]
    assert set(notes["pitch"].tolist()) == {60}


def test_too_little_data_and_unknown_family_in_a_checkpoint(tmp_path, models):
    folder = tmp_path / "short"
    folder.mkdir()
    for k in range(3):
        write_midi(Score([Track("p", notes=make_notes([0], [480], [60 + k]))], 480), folder / f"{k}.mid")
    with pytest.raises(TrainingError, match="too small"):
        train(TrainRequest(family="chord_token_lstm", data=str(folder), out=tmp_path / "x.safetensors",
                           preset="tiny", workers=1, valid_fraction=0.0, test_fraction=0.0,
                           overrides={"timed": "false"}))  # one token a piece: nothing to predict
    model = load(models, "note_symbol_lstm")
    path = tmp_path / "future.safetensors"
    save_checkpoint(path, model.state_dict(), {"family": "token_transformer", "config": {}, "info": {}})
    with pytest.raises(UnknownFamily, match="known families"):
        load_model(path)


def run_cli(*args, timeout=300, env=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.run([PY, "-m", "composer.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("family", FAMILIES)
def test_train_generate_and_eval_commands(family, songs, tmp_path, fixtures):
    out = tmp_path / f"{family}.safetensors"
    result = run_cli("train", "--family", family, "--preset", "tiny", "--data", str(songs), "--out", str(out),
                     "--workers", "1", "--epochs", "1", "--steps-per-epoch", "3", "--progress", "none")
    assert result.returncode == 0, result.stderr
    assert read_metadata(out)["family"] == family
    midi = tmp_path / "o.mid"
    result = run_cli("generate", "--model", str(out), "--primer", str(fixtures / "song.mid"), "--bars", "2",
                     "--out", str(midi))
    assert result.returncode == 0, result.stderr
    assert midi.stat().st_size > 0
    result = run_cli("eval", "--model", str(out), "--data", str(songs), "--split", "train")
    assert result.returncode == 0, result.stderr
    assert "accuracy:" in result.stdout and "perplexity:" in result.stdout
    result = run_cli("models", "--families")
    assert family in result.stdout


def test_the_models_list_aligns_its_columns_and_cuts_metrics_whole(tmp_path):
    """Every row's family, preset and place start in the same column, whatever the name's
    length; a broken file gets its own line; no metric is cut in the middle."""
    (tmp_path / "broken.safetensors").write_bytes(b"not a model")
    result = run_cli("models", env={"COMPOSER_MODELS": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [line for line in lines if " bundled " in line]
    assert len(rows) >= 7
    columns = {row.index(" bundled ") for row in rows}
    assert len(columns) == 1  # aligned
    assert any(line.startswith("broken.safetensors") and "unusable" in line for line in lines)
    for row in rows:
        metrics = row.split(" bundled ", 1)[1].strip()
        assert all(len(pair.split()) == 2 for pair in metrics.split(", ")), row

