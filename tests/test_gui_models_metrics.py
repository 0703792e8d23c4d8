"""A musician's first hour (issue 12): the Models dock shows its list and a readable card, every
metric is named in words with its range and direction (paper 002's note score by its own name,
old headers included), the training wizard's estimate, empty plot, log and under-training
warning, and one way of reading each objective measure."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from composer.gui.model_picker import ModelPicker, describe
from composer.models.checkpoint import read_metadata
from composer.models.library import BUNDLED, ModelEntry
from composer.models.metric_info import (
    describe_metric,
    format_measure,
    format_reference,
    metric_line,
    stored_value,
)
from composer.models.readiness import MIN_STEPS, header_warning, undertrained_reason
from composer.models.registry import FAMILIES
from composer.training.progress import Progress
from composer.training.runs import TrainingRun, TrainSettings
from engine_fixtures import write_training_folder

BUNDLED_PATHS = sorted(BUNDLED.glob("*.safetensors"))
#: Child processes import torch on a loaded machine: be patient.
SLOW_S = 240


def _entry(name: str) -> ModelEntry:
    path = BUNDLED / name
    return ModelEntry(path, read_metadata(path), bundled=True)


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    return write_training_folder(tmp_path_factory.mktemp("first-hour") / "my songs", 12)


# ----------------------------------------------------------------------------- 9. the Models dock
@pytest.fixture
def main_window(qtbot, tmp_path, monkeypatch):
    from composer.gui.main_window import MainWindow

    monkeypatch.setenv("COMPOSER_MODELS", str(tmp_path / "models"))  # the bundled models only
    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.resize(1400, 800)
    win.show()
    qtbot.waitExposed(win)
    QApplication.processEvents()
    yield win
    win.close()


def test_models_dock_shows_every_bundled_model_by_its_full_name(main_window):
    picker = main_window.model_picker
    view = picker.list
    assert view.count() == len(BUNDLED_PATHS) >= 7
    assert not view.horizontalScrollBar().isVisible()
    names = {read_metadata(p)["name"] for p in BUNDLED_PATHS}
    viewport = view.viewport().rect()
    for row in range(view.count()):
        item = view.item(row)
        assert item.text() in names  # the whole name, nothing appended or cut
        rect = view.visualItemRect(item)
        assert viewport.contains(rect), (item.text(), rect, viewport)  # fully visible at once
        # Wide enough for its text (wrapped when long), so no name hides behind the edge.
        assert rect.width() <= viewport.width()
    # The card keeps room for several lines under the list.
    assert picker.card.height() >= 5 * picker.fontMetrics().lineSpacing()


def test_a_long_name_wraps_instead_of_scrolling_sideways(qtbot):
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.resize(200, 500)  # narrower than the longest name
    picker.show()
    qtbot.waitExposed(picker)
    longest = max(range(picker.list.count()), key=lambda r: len(picker.list.item(r).text()))
    assert picker.list.fontMetrics().horizontalAdvance(picker.list.item(longest).text()) > 200
    assert not picker.list.horizontalScrollBar().isVisible()
    one_line = picker.list.fontMetrics().lineSpacing()
    assert picker.list.visualItemRect(picker.list.item(longest)).height() >= 2 * one_line


def test_a_newly_picked_models_card_starts_at_its_title(qtbot):
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.resize(320, 360)
    picker.show()
    qtbot.waitExposed(picker)
    picker.select_path(str(BUNDLED / "multitrack_vae-jsfakes.safetensors"))  # a long card
    bar = picker.card.verticalScrollBar()
    QApplication.processEvents()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum())
    picker.select_path(str(BUNDLED / "bar_lstm-jsfakes.safetensors"))
    QApplication.processEvents()
    assert bar.value() == 0


# ----------------------------------------------------------------------------- 10. metrics in words
def test_every_bundled_metric_key_reads_in_words_with_range_and_direction():
    for path in BUNDLED_PATHS:
        meta = read_metadata(path)
        for key, value in meta["metrics"].items():
            info = describe_metric(key, meta["family"])
            assert "_" not in info.label, (path.name, key, info.label)
            if key != "epoch":
                assert info.higher_is_better is not None and info.range_text(), (path.name, key)
                assert info.format(value) != "-"


def test_paper_002_metric_is_called_note_score_and_old_headers_are_rescaled_to_88_keys():
    meta = read_metadata(BUNDLED / "pianoroll_lstm-nottingham.safetensors")  # an old header
    info = describe_metric("valid_accuracy", "bar_lstm")
    assert info.label == "note score (paper 002)" and info.split == "validation"
    assert (info.low, info.high, info.higher_is_better) == (-1, 1, True)
    assert "accuracy" not in info.label
    # Stored before the rename: (TP - FP) over the model's own pitches, now over the 88 keys.
    lo, hi = meta["info"]["pitch_range"]
    old = meta["metrics"]["valid_accuracy"]
    assert stored_value("valid_accuracy", old, "pianoroll_lstm", [lo, hi]) == pytest.approx(old * (hi - lo) / 88)
    new = read_metadata(BUNDLED / "bar_lstm-jsfakes.safetensors")["metrics"]  # trained since: its own name
    assert "valid_note_score" in new and "valid_accuracy" not in new
    # Token families' accuracy stays next-token accuracy, a share shown as a percentage.
    token = describe_metric("test_accuracy", "chord_token_lstm")
    assert token.label == "next-token accuracy" and token.format(0.3985) == "39.9%"
    assert stored_value("test_accuracy", 0.3985, "chord_token_lstm", [36, 82]) == 0.3985
    assert describe_metric("test_nll_per_frame_88", "pianoroll_lstm").label == \
        "negative log-likelihood per frame (88 keys)"
    assert describe_metric("test_mse_S", "multitrack_vae").label == "latent prediction error, S"
    assert metric_line("note_score", 0.0315, "bar_lstm") == \
        "note score (paper 002): 0.032 (-1 to 1, higher is better)"


def test_note_score_is_the_slides_formula_over_88_keys():
    """(1/N) sum(|y| - |y - round(p)|) = (TP - FP) / N: silence 0, an untrained model below 0."""
    import torch

    from composer.models.pianoroll_common import frame_metrics

    pitches = 48
    target = torch.zeros(1, 2, pitches)
    target[0, :, [10, 14, 17, 22]] = 1  # four voices
    real = torch.ones(1, 2)
    logits = torch.full((1, 2, pitches), -5.0)
    logits[0, :, [10, 14, 17]] = 5.0  # three right
    logits[0, :, [30, 31]] = 5.0  # two wrong
    metrics = frame_metrics(logits, target, real)
    assert set(metrics) == {"nll_per_frame", "note_score"}
    assert metrics["note_score"] == pytest.approx((3 - 2) / 88)
    assert frame_metrics(torch.full((1, 2, pitches), -5.0), target, real)["note_score"] == 0  # silence
    # Barely trained (every logit a little above 0): every key on, far more wrong than right.
    untrained = frame_metrics(torch.full((1, 2, pitches), 0.1), target, real)["note_score"]
    assert untrained == pytest.approx((4 - 44) / 88) and -1 <= untrained < 0


def test_model_card_names_metrics_in_words_and_the_real_size(qtbot):
    jsb = describe(_entry("pianoroll_lstm-jsb.safetensors"))
    assert "Note score (paper 002)" in jsb and "Negative log-likelihood per frame" in jsb
    assert "higher is better" in jsb and "lower is better" in jsb
    for raw in ("valid accuracy", "nll per frame", "nll_per_frame", "note_score"):
        assert raw not in jsb
    meta = read_metadata(BUNDLED / "pianoroll_lstm-jsb.safetensors")
    assert f"{meta['metrics']['test_note_score']:.3f} test" in jsb
    # An old header's names, in words: the NLL over the 88 keys, the note score rescaled to them.
    old = describe(_entry("pianoroll_lstm-nottingham.safetensors"))
    assert "Negative log-likelihood per frame (88 keys)" in old and "Note score (paper 002)" in old
    assert "nll_per_frame_88" not in old and "valid accuracy" not in old
    chords = describe(_entry("chord_token_lstm-jsfakes.safetensors"))
    assert "<b>Size</b> 3 LSTM layers of 256 units" in chords
    assert "three LSTM layers of 512" not in chords
    metrics = read_metadata(BUNDLED / "chord_token_lstm-jsfakes.safetensors")["metrics"]
    assert (f"Next-token accuracy: {metrics['valid_accuracy']:.1%} validation, "
            f"{metrics['test_accuracy']:.1%} test") in chords
    notes = describe(_entry("note_symbol_lstm-nottingham.safetensors"))
    assert "1 LSTM layer of 64 units" in notes and "&lt;next&gt;" in notes  # not swallowed as a tag


def test_wizard_metric_list_and_plot_use_words(qtbot):
    from composer.gui.training.curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.set_family("pianoroll_lstm")
    curves.show()
    curves.add_event({"event": "epoch", "epoch": 1, "valid_loss": 0.2,
                      "metrics": {"nll_per_frame": 9.1, "note_score": -0.41}})
    items = [curves.metric_choice.itemText(i) for i in range(curves.metric_choice.count())]
    assert items == ["Negative log-likelihood per frame", "Note score (paper 002)"]
    curves.metric_choice.setCurrentIndex(1)
    qtbot.waitUntil(lambda: curves.metric_curve.getData()[1] is not None)
    assert curves.metric_plot.plotItem.titleLabel.text == "Validation note score (paper 002)"
    assert "higher is better" in curves.metric_plot.getAxis("left").labelText


def test_eval_prints_metrics_in_words(songs, capsys):
    from composer.cli import main

    assert main(["eval", "--model", str(BUNDLED / "bar_lstm-jsfakes.safetensors"), "--data", str(songs),
                 "--split", "train"]) == 0
    out = capsys.readouterr().out
    assert "negative log-likelihood per frame (88 keys): " in out and "lower is better" in out
    line = next(line for line in out.splitlines() if line.startswith("note score (paper 002): "))
    value = float(line.split(": ")[1].split()[0])
    assert -1 <= value <= 1 and "(-1 to 1, higher is better)" in line
    assert "nll_per_frame" not in out and "accuracy" not in out


# ----------------------------------------------------------------------------- 11. the wizard
def test_estimate_follows_examples_and_batch_size_and_never_reads_0_s(qtbot, tmp_path, monkeypatch):
    from composer.gui.training.pages import time_text
    from composer.gui.training.wizard import TrainingWizard

    monkeypatch.setenv("COMPOSER_MODELS", str(tmp_path))
    wizard = TrainingWizard()
    qtbot.addWidget(wizard)
    page = wizard.settings_page
    wizard.data_page.result = {"config": {"steps_per_epoch": 4, "batch_size": 8}}  # a tiny preset
    page.batch_size.setValue(8)
    settings = page.settings()
    assert settings.steps_per_epoch == 0  # one pass over the data, not the preset's 4 steps
    assert "--steps-per-epoch 0" in settings.command()
    page.measured = (0.04, 70, 563, page._estimate_key(settings))
    page._show_estimate(settings)
    text = page.estimate.text()
    assert "70 batches of 8, from 563 training examples" in text
    assert " 0 s" not in text and "About 0.1 s an epoch" in text
    assert time_text(0.0) == "0.1 s" and time_text(4.46) == "4.5 s" and time_text(42) == "42 s"
    wizard.data_page.result = {"config": {"steps_per_epoch": 0}}  # a preset that makes one pass
    assert page.settings().steps_per_epoch is None


def test_measured_steps_per_epoch_follow_the_examples(songs, tmp_path):
    """The trainer, given the wizard's settings for a tiny preset, counts one pass of batches."""
    settings = TrainSettings(family="bar_lstm", preset="tiny", data=str(songs), out=str(tmp_path / "m.safetensors"),
                             batch_size=8, steps_per_epoch=0)
    done = subprocess.run([sys.executable, "-m", "composer.cli", "train", *settings.train_args(),
                           "--measure", "2", "--progress", "json"], capture_output=True, text=True,
                          timeout=SLOW_S, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    start = next(e for e in events if e["event"] == "start")
    measure = next(e for e in events if e["event"] == "measure")
    assert measure["steps_per_epoch"] == start["train_examples"] // 8 != 4


def test_an_empty_loss_plot_spans_one_epoch_without_si_scaling(qtbot):
    from composer.gui.training.curves import TrainingCurves, epoch_span

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.show()
    qtbot.waitExposed(curves)
    (x0, x1), (y0, y1) = curves.loss_plot.viewRange()
    assert -0.05 <= x0 <= 0 and 1 <= x1 <= 1.05 and (y0, y1) == (0, 1)
    curves.add_event({"event": "step", "epoch": 1, "step": 1, "steps": 20, "loss": 0.69})  # one point
    qtbot.waitUntil(lambda: curves.train_curve.getData()[0] is not None)
    (x0, x1), _ = curves.loss_plot.viewRange()
    assert -0.05 <= x0 <= 0 and 1 <= x1 <= 1.05
    label = curves.loss_plot.getAxis("bottom").labelString()
    assert "epoch" in label and "x0.001" not in label
    assert epoch_span([0.25, 2.5]) == (0, 3) and epoch_span([], 1) == (1, 2)


def test_progress_json_also_writes_readable_lines_for_the_log(capsys):
    import io

    stream = io.StringIO()
    progress = Progress("json", stream=stream)
    progress("start", family="bar_lstm", preset="tiny", device="cpu", world_size=1, parameters=6012,
             train_examples=196, valid_examples=77, epochs=3)
    progress("step", epoch=1, step=1, steps=24, loss=0.69)
    progress("epoch", epoch=1, train_loss=0.68, valid_loss=0.66, best=True)
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["start", "step", "epoch"]
    log = capsys.readouterr().err
    assert "training bar_lstm (tiny) on cpu" in log and "epoch 1: train loss 0.6800, valid loss 0.6600" in log
    assert "step" not in log and "\r" not in log


@pytest.fixture
def trained_run(songs, tmp_path, monkeypatch):
    """A real run of the wizard's kind: the tiny bar LSTM for 2 epochs, started detached."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    settings = TrainSettings(family="bar_lstm", preset="tiny", data=str(songs), name="Too short",
                             out=str(tmp_path / "too-short.safetensors"), epochs=2, steps_per_epoch=0)
    run = TrainingRun.create(settings, root=tmp_path / "runs")
    run.start()
    deadline = time.monotonic() + SLOW_S
    while run.is_alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    if run.is_alive():
        os.kill(run.pid, signal.SIGKILL)
        pytest.fail("the trainer did not finish")
    return run


def test_the_log_holds_the_trainers_output_and_the_wizard_shows_it(qtbot, trained_run):
    from composer.gui.training.wizard import TrainingWizard

    assert trained_run.status() == "done", trained_run.log_path.read_text()
    log = trained_run.log_path.read_text()
    assert "$ " in log  # the command line, as before
    assert "training bar_lstm (tiny) on cpu" in log and "epoch 2: train loss" in log and "done:" in log
    wizard = TrainingWizard()
    qtbot.addWidget(wizard)
    wizard._attach(trained_run)
    wizard.training_page.log_button.click()
    dialog = wizard.training_page.log_dialog
    assert dialog is not None and dialog.isVisible()
    assert "epoch 1: train loss" in dialog.text.toPlainText()
    dialog.close()


def test_an_undertrained_model_says_so_on_the_last_page_and_the_card(qtbot, trained_run):
    from composer.gui.training.wizard import TrainingWizard

    out = trained_run.settings.out
    meta = read_metadata(out)
    training = meta["training"]
    assert training["epochs"] == 2 and 0 < training["steps"] < MIN_STEPS
    assert len(training["valid_losses"]) == 2
    wizard = TrainingWizard()
    qtbot.addWidget(wizard)
    wizard._attach(trained_run)
    wizard.final_event = {"event": "done", "reason": "finished all epochs"}
    wizard.finish_page.initializePage()
    warning = wizard.finish_page.warning.text()
    assert warning.startswith("Probably under-trained") and f"only {training['steps']} batches" in warning
    card = describe(ModelEntry(Path(out), meta))
    assert "Probably under-trained" in card and "after" in card  # "saved at epoch 2, after N steps"


def test_the_under_training_rule():
    assert "only 12 batches (3 epochs)" in undertrained_reason(12, 3)
    assert "first epoch" in undertrained_reason(0, 0)
    assert undertrained_reason(None, 40) == ""  # nothing known: nothing said
    falling = [0.50, 0.40, 0.37]
    assert "still falling fast (8% in its last epoch)" in undertrained_reason(2000, 30, falling)
    assert undertrained_reason(2000, 30, falling, stopped_by_patience=True) == ""
    assert undertrained_reason(2000, 30, [0.300, 0.299]) == ""  # settled
    for path in BUNDLED_PATHS:  # the shipped models are not flagged
        assert header_warning(read_metadata(path)) == "", path.name
    # An older header without recorded steps: its fixed steps per epoch x the saved epoch.
    old = {"config": {"steps_per_epoch": 4}, "training": {"epochs": 2}, "metrics": {}}
    assert "only 8 batches (2 epochs)" in header_warning(old)


# ----------------------------------------------------------------------------- 14. measures, sizes
def test_pitches_used_reads_as_a_count_everywhere(qtbot, tmp_path, capsys):
    from composer.cli import main
    from composer.gui.generation_panel import GenerationPanel
    from composer.io.midi import write_midi
    from composer.representations.music_metrics import METRICS
    from engine_fixtures import arpeggio_song

    assert format_measure("pitches_used", 9.0) == "9" and format_measure("pitches_used", 27.4) == "27"
    assert format_measure("polyphony", 1.8333) == "1.83" and format_measure("polyphony", math.nan) == "-"
    assert format_reference("pitches_used", {"mean": 27.4, "std": 3.2}) == "27 \u00b1 3 a piece"
    assert format_reference("polyphony", {"mean": 3.93, "std": 0.04}) == "3.93 \u00b1 0.04"
    panel = GenerationPanel()
    qtbot.addWidget(panel)
    values = {name: 1.0 for name in METRICS} | {"pitches_used": 9.0}
    reference = {name: {"mean": 0.5, "std": 0.1} for name in METRICS} | {"pitches_used": {"mean": 27.4, "std": 3.2}}
    panel.set_measures(values, reference)
    row = list(METRICS).index("pitches_used")
    assert panel.measures.item(row, 1).text() == "9"
    assert panel.measures.item(row, 2).text() == "27 \u00b1 3 a piece"
    song = tmp_path / "song.mid"
    write_midi(arpeggio_song(60, bars=4), song)
    assert main(["metrics", str(song), "--reference", str(BUNDLED / "bar_lstm-jsfakes.safetensors")]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "pitches used" in line)
    mine = line.split()[2]
    assert mine.isdigit() and line.endswith("a piece")


def test_size_text_follows_the_config():
    spec = FAMILIES["chord_token_lstm"]
    assert spec.size_text({"layers": 3, "hidden": 256, "dense": 256, "embedding": 0}) == \
        "3 LSTM layers of 256 units, a dense layer of 256"
    assert FAMILIES["note_symbol_lstm"].size_text({"layers": 1, "hidden": 64}) == "1 LSTM layer of 64 units"
    assert FAMILIES["pianoroll_lstm"].size_text({}) == ""
    assert all(FAMILIES[family].size for family in FAMILIES)  # every family says its size
