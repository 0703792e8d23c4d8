"""Training length from the data (the default presets' auto schedule), the time limit, and the
offer to continue a run that ended under-trained: the plan itself, then the real command."""

import dataclasses

import pytest

from composer.models.base import preset_config
from composer.models.checkpoint import read_metadata
from composer.models.registry import FAMILIES
from composer.training import schedule
from composer.training.schedule import given_fields, plan_schedule
from test_training import PY, events, run, songs, train_cmd  # noqa: F401 (songs is a fixture)


def test_every_default_preset_plans_and_every_paper_preset_keeps_its_settings():
    for spec in FAMILIES.values():
        assert preset_config(spec.id, spec.default_preset).schedule == "auto", spec.id
        for name in spec.paper_presets:
            assert preset_config(spec.id, name).schedule == "fixed", (spec.id, name)


def test_a_small_folder_gets_small_batches_many_steps_and_enough_epochs():
    # chord_token_lstm's paper batch of 1,024 on the 313 sequences of 100 Nottingham tunes.
    config = dataclasses.replace(preset_config("chord_token_lstm", "timed"), batch_size=1024, epochs=10)
    planned = plan_schedule(config, 313)
    assert planned.batch_size == 8  # 313 / 32 steps a pass, to a power of two
    assert planned.steps_per_epoch == 39  # one pass
    assert planned.epochs * planned.steps_per_epoch >= schedule.MIN_STEPS
    # A big corpus keeps the preset's batch; epochs stay short enough to validate often.
    big = plan_schedule(config, 2_000_000)
    assert big.batch_size == 1024 and big.steps_per_epoch == schedule.MAX_EPOCH_STEPS
    assert big.epochs * big.steps_per_epoch <= schedule.MAX_STEPS + schedule.MAX_EPOCH_STEPS
    # A tiny folder: never below the smallest batch, never an epoch of a couple of steps.
    tiny = plan_schedule(config, 20)
    assert tiny.batch_size == schedule.MIN_BATCH and tiny.steps_per_epoch == schedule.MIN_EPOCH_STEPS


def test_what_the_user_sets_is_kept_and_fixed_presets_are_untouched():
    config = preset_config("pianoroll_lstm", "2x256-beat")
    kept = plan_schedule(dataclasses.replace(config, batch_size=64, epochs=7), 718,
                         given=given_fields(epochs=7, batch_size=64))
    assert (kept.batch_size, kept.epochs) == (64, 7) and kept.steps_per_epoch == 25
    one_pass = plan_schedule(dataclasses.replace(config, steps_per_epoch=0), 718,
                             given=given_fields(overrides={"steps_per_epoch": "0"}))
    assert one_pass.steps_per_epoch == 718 // one_pass.batch_size
    paper = preset_config("pianoroll_lstm", "2x256")
    assert plan_schedule(paper, 718) == paper
    # Several processes under torchrun share the passes.
    assert plan_schedule(config, 7180, world_size=2).steps_per_epoch == 7180 // (2 * 64)


