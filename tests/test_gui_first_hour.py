"""A musician's first hour, in the real main window with the bundled models: Generate on a new,
empty project; from scratch without losing the melody; a fresh seed each time; variations in
view; status text that stays true; settings remembered; keys as musicians write them; MIDI files
whose first time signature comes late. Each test names the defect of issue 12 it covers."""

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from composer.core import Score, TimeSignature, Track, make_notes
from composer.core.edits import AddNotes
from composer.generation.plan import EditorState, GenerationSettings, plan_generation
from composer.generation.request import GenerateRequest
from composer.gui.main_window import MainWindow
from composer.gui.undo import push_edit
from composer.models.library import BUNDLED

BUNDLED_MODELS = sorted(BUNDLED.glob("*.safetensors"))
LOAD_TIMEOUT_MS = 60_000


def _settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def error_dialogs(win) -> list[str]:
    return [f"{box.windowTitle()}: {box.text()}" for box in win.findChildren(QMessageBox) if box.isVisible()]


def choose(qtbot, win, path) -> None:
    """Pick a model as a user does (in the Models list) and wait until Generate is ready."""
    assert win.model_picker.select_path(str(path))
    win._choose_model(str(path))
    qtbot.waitUntil(lambda: win.generation_panel.generate_button.isEnabled(), timeout=LOAD_TIMEOUT_MS)


def generate(qtbot, win) -> None:
    """Press Generate and wait for the variations (or an error)."""
    panel = win.generation_panel
    panel.generate_button.click()
    qtbot.waitUntil(lambda: not win.generation.busy, timeout=LOAD_TIMEOUT_MS)


def draw_melody(win, pitches=(60, 62, 64, 65, 67, 65, 64, 62), beats_each=1) -> Track:
    """A C major line in the Piano track, one undo step, as the pencil would draw it."""
    track = win.score.tracks[0]
    q = win.score.ppq * beats_each
    notes = make_notes(np.arange(len(pitches)) * q, np.arange(1, len(pitches) + 1) * q, list(pitches))
    notes["id"] = track.new_note_ids(len(notes))
    push_edit(win.undo_stack, win.score, AddNotes(track.id, notes, text="Draw"))
    return track


# ------------------------------------------------------------------ defect 1: a new, empty project
@pytest.mark.filterwarnings("ignore::composer.core.errors.ComposerWarning")
@pytest.mark.parametrize("path", BUNDLED_MODELS, ids=lambda p: p.stem)
def test_generate_on_a_new_empty_project_with_default_settings(qtbot, window, path):
    window.new_document()  # File > New: the track ids differ from the first document's
    choose(qtbot, window, path)
    panel = window.generation_panel
    assert panel.mode.currentData() in ("playhead", "scratch")
    generate(qtbot, window)
    assert error_dialogs(window) == []
    assert panel.candidates.count() >= 1
    # Nothing to find a key in, or to measure against: no "none found", no "no clear key".
    assert panel.key.itemText(1) == "Primer's key"
    assert not any("no clear key" in panel.measures.item(row, 0).text()
                   for row in range(panel.measures.rowCount()) if panel.measures.item(row, 0))
    window.generation.accept(0)
    assert window.score.note_count > 0


# ------------------------------------------------------------------ defect 2: from scratch
def test_from_scratch_into_the_melody_track_never_replaces_the_melody(qtbot, window):
    choose(qtbot, window, BUNDLED / "pianoroll_lstm-nottingham.safetensors")
    melody = draw_melody(window)
    before = melody.notes.copy()
    panel = window.generation_panel
    panel.mode.setCurrentIndex(panel.mode.findData("scratch"))
    panel.target.setCurrentIndex(panel.target.findData(melody.id))
    generate(qtbot, window)
    assert window.generation.plan.start >= before["end"].max()
    window.generation.accept(0)
    kept = melody.notes[np.isin(melody.notes["id"], before["id"])]
    np.testing.assert_array_equal(kept, before)


def test_accepting_over_notes_says_how_many_it_replaced(qtbot, window):
    choose(qtbot, window, BUNDLED / "pianoroll_lstm-nottingham.safetensors")
    draw_melody(window)
    window.editor.set_playhead(window.score.ppq * 4)  # halfway through the melody
    generate(qtbot, window)
    window.generation.accept(0)
    assert "replaced 4 notes" in window.generation_panel.status.text()


