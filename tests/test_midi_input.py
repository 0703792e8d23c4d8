"""MIDI keyboard input: message-to-note recording, port listing that never raises, the record
control, and (where the ALSA sequencer exists) a real round trip through a virtual port."""

import subprocess
import sys
import threading
import time
import types

import pytest
from PySide6.QtGui import QUndoStack

from composer.core import Score, TempoChange, Track
from composer.core.edits import AddNotes
from composer.gui.midi_record import MidiRecordControl
from composer.io.native import quiet_native_stderr
from composer.gui.undo import push_edit
from composer.io import midi_input
from composer.io.midi_input import (
    NO_PORTS_REASON, InputPorts, MidiInput, MidiInputError, NoteRecorder, list_input_ports,
)


def on(pitch, velocity=100, channel=0):
    return bytes([0x90 | channel, pitch, velocity])


def off(pitch, channel=0, velocity=64):
    return bytes([0x80 | channel, pitch, velocity])


def pedal(down, channel=0):
    return bytes([0xB0 | channel, 64, 127 if down else 0])


def rows(notes):
    """(start, end, pitch, velocity) tuples, in the array's order."""
    return [tuple(int(v) for v in row) for row in
            zip(notes["start"], notes["end"], notes["pitch"], notes["velocity"])]


class FakeClock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def recorder(qpm=120.0, start_tick=0, quantize=None, tempos=None):
    score = Score([Track("Piano")], ppq=480, tempos=tempos or [TempoChange(0, qpm)])
    return NoteRecorder(score.tempo_map, start_tick, quantize)


# --------------------------------------------------------------------------------------------
# NoteRecorder (120 BPM at PPQ 480 is 960 ticks a second unless stated)


def test_note_on_off_pairing_and_output_shape():
    rec = recorder()
    rec.feed(0.0, on(60, 90))
    rec.feed(0.25, on(64, 70))
    rec.feed(0.5, off(60))
    rec.feed(1.0, off(64))
    notes = rec.notes()
    assert notes.dtype == midi_input.make_notes([0], [1], [60]).dtype and notes.shape == (2,)
    assert rows(notes) == [(0, 480, 60, 90), (240, 960, 64, 70)]
    assert (notes["id"] == -1).all()


def test_note_on_with_velocity_zero_is_a_note_off():
    rec = recorder()
    rec.feed(0.0, on(60))
    assert rec.feed(0.5, on(60, 0)) is True
    assert rows(rec.notes()) == [(0, 480, 60, 100)]
    assert rec.sounding_pitches == []


def test_repeated_key_closes_the_previous_note():
    rec = recorder()
    rec.feed(0.0, on(60, 80))
    rec.feed(0.5, on(60, 100))  # no note-off in between (some keyboards, some sequencers)
    rec.feed(0.75, off(60))
    assert rows(rec.notes()) == [(0, 480, 60, 80), (480, 720, 60, 100)]


def test_stray_note_off_and_other_messages_are_ignored():
    rec = recorder()
    assert rec.feed(0.1, off(60)) is False  # key went down before recording started
    assert rec.feed(0.2, bytes([0xE0, 0, 64])) is False  # pitch bend
    assert rec.feed(0.2, bytes([0xF8])) is False  # clock
    assert rec.feed(0.2, b"") is False
    assert len(rec.notes()) == 0


def test_sustain_pedal_holds_released_keys_until_it_lifts():
    rec = recorder()
    rec.feed(0.0, on(60))
    rec.feed(0.1, pedal(True))
    rec.feed(0.25, off(60))  # held by the pedal
    rec.feed(0.5, on(64))
    rec.feed(0.75, off(64))
    assert rec.notes().size == 0 and rec.sounding_pitches == [60, 64]
    rec.feed(1.0, pedal(False))
    assert rows(rec.notes()) == [(0, 960, 60, 100), (480, 960, 64, 100)]


def test_sustain_is_per_channel_and_restruck_sustained_key_starts_again():
    rec = recorder()
    rec.feed(0.0, pedal(True, channel=0))
    rec.feed(0.0, on(60, channel=0))
    rec.feed(0.0, on(48, channel=1))
    rec.feed(0.25, off(60, channel=0))
    rec.feed(0.25, off(48, channel=1))  # channel 1 has no pedal: ends now
    rec.feed(0.5, on(60, channel=0))  # re-struck under the pedal
    rec.feed(0.6, off(60, channel=0))
    rec.feed(1.0, pedal(False, channel=0))
    assert rows(rec.notes()) == [(0, 240, 48, 100), (0, 480, 60, 100), (480, 960, 60, 100)]


