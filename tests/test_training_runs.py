"""Training runs on disk (composer.training.runs), without Qt: the command a run starts, reading
its progress file as it grows, its status after each way a trainer can end, and the list of runs."""

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from composer.core.errors import ComposerError
from composer.training import runs
from composer.training.runs import TrainSettings, TrainingRun, list_runs, runs_dir


@pytest.fixture(autouse=True)
def run_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    monkeypatch.setenv("COMPOSER_RUNS", str(root))
    monkeypatch.setenv("COMPOSER_MODELS", str(tmp_path / "models"))
    return root


def settings(tmp_path, **fields) -> TrainSettings:
    return TrainSettings(**{"family": "pianoroll_lstm", "data": str(tmp_path / "my songs"),
                            "out": str(tmp_path / "models" / "m.safetensors"), **fields})


def write_progress(run: TrainingRun, *events, tail: str = "") -> None:
    with open(run.progress_path, "a", encoding="utf-8") as handle:
        for event in events:
            handle.write((event if isinstance(event, str) else json.dumps(event)) + "\n")
        handle.write(tail)


LAUNCH = {"event": "launch", "resume": False, "at": 0}


# ----------------------------------------------------------------------------- the command
def test_train_args_leave_unset_fields_to_the_preset(tmp_path):
    s = settings(tmp_path)
    assert s.train_args() == ["--family", "pianoroll_lstm", "--data", s.data, "--out", s.out,
                              "--device", "auto", "--seed", "0"]


def test_train_args_carry_every_setting(tmp_path):
    s = settings(tmp_path, preset="tiny", name="My model", recursive=False, epochs=7, batch_size=3,
                 learning_rate=0.002, seq_len=32, valid_fraction=0.2, test_fraction=0.05, augment=False,
                 patience=4, device="cpu", seed=9, overrides={"slots": "lpd5", "dropout": "0.5"})
    args = s.train_args()
    assert args[:6] == ["--family", "pianoroll_lstm", "--data", s.data, "--preset", "tiny"]
    pairs = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")
             and not args[i + 1].startswith("--")}
    assert pairs["--out"] == s.out and pairs["--name"] == "My model"
    assert (pairs["--epochs"], pairs["--batch-size"], pairs["--lr"], pairs["--seq-len"]) == ("7", "3", "0.002", "32")
    assert (pairs["--valid-split"], pairs["--test-split"], pairs["--patience"]) == ("0.2", "0.05", "4")
    assert (pairs["--device"], pairs["--seed"]) == ("cpu", "9")
    assert [args[i + 1] for i, a in enumerate(args) if a == "--set"] == ["slots=lpd5", "dropout=0.5"]
    assert "--no-recursive" in args and "--no-augment" in args
    # The real parser takes them.
    import argparse

    from composer.training.train_cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    parsed = parser.parse_args(args)
    assert parsed.epochs == 7 and parsed.learning_rate == 0.002 and parsed.no_augment and parsed.no_recursive
    assert parsed.set == ["slots=lpd5", "dropout=0.5"] and parsed.valid_fraction == 0.2


def test_preprocess_args_read_the_data_as_training_will(tmp_path):
    s = settings(tmp_path, preset="tiny", recursive=False, valid_fraction=0.25, test_fraction=0.1, epochs=3,
                 overrides={"slots": "lpd5"})
    args = s.preprocess_args()
    assert args[0] == s.data and "--data" not in args and "--out" not in args and "--epochs" not in args
    assert args[1:] == ["--family", "pianoroll_lstm", "--preset", "tiny", "--set", "slots=lpd5",
                        "--no-recursive", "--valid-split", "0.25", "--test-split", "0.1"]
    import argparse

    from composer.training.preprocess_cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    parsed = parser.parse_args(args)
    assert parsed.valid_fraction == 0.25 and parsed.no_recursive


