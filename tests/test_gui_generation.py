"""Generate in the app: planning each mode, the worker thread (progress, cancel, errors), candidates
in the editor, audition, and accepting as one undo step. Uses a real tiny model trained here."""

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from composer.core import ComposerError, Score, Track, make_notes
from composer.core.edits import AddNotes, AddTrack
from composer.generation.plan import (
    NEW_TRACK,
    EditorState,
    GenerationSettings,
    CandidatePart,
    accept_edit,
    candidate_notes,
    plan_generation,
)
from composer.generation.request import GenerateRequest
from composer.gui.generation_worker import ModelService
from composer.gui.main_window import MainWindow
from composer.gui.undo import push_edit
from composer.training.trainer import TrainRequest, train
from engine_fixtures import arpeggio_song, write_training_folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("gui_gen")
    out = root / "tiny.safetensors"
    train(TrainRequest(family="pianoroll_lstm", data=str(write_training_folder(root / "songs", 6)), out=out,
                       preset="tiny", epochs=2, workers=1, name="Tiny test model"))
    return out


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    return win


def primer_score() -> Score:
    score = arpeggio_song(60, bars=2)
    score.tracks.append(Track("Drums", 0, True, make_notes([0, 480], [120, 600], [36, 38])))
    return score


# ----------------------------------------------------------------------------- planning (no Qt)
def test_continue_from_the_playhead_or_after_the_last_note():
    score = primer_score()
    melody = score.tracks[0].id
    settings = GenerationSettings(mode="playhead", target_track=melody, request=GenerateRequest(bars=2))
    plan = plan_generation(score, settings, EditorState(playhead=960))
    assert (plan.start, plan.end, plan.track_id) == (960, 960 + 2 * 1920, melody)
    assert plan.request.start_tick == 960 and plan.request.track_id == melody
    plan = plan_generation(score, settings, EditorState(playhead=0))
    assert plan.start == score.bar_starts(score.end_tick)[-1] >= score.end_tick  # the next bar line


def test_selection_fill_and_scratch_modes():
    score = primer_score()
    track = score.tracks[0]
    chosen = track.notes[:3]
    plan = plan_generation(score, GenerationSettings(mode="selection", target_track=NEW_TRACK, request=GenerateRequest(bars=1)),
                           EditorState(selection=(track.id, chosen)))
    assert plan.start % score.ppq == 0 and plan.start >= chosen["end"].max()
    assert plan.request.primer.note_count == 3 and plan.track_id is None
    plan = plan_generation(score, GenerationSettings(mode="fill", target_track=track.id),
                           EditorState(loop=(1920, 1920 + 960)))
    assert (plan.start, plan.end) == (1920, 2880) and plan.request.bars == 0.5
    plan = plan_generation(score, GenerationSettings(mode="scratch", request=GenerateRequest(bars=1)), EditorState(playhead=480))
    assert plan.request.primer.note_count == 0 and plan.start == 480


@pytest.mark.parametrize("settings, state, message", [
    (GenerationSettings(mode="selection"), EditorState(), "Select the notes"),
    (GenerationSettings(mode="fill"), EditorState(), "loop region"),
    (GenerationSettings(mode="interpolate"), EditorState(), "loop region"),
    (GenerationSettings(mode="interpolate"), EditorState(loop=(0, 1920 * 2)), "three whole bars"),
    (GenerationSettings(mode="infill"), EditorState(), "not available"),
    (GenerationSettings(mode="playhead", request=GenerateRequest(variations=40)), EditorState(playhead=480), "variations"),
])
def test_plans_that_cannot_run_say_why(settings, state, message):
    with pytest.raises(ComposerError, match=message):
        plan_generation(primer_score(), settings, state)


def test_a_drum_track_is_not_a_target():
    score = primer_score()
    with pytest.raises(ComposerError, match="drum track"):
        plan_generation(score, GenerationSettings(target_track=score.tracks[1].id), EditorState(playhead=480))


