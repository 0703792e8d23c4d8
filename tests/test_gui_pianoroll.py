"""The piano-roll editor, both directions: Score edits show in the scene, mouse and keys edit the Score.

Every gesture must arrive as exactly one undo step, and undo/redo must give back the exact notes
(ids included).
"""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent, QUndoStack  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from composer.core import Score, Track, make_notes  # noqa: E402
from qt_events import LEFT, mouse, shown_editor  # noqa: E402
from composer.core.edits import AddNotes, MoveNotes, RemoveNotes, SetVelocity  # noqa: E402
from composer.gui.pianoroll import snap_ticks  # noqa: E402
from composer.gui.undo import EditCommand, push_edit  # noqa: E402

PPQ = 480
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def notes(start, end, pitch, velocity=100, ids=None):
    return make_notes(start, end, pitch, velocity, ids)


def build_score() -> Score:
    lead = Track("Lead", 0, notes=notes([0, 480, 960], [480, 960, 1440], [60, 62, 64], [100, 90, 80]))
    bass = Track("Bass", 33, notes=notes([0, 960], [960, 1920], [52, 55], 100))
    return Score([lead, bass], ppq=PPQ)



def drag(widget, points, modifiers=Qt.KeyboardModifier.NoModifier):
    mouse(widget, "press", points[0], modifiers=modifiers)
    for p in points[1:]:
        mouse(widget, "move", p, modifiers=modifiers)
    mouse(widget, "release", points[-1], modifiers=modifiers)


@pytest.fixture
def editor(qtbot):
    return shown_editor(qtbot)


@pytest.fixture
def loaded(editor):
    """An editor on a two-track score, lead active, pitches 52-64 and ticks 0-1920 in view."""
    score = build_score()
    stack = QUndoStack()
    editor.set_score(score, stack)
    editor.center_on_pitch(58)
    editor.scroll_to_tick(0)
    return editor, score, stack


def lead(score):
    return score.tracks[0]


# ---------------------------------------------------------------------- undo adapter
def test_push_edit_wraps_core_edits_in_one_undo_step():
    score = build_score()
    before = score.copy()
    stack = QUndoStack()
    command = push_edit(stack, score, MoveNotes(lead(score).id, np.array([0]), d_pitch=3))
    assert isinstance(command, EditCommand) and stack.count() == 1
    assert stack.undoText() == "Move Notes"
    after = score.copy()
    stack.undo()
    assert score.same_content(before)
    stack.redo()
    assert score.same_content(after)


def test_push_edit_refuses_an_invalid_edit_without_pushing():
    score = build_score()
    stack = QUndoStack()
    with pytest.raises(Exception):
        push_edit(stack, score, MoveNotes(lead(score).id, np.array([0]), d_ticks=-10))
    assert stack.count() == 0 and score.same_content(build_score())


def test_snap_names_convert_with_the_scores_ppq():
    assert [snap_ticks(n, 480) for n in ("1/4", "1/8", "1/16", "1/32", "1/8T", "1/16T", "off")] == \
        [480, 240, 120, 60, 160, 80, 0]
    assert snap_ticks("1/16", 96) == 24
    with pytest.raises(ValueError):
        snap_ticks("1/7", 480)


# ---------------------------------------------------------------------- model to view
def test_scene_shows_all_tracks_and_follows_score_signals(loaded):
    editor, score, _ = loaded
    roll = editor.view.roll
    lead_track, bass = score.tracks
    assert set(roll.note_items(lead_track.id)) == {0, 1, 2}
    assert set(roll.note_items(bass.id)) == {0, 1}

    item = roll.note_item(lead_track.id, 1)
    ids = lead_track.new_note_ids(1)
    AddNotes(lead_track.id, notes([1920], [2400], [67], ids=ids)).apply(score)  # edited elsewhere
    added = roll.note_item(lead_track.id, int(ids[0]))
    assert added is not None and added.pitch == 67 and added.start == 1920
    MoveNotes(lead_track.id, np.array([1]), d_ticks=240, d_pitch=-2).apply(score)
    assert roll.note_item(lead_track.id, 1) is item  # updated in place, not re-created
    assert (item.start, item.end, item.pitch) == (720, 1200, 60)
    assert item.rect().x() == pytest.approx(roll.tick_to_x(720))
    assert item.rect().y() == pytest.approx(roll.pitch_to_y(60))
    assert editor.view.note_viewport_rect(item).topLeft() == editor.view.viewport_point(720, 60) \
        - QPoint(1, int(roll.key_height / 2))
    SetVelocity(lead_track.id, np.array([1]), velocity=33).apply(score)
    assert item.velocity == 33
    RemoveNotes(lead_track.id, ids).apply(score)
    assert int(ids[0]) not in roll.note_items(lead_track.id)


