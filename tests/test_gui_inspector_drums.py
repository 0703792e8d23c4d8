"""Drum tracks in the editor (rows named by the GM drum map, keys that sound the kit) and the
note inspector (the selected notes as editable numbers, one undo step per edit), plus the hover
text over a note."""

import time
import wave

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPoint, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QFont, QFontMetrics, QHelpEvent, QUndoStack  # noqa: E402
from PySide6.QtWidgets import QApplication, QToolTip  # noqa: E402

from composer.core import Score, Track, make_notes  # noqa: E402
from composer.core.edits import SetTrackProperties  # noqa: E402
from composer.core.timing import TimeSignature  # noqa: E402
from composer.gui.note_inspector import NoteInspector  # noqa: E402
from composer.gui.pianoroll.note_text import (  # noqa: E402
    format_beats,
    format_position,
    parse_beats,
    parse_pitch,
    parse_position,
    row_name,
)
from composer.gui.undo import push_edit  # noqa: E402
from qt_events import LEFT, shown_editor  # noqa: E402

PPQ = 480


def drum_kit_track(program: int = 0) -> Track:
    """Kick on the beats, snare on 2 and 4, closed hi-hat on eighths: one bar."""
    starts = [0, 960] + [480, 1440] + list(range(0, 1920, 240))
    pitches = [36, 36, 38, 38] + [42] * 8
    velocities = [110, 100, 105, 95] + [70] * 8
    return Track("Drums", program, True, make_notes(starts, [s + 120 for s in starts], pitches,
                                                    velocities))


def piano_track() -> Track:
    """A C major chord (different velocities), then an F half note."""
    return Track("Piano", 0, False, make_notes([0, 0, 0, 960], [960, 960, 960, 1920],
                                               [60, 64, 67, 65], [90, 80, 85, 90]))


@pytest.fixture
def loaded(qtbot):
    """An editor with its inspector on a piano + drums score; the piano is active."""
    editor = shown_editor(qtbot)
    score = Score([piano_track(), drum_kit_track()], ppq=PPQ)
    stack = QUndoStack()
    editor.set_score(score, stack)
    inspector = NoteInspector(editor)
    qtbot.addWidget(inspector)
    inspector.show()
    return editor, inspector, score, stack


def type_into(qtbot, field, text: str) -> None:
    """Replace the field's text as a user would, and press Return."""
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def piano(score):
    return score.tracks[0]


def drums(score):
    return score.tracks[1]


# ---------------------------------------------------------------------- names and numbers
def test_rows_are_named_by_the_gm_drum_map_on_drum_tracks_only():
    assert [row_name(p, True) for p in (35, 36, 38, 42, 46, 49, 81)] == [
        "Acoustic Bass Drum", "Bass Drum 1", "Acoustic Snare", "Closed Hi-Hat", "Open Hi-Hat",
        "Crash Cymbal 1", "Open Triangle"]
    assert row_name(34, True) == "A#1" and row_name(82, True) == "A#5"  # outside the GM map
    assert row_name(38, False) == "D2" and row_name(60, False) == "C4"


def test_positions_read_and_write_as_bar_beat_tick_across_time_signatures():
    score = Score(ppq=PPQ, time_signatures=[TimeSignature(0, 3, 4), TimeSignature(2880, 6, 8)])
    # 3/4 bars of 1440 ticks, then 6/8 bars of 1440 ticks with eighth-note beats of 240.
    cases = {0: "1.1.000", 480: "1.2.000", 1439: "1.3.479", 1440: "2.1.000", 2880: "3.1.000",
             2880 + 1440 + 5 * 240 + 7: "4.6.007"}
    for tick, text in cases.items():
        assert format_position(score, tick) == text
        assert parse_position(score, text) == tick
    assert parse_position(score, "3") == 2880 and parse_position(score, "2.2") == 1920
    assert parse_position(score, "2:2") == 1920  # as the transport writes it
    for bad in ("0.1", "1.0", "-1", "1.1.-5", "soon", "1.2.3.4", ""):
        with pytest.raises(ValueError):
            parse_position(score, bad)


