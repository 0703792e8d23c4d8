"""The training wizard, driven with pytest-qt through the real child processes (``composer
preprocess``, ``composer train --measure`` and the detached ``composer train``) on small folders
of self-made songs with the tiny preset: the whole way to a model that generates, stop and
resume, a trainer killed, a full disk, bad folders, and closing the app while it trains."""

import os
import signal
import stat
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from composer.core import Score, TempoChange, Track, make_notes
from composer.gui.main_window import MainWindow
from composer.gui.training.pages import DATA, FINISH, FOLDER, MODEL, SETTINGS, TRAIN
from composer.io.midi import write_midi
from composer.models.checkpoint import read_metadata, resume_path
from composer.models.registry import FAMILIES
from composer.training import runs as runs_module
from composer.training.runs import list_runs
from engine_fixtures import arpeggio_song, write_training_folder

FAMILY = "pianoroll_lstm"
#: Child processes import torch on a loaded machine: be patient.
SLOW = 120_000


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    return write_training_folder(tmp_path_factory.mktemp("wizard") / "my songs", 8)


@pytest.fixture
def user_folders(tmp_path, monkeypatch):
    models, runs = tmp_path / "models", tmp_path / "runs"
    monkeypatch.setenv("COMPOSER_MODELS", str(models))
    monkeypatch.setenv("COMPOSER_RUNS", str(runs))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the children inherit it
    yield models, runs
    for run in list_runs(runs):  # never leave a trainer running
        if run.is_alive():
            os.kill(run.pid, signal.SIGKILL)


@pytest.fixture
def window(qtbot, tmp_path, user_folders, monkeypatch):
    # A question left open would block the test; tests of the question set their own answer.
    monkeypatch.setattr(MainWindow, "ask_about_training", lambda self: "keep")
    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    for run in list_runs(user_folders[1]):
        if run.is_alive():
            os.kill(run.pid, signal.SIGKILL)
    win.close()


# ----------------------------------------------------------------------------- helpers
def choose_model(wizard, family=FAMILY, preset="tiny"):
    page = wizard.model_page
    page.family.setCurrentIndex(page.family.findData(family))
    page.preset.setCurrentIndex(page.preset.findData(preset))


def read_data(qtbot, wizard, folder, family=FAMILY):
    """Folder page -> model page -> data page; wait for ``composer preprocess`` to end."""
    assert wizard.currentId() == FOLDER
    wizard.folder_page.folder.setText(str(folder))
    wizard.next()
    assert wizard.currentId() == MODEL
    choose_model(wizard, family)
    wizard.next()
    assert wizard.currentId() == DATA
    qtbot.waitUntil(lambda: wizard.data_page.command is None, timeout=SLOW)


def start_training(qtbot, wizard, folder, epochs, early_stop=False):
    """Drive the wizard to a started training (without waiting for the time estimate)."""
    read_data(qtbot, wizard, folder)
    assert wizard.data_page.isComplete(), wizard.data_page.error.text()
    wizard.next()
    assert wizard.currentId() == SETTINGS
    wizard.settings_page.epochs.setValue(epochs)
    wizard.settings_page.early_stop.setChecked(early_stop)
    wizard.next()  # Start training (the commit button)
    assert wizard.currentId() == TRAIN and wizard.run is not None
    return wizard.run


def wait_for_checkpoint(qtbot, wizard):
    """Until the trainer has finished an epoch and saved the model."""
    qtbot.waitUntil(lambda: len(wizard.training_page.curves.valid_x) >= 1, timeout=SLOW)
    assert Path(wizard.run.settings.out).exists()


def wait_until_ended(qtbot, wizard):
    qtbot.waitUntil(lambda: not wizard.is_training() and bool(wizard.training_page.message.text()), timeout=SLOW)


