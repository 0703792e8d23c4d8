"""Zooming the piano roll: the view's transform does the zoom, and what is painted stays on the
pixel grid.

The scene keeps notes in ticks and key rows, so a zoom moves no item (that is what keeps a zoom
frame of a 10,000-note project fast). These tests pin what the user sees at many zoom levels,
including fractional ones: a note's outline starts on the grid line of its start tick, fills its
key row up to the row separator, the keyboard's keys line up with the rows, and mouse gestures
still give the right ticks and pitches.
"""

import math

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint  # noqa: E402
from PySide6.QtGui import QUndoStack  # noqa: E402

from composer.core import Score, Track, make_notes  # noqa: E402
from qt_events import mouse, shown_editor  # noqa: E402
from composer.gui.pianoroll import theme  # noqa: E402

PPQ = 480
# (time factor, pitch factor) applied from the default zoom (48 px per quarter, 14 px per key).
ZOOMS = [(1.0, 1.0), (1.1, 1.0), (1.1 ** 3, 1.15), (2.2, 1.6), (1 / 1.1 ** 5, 1 / 1.15 ** 2),
         (0.45, 0.8), (3.7, 2.3), (1.25 ** 2 / 1.2, 1.15 ** 3)]


def px(x: float) -> int:
    """The device pixel a coordinate is drawn on (the editor floors, like its grid lines)."""
    return math.floor(x + 1e-6)



def drag(widget, points):
    mouse(widget, "press", points[0])
    for p in points[1:]:
        mouse(widget, "move", p)
    mouse(widget, "release", points[-1])


def build_score() -> Score:
    # Notes on bar, beat and sixteenth lines, each with an empty row above it.
    lead = Track("Lead", 0, notes=make_notes([0, 480, 960, 1920, 2040], [480, 960, 1440, 2400, 2160],
                                             [60, 62, 64, 67, 71], [100, 90, 80, 70, 60]))
    return Score([lead], ppq=PPQ)


@pytest.fixture
def editor(qtbot):
    ed = shown_editor(qtbot)
    score = build_score()
    ed.set_score(score, QUndoStack())
    return ed


def zoom(editor, time_factor, pitch_factor):
    """Zoom from the default zoom by these factors, scrolled to the start and to pitch 64."""
    editor.view.roll.set_zoom(48.0, 14.0)
    editor.zoom_time(time_factor)
    editor.zoom_pitch(pitch_factor)
    editor.view.scroll_to_tick(0)
    editor.center_on_pitch(64)


def rgb(image, x, y) -> int:
    return image.pixel(x, y) & 0xFFFFFF


def color(c) -> int:
    return c.rgb() & 0xFFFFFF


LINE_COLORS = {color(theme.LINE_BAR), color(theme.LINE_BEAT), color(theme.LINE_SUB)}
ROW_COLORS = {color(theme.ROW_WHITE), color(theme.ROW_BLACK)}
SEPARATORS = {color(theme.ROW_SEPARATOR), color(theme.OCTAVE_LINE)}