def test_pitches_and_lengths_parse_what_a_musician_types():
    assert [parse_pitch(t) for t in ("60", "C4", "c#4", "Db4", "B3", "C-1", "G9")] == \
        [60, 60, 61, 61, 59, 0, 127]
    assert parse_pitch("closed hi-hat") == 42 and parse_pitch("Acoustic Snare") == 38
    for bad in ("128", "H2", "G#9", "loud"):
        with pytest.raises(ValueError):
            parse_pitch(bad)
    assert [parse_beats(t, 480) for t in ("1", "0.5", "1.5", "1/3", "2 beats")] == \
        [480, 240, 720, 160, 960]
    assert format_beats(160, 480) == "0.333" and format_beats(960, 480) == "2"
    for bad in ("0", "-1", "1/0", "long"):
        with pytest.raises(ValueError):
            parse_beats(bad, 480)


# ---------------------------------------------------------------------- drum tracks
def test_a_drum_track_names_its_rows_and_widens_the_keyboard(loaded, qtbot):
    editor, _, score, _ = loaded
    keys = editor.keyboard
    assert not keys.drums and keys.row_label(60) == "C4" and keys.row_label(61) == ""
    piano_width = keys.width()
    editor.set_active_track(drums(score).id)
    font = QFont(keys.font())
    font.setPixelSize(11)
    longest = QFontMetrics(font).horizontalAdvance("Acoustic Bass Drum")
    # Wide enough for every name, and the note view moves right to make room.
    qtbot.waitUntil(lambda: keys.width() > longest
                    and editor.view.geometry().left() > keys.geometry().right())
    assert keys.drums
    assert [keys.row_label(p) for p in (36, 38, 42)] == ["Bass Drum 1", "Acoustic Snare",
                                                         "Closed Hi-Hat"]
    assert keys.row_label(30) == "F#1"  # not in the GM map: the note name
    editor.set_active_track(piano(score).id)
    qtbot.waitUntil(lambda: keys.width() == piano_width)
    assert not keys.drums


def test_choosing_the_drum_track_scrolls_to_its_hits_when_none_are_in_view(loaded):
    editor, _, score, _ = loaded
    view = editor.view
    editor.center_on_pitch(72)  # the piano's register: the drums (36-42) are far below

    def rows_in_view():
        return range(view.viewport_y_to_pitch(view.viewport().height() - 1),
                     view.viewport_y_to_pitch(0) + 1)

    assert not set(rows_in_view()) & {36, 38, 42}
    editor.set_active_track(drums(score).id)
    assert {36, 38, 42} <= set(rows_in_view())
    editor.center_on_pitch(50)  # the piano's C4 is in view too: switching back does not scroll
    assert 60 in rows_in_view()
    before = view.verticalScrollBar().value()
    editor.set_active_track(piano(score).id)
    assert view.verticalScrollBar().value() == before


def test_ticking_drums_on_a_track_renames_the_rows_and_undo_renames_them_back(loaded):
    editor, _, score, stack = loaded
    keys = editor.keyboard
    push_edit(stack, score, SetTrackProperties(piano(score).id, {"is_drum": True}))
    assert keys.drums and keys.row_label(49) == "Crash Cymbal 1"
    stack.undo()
    assert not keys.drums and keys.row_label(49) == ""


def test_the_keyboard_tooltip_names_the_drum(loaded):
    editor, _, score, _ = loaded
    editor.set_active_track(drums(score).id)
    editor.center_on_pitch(38)
    keys, view = editor.keyboard, editor.view
    y = int(view.pitch_to_viewport_y(38) + view.roll.key_height / 2)
    event = QHelpEvent(QEvent.Type.ToolTip, QPoint(20, y), keys.mapToGlobal(QPoint(20, y)))
    QApplication.sendEvent(keys, event)
    assert QToolTip.text() == "Acoustic Snare (38)"
    QToolTip.hideText()


def test_the_keys_of_a_drum_track_preview_its_kit(qtbot, tmp_path):
    from composer.gui.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window._load(Score([drum_kit_track(program=25)], ppq=PPQ), None)  # 25: the TR-808 kit
    window.show()
    heard = []
    window.playback.preview_note = lambda *args: heard.append(args)
    editor = window.editor
    editor.center_on_pitch(42)
    y = int(editor.view.pitch_to_viewport_y(42) + editor.view.roll.key_height / 2)
    qtbot.mouseClick(editor.keyboard, LEFT, pos=QPoint(10, y))
    assert heard == [(42, 25, True)]