def test_track_added_and_removed_through_edits_show_in_scene(loaded):
    from composer.core.edits import AddTrack, RemoveTrack

    editor, score, _ = loaded
    roll = editor.view.roll
    extra = Track("Pad", 89, notes=notes([0], [1920], [70]))
    AddTrack(extra).apply(score)
    assert set(roll.note_items(extra.id)) == {0}
    RemoveTrack(extra.id).apply(score)
    assert roll.note_items(extra.id) == {}


def test_inactive_tracks_are_dimmed_and_not_selectable(loaded):
    editor, score, _ = loaded
    view, roll = editor.view, editor.view.roll
    bass = score.tracks[1]
    bass_item = roll.note_item(bass.id, 0)
    assert not bass_item.flags() & bass_item.GraphicsItemFlag.ItemIsSelectable
    assert bass_item.zValue() < roll.note_item(lead(score).id, 0).zValue()

    # Clicking a bass note selects nothing; Ctrl+A and a rubber band only take lead notes.
    p = view.viewport_point(500, 52)
    mouse(view.viewport(), "press", p)
    mouse(view.viewport(), "release", p)
    assert len(editor.selected_note_ids()) == 0 and not bass_item.isSelected()
    view.keyPressEvent(_key(Qt.Key.Key_A, CTRL))
    assert editor.selected_note_ids().tolist() == [0, 1, 2]
    assert not bass_item.isSelected()
    editor.select_notes([])
    # A rubber band from the top right to the bottom left corner covers notes of both tracks.
    corner = QPoint(2, view.viewport().height() - 2)
    drag(view.viewport(), [view.viewport_point(1900, 66) + QPoint(0, -4), corner])
    assert editor.selected_note_ids().tolist() == [0, 1, 2]

    editor.set_active_track(bass.id)
    assert bass_item.flags() & bass_item.GraphicsItemFlag.ItemIsSelectable
    assert len(editor.selected_note_ids()) == 0


def test_candidates_appear_and_clear(loaded):
    editor, score, _ = loaded
    roll = editor.view.roll
    editor.set_candidates(lead(score).id, notes([1920, 2400], [2400, 2880], [65, 67]))
    items = roll.candidate_items(lead(score).id)
    assert len(items) == 2
    assert not items[0].flags() & items[0].GraphicsItemFlag.ItemIsSelectable
    assert len(lead(score)) == 3  # candidates are not part of the Score
    editor.set_candidates(lead(score).id, None)
    assert roll.candidate_items() == []


def test_playhead_and_loop_setters(loaded):
    editor, _, _ = loaded
    roll = editor.view.roll
    editor.set_playhead(960)
    assert roll.playhead == 960 and roll._playhead_item.isVisible()
    assert roll._playhead_item.line().x1() == pytest.approx(roll.tick_to_x(960))
    editor.set_loop(0, 1920)
    assert roll.loop == (0, 1920)
    editor.set_loop(None, None)
    assert roll.loop is None


