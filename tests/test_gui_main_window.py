"""The main window's file handling: open MIDI and projects, save, export, recent files, drops."""

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent

from composer.core.edits import AddNotes
from composer.core.notes import make_notes
from composer.gui.main_window import MainWindow
from composer.gui.undo import push_edit
from composer.io.midi import read_midi


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    return win


def test_open_midi_edit_save_project_and_reopen(window, fixtures, tmp_path):
    assert window.open_path(str(fixtures / "song.mid"))
    assert window.windowTitle().startswith("song.mid")
    track = window.score.tracks[0]
    push_edit(window.undo_stack, window.score, AddNotes(track.id, make_notes([0], [240], [90], ids=track.new_note_ids(1))))
    assert "*" in window.windowTitle()
    project = tmp_path / "song.composer.json"
    assert window.save_to(project)
    assert "*" not in window.windowTitle()
    saved = window.score.copy()
    other = MainWindow(window.settings)
    assert other.open_path(str(project))
    assert other.score.same_content(saved)
    assert str(project) in window.settings.value("recent", [], type=list)
    other.close()


def test_export_writes_a_multitrack_midi_that_reads_back(window, fixtures, tmp_path):
    window.open_path(str(fixtures / "song.mid"))
    out = tmp_path / "export.mid"
    assert window.export_midi(out)
    back = read_midi(out)
    assert [(t.name, t.program, t.is_drum, len(t)) for t in back.tracks] == \
        [(t.name, t.program, t.is_drum, len(t)) for t in window.score.tracks]


def test_bad_file_shows_a_message_and_keeps_the_score(window, fixtures, monkeypatch):
    shown = []
    monkeypatch.setattr("composer.gui.main_window.show_error", lambda *a, **k: shown.append(a[2]))
    window.open_path(str(fixtures / "song.mid"))
    before = window.score
    assert not window.open_path(str(fixtures / "type2.mid"))
    assert shown and "type 2" in shown[0]
    assert window.score is before


def test_dropping_a_midi_file_opens_it(window, fixtures):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(fixtures / "type0.mid"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.score.note_count == 3
    assert np.isin(window.score.tracks[0].notes["pitch"], [67, 69, 48]).all()


def test_export_wav_renders_in_the_background(qtbot, window, fixtures, tmp_path, monkeypatch):
    window.open_path(str(fixtures / "song.mid"))
    out = tmp_path / "song.wav"
    with qtbot.waitSignal(window.wav_exported, timeout=60000) as done:
        window.export_wav(out)
    assert done.args == [str(out), ""]
    import wave
    with wave.open(str(out)) as wav:
        assert wav.getnchannels() == 2 and wav.getnframes() > 44100 * window.score.duration_seconds * 0.9

    shown = []
    monkeypatch.setattr("composer.gui.main_window.show_error", lambda *a, **k: shown.append(a[2]))
    with qtbot.waitSignal(window.wav_exported, timeout=60000) as done:
        window.export_wav(tmp_path / "missing-folder" / "x.wav")
    assert done.args[1] and shown == [done.args[1]]


@pytest.mark.asks_to_save
@pytest.mark.parametrize("answer, closes", [("cancel", False), ("discard", True), ("save", True)])
def test_closing_with_unsaved_changes_asks_first(qtbot, tmp_path, monkeypatch, answer, closes):
    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    track = win.score.tracks[0]
    push_edit(win.undo_stack, win.score, AddNotes(track.id, make_notes([0], [240], [60], ids=track.new_note_ids(1))))
    asked = []
    monkeypatch.setattr(MainWindow, "ask_to_save", lambda self: asked.append(1) or answer)
    project = tmp_path / "kept.composer.json"
    monkeypatch.setattr(MainWindow, "save_as", lambda self: self.save_to(project))
    assert win.close() is closes
    assert asked == [1]
    assert project.exists() is (answer == "save")
    if not closes:
        monkeypatch.setattr(MainWindow, "ask_to_save", lambda self: "discard")


def test_restoring_after_a_crash_brings_the_work_back_unsaved(window, monkeypatch):
    from datetime import datetime

    from composer.io.recovery import Recovery

    lost = window.score.copy()
    track = lost.tracks[0]
    track._insert(make_notes([0, 480], [480, 960], [60, 64], ids=track.new_note_ids(2)))
    recovery = Recovery(path=None, source_name="lost song.mid", original_path=None, saved_at=datetime.now(),
                        note_count=2, error=None)
    offered = []
    monkeypatch.setattr("composer.gui.main_window.find_recoverable", lambda: [recovery])
    monkeypatch.setattr("composer.gui.main_window.choose_recovery",
                        lambda parent, found: offered.append(found) or (recovery, lost))
    window.offer_recovery()
    assert offered == [[recovery]]
    assert window.score.same_content(lost)
    assert window.windowTitle().startswith("lost song.mid *")  # unsaved until the user saves


def test_a_recorded_take_lands_in_the_active_track_as_one_undo_step(qtbot, window):
    track = window.score.tracks[0]
    window.editor.set_playhead(1920)
    recorder = window.midi_record
    assert recorder.start_recording()
    recorder.feed(0.0, bytes([0x90, 60, 100]))
    recorder.feed(0.5, bytes([0x80, 60, 0]))
    recorder.feed(0.5, bytes([0x90, 64, 90]))
    recorder.feed(1.0, bytes([0x90, 64, 0]))
    with qtbot.waitSignal(recorder.recorded, timeout=5000):
        recorder.stop_recording()
    assert track.notes["pitch"].tolist() == [60, 64] and track.notes["start"][0] == 1920
    assert window.undo_stack.count() == 1
    window.undo_stack.undo()
    assert len(track.notes) == 0


def test_without_a_sound_device_the_transport_says_why_and_the_app_goes_on(qtbot, window, fixtures):
    """This machine has no sound device: play must explain, not fail (tests/test_playback.py
    plays for real through FluidSynth's file driver)."""
    window.open_path(str(fixtures / "song.mid"))
    window.show()
    menu = {a.text().replace("&", ""): a for a in window.menuBar().actions()}["Transport"].menu()
    play = {a.text().replace("&", ""): a for a in menu.actions()}["Play / Pause"]
    assert play.shortcut().toString() == "Space"
    play.trigger()
    qtbot.waitUntil(lambda: bool(window.playback.reason) or window.playback.is_playing, timeout=20000)
    if window.playback.is_playing:  # a machine with sound: the playhead follows it
        qtbot.waitUntil(lambda: (window.editor.view.roll.playhead or 0) > 0, timeout=5000)
        window.playback.stop()
        return
    assert "no sound device" in window.playback.reason.lower()
    assert window.transport.status_label.isVisible() and "Playback off" in window.transport.status_label.text()
    assert not window.playback.is_playing
    window.editor.set_playhead(960)  # editing and the playhead still work
    assert window.editor.view.roll.playhead == 960


def test_snap_and_note_length_boxes_drive_the_editor(window):
    window.snap_box.setCurrentText("1/8T")
    assert window.editor.view.snap_name == "1/8T"
    window.length_box.setCurrentText("1/4")
    assert window.editor.view.note_length_ticks() == window.score.ppq
    window.length_box.setCurrentText("grid")
    assert window.editor.view.note_length_ticks() == window.editor.view.snap_step
