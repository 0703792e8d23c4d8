"""Tempo and time signature: core edits, the project file, MIDI export, the toolbar fields and
the ruler's markers, the grid's bar lines, playback timing; and the ruler's loop drag and a new
document's loop region."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QUndoStack  # noqa: E402

from composer.core import Score, TimeSignature, Track, make_notes  # noqa: E402
from composer.core.edits import (  # noqa: E402
    RemoveTempo,
    RemoveTimeSignature,
    SetTempo,
    SetTimeSignature,
)
from composer.core.errors import ScoreError  # noqa: E402
from composer.core.score import score_problems  # noqa: E402
from composer.gui.pianoroll import tempo_meter, theme  # noqa: E402
from composer.io.midi import read_midi, write_midi  # noqa: E402
from composer.io.project import load_project, save_project  # noqa: E402
from qt_events import mouse, shown_editor  # noqa: E402

Q = 480
BAR = 4 * Q


def song() -> Score:
    notes = make_notes(np.arange(8) * Q, np.arange(8) * Q + Q // 2, [60 + i for i in range(8)])
    return Score([Track("Piano", 0, notes=notes)], ppq=Q)


def timing(score: Score):
    return ([(c.tick, c.qpm) for c in score.tempos],
            [(s.tick, s.numerator, s.denominator) for s in score.time_signatures])


# ------------------------------------------------------------------------------ core edits
def test_set_tempo_adds_or_replaces_a_change_and_reverts_exactly():
    score = song()
    heard = []
    score.events.timing_changed.connect(lambda: heard.append(True))
    later = SetTempo(2 * BAR, 90)
    later.apply(score)
    assert timing(score)[0] == [(0, 120.0), (2 * BAR, 90.0)]
    start = SetTempo(0, 100)
    start.apply(score)  # replaces the tempo at the start
    assert timing(score)[0] == [(0, 100.0), (2 * BAR, 90.0)]
    start.revert(score)
    later.revert(score)
    assert timing(score)[0] == [(0, 120.0)]
    assert len(heard) == 4  # every apply and revert tells the editor and the player
    later.apply(score)  # redo
    assert timing(score)[0] == [(0, 120.0), (2 * BAR, 90.0)]


def test_set_time_signature_moves_the_bar_lines_and_reverts():
    score = song()
    edit = SetTimeSignature(BAR, 3, 4)
    edit.apply(score)
    assert score.bar_starts(3 * BAR).tolist()[:5] == [0, BAR, BAR + 3 * Q, BAR + 6 * Q, BAR + 9 * Q]
    assert score.time_signature_at(BAR + 5).numerator == 3
    edit.revert(score)
    assert timing(score)[1] == [(0, 4, 4)]
    assert score.bar_starts(3 * BAR).tolist()[:3] == [0, BAR, 2 * BAR]


def test_removing_a_change_and_the_start_that_cannot_be_removed():
    score = song()
    SetTempo(BAR, 80).apply(score)
    SetTimeSignature(BAR, 6, 8).apply(score)
    remove_tempo, remove_meter = RemoveTempo(BAR), RemoveTimeSignature(BAR)
    remove_tempo.apply(score)
    remove_meter.apply(score)
    assert timing(score) == ([(0, 120.0)], [(0, 4, 4)])
    remove_meter.revert(score)
    remove_tempo.revert(score)
    assert timing(score) == ([(0, 120.0), (BAR, 80.0)], [(0, 4, 4), (BAR, 6, 8)])
    with pytest.raises(ScoreError, match="start cannot be removed"):
        RemoveTempo(0).apply(score)
    with pytest.raises(ScoreError, match="no time signature change at tick 5"):
        RemoveTimeSignature(5).apply(score)


@pytest.mark.parametrize("make, message", [
    (lambda: SetTempo(0, 5), "outside 10-1000 BPM"),
    (lambda: SetTempo(0, 1500), "outside 10-1000 BPM"),
    (lambda: SetTempo(0, float("nan")), "outside 10-1000 BPM"),
    (lambda: SetTempo(-1, 100), "tick >= 0"),
    (lambda: SetTimeSignature(0, 33, 4), "upper number .* must be 1-32"),
    (lambda: SetTimeSignature(0, 0, 4), "upper number .* must be 1-32"),
    (lambda: SetTimeSignature(0, 4, 3), "lower number .* must be 1, 2, 4, 8, 16 or 32"),
    (lambda: SetTimeSignature(0, 4, 64), "lower number"),
])
def test_bad_tempos_and_time_signatures_are_refused_with_a_message(make, message):
    with pytest.raises(ScoreError, match=message):
        make()


def test_the_score_checks_time_signatures_with_the_same_limits():
    score = Score(time_signatures=[TimeSignature(0, 4, 64)])
    assert any("lower number" in p for p in score_problems(score))
    assert score_problems(Score(time_signatures=[TimeSignature(0, 32, 32)])) == []


def test_where_an_edit_at_a_tick_belongs():
    score = song()
    SetTempo(2 * BAR + Q, 90).apply(score)  # a tempo change inside bar 3 (as MIDI files have)
    assert score.timing_change_tick("tempo", Q) == 0  # the first bar: the start
    assert score.timing_change_tick("tempo", BAR + 5) == BAR  # a later bar: its start
    assert score.timing_change_tick("tempo", 2 * BAR + 2 * Q) == 2 * BAR + Q  # the change in that bar
    assert score.timing_change_tick("meter", 2 * BAR + 2 * Q) == 2 * BAR
    assert score.bar_index_at(2 * BAR + 2 * Q) == 2


# ------------------------------------------------------------------------------ files
def changed_song() -> Score:
    score = song()
    for edit in (SetTempo(0, 96), SetTempo(2 * BAR, 132.5), SetTimeSignature(BAR, 3, 4),
                 SetTimeSignature(BAR + 6 * Q, 7, 8)):
        edit.apply(score)
    return score


def test_a_project_saves_and_loads_tempo_and_time_signature_changes(tmp_path):
    score = changed_song()
    save_project(tmp_path / "song.composer.json", score)
    back, _ = load_project(tmp_path / "song.composer.json")
    assert timing(back) == timing(score)
    assert back.same_content(score)


def test_midi_export_writes_the_changes_and_reads_back_the_same(tmp_path):
    score = changed_song()
    write_midi(score, tmp_path / "song.mid")
    back = read_midi(tmp_path / "song.mid")
    assert [(c.tick, round(c.qpm, 3)) for c in back.tempos] == timing(score)[0]
    assert timing(back)[1] == timing(score)[1]
    assert back.bar_starts(4 * BAR).tolist() == score.bar_starts(4 * BAR).tolist()


# ------------------------------------------------------------------------------ playback
def test_playback_times_notes_with_the_tempo_map():
    from composer.io.playback_timeline import audible_notes

    score = Score([Track("t", notes=make_notes(np.arange(5) * Q, np.arange(5) * Q + 10, [60] * 5))],
                  ppq=Q)
    SetTempo(2 * Q, 60).apply(score)  # two beats at 120 BPM, then 60 BPM
    starts = audible_notes(score, lambda *_: None)[0]
    np.testing.assert_allclose(starts, [0.0, 0.5, 1.0, 2.0, 3.0])


def test_a_tempo_change_made_while_playing_is_heard(tmp_path):
    """The real player, rendering to a WAV in real time: the notes after the change come at the
    new tempo, where the file has them (synth time, not wall-clock time)."""
    from composer.io.playback import Player
    from composer.io.synth import AudioUnavailable
    from test_playback import assert_onsets, onsets_ms, play_until, read_wav, wait_clock

    wav = tmp_path / "heard.wav"
    try:
        player = Player(file=wav)
    except AudioUnavailable as exc:
        pytest.skip(str(exc))
    score = Score([Track("t", notes=make_notes(np.arange(5) * Q, np.arange(5) * Q + Q // 5,
                                               [72] * 5, 110))], ppq=Q)
    try:
        anchor = player.play(score, 0)
        wait_clock(player, anchor + 250)
        SetTempo(2 * Q, 60).apply(score)  # from the third beat (1.0 s) on, a beat takes 1 s
        play_until(player, 3.6)
    finally:
        player.close()
    assert_onsets(onsets_ms(read_wav(wav)), [anchor + t for t in (0, 500, 1000, 2000, 3000)])


# ------------------------------------------------------------------------------ editor
@pytest.fixture
def editor(qtbot):
    ed = shown_editor(qtbot)
    ed.set_score(song(), QUndoStack())
    ed.scroll_to_tick(0)
    ed.view.horizontalScrollBar().setValue(0)
    return ed


def column(image, x: int, rows) -> set:
    return {image.pixelColor(x, y).name() for y in rows}


def test_the_grid_and_the_ruler_draw_bar_lines_of_a_new_time_signature(editor, qtbot):
    view, ruler = editor.view, editor.ruler
    x = int(np.floor(view.tick_to_viewport_x(3 * Q) + 1e-6))  # beat 4 in 4/4, bar 2 in 3/4
    rows = range(10, view.viewport().height() - 10)
    before = view.viewport().grab().toImage()
    assert theme.LINE_BAR.name() not in column(before, x, rows)
    assert tempo_meter.set_meter(view, 0, 3, 4) is None
    qtbot.wait(1)  # let the view repaint
    after_grid = view.viewport().grab().toImage()
    assert theme.LINE_BAR.name() in column(after_grid, x, rows)
    after_ruler = ruler.grab().toImage()
    assert after_ruler.pixelColor(x, ruler.height() - 10).name() == theme.TEXT_DIM.name()
    assert [m.label for m in ruler.markers()][:2] == ["3/4", "\u2669=120"]
    view.undo_stack.undo()
    assert view.roll.bar_starts()[:3].tolist() == [0, BAR, 2 * BAR]


def test_double_clicking_a_tempo_marker_edits_it(editor, qtbot, monkeypatch):
    view, ruler = editor.view, editor.ruler
    tempo_meter.set_tempo(view, BAR + 10, 90)
    marker = next(m for m in ruler.markers() if m.kind == "tempo" and m.tick == BAR)
    assert marker.label == "\u2669=90"
    asked = []
    monkeypatch.setattr(tempo_meter, "ask_tempo", lambda _w, current, bar: asked.append((current, bar)) or 75.5)
    qtbot.mouseDClick(ruler, Qt.MouseButton.LeftButton, pos=marker.rect.center().toPoint())
    assert asked == [(90.0, 2)]
    assert timing(view.score)[0] == [(0, 120.0), (BAR, 75.5)]
    assert view.undo_stack.count() == 2  # one step each


def test_the_ruler_menu_sets_and_removes_changes(editor, monkeypatch):
    view, ruler = editor.view, editor.ruler
    monkeypatch.setattr(tempo_meter, "ask_meter", lambda _w, n, d, bar: (6, 8))
    monkeypatch.setattr(tempo_meter, "ask_tempo", lambda _w, current, bar: 140.0)
    here = QPointF(view.tick_to_viewport_x(2 * BAR + Q), 30)  # in bar 3, under the markers
    actions = {a.text(): a for a in ruler.context_menu(here).actions() if a.text()}
    assert not actions["Remove tempo change (bar 3)"].isEnabled()  # nothing to remove yet
    actions["Set time signature here (bar 3)..."].trigger()
    actions["Set tempo here (bar 3)..."].trigger()
    assert timing(view.score) == ([(0, 120.0), (2 * BAR, 140.0)], [(0, 4, 4), (2 * BAR, 6, 8)])
    marker = next(m for m in ruler.markers() if m.kind == "meter" and m.tick == 2 * BAR)
    menu = {a.text(): a for a in ruler.context_menu(marker.rect.center()).actions() if a.text()}
    assert "Remove tempo change (bar 3)" not in menu  # on a marker: only that one
    menu["Remove time signature change (bar 3)"].trigger()
    assert timing(view.score)[1] == [(0, 4, 4)]
    start = {a.text(): a for a in ruler.context_menu(QPointF(view.tick_to_viewport_x(Q), 30)).actions()}
    assert not start["Remove tempo change (bar 1)"].isEnabled()  # the start stays
    assert view.undo_stack.count() == 3


def test_a_plain_drag_on_the_ruler_sets_the_loop_and_a_click_the_playhead(editor, qtbot):
    view, ruler = editor.view, editor.ruler
    y = ruler.height() - 8
    heads, loops = [], []
    editor.playhead_requested.connect(heads.append)
    editor.loop_requested.connect(lambda s, e: loops.append((s, e)))
    mouse(ruler, "press", QPointF(view.tick_to_viewport_x(BAR), y))
    for tick in (BAR + 200, 2 * BAR):
        mouse(ruler, "move", QPointF(view.tick_to_viewport_x(tick), y))
    mouse(ruler, "release", QPointF(view.tick_to_viewport_x(3 * BAR), y))  # the loop ends here
    assert loops == [(BAR, 3 * BAR)] and view.roll.loop == (BAR, 3 * BAR)
    assert heads == []  # a drag does not move the playhead
    mouse(ruler, "press", QPointF(view.tick_to_viewport_x(Q), y))
    mouse(ruler, "move", QPointF(view.tick_to_viewport_x(Q) + 1, y))  # a hand's tremor
    mouse(ruler, "release", QPointF(view.tick_to_viewport_x(Q) + 1, y))
    assert heads == [Q] and loops == [(BAR, 3 * BAR)]


# ------------------------------------------------------------------------------ main window
def type_into(qtbot, widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll() if hasattr(widget, "selectAll") else widget.lineEdit().selectAll()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def test_the_toolbar_fields_set_tempo_and_time_signature_at_the_playhead(window, qtbot):
    fields, score = window.timing_fields, window.score
    assert (fields.tempo.text(), fields.meter.currentText()) == ("120 BPM", "4/4")
    type_into(qtbot, fields.tempo, "96")  # the playhead is in the first bar: the start
    assert timing(score)[0] == [(0, 96.0)]
    window.playback.set_start_tick(2 * BAR + Q)  # as a click on the ruler in bar 3 does
    type_into(qtbot, fields.meter.lineEdit(), "3/4")
    type_into(qtbot, fields.tempo, "140")
    assert timing(score) == ([(0, 96.0), (2 * BAR, 140.0)], [(0, 4, 4), (2 * BAR, 3, 4)])
    assert window.undo_stack.count() == 3  # one step each
    assert window.transport.time_label.text().startswith("3:2")
    window.playback.set_start_tick(0)
    assert (fields.tempo.text(), fields.meter.currentText()) == ("96 BPM", "4/4")
    window.playback.set_start_tick(3 * BAR)  # bar 4 in 3/4 is bar 3's start + 3 beats
    assert (fields.tempo.text(), fields.meter.currentText()) == ("140 BPM", "3/4")
    window.undo_stack.undo()
    assert fields.tempo.text() == "96 BPM"  # the fields follow undo
    window.undo_stack.undo()
    assert fields.meter.currentText() == "4/4"
    assert window.editor.view.roll.bar_starts()[:4].tolist() == [0, BAR, 2 * BAR, 3 * BAR]


@pytest.mark.parametrize("field, text, message", [
    ("tempo", "2000", "outside 10-1000 BPM"),
    ("tempo", "0", "outside 10-1000 BPM"),
    ("meter", "33/4", "must be 1-32"),
    ("meter", "4/5", "must be 1, 2, 4, 8, 16 or 32"),
    ("meter", "waltz", "such as 3/4"),
])
def test_the_fields_refuse_bad_values_with_a_message(window, qtbot, field, text, message):
    fields = window.timing_fields
    widget = fields.tempo if field == "tempo" else fields.meter.lineEdit()
    with qtbot.waitSignal(fields.problem) as problem:
        type_into(qtbot, widget, text)
    assert message in problem.args[0]
    assert message in window.statusBar().currentMessage()
    assert timing(window.score) == ([(0, 120.0)], [(0, 4, 4)]) and window.undo_stack.count() == 0
    assert (fields.tempo.text(), fields.meter.currentText()) == ("120 BPM", "4/4")


def test_the_tempo_arrows_stop_at_the_limits(window):
    tempo = window.timing_fields.tempo
    tempo.setValue(999)
    tempo.stepBy(5)
    assert window.score.tempos[-1].qpm == 1000.0


def test_a_new_or_opened_document_starts_without_a_loop(window, fixtures):
    window.editor.ruler.loop_requested.emit(0, 2 * BAR)  # as a drag on the ruler does
    window.transport.loop_action.setChecked(True)
    assert window.editor.view.roll.loop == (0, 2 * BAR) and window.playback.loop_enabled
    window.new_document()
    assert window.editor.view.roll.loop is None
    assert window.playback.loop_region is None and not window.playback.loop_enabled
    assert not window.transport.loop_action.isChecked()
    window.editor.ruler.loop_requested.emit(BAR, 2 * BAR)
    assert window.open_path(str(fixtures / "song.mid"))
    assert window.editor.view.roll.loop is None and window.playback.loop_region is None