def test_an_unknown_schedule_is_one_clear_error(songs, tmp_path):
    result = run(train_cmd("pianoroll_lstm", songs, tmp_path / "m.safetensors", "--set", "schedule=sometimes"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "schedule must be one of auto, fixed, not 'sometimes'" in result.stderr


def test_preprocess_shows_the_plan_training_uses(songs, tmp_path):
    result = run([PY, "-m", "composer.cli", "preprocess", str(songs), "--family", "note_symbol_lstm",
                  "--workers", "1", "--cache-dir", str(tmp_path)])
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("training"))
    assert "(planned for this data)" in line and "batches of 8" in line
    out = tmp_path / "m.safetensors"
    trained = run(train_cmd("note_symbol_lstm", songs, out, "--epochs", "1", "--progress", "json",
                            preset="grid"), timeout=600)
    assert trained.returncode == 0, trained.stderr
    start = events(trained.stdout)[0]
    assert start["steps_per_epoch"] == schedule.MIN_EPOCH_STEPS
    assert read_metadata(out)["config"]["batch_size"] == 8 and read_metadata(out)["config"]["epochs"] == 1


def test_a_time_limit_ends_the_run_saved_and_offers_to_continue(songs, tmp_path):
    out = tmp_path / "m.safetensors"
    # Epochs of 400 steps: the limit (1.2 s) ends the first one early, and the header counts the
    # steps taken, not the epoch's 400.
    result = run(train_cmd("pianoroll_lstm", songs, out, "--epochs", "100000", "--minutes", "0.02",
                           "--steps-per-epoch", "400", "--patience", "1000", "--progress", "json",
                           preset="2x256-beat"))
    assert result.returncode == 0, result.stderr
    seen = events(result.stdout)
    done = seen[-1]
    assert done["event"] == "done" and done["reason"] == "time limit: 0.02 minutes of training"
    assert seen[-1]["time"] < 60 and out.exists()
    steps = read_metadata(out)["training"]["steps"]
    assert 0 < steps < 400
    # A second of training is under-trained: the command says so and how to go on.
    assert done["undertrained"].startswith("Probably under-trained")
    assert done["continue_command"].endswith(f"--resume --epochs {done['continue_epochs']}")
    assert "To train on from where it ended" in result.stderr
    more = run(train_cmd("pianoroll_lstm", songs, out, "--resume", "--epochs", str(done["continue_epochs"]),
                         "--progress", "json", preset="2x256-beat"), timeout=600)
    assert more.returncode == 0, more.stderr
    again = events(more.stdout)
    assert again[0]["resumed_from_epoch"] == done["epochs_run"]
    assert again[-1]["epochs_run"] == done["continue_epochs"]


def test_a_time_limit_leaves_no_stage_untrained(songs, tmp_path):
    """The VAE trains its VAEs, then the networks that step their latents: a time limit shares
    out over both, or the model could not continue anything."""
    out = tmp_path / "vae.safetensors"
    result = run(train_cmd("multitrack_vae", songs, out, "--epochs", "4000", "--minutes", "0.1", "--patience", "100000",
                           "--progress", "json"))
    assert result.returncode == 0, result.stderr
    seen = events(result.stdout)
    stages = [e["stage"] for e in seen if e["event"] == "epoch"]
    assert stages[0] == "vae" and stages[-1] == "predictors"
    assert seen[-1]["reason"] == "time limit: 0.1 minutes of training"


@pytest.mark.parametrize("minutes", ["-1", "soon"])
def test_a_bad_time_limit_is_refused(songs, tmp_path, minutes):
    result = run(train_cmd("pianoroll_lstm", songs, tmp_path / "m.safetensors", "--minutes", minutes))
    assert result.returncode != 0 and "Traceback" not in result.stderr and "--minutes" in result.stderr


def test_the_learning_rate_halves_when_the_validation_loss_stalls(songs, tmp_path):
    """--set lr_halving_patience=1: every epoch without a better validation loss halves it."""
    out = tmp_path / "m.safetensors"
    result = run(train_cmd("pianoroll_lstm", songs, out, "--epochs", "60", "--patience", "100", "--lr", "0.05",
                           "--set", "lr_halving_patience=1", "--progress", "json"))
    assert result.returncode == 0, result.stderr
    seen = events(result.stdout)
    epochs = [e for e in seen if e["event"] == "epoch"]
    stalls = sum(not e["best"] for e in epochs[:-1])
    last_lr = [e["lr"] for e in seen if e["event"] == "step"][-1]
    assert stalls >= 1 and last_lr == pytest.approx(0.05 * 0.5 ** stalls)


def test_key_normalised_piano_rolls_may_still_move_a_few_semitones(songs, tmp_path):
    """--set normalized_shifts=2: the windows of a key-normalised model move at most 2 semitones
    either way (more variety from a small corpus, still near C major / A minor); without it they
    stay put."""
    import numpy as np

    from composer.models.base import load_model
    from composer.models.pianoroll_common import RollWindows, augment_shifts

    out = tmp_path / "m.safetensors"
    result = run(train_cmd("pianoroll_lstm", songs, out, "--epochs", "1", "--set", "normalized_shifts=2",
                           "--progress", "json"))
    assert result.returncode == 0, result.stderr
    assert events(result.stdout)[0]["augment"] is True
    model, _ = load_model(out)
    assert model.key_normalized and augment_shifts(model) == (-2, 2)
    roll = np.zeros((40, 128), dtype=np.uint8)
    roll[:, 60] = 1
    windows = RollWindows([roll], (36, 96), 16, training=True, augment=True, shifts=augment_shifts(model))
    assert windows.shifts == [[-2, -1, 0, 1, 2]]
    plain = run(train_cmd("pianoroll_lstm", songs, tmp_path / "p.safetensors", "--epochs", "1", "--progress", "json"))
    assert plain.returncode == 0 and events(plain.stdout)[0]["augment"] is False


def test_small_shifts_are_refused_where_they_would_move_through_every_key(songs, tmp_path):
    result = run(train_cmd("note_symbol_lstm", songs, tmp_path / "m.safetensors", "--set", "normalized_shifts=2"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "normalized_shifts applies to the piano-roll families, not note_symbol_lstm" in result.stderr