# ---------------------------------------------------------------------- view to model
def test_drawing_creates_a_snapped_note_in_one_undo_step(loaded, qtbot):
    editor, score, stack = loaded
    view = editor.view
    editor.set_tool("draw")
    editor.set_snap("1/16")
    before = score.copy()
    with qtbot.waitSignal(view.note_preview_requested) as preview:
        # Press inside the sixteenth that starts at 1920, drag to about tick 2380.
        drag(view.viewport(), [view.viewport_point(1930, 67), view.viewport_point(2370, 67)])
    assert preview.args == [67, 0, False]
    new = lead(score).notes[lead(score).notes["pitch"] == 67]
    assert len(new) == 1 and (new["start"][0], new["end"][0]) == (1920, 2400)
    assert stack.count() == 1
    after = score.copy()
    stack.undo()
    assert score.same_content(before)
    stack.redo()
    assert score.same_content(after)  # same id on redo


def test_draw_click_uses_the_note_length(loaded):
    editor, score, _ = loaded
    view = editor.view
    editor.set_tool("draw")
    editor.set_snap("1/8T")
    editor.set_note_length("1/8")
    p = view.viewport_point(2100, 70)  # the triplet eighth cell starting at 1920 + 160 = 2080
    mouse(view.viewport(), "press", p)
    mouse(view.viewport(), "release", p)
    new = lead(score).notes[lead(score).notes["pitch"] == 70]
    assert (new["start"][0], new["end"][0]) == (2080, 2320)


def test_dragging_selected_notes_moves_them_in_one_undo_step(loaded):
    editor, score, stack = loaded
    view = editor.view
    before = score.copy()
    editor.select_notes([1, 2])
    # Grab note 1 (start 480, pitch 62) and drop it one quarter later, two semitones up.
    drag(view.viewport(), [view.viewport_point(500, 62), view.viewport_point(700, 63),
                           view.viewport_point(980, 64)])
    expected = notes([0, 960, 1440], [480, 1440, 1920], [60, 64, 66], [100, 90, 80], ids=[0, 1, 2])
    assert np.array_equal(lead(score).notes, expected)
    assert stack.count() == 1 and stack.undoText() == "Move Notes"
    assert editor.selected_note_ids().tolist() == [1, 2]  # items kept, selection too
    after = score.copy()
    stack.undo()
    assert score.same_content(before)
    stack.redo()
    assert score.same_content(after)


def test_click_and_shift_click_select(loaded):
    editor, _, stack = loaded
    view = editor.view
    for tick, pitch, mods, expected in ((10, 60, Qt.KeyboardModifier.NoModifier, [0]),
                                        (970, 64, SHIFT, [0, 2]),
                                        (500, 62, Qt.KeyboardModifier.NoModifier, [1])):
        p = view.viewport_point(tick, pitch)
        mouse(view.viewport(), "press", p, modifiers=mods)
        mouse(view.viewport(), "release", p, modifiers=mods)
        assert editor.selected_note_ids().tolist() == expected
    assert stack.count() == 0  # clicks edit nothing


def test_escape_cancels_a_drag_and_double_click_adds_a_note(loaded):
    editor, score, stack = loaded
    view = editor.view
    item = view.roll.note_item(lead(score).id, 0)
    rect = item.rect()
    mouse(view.viewport(), "press", view.viewport_point(10, 60))
    mouse(view.viewport(), "move", view.viewport_point(980, 66))
    assert item.pos().y() != 0  # the preview moved the item
    view.keyPressEvent(_key(Qt.Key.Key_Escape))
    mouse(view.viewport(), "release", view.viewport_point(980, 66))
    assert stack.count() == 0 and item.pos().y() == 0 and item.rect() == rect

    p = view.viewport_point(1925, 66)
    mouse(view.viewport(), "press", p)
    mouse(view.viewport(), "release", p)
    QApplication.sendEvent(view.viewport(), QMouseEvent(
        QEvent.Type.MouseButtonDblClick, QPointF(p), view.viewport().mapToGlobal(QPointF(p)),
        LEFT, LEFT, Qt.KeyboardModifier.NoModifier))
    mouse(view.viewport(), "release", p)
    added = lead(score).notes[lead(score).notes["pitch"] == 66]
    assert (added["start"].tolist(), added["end"].tolist()) == ([1920], [2040])
    assert stack.count() == 1