# ------------------------------------------------------------------ defect 3: a fresh seed
def test_each_generate_draws_a_new_seed_unless_it_is_locked(qtbot, window):
    choose(qtbot, window, BUNDLED / "note_symbol_lstm-nottingham.safetensors")
    draw_melody(window)
    panel = window.generation_panel
    seeds, notes = [], []
    for _ in range(2):
        generate(qtbot, window)
        seeds.append(window.generation.plan.request.seed)
        notes.append(window.generation.candidates[0][0].notes.copy())
    assert seeds[0] != seeds[1] and panel.seed.value() == seeds[1]
    assert not np.array_equal(notes[0], notes[1])
    panel.seed_lock.setChecked(True)
    generate(qtbot, window)
    locked = window.generation.candidates[0][0].notes.copy()
    generate(qtbot, window)
    assert window.generation.plan.request.seed == seeds[1]
    np.testing.assert_array_equal(window.generation.candidates[0][0].notes, locked)
    np.testing.assert_array_equal(locked, notes[1])


# ------------------------------------------------------------------ defect 4: variations in view
def test_variations_are_scrolled_into_view(qtbot, window):
    choose(qtbot, window, BUNDLED / "pianoroll_lstm-nottingham.safetensors")
    view = window.editor.view
    draw_melody(window, pitches=[84, 86, 88, 89] * 6)  # high, and longer than the view
    view.zoom_time(4)  # four bars no longer fit
    view.scroll_to_tick(0)
    view.center_on_pitch(40)
    generate(qtbot, window)
    plan = window.generation.plan
    notes = np.concatenate([p.notes for p in window.generation.candidates[0]])
    assert len(notes)
    width, height = view.viewport().width(), view.viewport().height()
    assert 0 <= view.tick_to_viewport_x(plan.start) < view.tick_to_viewport_x(plan.end) <= width
    first = notes[np.argmin(notes["start"])]
    assert 0 <= view.tick_to_viewport_x(int(first["start"])) < width
    assert 0 <= view.pitch_to_viewport_y(int(first["pitch"])) < height


# ------------------------------------------------------------------ defect 7: status text
def test_status_text_stays_true(qtbot, window):
    panel = window.generation_panel
    choose(qtbot, window, BUNDLED / "pianoroll_lstm-nottingham.safetensors")
    draw_melody(window)
    generate(qtbot, window)
    assert "Listen" in panel.status.text()
    panel.discard_button.click()
    assert panel.status.text() == ""

    generate(qtbot, window)
    window.generation.accept(0)
    assert "Accepted" in panel.status.text()
    window.undo_stack.undo()
    assert "Accepted" not in panel.status.text() and "undone" in panel.status.text()
    window.undo_stack.redo()  # Ctrl+Y
    assert "Accepted" in panel.status.text()
    window.undo_stack.undo()
    draw_melody(window, pitches=[72])  # another edit takes the accept's place on the stack
    assert panel.status.text() == ""

    generate(qtbot, window)
    window.generation.accept(0)
    choose(qtbot, window, BUNDLED / "pianoroll_lstm-jsb.safetensors")
    assert "Accepted" not in panel.status.text()


def test_switching_model_while_generating_shows_no_stale_variations(qtbot, window):
    panel = window.generation_panel
    choose(qtbot, window, BUNDLED / "pianoroll_lstm-nottingham.safetensors")
    draw_melody(window)
    panel.bars.setValue(64)
    panel.generate_button.click()
    assert window.generation.busy
    new_model = BUNDLED / "pianoroll_lstm-jsb.safetensors"
    window.model_picker.select_path(str(new_model))
    window._choose_model(str(new_model))
    assert not window.generation.busy
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=LOAD_TIMEOUT_MS)
    qtbot.wait(200)  # any late result of the old job arrives here
    assert panel.candidates.count() == 0 and window.generation.candidates == []
    assert "JSB" in panel.model_label.text() or "jsb" in panel.model_label.text().lower()


# ------------------------------------------------------------------ defect 8: settings remembered
def test_variations_and_key_survive_a_model_change_and_a_restart(qtbot, tmp_path):
    first = MainWindow(_settings(tmp_path))
    qtbot.addWidget(first)
    nottingham = BUNDLED / "pianoroll_lstm-nottingham.safetensors"
    chorales = BUNDLED / "multitrack_vae-jsfakes.safetensors"
    choose(qtbot, first, nottingham)
    panel = first.generation_panel
    panel.variations.setValue(5)
    panel.key.setCurrentIndex(panel.key.findData("Bb"))
    panel.scale.setCurrentText("minor")
    panel.temperature.setValue(1.4)
    choose(qtbot, first, chorales)  # another family, other sampling defaults
    choose(qtbot, first, nottingham)
    assert panel.variations.value() == 5 and panel.key.currentData() == "Bb"
    assert panel.temperature.value() == pytest.approx(1.4)
    first.close()

    second = MainWindow(_settings(tmp_path))  # a restart
    qtbot.addWidget(second)
    choose(qtbot, second, nottingham)
    panel = second.generation_panel
    assert panel.variations.value() == 5
    assert (panel.key.currentData(), panel.scale.currentText()) == ("Bb", "minor")
    assert panel.temperature.value() == pytest.approx(1.4)
    assert panel.settings().request.pitch_classes() == frozenset({10, 0, 1, 3, 5, 6, 8})