# ----------------------------------------------------------------------------- the whole way
def test_the_whole_wizard_makes_a_model_that_generates(qtbot, window, songs, user_folders):
    models, _ = user_folders
    wizard = window.open_training_wizard()
    assert wizard.isVisible() and window.open_training_wizard() is wizard

    # 1. Folder: the count follows the folder and the subfolder choice.
    folder_page = wizard.folder_page
    assert not folder_page.earlier.isVisible()  # no earlier training to continue
    folder_page.folder.setText(str(songs))
    assert folder_page.count.text() == "8 MIDI files" and folder_page.isComplete()
    wizard.next()

    # 2. Model: every family, its paper, its data options (the VAE's slots, LPD-5 by default).
    page = wizard.model_page
    assert page.family.count() == len(FAMILIES)
    choose_model(wizard, "multitrack_vae", "tiny")
    assert FAMILIES["multitrack_vae"].paper in page.about.text()
    assert not page.options_box.isHidden()
    assert page.overrides()["slots"] == "lpd5"
    choose_model(wizard, FAMILY, "tiny")
    # Every family asks about keys: normalised to C major / A minor by default.
    assert FAMILIES[FAMILY].paper in page.about.text() and page.overrides() == {"key_normalize": "true"}
    # The default preset is tied to the beat; the paper's 16-frames-a-second one is marked.
    assert page.preset.itemText(page.preset.findData("2x256")).endswith("(the paper's)")
    assert page.preset.itemText(page.preset.findData(FAMILIES[FAMILY].default_preset)) == "2x256-beat"
    wizard.next()

    # 3. Data: what `composer preprocess` found.
    qtbot.waitUntil(lambda: wizard.data_page.isComplete(), timeout=SLOW)
    data = wizard.data_page
    summary = data.summary.text()
    assert "<b>8</b> files used, <b>0</b> skipped (8 found)" in summary
    assert "Pitches" in summary and "Acoustic Grand Piano (8)" in summary and "notes" in summary
    assert "training examples" in summary and not data.error.text()
    assert data.result["summary"]["files_used"] == 8
    wizard.next()

    # 4. Settings: the preset's values, the command, and an estimate measured in a child.
    settings_page = wizard.settings_page
    config = data.result["config"]
    assert settings_page.epochs.value() == config["epochs"]
    assert settings_page.batch_size.value() == config["batch_size"]
    assert settings_page.seq_len.value() == config["seq_len"]
    assert settings_page.name.text() == f"my songs ({FAMILIES[FAMILY].name}, tiny)"
    # Random transposition would undo the key normalisation: off, and not offered.
    assert not settings_page.augment.isChecked() and not settings_page.augment.isEnabled()
    qtbot.waitUntil(lambda: settings_page.measure is None, timeout=SLOW)
    assert settings_page.estimate.text().startswith("About "), settings_page.estimate.text()
    assert "an epoch" in settings_page.estimate.text()
    settings_page.epochs.setValue(3)
    assert "for 3 epochs" in settings_page.estimate.text()
    settings_page.batch_size.setValue(settings_page.batch_size.value() + 1)
    assert "Estimate again" in settings_page.estimate.text()
    settings_page.batch_size.setValue(config["batch_size"])
    settings_page.name.setText("Arpeggios")
    command = settings_page.command_text.toPlainText()
    expected = settings_page.settings()
    assert expected.command() in command and "--epochs 3" in command
    assert "--set key_normalize=true" in command
    if FAMILIES[FAMILY].multi_gpu:
        assert expected.torchrun_command() in command
    assert not settings_page.problem.text() and settings_page.isComplete()
    wizard.next()  # Start training

    # 5. Training: live events and curves; the window is never blocked (the trainer is detached).
    assert wizard.currentId() == TRAIN and wizard.is_training()
    page = wizard.training_page
    assert not page.isComplete() and page.stop_button.isEnabled()
    with qtbot.waitSignal(wizard.model_ready, timeout=SLOW) as ready:
        pass
    out = models / "arpeggios.safetensors"
    assert ready.args == [str(out)]
    qtbot.waitUntil(page.isComplete, timeout=SLOW)
    assert wizard.run.status() == "done" and wizard.run.exit_code() == 0
    assert page.curves.valid_x == [1, 2, 3] and len(page.curves.train_x) >= 3
    assert page.curves.metric_choice.count() >= 1 and page.curves.metrics
    assert "Epoch <b>3</b> of 3" in page.state.text() and "on cpu" in page.state.text()
    assert "<b>done</b>" in page.state.text()
    assert page.message.text().startswith("Finished")
    # 3 tiny epochs of one pass (13 steps) are far too few: the page says so and offers as many again.
    assert "Probably under-trained: it learned from only 39 batches (3 epochs)" in page.message.text()
    assert not page.stop_button.isEnabled() and not page.resume_button.isHidden()
    assert page.resume_button.text() == "Continue training (to epoch 6)"
    assert "$ " in wizard.run.log_path.read_text()  # the log is kept

    # The model is in the picker at once.
    assert window.model_picker.select_path(str(out))
    meta = read_metadata(out)
    assert meta["name"] == "Arpeggios" and meta["family"] == FAMILY and meta["training"]["epochs"] == 3

    # 6. Finish: Try it selects the model for generation, and it generates.
    wizard.next()
    assert wizard.currentId() == FINISH and str(out) in wizard.finish_page.text.text()
    assert not wizard.finish_page.continue_button.isHidden()
    window.model_picker.list.setCurrentRow(0)
    wizard.finish_page.try_button.click()
    assert not wizard.isVisible()
    assert window.model_picker.current_path() == str(out)
    qtbot.waitUntil(lambda: window.generation_panel.generate_button.isEnabled(), timeout=SLOW)
    window._load(arpeggio_song(60, bars=2), None)
    window.editor.set_active_track(window.score.tracks[0].id)
    window.editor.set_playhead(3840)
    window.generation_panel.variations.setValue(1)
    with qtbot.waitSignal(window.generation.service.finished, timeout=SLOW):
        window.generation_panel.generate_button.click()
    qtbot.waitUntil(lambda: window.generation_panel.candidates.count() == 1)
    assert len(window.generation.candidates[0][0].notes) > 0