def test_the_command_and_its_torchrun_form_are_quoted_for_a_shell(tmp_path):
    s = settings(tmp_path, preset="tiny", name="Bach's chorales", epochs=5)
    command = s.command()
    assert command.startswith("composer train --family pianoroll_lstm")
    assert shlex.split(command)[2:] == s.train_args()  # the folder with a space survives
    torchrun = shlex.split(s.torchrun_command())
    assert torchrun[:5] == ["torchrun", "--nproc_per_node=gpu", "-m", "composer.cli", "train"]
    assert torchrun[5:] == s.train_args()


# ----------------------------------------------------------------------------- the run folder
def test_a_new_run_keeps_its_settings_and_is_new(tmp_path, run_root):
    s = settings(tmp_path, preset="tiny", epochs=3, overrides={"slots": "lpd5"})
    run = TrainingRun.create(s)
    assert run.folder.parent == run_root == runs_dir()
    assert run.folder.name.endswith("-m") and run.record_path.is_file()
    assert TrainingRun(run.folder).settings == s
    assert run.pid is None and not run.is_alive()
    assert run.status() == "new" and run.read_new_events() == []


def test_a_run_folder_that_cannot_be_made_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    with pytest.raises(ComposerError, match="cannot create a run folder"):
        TrainingRun.create(settings(tmp_path), root=blocker / "runs")


def test_unreadable_run_record_is_a_clear_error(tmp_path, run_root):
    run = TrainingRun.create(settings(tmp_path))
    run.record_path.write_text("{half")
    with pytest.raises(ComposerError, match="not a readable training run"):
        run.settings


def test_list_runs_newest_first(tmp_path, run_root):
    assert list_runs() == []
    first = TrainingRun.create(settings(tmp_path))
    second = TrainingRun.create(settings(tmp_path))  # the same second: a -2 folder
    assert first.folder != second.folder
    old = run_root / "20200101-000000-old"
    old.mkdir()
    (old / "run.json").write_text(first.record_path.read_text())
    (run_root / "20990101-000000-not-a-run").mkdir()  # no run.json: left out
    listed = [r.folder for r in list_runs()]
    assert listed == [second.folder, first.folder, old]
    assert [r.folder for r in list_runs(run_root)] == listed


# ----------------------------------------------------------------------------- progress events
def test_read_new_events_waits_for_a_half_written_line(tmp_path):
    run = TrainingRun.create(settings(tmp_path))
    write_progress(run, LAUNCH, {"event": "start", "epochs": 2}, tail='{"event": "step", "ep')
    assert [e["event"] for e in run.read_new_events()] == ["launch", "start"]
    assert run.read_new_events() == []  # the half line is not an event yet
    write_progress(run, 'och": 1, "step": 1, "steps": 4, "loss": 2.5}',
                   "a library's print, not an event", "{not json either", {"event": "epoch", "epoch": 1})
    events = run.read_new_events()
    assert events == [{"event": "step", "epoch": 1, "step": 1, "steps": 4, "loss": 2.5},
                      {"event": "epoch", "epoch": 1}]
    assert run.read_new_events() == []
    run.rewind()
    assert [e["event"] for e in run.read_new_events()] == ["launch", "start", "step", "epoch"]
    assert [e["event"] for e in run.all_events()] == ["launch", "start", "step", "epoch"]


def test_read_new_events_before_the_file_exists(tmp_path):
    run = TrainingRun.create(settings(tmp_path))
    assert not run.progress_path.exists()
    assert run.read_new_events() == [] and run.all_events() == []


