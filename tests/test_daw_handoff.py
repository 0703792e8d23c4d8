"""Hand-off to a DAW (issue 16 part 4): a variation, a track and the whole song dragged out of the
window as real .mid files, and playback sent to a MIDI output port.

The drags are real QDrag drags between two windows. Qt's offscreen platform (the suite's) answers
every QDrag at once without dropping, so under it :func:`test_real_drags_under_the_minimal_platform`
runs this file's ``real_drag`` tests again in a child pytest under the "minimal" platform, whose
drag and drop is Qt's own in-process one.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from composer.core import Score, TempoChange, Track, make_notes
from composer.core.timing import TimeSignature
from composer.generation.plan import CandidatePart, Plan
from composer.generation.request import GenerateRequest
from composer.io.midi import read_midi, write_midi
from composer.io.midi_output import (
    MidiOutPlayer,
    all_notes_off_messages,
    list_output_ports,
    note_messages,
    score_messages,
)
from composer.io.midi_parts import clip_score, file_stem, track_score, write_part_file

PPQ = 480


def song() -> Score:
    """Lead (electric piano), bass and drums at 100 BPM in 3/4, then 6/8 from bar 3."""
    bar = 3 * PPQ
    lead = Track("Lead", 4, False, make_notes([0, PPQ, 2 * bar, 2 * bar + PPQ], [PPQ, 2 * PPQ, 2 * bar + PPQ,
                                                                                3 * bar], [72, 74, 76, 79], 90))
    bass = Track("Bass", 33, False, make_notes([0, bar], [bar, 2 * bar], [36, 43], 100))
    drums = Track("Drums", 0, True, make_notes([0, PPQ, 2 * PPQ], [60, PPQ + 60, 2 * PPQ + 60], [36, 38, 42]))
    return Score([lead, bass, drums], PPQ, [TempoChange(0, 100.0), TempoChange(bar, 120.0)],
                 [TimeSignature(0, 3, 4), TimeSignature(2 * bar, 6, 8)], "My Song")


def note_rows(track: Track) -> list[tuple[int, int, int, int]]:
    n = track.notes
    return sorted(zip(n["start"].tolist(), n["end"].tolist(), n["pitch"].tolist(), n["velocity"].tolist()))


def timing(score: Score):
    return ([(t.tick, round(t.qpm, 3)) for t in score.tempos],
            [(s.tick, s.numerator, s.denominator) for s in score.time_signatures])


# --------------------------------------------------------------------------------------------
# The files (no Qt)


def test_file_names_are_song_dash_part_without_unsafe_characters():
    assert file_stem("My Song.mid", "Bass") == "My Song - Bass"
    assert file_stem("My Song.json") == "My Song"
    assert file_stem('a/b:c*?"<>|', "x\\y") == "a b c - x y"
    assert file_stem("", None) == "Untitled"
    assert len(file_stem("x" * 300, "y")) <= 100


def test_a_track_file_holds_that_track_with_the_songs_tempo_and_meter(tmp_path):
    score = song()
    bass = score.tracks[1]
    path = write_part_file(track_score(score, bass.id), tmp_path, "My Song.mid", "Bass")
    assert path.name == "My Song - Bass.mid"
    back = read_midi(path)
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [("Bass", 33, False)]
    assert note_rows(back.tracks[0]) == note_rows(bass)
    assert timing(back) == timing(score)


def test_a_clip_starts_at_its_first_bar_with_the_tempo_and_meter_in_force_there():
    score = song()
    bar = 3 * PPQ
    clip = clip_score(score, [score.tracks[0]], 2 * bar, 3 * bar)
    assert note_rows(clip.tracks[0]) == [(0, PPQ, 76, 90), (PPQ, bar, 79, 90)]
    assert timing(clip) == ([(0, 120.0)], [(0, 6, 8)])


# --------------------------------------------------------------------------------------------
# MIDI out: the messages (pure), the player (messages to a callable), a virtual port


def test_score_messages_give_each_track_its_channel_and_program_and_drums_channel_10():
    messages = score_messages(song())
    programs = [m for t, m in messages if m[0] & 0xF0 == 0xC0]
    assert programs == [bytes([0xC0, 4]), bytes([0xC1, 33])]  # the kit needs no program change
    ons = [(t, m[0], m[1]) for t, m in messages if m[0] & 0xF0 == 0x90]
    assert {status for _, status, pitch in ons if pitch in (36, 38, 42) and status & 0x0F == 9} == {0x99}
    assert (0, 0x90, 72) in ons and (0, 0x91, 36) in ons
    beat_ms = 60_000 / 100
    assert (round(beat_ms), 0x99, 38) in ons  # the snare on beat 2 at 100 BPM
    # every note-on has its note-off, after it, on the same channel
    offs = [(m[0] & 0x0F, m[1]) for _, m in messages if m[0] & 0xF0 == 0x80]
    assert sorted(offs) == sorted((s & 0x0F, p) for _, s, p in ons)
    times = [t for t, _ in messages]
    assert times == sorted(times)


def test_note_messages_are_raw_midi_bytes():
    assert note_messages([0, 5], [1, 0], [9, 2], [36, 60], [200, 64]) == [
        (0, bytes([0x99, 36, 127])), (5, bytes([0x82, 60, 0]))]


def test_the_player_sends_the_notes_in_time_and_all_notes_off_on_stop():
    got = []
    lock = threading.Lock()

    def send(message: bytes) -> None:
        with lock:
            got.append((time.monotonic(), message))

    score = Score([Track("Lead", 4, False, make_notes([0, PPQ], [PPQ, 8 * PPQ], [60, 64]))], PPQ,
                  [TempoChange(0, 240.0)])  # a beat is 250 ms
    player = MidiOutPlayer(send=send)
    try:
        start = time.monotonic()
        player.play(score)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(m == bytes([0x90, 64, 100]) for _, m in got):
            player.pump()
            time.sleep(0.02)
        player.stop()
        with lock:
            sent = list(got)
    finally:
        player.close()
    messages = [m for _, m in sent]
    assert messages[0] == bytes([0xC0, 4])
    on_60 = next(t for t, m in sent if m == bytes([0x90, 60, 100]))
    on_64 = next(t for t, m in sent if m == bytes([0x90, 64, 100]))
    assert on_60 - start < 0.1
    assert 0.2 < on_64 - on_60 < 0.35  # one beat later (the sender thread keeps time)
    after_stop = messages[messages.index(bytes([0x90, 64, 100])) + 1:]
    assert bytes([0x80, 64, 0]) in after_stop  # the held key is released...
    assert all(m in after_stop for m in all_notes_off_messages())  # ...and all notes off everywhere
    assert player.closed


def test_the_player_plays_nothing_more_after_stop():
    got = []
    score = Score([Track("Lead", 0, False, make_notes(np.arange(8) * PPQ, np.arange(8) * PPQ + 100, [60] * 8))],
                  PPQ, [TempoChange(0, 240.0)])
    with MidiOutPlayer(send=got.append) as player:
        player.play(score)
        player.pump()
        player.stop()
        count = len(got)
        time.sleep(0.6)
        assert len(got) == count


def test_without_midi_the_output_list_says_why():
    ports = list_output_ports()
    if list(ports) or ports.virtual:
        pytest.skip(f"this machine has MIDI outputs: {list(ports)}, virtual={ports.virtual}")
    assert ports.reason  # e.g. "No MIDI output available: the computer's MIDI system is not running..."


def test_a_daw_records_the_virtual_port(tmp_path):
    rtmidi = pytest.importorskip("rtmidi")
    ports = list_output_ports()
    if not ports.virtual:
        pytest.skip("no virtual MIDI port on this machine: " + (ports.details or ports.reason))
    score = song()
    player = MidiOutPlayer()  # the virtual port "Composer"
    received = []
    midi_in = rtmidi.MidiIn(name="Test DAW")
    try:
        names = midi_in.get_ports()
        index = next((i for i, n in enumerate(names) if "Composer" in n), None)
        if index is None:
            pytest.skip(f"the virtual port is not listed as an input: {names}")
        midi_in.open_port(index)
        midi_in.set_callback(lambda event, _data: received.append(bytes(event[0])))
        player.play(score)
        deadline = time.monotonic() + 10
        while player.pump() == "playing" and time.monotonic() < deadline:
            time.sleep(0.02)
        player.stop()
        time.sleep(0.2)
    finally:
        player.close()
        midi_in.close_port()
        midi_in.delete()
    expected = [m for _, m in score_messages(score)]
    assert [m for m in received if m[0] & 0xF0 in (0x80, 0x90, 0xC0)][:len(expected)] == expected


# --------------------------------------------------------------------------------------------
# Real drags out of the window


needs_drags = pytest.mark.skipif(
    QGuiApplication.platformName() == "offscreen" if QGuiApplication.instance() else
    os.environ.get("QT_QPA_PLATFORM") == "offscreen",
    reason="Qt's offscreen platform drops no drags; test_real_drags_under_the_minimal_platform runs these")


class DropTarget(QLabel):
    """A window that accepts file drops, as a DAW or a file manager does."""

    def __init__(self):
        super().__init__("Drop here")
        self.setAcceptDrops(True)
        self.resize(300, 300)
        self.formats: list[str] = []
        self.files: list[Path] = []

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        self.formats = event.mimeData().formats()
        event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        self.files = [Path(url.toLocalFile()) for url in event.mimeData().urls()]
        event.acceptProposedAction()


@pytest.fixture
def window(qtbot, tmp_path):
    from composer.gui.main_window import MainWindow

    path = tmp_path / "My Song.mid"
    write_midi(song(), path)
    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    assert win.open_path(str(path))
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def target(qtbot, window):
    drop = DropTarget()
    qtbot.addWidget(drop)
    drop.move(window.geometry().right() + 50, 50)
    drop.show()
    qtbot.waitExposed(drop)
    return drop


def drag(qtbot, source, press: QPoint, target: DropTarget) -> list[Path]:
    """Press on ``source`` at ``press``, move past the drag distance, and drop on ``target``."""

    def drop() -> None:  # runs inside QDrag.exec's event loop
        point = target.rect().center()
        QTest.mouseMove(target, point)
        QTest.mouseMove(target, point + QPoint(4, 4))
        QTest.mouseRelease(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point + QPoint(4, 4))

    QTimer.singleShot(100, drop)
    QTest.mousePress(source, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, press)
    QTest.mouseMove(source, press + QPoint(20, 0))
    QTest.mouseMove(source, press + QPoint(40, 0))
    qtbot.waitUntil(lambda: bool(target.files), timeout=3000)
    assert "text/uri-list" in target.formats
    return target.files


@pytest.mark.real_drag
@needs_drags
def test_real_drag_of_the_whole_song(qtbot, window, target):
    handle = window.song_drag
    assert handle.isVisible()
    [path] = drag(qtbot, handle, handle.rect().center(), target)
    assert path.name == "My Song.mid" and path.is_file()
    back, original = read_midi(path), song()
    assert [note_rows(t) for t in back.tracks] == [note_rows(t) for t in original.tracks]
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [
        (t.name, t.program, t.is_drum) for t in original.tracks]
    assert timing(back) == timing(original)


@pytest.mark.real_drag
@needs_drags
def test_real_drag_of_a_track_from_the_tracks_panel(qtbot, window, target):
    panel = window.tracks_panel
    row = panel.list.itemWidget(panel.list.item(1))  # the bass
    handle = row.drag_handle
    [path] = drag(qtbot, handle, handle.rect().center(), target)
    assert path.name == "My Song - Bass.mid"
    back = read_midi(path)
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [("Bass", 33, False)]
    assert note_rows(back.tracks[0]) == note_rows(song().tracks[1])
    assert timing(back) == timing(song())


@pytest.mark.real_drag
@needs_drags
def test_real_drag_of_a_variation_from_the_generate_panel(qtbot, window, target):
    bar = 3 * PPQ
    lead = window.score.tracks[0]
    controller, panel = window.generation, window.generation_panel
    variations = [make_notes([3 * bar + i * 3 * 80, 3 * bar + PPQ], [3 * bar + i * 3 * 80 + 200, 4 * bar],
                             [60 + i, 67]) for i in range(2)]
    controller.plan = Plan(GenerateRequest(), lead.id, 3 * bar, 5 * bar)  # bars 4-5, in 6/8
    controller.candidates = [[CandidatePart(notes, lead.id)] for notes in variations]
    panel.set_candidates(["Variation 1: 2 notes", "Variation 2: 2 notes"])
    panel.parentWidget().raise_()
    qtbot.waitUntil(lambda: panel.candidates.isVisible() and panel.candidates.visibleRegion().boundingRect().height() > 30,
                    timeout=3000)
    view = panel.candidates
    view.setCurrentRow(1)
    center = view.visualItemRect(view.item(1)).center()
    [path] = drag(qtbot, view.viewport(), center, target)
    assert path.name == "My Song - Variation 2.mid"
    back = read_midi(path)
    assert [(t.name, t.program) for t in back.tracks] == [("Lead", 4)]
    expected = variations[1].copy()
    expected["start"] -= 3 * bar
    expected["end"] -= 3 * bar
    assert note_rows(back.tracks[0]) == note_rows(Track("", 0, False, expected))
    assert timing(back) == ([(0, 120.0)], [(0, 6, 8)])


def test_real_drags_under_the_minimal_platform(tmp_path):
    """Runs the real drags where Qt can drop them (skipped where they ran in this process)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None and app.platformName() != "offscreen":
        pytest.skip("the real_drag tests ran in this process")
    env = dict(os.environ, QT_QPA_PLATFORM="minimal")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "real_drag", __file__],
        env=env, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout, result.stdout[-2000:]