def has_grid_line(roll, tick: int) -> bool:
    """Whether the background draws a line at ``tick`` (4/4; lines closer than 6 px are left out)."""
    ppt = roll.px_per_tick
    return tick % (4 * PPQ) == 0 or (tick % PPQ == 0 and PPQ * ppt >= 6) \
        or (tick % (PPQ // 4) == 0 and PPQ // 4 * ppt >= 6)


# ---------------------------------------------------------------------- the zoom is a transform
def test_zoom_changes_the_transform_and_moves_no_item(editor):
    view, roll = editor.view, editor.view.roll
    items = list(roll.note_items().values())
    before = [(item.rect(), item.pos()) for item in items]
    scene_rect = roll.sceneRect()
    for factor in (1.5, 1.5, 1 / 3, 1.1):
        editor.zoom_time(factor)
        editor.zoom_pitch(1 / factor)
    assert [(item.rect(), item.pos()) for item in items] == before
    assert roll.sceneRect() == scene_rect
    assert view.transform().m11() == pytest.approx(roll.px_per_tick)
    assert view.transform().m22() == pytest.approx(roll.key_height)
    # Scene units are ticks and key rows, whatever the zoom.
    item = roll.note_item(roll.active_track_id, 1)
    assert (item.rect().x(), item.rect().y(), item.rect().width()) == (480, 127 - 62, 480)


def test_zoom_keeps_the_tick_under_the_anchor(editor):
    view = editor.view
    view.scroll_to_tick(960)
    tick = view.viewport_x_to_tick(200)
    view.zoom_time(1.7, anchor_x=200)
    assert view.viewport_x_to_tick(200) == pytest.approx(tick, abs=1 / view.roll.px_per_tick)
    pitch = view.viewport_y_to_pitch(150)
    view.zoom_pitch(1.3, anchor_y=150)
    assert view.viewport_y_to_pitch(150) == pitch


# ---------------------------------------------------------------------- what is painted
@pytest.mark.parametrize("time_factor,pitch_factor", ZOOMS)
def test_notes_sit_on_their_grid_lines_and_key_rows(editor, time_factor, pitch_factor):
    zoom(editor, time_factor, pitch_factor)
    view, roll = editor.view, editor.view.roll
    image = view.viewport().grab().toImage()
    style = roll.note_item(roll.active_track_id, 0).style
    outline = color(style.pen.color())
    checked = lines = 0
    for item in roll.note_items().values():
        rect = view.note_viewport_rect(item)
        left, top = rect.left(), rect.top()
        right, bottom = left + rect.width(), top + rect.height()  # exclusive
        # Where the view says the note starts and ends: its ticks' and key row's pixels.
        assert left == px(view.tick_to_viewport_x(item.start))
        assert right == px(view.tick_to_viewport_x(item.end))
        assert top == px(view.pitch_to_viewport_y(item.pitch))
        assert bottom == px(view.pitch_to_viewport_y(item.pitch - 1))
        assert rect.height() in (math.floor(roll.key_height), math.ceil(roll.key_height))
        if left < 1 or right + 1 >= image.width() or top < roll.key_height or bottom >= image.height():
            continue  # not wholly on screen (with the row above)
        checked += 1
        mid_x, mid_y = (left + right) // 2, (top + bottom) // 2
        # The outline: one pixel, on the note's first and last columns and its first row...
        assert rgb(image, left, mid_y) == outline
        assert rgb(image, right - 1, mid_y) == outline
        assert rgb(image, mid_x, top) == outline
        assert rgb(image, mid_x, bottom - 2) == outline
        assert rgb(image, left + 1, mid_y) != outline and rgb(image, mid_x, top + 1) != outline
        # ... and just outside it, the background: the grid lines of the start and end ticks,
        # the row separator below (the note's last pixel row) and the row above.
        assert rgb(image, left - 1, mid_y) in ROW_COLORS
        assert rgb(image, right, mid_y) in (LINE_COLORS if has_grid_line(roll, item.end) else ROW_COLORS)
        # The note's free last pixel row and the row above's last: separators (or grid lines).
        assert rgb(image, mid_x, bottom - 1) in SEPARATORS | LINE_COLORS
        assert rgb(image, mid_x, top - 1) in SEPARATORS | LINE_COLORS
        # In the empty row above, the start tick's grid line is in the note's first column.
        above = top - int(roll.key_height) // 2
        if has_grid_line(roll, item.start):
            lines += 1
            assert rgb(image, left, above) in LINE_COLORS
        else:  # a sixteenth when zoomed out too far for sixteenth lines
            assert rgb(image, left, above) in ROW_COLORS
        assert rgb(image, left - 1, above) in ROW_COLORS
    assert checked >= 2 and lines >= 2


@pytest.mark.parametrize("time_factor,pitch_factor", ZOOMS[::2])
def test_keyboard_keys_line_up_with_the_rows(editor, time_factor, pitch_factor):
    zoom(editor, time_factor, pitch_factor)
    view, keys = editor.view, editor.keyboard
    image = keys.grab().toImage()
    black = {rgb(image, 2, y) == 0x202227 for y in range(image.height())}
    assert black == {True, False}
    for pitch in (61, 63, 66, 68, 70):  # black keys: their rows are the dark ones
        top = px(view.pitch_to_viewport_y(pitch))
        bottom = px(view.pitch_to_viewport_y(pitch - 1))
        assert all(rgb(image, 2, y) == 0x202227 for y in range(top, bottom))
        assert rgb(image, 2, top - 1) != 0x202227 and rgb(image, 2, bottom) != 0x202227
    # The view's dark rows are the same pixel rows (less the separator on the last one).
    view_image = view.viewport().grab().toImage()
    dark = color(theme.ROW_BLACK)
    for pitch in (61, 63):
        top = px(view.pitch_to_viewport_y(pitch))
        bottom = px(view.pitch_to_viewport_y(pitch - 1))
        x = next(x for x in range(view_image.width() - 1, 0, -1)
                 if rgb(view_image, x, (top + bottom) // 2) == dark)  # a column without lines
        assert all(rgb(view_image, x, y) == dark for y in range(top, bottom - 1))
        assert rgb(view_image, x, top - 1) in SEPARATORS and rgb(view_image, x, bottom - 1) in SEPARATORS


def test_playhead_loop_and_candidates_follow_the_zoom(editor):
    view, roll = editor.view, editor.view.roll
    editor.set_playhead(1440)
    editor.set_loop(960, 2880)
    editor.set_candidates(roll.active_track_id, make_notes([2880], [3360], [65]))
    for time_factor, pitch_factor in ZOOMS:
        zoom(editor, time_factor, pitch_factor)
        image = view.viewport().grab().toImage()
        x = px(view.tick_to_viewport_x(1440))
        y = px(view.pitch_to_viewport_y(66)) + 2  # an empty row
        assert rgb(image, x, y) == color(theme.PLAYHEAD)
        assert rgb(image, x - 1, y) != color(theme.PLAYHEAD) and rgb(image, x + 1, y) != color(theme.PLAYHEAD)
        # The loop is shaded from the grid line of its start to the one of its end, where its
        # edges are drawn (over the two beat lines, so both edges look the same).
        x0, x1 = px(view.tick_to_viewport_x(960)), px(view.tick_to_viewport_x(2880))
        inside, outside = rgb(image, x0 + 2, y), rgb(image, x0 - 2, y)
        assert inside != outside and outside in ROW_COLORS
        assert rgb(image, x0, y) not in LINE_COLORS | ROW_COLORS | {inside}
        if x1 + 2 < image.width():
            assert rgb(image, x1 - 2, y) == inside and rgb(image, x1 + 2, y) == outside
            assert rgb(image, x1, y) == rgb(image, x0, y)
        candidate = roll.candidate_items()[0]
        rect = view.note_viewport_rect(candidate)
        assert rect.left() == px(view.tick_to_viewport_x(2880))
        assert rect.top() == px(view.pitch_to_viewport_y(65))
        assert rect.left() + rect.width() == px(view.tick_to_viewport_x(3360))


def test_short_notes_are_painted_two_pixels_wide_and_can_be_clicked(editor):
    view, roll = editor.view, editor.view.roll
    score = editor.score
    track = score.tracks[0]
    from composer.core.edits import AddNotes

    ids = track.new_note_ids(1)
    AddNotes(track.id, make_notes([3840], [3850], [72], ids=ids)).apply(score)
    editor.zoom_time(1 / 6)  # 8 px per quarter: the note is 1/6 of a pixel wide
    view.scroll_to_tick(0)
    editor.center_on_pitch(72)
    item = roll.note_item(track.id, int(ids[0]))
    rect = view.note_viewport_rect(item)
    assert rect.width() == 2
    image = view.viewport().grab().toImage()
    fill = color(item.style.fills[item.velocity].color())
    assert rgb(image, rect.left(), rect.top() + 2) == fill
    assert rgb(image, rect.left() + 1, rect.top() + 2) == fill
    p = QPoint(rect.left() + 1, rect.top() + rect.height() // 2)  # the painted second column
    mouse(view.viewport(), "press", p)
    mouse(view.viewport(), "release", p)
    assert editor.selected_note_ids().tolist() == [int(ids[0])]


# ---------------------------------------------------------------------- gestures at any zoom
@pytest.mark.parametrize("time_factor,pitch_factor", [(0.45, 0.8), (1.1 ** 3, 1.15), (3.7, 2.3)])
def test_draw_move_and_resize_at_other_zooms(editor, time_factor, pitch_factor):
    zoom(editor, time_factor, pitch_factor)
    view, score = editor.view, editor.score
    track = score.tracks[0]
    editor.set_snap("1/16")
    editor.center_on_pitch(63)

    editor.set_tool("draw")
    view.scroll_to_tick(2880)
    drag(view.viewport(), [view.viewport_point(2890, 66), view.viewport_point(3340, 66)])
    new = track.notes[track.notes["pitch"] == 66]
    assert (new["start"].tolist(), new["end"].tolist()) == ([2880], [3360])
    # While drawing, the draft sits where the note will be.
    view.scroll_to_tick(3840)
    mouse(view.viewport(), "press", view.viewport_point(3850, 65))
    mouse(view.viewport(), "move", view.viewport_point(4300, 65))
    draft = view.roll._draft
    rect = view.note_viewport_rect(draft)
    assert (rect.left(), rect.top()) == (px(view.tick_to_viewport_x(3840)),
                                         px(view.pitch_to_viewport_y(65)))
    assert rect.left() + rect.width() == px(view.tick_to_viewport_x(4320))
    mouse(view.viewport(), "release", view.viewport_point(4300, 65))
    assert track.notes[track.notes["pitch"] == 65]["start"].tolist() == [3840]

    editor.set_tool("select")
    view.scroll_to_tick(0)
    editor.select_notes([1])
    # Grab note 1 (start 480, pitch 62), drop it a quarter later and two semitones up.
    drag(view.viewport(), [view.viewport_point(500, 62), view.viewport_point(700, 63),
                           view.viewport_point(980, 64)])
    moved = track.get([1])
    assert (moved["start"][0], moved["end"][0], moved["pitch"][0]) == (960, 1440, 64)

    # Resize note 0 (0-480) by its right edge to 720.
    edge = QPoint(px(view.tick_to_viewport_x(480)) - 2, view.viewport_point(0, 60).y())
    drag(view.viewport(), [edge, edge + QPoint(10, 0), view.viewport_point(715, 60)])
    assert track.get([0])["end"][0] == 720
    # The resize handle stays HANDLE_PX device pixels wide (a third of a short note).
    item = view.roll.note_item(track.id, 0)
    width_px = 720 * view.roll.px_per_tick
    zone = min(6.0, width_px / 3)
    inside = view.mapToScene(QPoint(px(view.tick_to_viewport_x(720) - zone) + 1, 0)).x()
    outside = view.mapToScene(QPoint(px(view.tick_to_viewport_x(720) - zone) - 1, 0)).x()
    assert item.in_resize_handle(inside, view.roll.px_per_tick)
    assert not item.in_resize_handle(outside, view.roll.px_per_tick)


def test_rubber_band_after_zoom_selects_the_notes_inside(editor):
    view = editor.view
    zoom(editor, 1 / 1.1 ** 3, 1.3)
    editor.set_tool("select")
    # From just above note 4 (pitch 71, 2040-2160) to just below note 2 (pitch 64, 960-1440).
    start = view.viewport_point(2100, 72)
    end = view.viewport_point(1000, 63)
    drag(view.viewport(), [start, QPoint((start.x() + end.x()) // 2, start.y() + 5), end])
    assert editor.selected_note_ids().tolist() == [2, 3, 4]


def test_velocity_stems_and_ruler_bars_use_the_same_columns(editor):
    zoom(editor, 1.1 ** 3, 1.0)
    view = editor.view
    notes = editor.score.tracks[0].notes
    xs = np.floor(view.ticks_to_viewport_x(notes["start"]) + 1e-6)
    lane = editor.velocity.grab().toImage()
    for x, v in zip(xs.astype(int).tolist(), notes["velocity"].tolist()):
        y = int(editor.velocity.velocity_to_y(v)) + 3
        assert rgb(lane, x, y) != color(theme.PANEL)  # the stem covers the note's first column
    ruler = editor.ruler.grab().toImage()
    bar_x = px(view.tick_to_viewport_x(1920))
    assert rgb(ruler, bar_x, editor.ruler.height() - 3) == color(theme.TEXT_DIM)


def test_the_extreme_zooms_paint_notes_where_they_are_clicked(editor):
    view, roll = editor.view, editor.view.roll
    item = roll.note_item(roll.active_track_id, 0)  # ticks 0-480, pitch 60
    for factor in (1000.0, 1e-3):  # clamped to the largest and the smallest zoom
        editor.select_notes([])
        editor.zoom_time(factor)
        editor.zoom_pitch(factor)
        view.scroll_to_tick(0)
        editor.center_on_pitch(60)
        rect = view.note_viewport_rect(item)
        assert rect.left() == 0 and rect.top() == px(view.pitch_to_viewport_y(60))
        assert rect.width() == max(px(view.tick_to_viewport_x(480)), 2)
        image = view.viewport().grab().toImage()
        fill, outline = color(item.style.fills[100].color()), color(item.style.pen.color())
        assert rgb(image, 0, rect.top() + rect.height() // 2) in (fill, outline)
        assert rgb(image, rect.width() // 2, rect.top() + 1) in (fill, outline)
        p = view.viewport_point(10, 60)
        mouse(view.viewport(), "press", p)
        mouse(view.viewport(), "release", p)
        assert editor.selected_note_ids().tolist() == [0]
    assert roll.px_per_quarter == 2.0 and roll.key_height == 4.0