# ----------------------------------------------------------------------------- the options table
def test_the_settings_page_makes_its_number_boxes_from_the_options_table(qtbot, tmp_path, monkeypatch):
    """Every option of composer.training.options with a wizard label has its spin box: range,
    step, unit, tooltip, label and start value from the table; the data's plan fills in the
    preset's values, and each value the page shows reaches the command."""
    from PySide6.QtWidgets import QFormLayout

    from composer.gui.training.option_widgets import option_value
    from composer.gui.training.wizard import TrainingWizard
    from composer.training.options import TRAIN_OPTIONS

    monkeypatch.setenv("COMPOSER_MODELS", str(tmp_path / "models"))
    wizard = TrainingWizard()
    qtbot.addWidget(wizard)
    page = wizard.settings_page
    shown = [option for option in TRAIN_OPTIONS if option.in_wizard]
    assert [option.field for option in shown] == list(page.option_widgets) == [
        "epochs", "batch_size", "learning_rate", "seq_len", "valid_fraction", "patience", "minutes", "seed"]
    labels = {}  # each form row's label -> the widgets in its field
    for row in range(page.form.rowCount()):
        label = page.form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        field = page.form.itemAt(row, QFormLayout.ItemRole.FieldRole)
        if label is not None and field is not None:
            inner = field.layout()
            widgets = [inner.itemAt(i).widget() for i in range(inner.count())] if inner else [field.widget()]
            labels[label.widget().text()] = widgets
    for option in shown:
        box = page.option_widgets[option.field]
        low = option.lo - option.step if option.none_text else option.lo
        assert (box.minimum(), box.maximum()) == pytest.approx((low, option.hi)), option.field
        assert box.singleStep() == pytest.approx(option.step), option.field
        assert box.decimals() == option.decimals if option.decimals else not hasattr(box, "decimals")
        assert box.toolTip() == option.tooltip and option.help.split()[0].lower() in box.toolTip().lower()
        assert (box.suffix(), box.specialValueText()) == (option.suffix, option.none_text), option.field
        assert box in labels[option.label], option.field
        if option.default is not None or option.none_text:  # (else the plan fills it in)
            assert option_value(box, option) == option.default, option.field
    assert page.option_widgets["minutes"].text() == "none" and page.settings().minutes is None

    # The plan's values, as composer preprocess reports them, fill in the preset's settings.
    config = {"epochs": 37, "batch_size": 24, "learning_rate": 0.0025, "seq_len": 48, "valid_fraction": 0.15,
              "patience": 6, "steps_per_epoch": 30, "schedule": "auto"}
    wizard.data_page.result = {"config": config, "devices": ["cpu"]}
    wizard.folder_page.folder.setText(str(tmp_path / "my songs"))
    monkeypatch.setattr(page, "_measure", lambda: None)  # (no child process)
    page.option_widgets["seed"].setValue(5)
    page.option_widgets["minutes"].setValue(90)
    page.initializePage()
    settings = page.settings()
    for option in shown:
        if option.field in config:
            assert option_value(page.option_widgets[option.field], option) == config[option.field], option.field
    assert (settings.seed, settings.minutes, settings.steps_per_epoch) == (5, 90, 30)  # no preset's
    words = settings.train_args()
    for option in shown:
        value = getattr(settings, option.field)
        assert words[words.index(option.flags[0]) + 1] == str(value), option.field
        assert value == option_value(page.option_widgets[option.field], option)
    assert settings.command() in page.command_text.toPlainText()
    page.early_stop.setChecked(False)
    assert page.settings().patience == 37 and not page.patience.isEnabled()