def test_all_notes_off_ends_the_channel():
    rec = recorder()
    rec.feed(0.0, on(60))
    rec.feed(0.0, on(67))
    rec.feed(0.5, bytes([0xB0, 123, 0]))
    assert rows(rec.notes()) == [(0, 480, 60, 100), (0, 480, 67, 100)]


def test_held_notes_end_at_stop_and_snapshot_changes_nothing():
    rec = recorder()
    rec.feed(0.0, on(60))
    rec.feed(0.5, pedal(True))
    rec.feed(0.5, on(62))
    rec.feed(0.75, off(62))  # sustained
    live = rec.snapshot(1.0)
    assert rows(live) == [(0, 960, 60, 100), (480, 960, 62, 100)]
    assert rec.notes().size == 0  # the snapshot did not end anything
    assert rows(rec.stop(1.5)) == [(0, 1440, 60, 100), (480, 1440, 62, 100)]
    assert rec.sounding_pitches == []


def test_tempo_conversion_90_bpm():
    rec = recorder(qpm=90.0)
    rec.feed(0.0, on(60))
    rec.feed(1.0, off(60))
    assert rows(rec.notes()) == [(0, 720, 60, 100)]  # 1 s at 90 BPM is 1.5 beats of 480


def test_start_tick_and_tempo_changes_follow_the_tempo_map():
    # 120 BPM for the first 960 ticks (1 s), then 60 BPM (480 ticks a second).
    rec = recorder(start_tick=480, tempos=[TempoChange(0, 120.0), TempoChange(960, 60.0)])
    rec.feed(0.0, on(60))
    rec.feed(1.5, off(60))  # 0.5 s to tick 960 at 120 BPM, then 1 s at 60 BPM
    assert rows(rec.notes()) == [(480, 960 + 480, 60, 100)]
    assert rec.tick_at(-1.0) == 480  # nothing before the start


def test_quantize_snaps_to_the_grid_and_keeps_one_step():
    rec = recorder(quantize=120)
    rec.feed(0.03, on(60))  # tick 29 -> 0
    rec.feed(0.27, off(60))  # tick 259 -> 240
    rec.feed(0.5, on(62))  # 480
    rec.feed(0.51, off(62))  # 490 -> 480: stretched to one step
    rec.feed(1.0, on(64))  # 960
    rec.feed(1.02, off(64))
    rec.feed(1.04, on(64))  # two strikes on one grid line: one note remains
    rec.feed(1.2, off(64))  # 1152 -> 1200
    notes = rec.notes()
    assert rows(notes) == [(0, 240, 60, 100), (480, 600, 62, 100), (960, 1200, 64, 100)]
    assert (notes["start"] % 120 == 0).all() and (notes["end"] % 120 == 0).all()


def test_quantize_must_be_positive():
    with pytest.raises(ValueError):
        recorder(quantize=0)


# --------------------------------------------------------------------------------------------
# Port listing and opening: never raise for a missing MIDI system


def _fake_rtmidi(ports_by_api, fail=None):
    """A stand-in rtmidi module: ``ports_by_api`` maps api -> port names; ``fail`` maps api ->
    the message its MidiIn raises."""
    fail = fail or {}

    class RtMidiError(Exception):
        pass

    class MidiIn:
        instances = []

        def __init__(self, api, name=None):
            if api in fail:
                raise RtMidiError(fail[api])
            self.api, self.queue, self.opened, self.deleted = api, [], None, False
            MidiIn.instances.append(self)

        def get_ports(self):
            return list(ports_by_api.get(self.api, []))

        def open_port(self, index, name):
            self.opened = self.get_ports()[index]

        def get_message(self):  # (message as a list of ints, seconds since the previous one)
            return self.queue.pop(0) if self.queue else None

        def close_port(self):
            self.opened = None

        def delete(self):
            self.deleted = True

    return types.SimpleNamespace(
        RtMidiError=RtMidiError, MidiIn=MidiIn, API_RTMIDI_DUMMY=6, API_LINUX_ALSA=2,
        get_compiled_api=lambda: sorted(set(ports_by_api) | set(fail)),
        get_api_display_name=lambda api: {2: "ALSA", 3: "JACK"}[api])


