"""Training through the real `composer train` command: progress, stop and resume, DDP, bad input."""

import json
import shutil
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from composer.models.checkpoint import read_metadata, resume_path
from engine_fixtures import write_training_folder

PY = sys.executable


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    return write_training_folder(tmp_path_factory.mktemp("songs"))


def train_cmd(family, data, out, *extra, preset="tiny"):
    return [PY, "-m", "composer.cli", "train", "--family", family, "--preset", preset,
            "--data", str(data), "--out", str(out), "--workers", "1", *extra]


def run(cmd, timeout=300, **kw):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **kw)


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("family", ["pianoroll_lstm", "pianoroll_seq2seq", "bar_lstm"])
def test_three_step_training_through_the_real_command(family, songs, tmp_path):
    out = tmp_path / f"{family}.safetensors"
    result = run(train_cmd(family, songs, out, "--epochs", "1", "--steps-per-epoch", "3",
                           "--progress", "json"))
    assert result.returncode == 0, result.stderr
    seen = events(result.stdout)
    kinds = [e["event"] for e in seen]
    assert kinds[0] == "start" and "epoch" in kinds and kinds[-1] == "done"
    assert sum(e["event"] == "step" for e in seen) >= 1
    meta = read_metadata(out)
    assert meta["family"] == family and meta["preset"] == "tiny"
    assert meta["data"]["files_used"] == 12
    assert "valid_loss" in meta["metrics"] and meta["training"]["epochs"] == 1
    assert resume_path(out).exists()