# ----------------------------------------------------------------------------- stop, resume, full disk
def test_stop_and_resume_even_after_a_full_disk(qtbot, window, songs, user_folders, tmp_path, monkeypatch):
    EPOCHS = 300  # tiny epochs take ~20 ms: enough to stop it before the end, few enough to finish soon
    wizard = window.open_training_wizard()
    run = start_training(qtbot, wizard, songs, epochs=EPOCHS)
    page = wizard.training_page
    wait_for_checkpoint(qtbot, wizard)
    page.stop_button.click()
    assert page.stop_button.text().startswith("Stopping")
    wait_until_ended(qtbot, wizard)
    assert run.status() == "stopped" and run.exit_code() == 0
    assert page.message.text().startswith("Stopped and saved")
    assert not page.resume_button.isHidden() and page.isComplete()
    out = Path(run.settings.out)
    saved, saved_state = out.read_bytes(), resume_path(out).read_bytes()
    epochs_done = wizard.final_event["epochs_run"]
    assert epochs_done < EPOCHS and page.curves.valid_x == list(range(1, epochs_done + 1))

    # Continue on a full disk: the trainer cannot write its checkpoints and says so.
    wrapper = tmp_path / "python-on-a-full-disk"
    # Half the saved model's size a file for the trainer's own writes (its checkpoints; a fixed
    # size would depend on the model's pitch range). Its progress lines go through a pipe to an
    # unlimited `cat`: the run's progress file may already be larger than that.
    blocks = max(len(saved) // 2048, 1)  # ulimit -f counts 1 KiB blocks
    wrapper.write_text(f"#!/bin/bash\nset -o pipefail\n( ulimit -f {blocks}; exec {sys.executable} \"$@\" ) | cat\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(runs_module, "TRAINER_PYTHON", str(wrapper))
    page.resume_button.click()
    assert wizard.is_training() and page.resume_button.isHidden()
    wait_until_ended(qtbot, wizard)
    assert run.status() == "error", run.log_tail()
    assert "File too large" in page.message.text() and "The last saved model is kept." in page.message.text()
    assert "<b>error</b>" in page.state.text() and not page.resume_button.isHidden()
    # Nothing saved before is lost or half-written.
    assert out.read_bytes() == saved and resume_path(out).read_bytes() == saved_state
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]
    from composer.models.base import load_model

    load_model(out)

    # Another day: a new wizard offers the run, and continuing it finishes the training.
    monkeypatch.setattr(runs_module, "TRAINER_PYTHON", None)
    wizard.reject()
    again = window.open_training_wizard()
    assert again is not wizard
    folder_page = again.folder_page
    assert folder_page.earlier.isVisible() and folder_page.runs.count() == 1
    assert folder_page.runs.item(0).text().endswith(": error")
    assert not folder_page.resume_button.isEnabled()
    folder_page.runs.setCurrentRow(0)
    folder_page.resume_button.click()
    assert again.currentId() == TRAIN and again.is_training()
    resumed = again.training_page
    assert resumed.curves.valid_x[:epochs_done] == list(range(1, epochs_done + 1))  # the earlier epochs
    wait_until_ended(qtbot, again)
    assert again.run.status() == "done", again.run.log_tail()
    assert resumed.message.text().startswith("Finished")
    assert resumed.curves.valid_x == list(range(1, EPOCHS + 1))
    events = again.run.all_events()
    assert [e["resume"] for e in events if e["event"] == "launch"] == [False, True, True]
    assert [e["resumed_from_epoch"] for e in events if e["event"] == "start"][-1] == epochs_done
    assert read_metadata(out)["training"]["epochs"] >= epochs_done
    assert window.model_picker.select_path(str(out))


def test_a_killed_trainer_is_reported_and_its_checkpoint_kept(qtbot, window, songs, user_folders):
    from composer.models.base import load_model

    wizard = window.open_training_wizard()
    run = start_training(qtbot, wizard, songs, epochs=1000)
    wait_for_checkpoint(qtbot, wizard)
    os.kill(run.pid, signal.SIGKILL)
    wait_until_ended(qtbot, wizard)
    page = wizard.training_page
    text = page.message.text()
    assert "stopped unexpectedly" in text and "killed by signal 9" in text
    assert text.endswith("The last saved model is kept.")
    assert "<b>crashed</b>" in page.state.text() and not page.resume_button.isHidden()
    assert run.status() == "crashed"
    out = Path(run.settings.out)
    assert out.exists() and resume_path(out).exists()
    load_model(out)
    assert window.model_picker.select_path(str(out))  # what was saved is usable
    # A new wizard offers to continue it.
    wizard.reject()
    again = window.open_training_wizard()
    assert [again.folder_page.runs.item(i).text() for i in range(again.folder_page.runs.count())] == \
        [f"{run.settings.name}: crashed"]


# ----------------------------------------------------------------------------- bad input
def test_an_empty_folder_says_so_and_cannot_go_on(qtbot, window, tmp_path):
    wizard = window.open_training_wizard()
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no music here")
    page = wizard.folder_page
    page.folder.setText(str(empty))
    assert page.count.text().startswith("No MIDI files (.mid, .midi) in this folder")
    assert not page.isComplete()
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    page.folder.setText(str(tmp_path / "missing"))
    assert page.count.text() == "This is not a folder." and not page.isComplete()
    # Subfolders left out: the message says how to find the files.
    write_training_folder(empty / "sub", 1)
    page.folder.setText(str(empty))
    assert page.count.text() == "1 MIDI files" and page.isComplete()
    page.recursive.setChecked(False)
    assert "tick Include subfolders" in page.count.text() and not page.isComplete()


def _not_midi(folder: Path) -> Path:
    folder.mkdir()
    for i in range(4):
        (folder / f"song{i}.mid").write_bytes(b"this is not a MIDI file" * 4)
    return folder


def _only_drums(folder: Path) -> Path:
    folder.mkdir()
    for i in range(4):
        drums = Track("Drums", 0, True, make_notes([0, 480, 960, 1440], [120, 600, 1080, 1560], [36, 38, 42, 38]))
        write_midi(Score([drums], 480, [TempoChange(0, 120.0)]), folder / f"beat{i}.mid")
    return folder


def _too_short(folder: Path) -> Path:
    folder.mkdir()
    piano = Track("Piano", 0, False, make_notes([0, 480], [480, 960], [60, 64], 90))
    write_midi(Score([piano], 480, [TempoChange(0, 120.0)]), folder / "one short piece.mid")
    return folder


@pytest.mark.parametrize("make, message", [
    (_not_midi, "not a MIDI file"),
    (_only_drums, "only drum tracks"),
    (_too_short, "too little data for a validation split"),
], ids=["no-readable-midi", "only-drums", "too-few-for-validation"])
def test_unusable_data_is_explained_on_the_data_page(qtbot, window, tmp_path, make, message):
    folder = make(tmp_path / "data")
    before = {p: p.read_bytes() for p in folder.iterdir()}
    wizard = window.open_training_wizard()
    read_data(qtbot, wizard, folder)
    page = wizard.data_page
    assert message.lower() in page.error.text().lower(), page.error.text()
    assert page.error.text()[0].isupper() and page.error.text().endswith(".")
    assert not page.isComplete() and not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    assert {p: p.read_bytes() for p in folder.iterdir()} == before  # the user's files are untouched
    assert not list_runs()


def test_an_unusable_model_folder_blocks_the_start(qtbot, window, songs, tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("keep me")
    monkeypatch.setenv("COMPOSER_MODELS", str(blocker / "models"))  # root ignores chmod; this fails for all
    wizard = window.open_training_wizard()
    read_data(qtbot, wizard, songs)
    wizard.next()
    page = wizard.settings_page
    assert page.problem.text().startswith(f"Models cannot be saved in {blocker / 'models'}")
    assert not page.isComplete()
    assert not wizard.button(wizard.WizardButton.CommitButton).isEnabled()
    assert blocker.read_text() == "keep me" and not list_runs()
    page.cleanupPage()  # the estimate's child


# ----------------------------------------------------------------------------- closing the app
def test_closing_while_training_cancel_then_stop(qtbot, window, songs, monkeypatch):
    wizard = window.open_training_wizard()
    run = start_training(qtbot, wizard, songs, epochs=1000)
    answers = iter(["cancel", "stop"])
    asked = []
    monkeypatch.setattr(MainWindow, "ask_about_training", lambda self: asked.append(1) or next(answers))
    assert not window.close()  # cancel: the window stays
    assert window.isVisible() and wizard.is_training() and asked == [1]
    assert window.close()  # stop: the trainer saves and exits on its own
    assert not window.isVisible() and asked == [1, 1]
    qtbot.waitUntil(lambda: not run.is_alive(), timeout=SLOW)
    assert run.status() == "stopped" and run.exit_code() == 0
    assert Path(run.settings.out).exists() and resume_path(Path(run.settings.out)).exists()


def test_closing_while_training_can_leave_it_training(qtbot, window, songs, monkeypatch):
    wizard = window.open_training_wizard()
    run = start_training(qtbot, wizard, songs, epochs=1000)
    monkeypatch.setattr(MainWindow, "ask_about_training", lambda self: "keep")
    assert window.close()
    qtbot.wait(1500)
    assert run.is_alive() and not run.stop_path.exists()
    run.request_stop()  # as another session of the app would
    qtbot.waitUntil(lambda: not run.is_alive(), timeout=SLOW)
    assert run.status() == "stopped"


def test_closing_without_training_does_not_ask(qtbot, window, monkeypatch):
    monkeypatch.setattr(MainWindow, "ask_about_training", lambda self: pytest.fail("asked"))
    window.open_training_wizard()
    assert window.close()


# ----------------------------------------------------------------------------- the curves
def test_curves_draw_a_resumed_run_once_per_burst(qtbot):
    from composer.gui.training.curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.show()
    steps = [{"event": "step", "epoch": 1, "step": s, "steps": 4, "loss": 2.0 - s / 10} for s in range(1, 5)]
    events = [{"event": "launch"}, *steps,
              {"event": "epoch", "epoch": 1, "valid_loss": 1.5, "metrics": {"accuracy": 0.25, "note": "text"}},
              {"event": "step", "epoch": 2, "step": 1, "steps": 4, "loss": 1.4},
              {"event": "step", "epoch": 2, "step": 2, "steps": 4, "loss": 1.3},  # then stopped mid-epoch
              {"event": "launch"},  # resumed: epoch 2 again, its earlier points replaced
              *[{"event": "step", "epoch": 2, "step": s, "steps": 4, "loss": 1.0} for s in range(1, 5)],
              {"event": "epoch", "epoch": 2, "valid_loss": 1.2, "metrics": {"accuracy": 0.5}}]
    for event in events:
        curves.add_event(event)
    assert curves.train_x == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert curves.train_y[4:] == [1.0] * 4 and curves.valid_x == [1, 2]
    # Drawn once the burst is over, not for each event.
    drawn = lambda curve: [] if curve.getData()[0] is None else list(curve.getData()[0])  # noqa: E731
    assert drawn(curves.train_curve) == []
    qtbot.waitUntil(lambda: len(drawn(curves.train_curve)) == 8)
    assert list(curves.valid_curve.getOriginalDataset()[1]) == [1.5, 1.2]
    assert [curves.metric_choice.itemData(i) for i in range(curves.metric_choice.count())] == ["accuracy"]
    # The metric plot is drawn just after the loss plot (two short paints instead of one long).
    qtbot.waitUntil(lambda: curves.metric_curve.getData()[1] is not None)
    assert list(curves.metric_curve.getData()[1]) == [0.25, 0.5]
    assert not curves.grab().isNull()  # paints (the metric combo no longer hides QWidget.metric)
    curves.clear()
    assert drawn(curves.train_curve) == [] and drawn(curves.valid_curve) == []
    assert curves.metric_choice.count() == 0


def test_typing_a_folder_counts_its_files_after_a_pause(qtbot, window, songs):
    """Each keystroke does not walk the disk ("/" alone would walk all of it)."""
    from PySide6.QtTest import QTest

    page = window.open_training_wizard().folder_page
    QTest.keyClicks(page.folder, str(songs))
    assert page.files == 0 and page._count_later.isActive()
    qtbot.waitUntil(lambda: page.count.text() == "8 MIDI files", timeout=5000)
    QTest.keyClicks(page.folder, "x")  # no such folder; Next pressed before the pause ends
    assert not page.validatePage() and page.count.text() == "This is not a folder."