@pytest.mark.parametrize("events, status", [
    ([], "new"),
    ([{"event": "start"}], "new"),  # no launch line: never started from a run
    ([LAUNCH, {"event": "start"}, {"event": "epoch", "epoch": 1}, {"event": "done", "best_epoch": 1}], "done"),
    ([LAUNCH, {"event": "start"}, {"event": "stopped", "best_epoch": 1}], "stopped"),
    ([LAUNCH, {"event": "error", "message": "the data is too small for this preset"}], "error"),
    ([LAUNCH, {"event": "start"}, {"event": "epoch", "epoch": 1}], "crashed"),
    # Stopped once, then resumed and killed: the last launch decides.
    ([LAUNCH, {"event": "stopped"}, {**LAUNCH, "resume": True}, {"event": "step"}], "crashed"),
    ([LAUNCH, {"event": "stopped"}, {**LAUNCH, "resume": True}, {"event": "done"}], "done"),
])
def test_status_of_a_run_that_is_not_running(tmp_path, events, status):
    run = TrainingRun.create(settings(tmp_path))
    write_progress(run, *events)
    assert run.status() == status


def test_the_status_of_a_long_run_reads_its_end_and_goes_back_when_it_must(tmp_path):
    """A long run's progress file is megabytes: the status comes from its end, unless the last
    launch is further back than that."""
    step = {"event": "step", "epoch": 1, "step": 1, "steps": 9, "loss": 1.0, "metrics": {"f1_S": 0.5}}
    steps = [step] * (2 * runs.STATUS_TAIL_BYTES // len(json.dumps(step)))
    resumed = TrainingRun.create(settings(tmp_path))
    write_progress(resumed, LAUNCH, *steps, {"event": "stopped"}, {**LAUNCH, "resume": True}, *steps[:10],
                   {"event": "done"})
    assert resumed.progress_path.stat().st_size > 2 * runs.STATUS_TAIL_BYTES and resumed.status() == "done"
    killed = TrainingRun.create(settings(tmp_path, out=str(tmp_path / "models" / "k.safetensors")))
    write_progress(killed, LAUNCH, {"event": "stopped"}, {**LAUNCH, "resume": True}, *steps)
    assert killed.status() == "crashed"  # its last launch lies before the end that is read first


def test_failure_explains_an_error_and_a_crash(tmp_path):
    run = TrainingRun.create(settings(tmp_path))
    write_progress(run, LAUNCH, {"event": "error", "message": "the folder for m.safetensors does not exist"})
    assert run.failure() == "the folder for m.safetensors does not exist"
    crashed = TrainingRun.create(settings(tmp_path))
    write_progress(crashed, LAUNCH, {"event": "start"})
    crashed.log_path.write_text("$ python -m composer.cli train\nTraceback (most recent call last):\n"
                                "MemoryError: out of memory\n")
    text = crashed.failure()
    assert text.startswith("The trainer stopped unexpectedly (it is no longer running).")
    assert "MemoryError: out of memory" in text and "$ python" not in text


def _fake_trainer(seconds: float) -> subprocess.Popen:
    """A process whose command line looks like a trainer's (as the pid check reads it)."""
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})", "-m", "composer.cli",
                             "train"])


def test_a_running_trainer_is_found_again_by_its_pid(tmp_path):
    run = TrainingRun.create(settings(tmp_path))
    write_progress(run, LAUNCH, {"event": "start"})
    fake = _fake_trainer(60)
    try:
        record = json.loads(run.record_path.read_text())
        record["pid"] = fake.pid
        run.record_path.write_text(json.dumps(record))
        found = TrainingRun(run.folder)  # as after a restart of the app
        assert found.is_alive() and found.status() == "running"
        assert found.exit_code() is None  # not started by this object
        found.kill()
        fake.wait(timeout=10)
        assert not found.is_alive() and found.status() == "crashed"
    finally:
        fake.kill()
        fake.wait()


def test_a_reused_pid_is_not_taken_for_the_trainer(tmp_path):
    run = TrainingRun.create(settings(tmp_path))
    write_progress(run, LAUNCH, {"event": "start"}, {"event": "stopped"})
    record = json.loads(run.record_path.read_text())
    record["pid"] = os.getpid()  # alive, but pytest, not a trainer
    run.record_path.write_text(json.dumps(record))
    assert not run.is_alive() and run.status() == "stopped"