def test_resizing_by_the_right_edge(loaded):
    editor, score, stack = loaded
    view = editor.view
    edge = QPoint(int(view.tick_to_viewport_x(480)) - 2, view.viewport_point(0, 60).y())
    drag(view.viewport(), [edge, edge + QPoint(10, 0), view.viewport_point(715, 60)])
    assert lead(score).get([0])["end"][0] == 720
    assert stack.count() == 1 and stack.undoText() == "Resize Notes"
    stack.undo()
    assert score.same_content(build_score())


def test_erase_by_click_and_drag(loaded):
    editor, score, stack = loaded
    view = editor.view
    editor.set_tool("erase")
    p = view.viewport_point(100, 60)
    mouse(view.viewport(), "press", p)
    mouse(view.viewport(), "release", p)
    assert lead(score).notes["id"].tolist() == [1, 2]
    # One stroke across two notes is one undo step.
    drag(view.viewport(), [view.viewport_point(500, 62), view.viewport_point(700, 63),
                           view.viewport_point(1000, 64)])
    assert len(lead(score)) == 0 and stack.count() == 2
    stack.undo()
    assert lead(score).notes["id"].tolist() == [1, 2]
    stack.undo()
    assert score.same_content(build_score())


def _key(key, modifiers=Qt.KeyboardModifier.NoModifier):
    from PySide6.QtGui import QKeyEvent

    return QKeyEvent(QEvent.Type.KeyPress, key, modifiers)


def test_keys_delete_duplicate_select_all_and_arrows(loaded, qtbot):
    editor, score, stack = loaded
    view = editor.view
    view.setFocus()
    editor.select_notes([0, 1])
    qtbot.keyClick(view, Qt.Key.Key_D, CTRL)
    # Notes 0-960 copied one span (960 ticks) later with fresh ids, and selected.
    copies = lead(score).get([3, 4])
    assert copies["start"].tolist() == [960, 1440] and copies["pitch"].tolist() == [60, 62]
    assert editor.selected_note_ids().tolist() == [3, 4]
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert lead(score).get([3, 4])["pitch"].tolist() == [61, 63]
    qtbot.keyClick(view, Qt.Key.Key_Down, SHIFT)
    assert lead(score).get([3, 4])["pitch"].tolist() == [49, 51]
    qtbot.keyClick(view, Qt.Key.Key_Right)  # one sixteenth (snap 1/16)
    assert lead(score).get([3, 4])["start"].tolist() == [1080, 1560]
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert lead(score).notes["id"].tolist() == [0, 1, 2]
    qtbot.keyClick(view, Qt.Key.Key_A, CTRL)
    assert editor.selected_note_ids().tolist() == [0, 1, 2]
    assert stack.count() == 5
    for _ in range(5):
        stack.undo()
    assert score.same_content(build_score())


def test_transpose_and_quantize_selection(loaded):
    editor, score, stack = loaded
    track = lead(score)
    editor.select_notes([0, 1, 2])
    assert editor.transpose_selection(2)
    assert track.notes["pitch"].tolist() == [62, 64, 66]
    assert not editor.transpose_selection(100)  # would leave 0-127: refused, nothing pushed
    assert stack.count() == 1

    # Loose timing, quantized to eighths in one undo step.
    ids = track.new_note_ids(2)
    push_edit(stack, score, AddNotes(track.id, notes([1930, 2150], [2170, 2420], [70, 72], ids=ids)))
    before = score.copy()
    editor.select_notes(ids)
    assert editor.quantize_selection(grid=240)
    q = track.get(ids)
    assert q["start"].tolist() == [1920, 2160] and q["end"].tolist() == [2160, 2400]
    assert track.get([0])["start"][0] == 0  # unselected notes untouched
    assert stack.count() == 3 and stack.undoText() == "Quantize"
    after = score.copy()
    stack.undo()
    assert score.same_content(before)
    stack.redo()
    assert score.same_content(after)