def test_terminal_progress_and_seeded_runs_are_identical(songs, tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.safetensors"
        result = run(train_cmd("pianoroll_lstm", songs, out, "--epochs", "2", "--seed", "7"))
        assert result.returncode == 0, result.stderr
        assert "epoch 2:" in result.stdout
        outs.append(out)
    from safetensors.torch import load_file

    a, b = (load_file(str(p)) for p in outs)
    assert all((a[k] == b[k]).all() for k in a)


def test_stop_saves_and_resume_continues(songs, tmp_path):
    out = tmp_path / "m.safetensors"
    stop_file = tmp_path / "stop"
    cmd = train_cmd("pianoroll_lstm", songs, out, "--epochs", "200", "--steps-per-epoch", "2",
                    "--patience", "500", "--progress", "json", "--stop-file", str(stop_file))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    epochs_seen = 0
    for line in proc.stdout:
        if line.startswith("{") and json.loads(line)["event"] == "epoch":
            epochs_seen += 1
            if epochs_seen == 2:
                stop_file.touch()
    proc.wait(timeout=120)
    assert proc.returncode == 0, proc.stderr.read()
    stopped_at = read_metadata(out)
    assert out.exists() and resume_path(out).exists()
    stop_file.unlink()
    result = run(train_cmd("pianoroll_lstm", songs, out, "--resume", "--epochs", "5", "--progress", "json"))
    assert result.returncode == 0, result.stderr
    start = events(result.stdout)[0]
    assert start["event"] == "start" and start["resumed_from_epoch"] >= 2
    epochs = [e["epoch"] for e in events(result.stdout) if e["event"] == "epoch"]
    assert epochs and epochs[0] == start["resumed_from_epoch"] + 1
    assert stopped_at["family"] == "pianoroll_lstm"


def test_a_killed_training_resumes_from_its_last_checkpoint(songs, tmp_path):
    out = tmp_path / "m.safetensors"
    cmd = train_cmd("pianoroll_lstm", songs, out, "--epochs", "500", "--steps-per-epoch", "2",
                    "--patience", "1000", "--progress", "json")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    for line in proc.stdout:
        if line.startswith("{") and json.loads(line)["event"] == "epoch" and json.loads(line)["epoch"] >= 3:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert read_metadata(out)["family"] == "pianoroll_lstm"  # a complete, loadable checkpoint
    result = run(train_cmd("pianoroll_lstm", songs, out, "--resume", "--epochs", "6", "--progress", "json"))
    assert result.returncode == 0, result.stderr
    assert events(result.stdout)[0]["resumed_from_epoch"] >= 3


@pytest.mark.parametrize("head, port", [("independent", 29517), ("nade", 29518)])
def test_two_process_ddp_under_torchrun(songs, tmp_path, head, port):
    out = tmp_path / "ddp.safetensors"
    cmd = [PY, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
           "-m", "composer.cli", "train", "--family", "pianoroll_lstm", "--preset", "tiny",
           "--data", str(songs), "--out", str(out), "--workers", "1", "--epochs", "2",
           "--device", "cpu", "--progress", "json", "--set", f"head={head}"]
    result = run(cmd, timeout=300)
    # torchrun's own report ends stderr; the ranks' messages come first
    assert result.returncode == 0, result.stderr[:3000] + "\n...\n" + result.stderr[-1000:]
    start = [e for e in events(result.stdout) if e["event"] == "start"]
    assert len(start) == 1 and start[0]["world_size"] == 2  # only rank 0 reports
    meta = read_metadata(out)
    assert meta["training"]["world_size"] == 2 and meta["config"]["head"] == head


@pytest.mark.parametrize("make, message", [
    (lambda d: None, "no MIDI files"),
    (lambda d: (d / "bad.mid").write_text("not midi"), "could be used"),
])
def test_bad_data_is_one_clear_error_and_overwrites_nothing(tmp_path, make, message):
    data = tmp_path / "data"
    data.mkdir()
    make(data)
    out = tmp_path / "keep.safetensors"
    out.write_bytes(b"precious")
    result = run(train_cmd("pianoroll_lstm", data, out))
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert out.read_bytes() == b"precious"


def test_unknown_preset_and_nothing_to_resume(songs, tmp_path):
    result = run(train_cmd("pianoroll_lstm", songs, tmp_path / "m.safetensors", preset="huge"))
    assert result.returncode == 1 and "no preset 'huge'" in result.stderr
    result = run(train_cmd("pianoroll_lstm", songs, tmp_path / "m.safetensors", "--resume"))
    assert result.returncode == 1 and "nothing to resume" in result.stderr


def test_resuming_a_checkpoint_of_another_family_is_refused(songs, tmp_path):
    out = tmp_path / "m.safetensors"
    assert run(train_cmd("bar_lstm", songs, out, "--epochs", "1")).returncode == 0
    result = run(train_cmd("pianoroll_lstm", songs, out, "--resume"))
    assert result.returncode == 1 and "bar_lstm" in result.stderr


def test_resume_can_train_for_more_epochs(songs, tmp_path):
    out = tmp_path / "m.safetensors"
    first = run(train_cmd("pianoroll_lstm", songs, out, "--epochs", "2", "--steps-per-epoch", "2",
                          "--progress", "json"))
    assert first.returncode == 0, first.stderr
    more = run(train_cmd("pianoroll_lstm", songs, out, "--resume", "--epochs", "4", "--progress", "json"))
    assert more.returncode == 0, more.stderr
    assert [e["epoch"] for e in events(more.stdout) if e["event"] == "epoch"] == [3, 4]


def test_measure_times_a_few_steps_and_writes_nothing(songs, tmp_path):
    """The wizard's estimate of the time per epoch; subfolders are read unless --no-recursive."""
    nested = tmp_path / "nested"
    shutil.copytree(songs, nested / "inner")
    out = tmp_path / "m.safetensors"
    result = run(train_cmd("bar_lstm", nested, out, "--measure", "2", "--steps-per-epoch", "7",
                           "--progress", "json"))
    assert result.returncode == 0, result.stderr
    measure = events(result.stdout)[-1]
    assert measure["event"] == "measure" and measure["steps_per_epoch"] == 7
    assert measure["seconds_per_epoch"] == pytest.approx(7 * measure["seconds_per_step"])
    assert not out.exists() and not resume_path(out).exists()
    result = run(train_cmd("bar_lstm", nested, out, "--measure", "2", "--no-recursive"))
    assert result.returncode != 0 and "no MIDI files" in result.stderr


def test_set_may_name_fields_that_have_their_own_options():
    """``--set epochs=3`` is the same as ``--epochs 3``; the option wins when both are given."""
    from composer.training.trainer import family_config

    _, config = family_config("bar_lstm", "tiny", {"epochs": "3", "steps_per_epoch": "5"})
    assert (config.epochs, config.steps_per_epoch) == (3, 5)
    _, config = family_config("bar_lstm", "tiny", {"epochs": "3"}, epochs=7, steps_per_epoch=None)
    assert config.epochs == 7