def _wav_peak(path) -> float:
    with wave.open(str(path), "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return float(np.abs(pcm.astype(np.float64)).max() / 32768.0)


def test_a_drum_preview_sounds_the_drum_kit_not_a_pitched_instrument(tmp_path):
    """The Player's preview of a drum key is the kit's sound: as loud as the same hit rendered
    on the drum channel, and unlike the piano's note of that key."""
    from composer.io import audio
    from composer.io.playback import Player

    peaks = {}
    for name, is_drum in (("drum", True), ("piano", False)):
        path = tmp_path / f"{name}.wav"
        with Player(file=path) as player:
            assert player.preview_note(38, 0, is_drum)
            t_end = time.perf_counter() + 0.8
            while time.perf_counter() < t_end:
                player.pump()
                time.sleep(0.02)
        peaks[name] = _wav_peak(path)
    rendered = float(np.abs(audio.preview_note(38, is_drum=True)).max())
    assert abs(peaks["drum"] - rendered) < 0.1 * rendered
    assert peaks["drum"] > 2 * peaks["piano"]


# ---------------------------------------------------------------------- the inspector
def test_one_selected_note_shows_its_values(loaded):
    editor, inspector, score, _ = loaded
    assert inspector.summary.text() == "No note selected" and not inspector.pitch.isEnabled()
    editor.select_notes([piano(score).notes["id"][3]])  # F4, 1.3, two beats
    assert inspector.summary.text() == "1 note selected"
    assert [inspector.fields[n].text() for n in ("pitch", "velocity", "start", "length")] == \
        ["65", "90", "1.3.000", "2"]
    assert inspector.pitch_name.text() == "F4"


def test_several_notes_show_common_values_or_mixed(loaded):
    editor, inspector, score, _ = loaded
    chord = piano(score).notes["id"][:3]
    editor.select_notes(chord)
    assert inspector.summary.text() == "3 notes selected"
    assert inspector.start.text() == "1.1.000" and inspector.hints["start"].text() == ""
    assert inspector.length.text() == "2"
    assert inspector.velocity.text() == "" and inspector.velocity.placeholderText() == "mixed"
    # Mixed pitches: the first (lowest) note's pitch, marked mixed.
    assert inspector.pitch.text() == "60" and inspector.pitch_name.text() == "mixed (first)"


def test_velocity_edit_sets_every_selected_note_in_one_undo_step_and_undo_refreshes(loaded, qtbot):
    editor, inspector, score, stack = loaded
    chord = piano(score).notes["id"][:3]
    editor.select_notes(chord)
    type_into(qtbot, inspector.velocity, "64")
    assert piano(score).get(chord)["velocity"].tolist() == [64, 64, 64]
    assert stack.count() == 1 and stack.undoText() == "Set Velocity"
    assert inspector.velocity.text() == "64"
    stack.undo()
    assert piano(score).get(chord)["velocity"].tolist() == [90, 80, 85]
    assert inspector.velocity.text() == "" and inspector.velocity.placeholderText() == "mixed"
    editor.view.setFocus()  # leaving the field does not push the same edit again
    assert stack.count() == 1


def test_relative_velocity_and_clamping_say_what_happened(loaded, qtbot):
    editor, inspector, score, stack = loaded
    chord = piano(score).notes["id"][:3]
    editor.select_notes(chord)
    type_into(qtbot, inspector.velocity, "+10")
    assert piano(score).get(chord)["velocity"].tolist() == [100, 90, 95]
    type_into(qtbot, inspector.velocity, "200")
    assert piano(score).get(chord)["velocity"].tolist() == [127, 127, 127]
    assert "clamped to 127" in inspector.message.text()
    type_into(qtbot, inspector.velocity, "0")
    assert piano(score).get(chord)["velocity"].tolist() == [1, 1, 1]
    assert "clamped to 1" in inspector.message.text()
    assert stack.count() == 3


def test_pitch_on_a_mixed_selection_moves_the_first_note_and_keeps_the_chord(loaded, qtbot):
    editor, inspector, score, stack = loaded
    chord = piano(score).notes["id"][:3]
    editor.select_notes(chord)
    type_into(qtbot, inspector.pitch, "D4")  # the chord's first note, C4, goes to D4
    assert piano(score).get(chord)["pitch"].tolist() == [62, 66, 69]
    assert stack.count() == 1 and stack.undoText() == "Set Pitch"
    type_into(qtbot, inspector.pitch, "-12")
    assert piano(score).get(chord)["pitch"].tolist() == [50, 54, 57]
    assert inspector.pitch.text() == "50"
    stack.undo()
    assert piano(score).get(chord)["pitch"].tolist() == [62, 66, 69]
    assert inspector.pitch.text() == "62"


def test_bad_values_are_refused_with_a_clear_note_and_change_nothing(loaded, qtbot):
    editor, inspector, score, stack = loaded
    chord = piano(score).notes["id"][:3]
    editor.select_notes(chord)
    before = score.copy()
    for field, text, says in ((inspector.pitch, "128", "outside MIDI's 0-127"),
                              (inspector.pitch, "G9", "at most 60 semitones up"),
                              (inspector.pitch, "-61", "at most 60 semitones down"),
                              (inspector.pitch, "loud", "not a pitch"),
                              (inspector.start, "-1", "not a position"),
                              (inspector.start, "0.1.0", "count from 1"),
                              (inspector.length, "0", "more than zero"),
                              (inspector.length, "long", "not a length"),
                              (inspector.velocity, "soft", "not a velocity")):
        type_into(qtbot, field, text)
        assert says in inspector.message.text(), (text, inspector.message.text())
        assert score.same_content(before) and stack.count() == 0
    # The fields show the notes' values again, and a new selection clears the note.
    assert inspector.pitch.text() == "60" and inspector.start.text() == "1.1.000"
    editor.select_notes(chord[:1])
    assert inspector.message.text() == ""


def test_start_moves_the_selection_keeping_its_rhythm_and_length_sets_all(loaded, qtbot):
    editor, inspector, score, stack = loaded
    ids = piano(score).notes["id"][[0, 3]]  # C4 at 1.1 (2 beats) and F4 at 1.3 (2 beats)
    editor.select_notes(ids)
    assert inspector.hints["start"].text() == "mixed (first)"
    type_into(qtbot, inspector.start, "2.2")
    assert piano(score).get(ids)["start"].tolist() == [2400, 3360]
    assert piano(score).get(ids)["end"].tolist() == [3360, 4320]
    type_into(qtbot, inspector.length, "1/2")
    assert (piano(score).get(ids)["end"] - piano(score).get(ids)["start"]).tolist() == [240, 240]
    assert stack.count() == 2 and stack.undoText() == "Set Length"
    assert inspector.length.text() == "0.5"


def test_a_time_signature_change_refreshes_the_start(loaded):
    editor, inspector, score, _ = loaded
    editor.select_notes([piano(score).notes["id"][3]])  # tick 960
    assert inspector.start.text() == "1.3.000"
    score.set_timing(time_signatures=[TimeSignature(0, 2, 4)])
    assert inspector.start.text() == "2.1.000"


def test_drum_notes_show_and_take_drum_names(loaded, qtbot):
    editor, inspector, score, stack = loaded
    editor.set_active_track(drums(score).id)
    snares = drums(score).notes["id"][drums(score).notes["pitch"] == 38]
    editor.select_notes(snares)
    assert inspector.pitch.text() == "38" and inspector.pitch_name.text() == "Acoustic Snare"
    assert inspector.start.text() == "1.2.000" and inspector.length.text() == "0.25"
    type_into(qtbot, inspector.pitch, "Electric Snare")
    assert drums(score).get(snares)["pitch"].tolist() == [40, 40]
    assert inspector.pitch_name.text() == "Electric Snare"


def test_the_main_window_docks_the_inspector_and_it_follows_the_selection(qtbot, tmp_path):
    from PySide6.QtWidgets import QDockWidget

    from composer.gui.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window._load(Score([piano_track()], ppq=PPQ), None)
    dock = window.findChild(QDockWidget, "note")
    assert dock is not None and dock.widget() is window.note_inspector
    window.editor.select_all()
    assert window.note_inspector.summary.text() == "4 notes selected"
    type_into(qtbot, window.note_inspector.velocity, "50")
    assert window.score.tracks[0].notes["velocity"].tolist() == [50] * 4
    assert window.undo_stack.undoText() == "Set Velocity"


# ---------------------------------------------------------------------- hover text
def test_hovering_a_note_shows_its_name_velocity_start_and_length(loaded):
    editor, _, score, _ = loaded
    view = editor.view
    editor.center_on_pitch(64)
    pos = view.viewport_point(0, 64)  # E4 of the chord: velocity 80, two beats
    event = QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    assert QToolTip.text() == "E4 (64)\nVelocity 80\nStart 1.1.000\nLength 2 beats"
    QToolTip.hideText()
    assert view.note_tooltip_at(view.viewport_point(1920, 64)) == ""  # empty space
    editor.set_active_track(drums(score).id)
    editor.center_on_pitch(42)
    assert view.note_tooltip_at(view.viewport_point(240, 42)) == \
        "Closed Hi-Hat (42)\nVelocity 70\nStart 1.1.240\nLength 0.25 beats"