def test_start_writes_a_launch_line_and_logs_a_failing_trainer(tmp_path):
    """A trainer that dies at once: the launch is recorded, the pid kept, the log explains."""
    python = tmp_path / "broken-python"
    python.write_text("#!/bin/sh\necho 'cannot import torch: libtorch.so missing' >&2\nexit 3\n")
    python.chmod(0o755)
    run = TrainingRun.create(settings(tmp_path, preset="tiny", epochs=2))
    run.request_stop()  # a leftover stop request from before is cleared by start
    pid = run.start(python=str(python))
    assert not run.stop_path.exists()
    assert run.pid == pid
    deadline = time.monotonic() + 30
    while run.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.exit_code() == 3 and run.status() == "crashed"
    (launch,) = run.read_new_events()
    assert launch["event"] == "launch" and launch["resume"] is False
    log = run.log_path.read_text()
    assert f"$ {python} -m composer.cli train --family pianoroll_lstm" in log
    assert "--progress json --stop-file" in log
    assert run.failure() == ("The trainer stopped unexpectedly (exit code 3).\n\nLast lines of its log:\n"
                             "cannot import torch: libtorch.so missing")
    # Started again, as a resume: a second launch line, and the module-level python is used.
    runs_python = tmp_path / "other-python"
    runs_python.write_text("#!/bin/sh\nexit 0\n")
    runs_python.chmod(0o755)
    old, runs.TRAINER_PYTHON = runs.TRAINER_PYTHON, str(runs_python)
    try:
        run.start(resume=True)
    finally:
        runs.TRAINER_PYTHON = old
    run._process.wait(timeout=30)
    assert [e["resume"] for e in run.all_events()] == [False, True]
    assert run.log_path.read_text().rstrip().endswith("--resume")
    assert f"$ {runs_python} -m composer.cli train" in run.log_path.read_text()


def test_start_refuses_a_running_trainer(tmp_path):
    run = TrainingRun.create(settings(tmp_path))
    fake = _fake_trainer(60)
    try:
        record = json.loads(run.record_path.read_text())
        record["pid"] = fake.pid
        run.record_path.write_text(json.dumps(record))
        with pytest.raises(ComposerError, match="already running"):
            TrainingRun(run.folder).start()
    finally:
        fake.kill()
        fake.wait()


def test_one_description_of_the_numeric_settings_serves_both_commands_and_old_runs(tmp_path):
    """The wizard's settings, composer train and composer preprocess share composer.training.
    options: the same names, both spellings of the split flags, and runs saved under the old
    names still load."""
    import argparse
    import json

    from composer.training import preprocess_cli, train_cli
    from composer.training.options import TRAIN_OPTIONS
    from composer.training.runs import TrainingRun, TrainSettings
    from composer.training.trainer import TrainRequest

    fields = set(TrainRequest.__dataclass_fields__) & set(TrainSettings.__dataclass_fields__)
    assert {option.field for option in TRAIN_OPTIONS} <= fields
    train = argparse.ArgumentParser()
    train_cli.add_arguments(train)
    common = ["--family", "bar_lstm", "--data", "d", "--out", "o.safetensors"]
    assert train.parse_args(common + ["--valid-fraction", "0.3"]).valid_fraction == 0.3
    assert train.parse_args(common + ["--valid-split", "0.3"]).valid_fraction == 0.3
    prep = argparse.ArgumentParser()
    preprocess_cli.add_arguments(prep)
    assert prep.parse_args(["d", "--family", "bar_lstm", "--valid-split", "0.3"]).valid_fraction == 0.3
    run = TrainingRun.create(settings(tmp_path, valid_fraction=0.25), root=tmp_path / "runs")
    record = json.loads(run.record_path.read_text())
    record["settings"]["valid_split"] = record["settings"].pop("valid_fraction")  # as saved before
    run.record_path.write_text(json.dumps(record))
    assert run.settings.valid_fraction == 0.25