def test_threshold_sampling_shows_one_variation_then_gives_back_the_users_number(window):
    panel = window.generation_panel
    panel.set_model("m", frozenset({"continue"}), ("temperature", "threshold", "noise"), defaults=())
    panel.variations.setValue(4)
    panel.sampling.setCurrentText("Threshold (steady)")
    assert panel.variations.value() == 1 and not panel.variations.isEnabled()
    panel.sampling.setCurrentText("Sample (varied)")
    assert panel.variations.value() == 4


# ------------------------------------------------------------------ defect 13: key names
def test_keys_are_listed_as_musicians_write_them(window):
    key = window.generation_panel.key
    names = [key.itemText(i) for i in range(key.count())]
    assert {"Bb", "Eb", "Ab", "Db", "F#"} <= set(names)
    assert not {"A#", "D#", "G#"} & set(names)


# ------------------------------------------------------------------ defect 16: a late time signature
def test_a_time_signature_after_tick_0_leaves_4_4_bars_before_it():
    q = 480
    score = Score([Track("Lead", 0, notes=make_notes([0, q], [q, 2 * q], [60, 62]))],
                  time_signatures=[TimeSignature(8 * q, 3, 4)])
    track = score.tracks[0]
    for playhead in (0, 2 * q, 9 * q):
        settings = GenerationSettings("playhead", track.id, GenerateRequest(bars=2))
        plan = plan_generation(score, settings, EditorState(playhead=playhead))
        bar = 3 * q if plan.start >= 8 * q else 4 * q
        assert plan.end - plan.start == 2 * bar
    np.testing.assert_array_equal(score.bar_starts(9 * q)[:4], [0, 4 * q, 8 * q, 11 * q])



# ------------------------------------------------------------------ the whole first hour
def _type_into(qtbot, widget, text: str) -> None:
    from PySide6.QtCore import Qt

    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def _click_cell(view, tick: int, pitch: int) -> None:
    from qt_events import mouse

    point = view.viewport_point(tick, pitch)
    mouse(view.viewport(), "press", point)
    mouse(view.viewport(), "release", point)


@pytest.mark.filterwarnings("ignore::composer.core.errors.ComposerWarning")
def test_a_new_users_first_hour(qtbot, window, tmp_path):
    """Launch with nothing, Generate at once, draw a melody with the pencil, generate, accept,
    undo, set a tempo and a 3/4 bar, export, and reopen the export."""
    panel, view = window.generation_panel, window.editor.view
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=LOAD_TIMEOUT_MS)  # the first model
    generate(qtbot, window)  # Ctrl+G on the empty project
    assert error_dialogs(window) == [] and panel.candidates.count() >= 1
    panel.discard_button.click()

    # Draw eight crotchets with the pencil (the default tool, snapped to the grid).
    window.editor.set_note_length("1/4")
    view.scroll_to_tick(0)
    view.center_on_pitch(64)
    q = window.score.ppq
    melody = [60, 62, 64, 65, 67, 65, 64, 62]
    for i, pitch in enumerate(melody):
        _click_cell(view, i * q, pitch)
    track = window.score.tracks[0]
    assert track.notes["pitch"].tolist() == melody and track.notes["start"].tolist() == [i * q for i in range(8)]
    steps_after_drawing = window.undo_stack.count()

    generate(qtbot, window)
    assert error_dialogs(window) == [] and panel.candidates.count() == panel.variations.value()
    assert window.generation.plan.start == 2 * 4 * q  # after the melody, at the next bar line
    assert window.generation.accept(0)
    assert len(track.notes) > len(melody)
    window.undo_stack.undo()
    assert track.notes["pitch"].tolist() == melody and window.undo_stack.count() > steps_after_drawing
    window.undo_stack.redo()
    accepted = track.notes.copy()

    # 96 BPM from the start; 3/4 from bar 2 (the playhead placed there, as a click on the ruler does).
    fields = window.timing_fields
    _type_into(qtbot, fields.tempo, "96")
    window.playback.set_start_tick(4 * q)
    _type_into(qtbot, fields.meter.lineEdit(), "3/4")
    assert [(s.tick, s.numerator, s.denominator) for s in window.score.time_signatures] == [(0, 4, 4), (4 * q, 3, 4)]

    path = tmp_path / "first hour.mid"
    assert window.export_midi(path)
    assert "Exported" in window.statusBar().currentMessage()
    assert window.open_path(str(path))
    reopened = window.score
    assert [c.qpm for c in reopened.tempos] == [96.0]
    assert [(s.tick, s.numerator, s.denominator) for s in reopened.time_signatures] == [(0, 4, 4), (4 * q, 3, 4)]
    back = reopened.tracks[0].notes
    np.testing.assert_array_equal(back[["start", "end", "pitch"]], accepted[["start", "end", "pitch"]])
    assert error_dialogs(window) == []