def test_candidates_are_cropped_to_the_range_and_accepting_replaces_it():
    score = primer_score()
    track = score.tracks[0]
    plan = plan_generation(score, GenerationSettings(target_track=track.id, request=GenerateRequest(bars=1)), EditorState(playhead=960))
    generated = make_notes([960, 1500, 2880, 4000], [1200, 4000, 3000, 4100], [60, 62, 64, 65])
    notes = candidate_notes(plan, generated)
    assert notes["start"].tolist() == [960, 1500] and notes["end"].max() == plan.end
    before = score.copy()
    edit = accept_edit(score, plan, [CandidatePart(notes, plan.track_id)])
    edit.apply(score)
    inside = track.notes[(track.notes["start"] >= 960) & (track.notes["start"] < plan.end)]
    assert inside[["start", "pitch"]].tolist() == [(960, 60), (1500, 62)]
    edit.revert(score)
    assert score.same_content(before)


# ----------------------------------------------------------------------------- the worker
def test_worker_loads_generates_and_reports_progress(qtbot, tiny_model):
    service = ModelService()
    worker = service
    try:
        with qtbot.waitSignal(worker.model_loaded, timeout=60000) as loaded:
            service.load(str(tiny_model))
        assert loaded.args[0].metadata["name"] == "Tiny test model"
        plan = plan_generation(arpeggio_song(60, bars=2), GenerationSettings(request=GenerateRequest(bars=2, variations=2)),
                               EditorState(playhead=1920))
        progress = []
        worker.progress.connect(lambda job, f: progress.append(f))
        with qtbot.waitSignal(worker.started, timeout=60000), \
                qtbot.waitSignal(worker.finished, timeout=60000) as done:
            job = service.generate(plan.request)
        job_id, _job, result = done.args
        assert job_id == job and len(result.continuations) == 2
        assert progress and progress[-1] == 1.0
    finally:
        service.shutdown()


def test_generation_can_be_cancelled(qtbot, tiny_model):
    service = ModelService()
    worker = service
    try:
        with qtbot.waitSignal(worker.model_loaded, timeout=60000):
            service.load(str(tiny_model))
        plan = plan_generation(Score(), GenerationSettings(mode="scratch", request=GenerateRequest(bars=64, variations=8)),
                               EditorState())
        with qtbot.waitSignal(worker.started, timeout=10000):
            service.generate(plan.request)
        with qtbot.waitSignal(worker.cancelled, timeout=30000):
            service.cancel()
    finally:
        service.shutdown()


def test_a_broken_model_file_is_a_message_not_a_crash(qtbot, window, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with qtbot.waitSignal(window.generation.service.model_failed, timeout=60000):
        window.generation.choose_model(str(bad))
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "generationError") is not None)
    assert "could not be loaded" in window.generation_panel.model_label.text()


# ----------------------------------------------------------------------------- the whole app
def _ready(qtbot, window, model):
    window.model_picker.add_model_file(str(model))
    qtbot.waitUntil(lambda: window.generation_panel.generate_button.isEnabled(), timeout=60000)


def test_generate_audition_and_accept_is_one_undo_step(qtbot, window, tiny_model):
    window._load(primer_score(), None)
    _ready(qtbot, window, tiny_model)
    melody = window.score.tracks[0]
    window.editor.set_active_track(melody.id)
    window.editor.set_playhead(3840)  # the end of the primer
    window.generation_panel.variations.setValue(2)
    window.generation_panel.temperature.setValue(1.5)
    before = window.score.copy()
    with qtbot.waitSignal(window.generation.service.finished, timeout=60000):
        window.generation_panel.generate_button.click()
    qtbot.waitUntil(lambda: window.generation_panel.candidates.count() == 2)
    shown = window.editor.view.roll.candidate_items(melody.id)
    assert len(shown) == len(window.generation.candidates[0][0].notes) > 0
    # The variation's objective measures, next to the training data's (the model recorded them).
    measures = window.generation_panel.measures
    assert measures.item(0, 1).text() not in ("", "-") and "±" in measures.item(0, 2).text()
    assert window.score.same_content(before)  # candidates are not part of the score

    with qtbot.waitSignal(window.generation.audition_requested) as heard:
        window.generation_panel.audition_button.click()
    preview, start = heard.args
    assert start == 1920 and preview.track(melody.id).notes.size > melody.notes.size

    window.generation_panel.candidates.setCurrentRow(1)
    (part,) = window.generation.candidates[1]
    chosen = part.notes
    depth = window.undo_stack.count()
    window.generation_panel.accept_button.click()
    assert window.undo_stack.count() == depth + 1
    added = melody.notes[melody.notes["start"] >= 3840]
    assert added[["start", "end", "pitch"]].tolist() == chosen[["start", "end", "pitch"]].tolist()
    assert not window.editor.view.roll.candidate_items() and not window.generation_panel.candidate_box.isVisible()
    window.undo_stack.undo()
    assert window.score.same_content(before)
    window.undo_stack.redo()
    assert len(melody.notes) == len(before.tracks[0].notes) + len(chosen)