def test_list_input_ports_reports_why_there_are_none(monkeypatch):
    def use(module):
        monkeypatch.setattr(midi_input, "_import_rtmidi", lambda: module)

    use(_fake_rtmidi({2: ["Midi Through:Midi Through Port-0 14:0", "KeyStation 20:0"],
                      3: ["KeyStation 20:0", "a2j:Other"]}))
    ports = list_input_ports()
    assert ports == ["Midi Through:Midi Through Port-0 14:0", "KeyStation 20:0", "a2j:Other"]
    assert isinstance(ports, list) and ports.reason == ""

    use(_fake_rtmidi({2: []}, fail={3: "MidiInJack::initialize: JACK server not running?"}))
    assert list_input_ports().reason == NO_PORTS_REASON  # ALSA works, nothing plugged in

    use(_fake_rtmidi({}, fail={2: "MidiInAlsa::initialize: error creating ALSA sequencer "
                                  "client object.", 3: "JACK server not running?"}))
    ports = list_input_ports()
    assert ports == [] and ports.reason.startswith("No MIDI input available: ")
    assert "ALSA" not in ports.reason  # a plain sentence; the systems' own words are the details
    assert ports.details.startswith("ALSA: error creating")
    assert "JACK: JACK server not running?" in ports.details and "::" not in ports.details

    def missing():
        raise ImportError("No module named 'rtmidi'")

    monkeypatch.setattr(midi_input, "_import_rtmidi", missing)
    ports = list_input_ports()
    assert ports == [] and "python-rtmidi could not be loaded" in ports.details


def test_list_input_ports_for_real_never_raises():
    ports = list_input_ports()
    assert isinstance(ports, InputPorts)
    assert all(isinstance(name, str) for name in ports)
    assert bool(ports) != bool(ports.reason)
    if not ports:
        assert ports.reason.startswith(("No MIDI input found", "No MIDI input available"))


def test_opening_a_missing_port_raises_a_composer_error():
    with pytest.raises(MidiInputError, match="Cannot open MIDI input 'No Such Keyboard'"):
        MidiInput("No Such Keyboard", lambda *_: None)


def test_midi_input_reads_on_its_own_thread_and_stamps_by_driver_deltas(monkeypatch, qtbot):
    fake = _fake_rtmidi({2: ["Midi Through 14:0", "KeyStation 20:0"], 3: []})
    monkeypatch.setattr(midi_input, "_import_rtmidi", lambda: fake)
    received, threads = [], set()

    def callback(stamp, message):
        threads.add(threading.get_ident())
        received.append((stamp, message))

    clock = FakeClock(50.0)
    port = MidiInput("KeyStation 20:0", callback, clock=clock)
    midi_in = next(m for m in fake.MidiIn.instances if m.opened)
    assert midi_in.opened == "KeyStation 20:0"
    assert all(m.deleted for m in fake.MidiIn.instances if m is not midi_in)  # the JACK probe
    # One poll picks up three messages: the last is stamped now, earlier ones step back.
    midi_in.queue += [([0x90, 60, 100], 0.0), ([0x80, 60, 0], 0.5), ([0x90, 62, 90], 0.25)]
    qtbot.waitUntil(lambda: len(received) == 3, timeout=1000)
    assert received == [(49.25, on(60)), (49.75, off(60, velocity=0)), (50.0, on(62, 90))]
    assert threading.get_ident() not in threads
    port.close()
    assert not port.is_open and midi_in.opened is None and midi_in.deleted
    midi_in.queue.append(([0x90, 64, 100], 0.1))
    time.sleep(5 * MidiInput.POLL_INTERVAL)
    assert len(received) == 3  # nothing after close
    port.close()  # twice is fine