# --------------------------------------------------------------------------------------------
# Choosing the output in the app


def test_the_transport_menu_offers_fluidsynth_and_the_midi_outputs(window):
    menu = window.midi_output_menu
    assert menu.fluidsynth_action.isChecked()
    ports = menu.refresh()
    actions = menu.ports_menu.actions()
    if not list(ports) and not ports.virtual:  # (this machine: no ALSA sequencer, no JACK)
        assert [a.text() for a in actions] == [ports.reason]
        assert not actions[0].isEnabled() and actions[0].toolTip() == ports.details
    else:
        assert all(a.isEnabled() and a.isCheckable() for a in actions)


def test_a_port_that_cannot_open_says_so_and_fluidsynth_comes_back(qtbot, window):
    from composer.gui.transport import FLUIDSYNTH

    controller = window.playback
    # (The window may also say that FluidSynth found no sound device: wait for the port's message.)
    with qtbot.waitSignal(controller.unavailable, timeout=5000,
                          check_params_cb=lambda text: "No Such Port" in text or "MIDI" in text):
        window.midi_output_menu.choose("No Such Port")
    assert controller.output == "No Such Port" and not window.midi_output_menu.fluidsynth_action.isChecked()
    controller.play()  # nothing breaks: playback is off, with the reason shown
    window.midi_output_menu.choose(FLUIDSYNTH)
    assert controller.output == FLUIDSYNTH and window.midi_output_menu.fluidsynth_action.isChecked()