def test_accepting_into_a_new_track(qtbot, window, tiny_model):
    window._load(primer_score(), None)
    _ready(qtbot, window, tiny_model)
    panel = window.generation_panel
    panel.target.setCurrentIndex(panel.target.findData(NEW_TRACK))
    window.editor.set_playhead(1920)
    with qtbot.waitSignal(window.generation.service.finished, timeout=60000):
        panel.generate_button.click()
    qtbot.waitUntil(lambda: panel.candidates.count() > 0)
    n_tracks = len(window.score.tracks)
    assert window.generation.accept(0)
    assert len(window.score.tracks) == n_tracks + 1 and window.score.tracks[-1].name == "Generated 1"
    window.undo_stack.undo()
    assert len(window.score.tracks) == n_tracks


def test_an_impossible_request_opens_a_dialog(qtbot, window, tiny_model):
    window._load(primer_score(), None)
    _ready(qtbot, window, tiny_model)
    window.generation_panel.mode.setCurrentIndex(window.generation_panel.mode.findData("fill"))
    window.generation_panel.generate_button.click()  # no loop region set
    box = window.findChild(QMessageBox, "generationError")
    assert box is not None and box.isVisible() and "loop region" in box.text()
    assert not window.generation.busy


def test_cut_copy_paste_through_the_edit_menu(qtbot, window):
    window._load(primer_score(), None)
    track = window.score.tracks[0]
    window.editor.set_active_track(track.id)
    actions = {a.text().replace("&", ""): a for a in window.menuBar().actions()[1].menu().actions()}
    window.editor.select_notes(track.notes["id"][:2])
    first_two = track.notes[:2][["start", "end", "pitch"]].tolist()
    actions["Copy"].trigger()
    window.editor.set_playhead(7680)
    actions["Paste"].trigger()
    pasted = track.notes[track.notes["start"] >= 7680]
    assert [(s - 7680, e - 7680, p) for s, e, p in pasted[["start", "end", "pitch"]].tolist()] == \
        [(s - first_two[0][0], e - first_two[0][0], p) for s, e, p in first_two]
    assert window.editor.selected_note_ids().tolist() == sorted(pasted["id"].tolist())
    n = len(track.notes)
    actions["Cut"].trigger()
    assert len(track.notes) == n - 2
    actions["Select All"].trigger()
    assert len(window.editor.selected_note_ids()) == n - 2
    actions["Delete"].trigger()
    assert len(track.notes) == 0
    window.undo_stack.undo()
    assert len(track.notes) == n - 2


def test_family_sampling_defaults_and_when_variations_can_differ(qtbot):
    from composer.gui.generation_panel import GenerationPanel
    from composer.models.registry import FAMILIES

    panel = GenerationPanel()
    qtbot.addWidget(panel)
    vae = FAMILIES["multitrack_vae"]
    panel.set_model("VAE", vae.capabilities, vae.controls, "", vae.sampling_defaults)
    settings = panel.settings()
    request = settings.request
    assert (request.sampling, request.threshold, request.noise) == ("threshold", 0.3, 0.2)  # the family's
    assert panel.variations.isEnabled()  # noise makes variations differ
    panel.noise.setValue(0.0)
    assert not panel.variations.isEnabled() and panel.settings().request.variations == 1  # no noise: one result
    lstm = FAMILIES["pianoroll_lstm"]
    panel.set_model("LSTM", lstm.capabilities, lstm.controls, "", lstm.sampling_defaults)
    settings = panel.settings()  # the VAE's threshold does not carry over to another family
    assert (settings.request.sampling, settings.request.threshold) == ("bernoulli", 0.5) and panel.variations.isEnabled()