def test_io_module_imports_neither_qt_torch_nor_rtmidi():
    code = ("import sys, composer.io.midi_input; "
            "bad = [m for m in ('PySide6', 'torch', 'rtmidi') if m in sys.modules]; "
            "sys.exit(str(bad) if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------------------------
# The record control


class FakeInput:
    """Stands in for MidiInput: ``send`` calls the callback from another thread, as its reader
    thread does."""

    opened: list["FakeInput"] = []

    def __init__(self, port, callback, clock):
        self.port, self.callback, self.clock, self.closed = port, callback, clock, False
        FakeInput.opened.append(self)

    def send(self, stamp, message):
        thread = threading.Thread(target=self.callback, args=(stamp, message))
        thread.start()
        thread.join()

    def close(self):
        self.closed = True


def _control(qtbot, ports=(), reason=NO_PORTS_REASON, qpm=90.0, **kwargs):
    control = MidiRecordControl(list_ports=lambda: InputPorts(ports, "" if ports else reason),
                                **kwargs)
    qtbot.addWidget(control)
    qtbot.waitUntil(lambda: not control.status.text().startswith("Looking"))  # listed off-thread
    score = Score([Track("Piano")], ppq=480, tempos=[TempoChange(0, qpm)])
    control.set_score(score)
    return control, score


def test_control_without_ports_is_disabled_and_says_why_for_real(qtbot):
    ports = list_input_ports()
    if ports:
        pytest.skip(f"this machine has MIDI inputs: {list(ports)}")
    control = MidiRecordControl()  # the real port listing
    qtbot.addWidget(control)
    qtbot.waitUntil(lambda: not control.status.text().startswith("Looking"))  # listed off-thread
    assert not control.record_button.isEnabled() and not control.port_combo.isEnabled()
    assert control.refresh_button.isEnabled()  # so "press refresh" can be followed
    assert control.status.text() == ports.reason and control.status.text().startswith("No MIDI")
    assert control.current_port() is None


def test_control_with_no_keyboard_plugged_in(qtbot):
    control, _ = _control(qtbot)
    assert control.status.text() == "No MIDI input found: connect a keyboard and press refresh"
    assert not control.record_button.isEnabled()


def test_refresh_keeps_the_selection_and_prefers_a_real_keyboard(qtbot):
    names = ["Midi Through:Midi Through Port-0 14:0", "KeyStation 20:0"]
    control, _ = _control(qtbot, ports=names)
    assert control.current_port() == "KeyStation 20:0" and control.record_button.isEnabled()
    control.port_combo.setCurrentIndex(0)
    control.refresh()
    assert control.current_port() == names[0]


def test_feeding_while_recording_emits_recorded_notes(qtbot):
    clock = FakeClock()
    control, score = _control(qtbot, clock=clock)
    control.set_start_tick(lambda: 960)
    live = []
    control.candidates_changed.connect(live.append)
    assert control.feed(0.0, on(60)) is False  # not recording: ignored
    assert control.start_recording() and control.is_recording
    control.feed(0.0, on(60, 90))
    control.feed(1.0, off(60))
    clock.now += 2.0
    control.feed(None, on(67))  # None means now: 2 s in, still held at stop
    assert rows(live[-1])[-1] == (960 + 1440, 960 + 1441, 67, 100)
    clock.now += 0.5
    with qtbot.waitSignal(control.recorded, timeout=1000) as blocker:
        control.record_button.setChecked(False)  # the button stops it too
    notes = blocker.args[0]
    assert rows(notes) == [(960, 960 + 720, 60, 90), (960 + 1440, 960 + 1800, 67, 100)]
    assert live[-1] is None and not control.is_recording
    assert control.status.text() == "Recorded 2 notes"

    # What the main window does with it: one undoable AddNotes edit on the active track.
    stack, track = QUndoStack(), score.tracks[0]
    notes["id"] = track.new_note_ids(len(notes))
    push_edit(stack, score, AddNotes(track.id, notes, text="Record MIDI"))
    assert len(track) == 2 and stack.count() == 1
    stack.undo()
    assert len(track) == 0


def test_stopping_with_nothing_played_emits_nothing(qtbot):
    control, _ = _control(qtbot)
    control.start_recording()
    with qtbot.assertNotEmitted(control.recorded):
        assert control.stop_recording().size == 0
    assert control.status.text() == "Nothing was recorded"


def test_position_follows_the_clock_and_cancel_emits_nothing(qtbot):
    clock = FakeClock()
    control, _ = _control(qtbot, clock=clock)
    control.set_start_tick(480)
    control.start_recording()
    control.feed(0.0, on(60))
    clock.now += 1.0
    with qtbot.waitSignal(control.position_changed, timeout=1000) as blocker:
        pass  # the live timer reports about 15 times a second
    assert blocker.args == [480 + 720]
    with qtbot.assertNotEmitted(control.recorded):
        control.cancel_recording()
    assert not control.is_recording and control.status.text() == "Recording cancelled"


def test_recording_needs_a_score(qtbot):
    control, _ = _control(qtbot)
    control.set_score(None)
    assert control.start_recording() is False and not control.is_recording
    assert "score" in control.status.text()


def test_port_messages_cross_to_the_gui_thread(qtbot):
    FakeInput.opened.clear()
    clock = FakeClock()
    control, _ = _control(qtbot, ports=["KeyStation 20:0"], open_input=FakeInput, clock=clock)
    threads = []
    control.candidates_changed.connect(lambda _notes: threads.append(threading.get_ident()))
    control.record_button.setChecked(True)  # the user presses Record
    assert control.is_recording and not control.refresh_button.isEnabled()
    port = FakeInput.opened[-1]
    assert port.port == "KeyStation 20:0" and port.clock is clock
    port.send(100.0, on(60))
    port.send(101.0, off(60))  # posted, not yet delivered: stop must still take it
    clock.now = 102.0
    with qtbot.waitSignal(control.recorded, timeout=1000) as blocker:
        control.stop_recording()
    assert port.closed
    assert rows(blocker.args[0]) == [(0, 720, 60, 100)]
    assert set(threads) == {threading.get_ident()}  # every update ran on the GUI thread


def test_a_port_that_fails_to_open_leaves_the_button_up(qtbot):
    def broken(port, callback, clock):
        raise MidiInputError(f"Cannot open MIDI input {port!r}: device busy")

    control, _ = _control(qtbot, ports=["KeyStation 20:0"], open_input=broken)
    control.record_button.setChecked(True)
    assert not control.is_recording and not control.record_button.isChecked()
    assert control.status.text() == "Cannot open MIDI input 'KeyStation 20:0': device busy"


# --------------------------------------------------------------------------------------------
# A real round trip through the ALSA sequencer (or JACK), where the machine has one


@pytest.fixture
def virtual_output():
    """A virtual MIDI output on the first MIDI system that can make one (ALSA, JACK, CoreMIDI);
    skips with each system's reason when none can (no /dev/snd/seq, no JACK server)."""
    rtmidi = pytest.importorskip("rtmidi")
    name = f"Composer test {time.monotonic_ns()}"
    reasons = []
    for api in rtmidi.get_compiled_api():
        with quiet_native_stderr():
            try:
                out = rtmidi.MidiOut(api, name=name)
            except (rtmidi.RtMidiError, OSError) as exc:
                reasons.append(f"{rtmidi.get_api_display_name(api)}: {exc}")
                continue
            try:
                out.open_virtual_port("keys")
            except (rtmidi.RtMidiError, OSError, NotImplementedError) as exc:
                reasons.append(f"{rtmidi.get_api_display_name(api)}: {exc}")
                out.delete()
                continue
        break
    else:
        pytest.skip("rtmidi cannot create a virtual MIDI port here: " + "; ".join(reasons))
    yield name, out
    out.close_port()
    out.delete()


def test_round_trip_through_a_virtual_port(virtual_output, qtbot):
    client, out = virtual_output
    ports = [p for p in list_input_ports() if client in p]
    if not ports:
        pytest.skip(f"the virtual port is not listed as an input: {list(list_input_ports())}")
    received = []
    threads = set()

    def callback(stamp, message):
        threads.add(threading.get_ident())
        received.append((stamp, message))

    before = time.perf_counter()
    with MidiInput(ports[0], callback) as port:
        assert port.is_open
        out.send_message([0x90, 60, 100])
        out.send_message([0x80, 60, 0])
        qtbot.waitUntil(lambda: len(received) == 2, timeout=3000)
    assert not port.is_open
    assert [message for _stamp, message in received] == [on(60), bytes([0x80, 60, 0])]
    assert all(before <= stamp <= time.perf_counter() for stamp, _message in received)
    assert threading.get_ident() not in threads  # delivered on MidiInput's reader thread