def test_velocity_lane_drag_sets_velocity_in_one_undo_step(loaded):
    editor, score, stack = loaded
    lane, view = editor.velocity, editor.view
    x = view.tick_to_viewport_x(480) + 1
    y = lane.velocity_to_y(90)
    assert lane.note_at(x, y) == 1
    drag(lane, [QPointF(x, y), QPointF(x, y - 5), QPointF(x, y - 15)])
    expected = lane.y_to_velocity(y - 15)
    assert expected > 90
    assert lead(score).get([1])["velocity"][0] == expected
    assert stack.count() == 1 and stack.undoText() == "Set Velocity"
    stack.undo()
    assert score.same_content(build_score())

    # On a selected note, the whole selection moves by the same amount.
    editor.select_notes([1, 2])
    drag(lane, [QPointF(x, y), QPointF(x, y + 6), QPointF(x, y + 10)])
    shift = lane.y_to_velocity(y + 10) - 90
    assert lead(score).get([0, 1, 2])["velocity"].tolist() == [100, 90 + shift, 80 + shift]
    assert stack.count() == 1


# ---------------------------------------------------------------------- companions
def test_keyboard_click_emits_the_pitch(loaded, qtbot):
    editor, _, _ = loaded
    view, keys = editor.view, editor.keyboard
    y = int(view.pitch_to_viewport_y(60) + view.roll.key_height / 2)
    with qtbot.waitSignal(editor.key_pressed) as pressed:
        qtbot.mouseClick(keys, LEFT, pos=QPoint(10, y))
    assert pressed.args == [60]


def test_ruler_click_sets_playhead_and_shift_drag_sets_loop(loaded, qtbot):
    editor, _, _ = loaded
    view, ruler = editor.view, editor.ruler
    y = ruler.height() // 2
    with qtbot.waitSignal(editor.playhead_requested) as head:
        mouse(ruler, "press", QPointF(view.tick_to_viewport_x(962), y))
        mouse(ruler, "release", QPointF(view.tick_to_viewport_x(962), y))
    assert head.args == [960] and view.roll.playhead == 960
    with qtbot.waitSignal(editor.loop_requested) as loop:
        drag(ruler, [QPointF(view.tick_to_viewport_x(0), y), QPointF(view.tick_to_viewport_x(1000), y),
                     QPointF(view.tick_to_viewport_x(1920), y)], modifiers=SHIFT)
    assert loop.args == [0, 1920] and view.roll.loop == (0, 1920)


def test_zoom_keeps_items_aligned(loaded):
    editor, score, _ = loaded
    roll = editor.view.roll
    view = editor.view
    item = roll.note_item(lead(score).id, 2)
    editor.zoom_time(2.0)
    editor.zoom_pitch(1.5)
    assert roll.px_per_quarter == pytest.approx(96.0)
    # On screen the note starts at its start tick and fills its key row (a pixel gap below).
    rect = view.note_viewport_rect(item)
    assert rect.left() == int(np.floor(view.tick_to_viewport_x(960) + 1e-6))
    assert rect.width() == int(np.floor(view.tick_to_viewport_x(1440) + 1e-6)) - rect.left()
    assert rect.top() == int(np.floor(view.pitch_to_viewport_y(64) + 1e-6))
    assert rect.height() == pytest.approx(roll.key_height, abs=1)


def test_ten_thousand_notes_load(editor):
    rng = np.random.default_rng(0)
    starts = np.sort(rng.integers(0, 480 * 4 * 400, 10_000))
    big = Track("Big", 0, notes=notes(starts, starts + rng.integers(60, 960, 10_000),
                                      rng.integers(30, 90, 10_000), rng.integers(1, 128, 10_000)))
    score = Score([big], ppq=PPQ)
    editor.set_score(score, QUndoStack())
    assert len(editor.view.roll.note_items(big.id)) == 10_000
    editor.zoom_time(0.5)
    editor.view.select_all()
    assert len(editor.selected_note_ids()) == 10_000
    editor.grab()  # paints without error


def test_qt_binding_keeps_none_alive():
    """PySide6 6.12.0 dropped a reference to None per void call and crashed Python 3.11; the
    requirement excludes it, and this catches any binding with the same fault."""
    import sys

    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(1000):
        probe.setObjectName("probe")
    assert before - sys.getrefcount(None) < 10
