"""Real-time playback through FluidSynth, with the real library and SoundFont.

The sound goes to FluidSynth's "file" audio driver, which renders in real time (as a sound card
would consume it) into a WAV file: sample ``n`` of the file is rendered at synth time
``n / sample_rate``, the clock the Player schedules on, so where notes land in the file shows
where they would have been heard. Tests are short because real time is real time.
"""

import time
import wave

import numpy as np
import pytest

from composer.core import Score, TempoChange, Track, make_notes
from composer.io import fluidsynth_driver, synth
from composer.io.fluidsynth_driver import NoAudioDevice
from composer.io.playback import Player

SR = synth.DEFAULT_SAMPLE_RATE
PPQ = 480  # at 120 BPM a quarter note (480 ticks) is 0.5 s
#: Onsets must land within this many ms of the note start (a few 64-frame blocks and the attack).
TOLERANCE_MS = 15
BLOCK_MS = 5


def ticks(seconds) -> np.ndarray:
    return np.rint(np.asarray(seconds, dtype=float) * 2 * PPQ).astype(np.int64)


def track_at(seconds, length=0.1, pitch=72, program=0, is_drum=False, **kw) -> Track:
    """A track of notes starting at ``seconds`` (120 BPM), ``length`` seconds each."""
    starts = ticks(seconds)
    pitches = np.broadcast_to(np.asarray(pitch), starts.shape)
    return Track("t", program, is_drum, make_notes(starts, starts + ticks(length), pitches, 110),
                 **kw)


def score_of(*tracks: Track) -> Score:
    return Score(list(tracks), ppq=PPQ, tempos=[TempoChange(0, 120.0)])


def read_wav(path) -> np.ndarray:
    """Mono float samples of a 16-bit stereo WAV, shape (n,)."""
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getframerate()) == (2, SR)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return pcm.astype(np.float64).mean(axis=1) / 32768.0


def envelope(x: np.ndarray) -> np.ndarray:
    """Peak level per BLOCK_MS block, shape (n_blocks,)."""
    n = SR * BLOCK_MS // 1000
    return np.abs(x[: len(x) // n * n]).reshape(-1, n).max(axis=1)


def onsets_ms(x: np.ndarray, floor: float = 0.1) -> list[float]:
    """Times (ms into the file) where a sound starts: the level of a block rises above ``floor``
    times the file's peak and to 3x what it was 10-30 ms before. The time is that of the first
    sample rising above 3x that earlier level; rises within 60 ms of an onset belong to it."""
    env = envelope(x)
    block = SR * BLOCK_MS // 1000
    threshold = floor * env.max()
    found: list[float] = []
    for i in range(len(env)):
        before = env[max(i - 6, 0):max(i - 2, 0)].max() if i >= 3 else 0.0
        if env[i] > threshold and env[i] > 3 * before:
            lo = max(i - 3, 0) * block
            rise = np.nonzero(np.abs(x[lo:(i + 1) * block]) > max(3 * before, 1e-4))[0]
            t = (lo + rise[0]) * 1000 / SR
            if not found or t - found[-1] > 60:
                found.append(t)
    return found


def level(x: np.ndarray, t0_ms: float, t1_ms: float) -> float:
    seg = x[int(t0_ms * SR / 1000):int(t1_ms * SR / 1000)]
    return float(np.abs(seg).max()) if len(seg) else 0.0


def play_until(player: Player, seconds: float, stop_when_done: bool = True) -> list[tuple]:
    """Pump like the GUI does (every 20 ms) for ``seconds``; returns (wall, clock, tick) samples."""
    samples = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        state = player.pump()
        samples.append((time.perf_counter(), player.clock_ms(), player.position_tick()))
        if state != "playing" and stop_when_done:
            break
        time.sleep(0.02)
    return samples


def wait_clock(player: Player, ms: int) -> None:
    """Pump until the synth clock reaches ``ms``."""
    deadline = time.perf_counter() + (ms - player.clock_ms()) / 1000 + 5.0
    while player.clock_ms() < ms:
        assert time.perf_counter() < deadline, "the synth clock stopped"
        player.pump()
        time.sleep(0.005)


def assert_onsets(found, expected, tolerance=TOLERANCE_MS):
    assert len(found) == len(expected), f"onsets {np.round(found)} != expected {np.round(expected)}"
    for f, e in zip(found, expected):
        assert e - 1 <= f <= e + tolerance, f"onsets {np.round(found)} != expected {np.round(expected)}"


@pytest.fixture(autouse=True)
def no_soundfont_env(monkeypatch):
    monkeypatch.delenv(synth.SOUNDFONT_ENV, raising=False)


@pytest.fixture
def wav(tmp_path):
    return tmp_path / "heard.wav"


@pytest.fixture
def player(wav):
    p = Player(file=wav)
    yield p
    p.close()


# ---- playing -----------------------------------------------------------------------------------

def test_notes_sound_where_they_start_and_a_muted_track_is_silent(player, wav):
    lead = track_at([0.0, 0.4, 0.8], program=0)
    muted = track_at([0.2, 0.6], pitch=38, is_drum=True, muted=True)
    assert player.driver == "file" and player.latency == 0.0
    anchor = player.play(score_of(lead, muted), 0)
    samples = play_until(player, 3.0)
    assert player.state == "stopped"  # stopped by itself at the end of the score
    assert samples[-1][1] - anchor < 1500
    player.close()
    x = read_wav(wav)
    assert_onsets(onsets_ms(x), [anchor, anchor + 400, anchor + 800])
    assert level(x, 0, anchor - 1) == 0.0  # silence before play


def test_solo_and_instruments(player, wav):
    # Only the solo drum track sounds, on the drum kit (a snare has energy far above a piano's
    # range of partials at this pitch, but simply: its onsets are the drum's).
    piano = track_at([0.0, 0.3], pitch=60)
    drums = track_at([0.15, 0.45], pitch=38, is_drum=True, solo=True)
    anchor = player.play(score_of(piano, drums), 0)
    play_until(player, 2.0)
    player.close()
    assert_onsets(onsets_ms(read_wav(wav)), [anchor + 150, anchor + 450])


def test_play_from_a_later_tick_starts_notes_in_progress(player, wav):
    # A long organ note from 0 to 1 s and a note at 0.6 s; starting at 0.4 s the organ is heard
    # at once (chased) and the second note 0.2 s later.
    organ = track_at([0.0], length=1.0, pitch=60, program=16)
    later = track_at([0.6], pitch=79, program=16)
    anchor = player.play(score_of(organ, later), int(ticks(0.4)))
    play_until(player, 2.0)
    player.close()
    x = read_wav(wav)
    assert_onsets(onsets_ms(x)[:1], [anchor])
    assert level(x, anchor + 300, anchor + 500) > 0.02  # organ and later note both held


def test_drum_hits_that_began_earlier_are_not_chased(player, wav):
    crash = track_at([0.0], length=1.0, pitch=49, is_drum=True)  # a long MIDI note, one hit
    piano = track_at([0.6], pitch=72)
    anchor = player.play(score_of(crash, piano), int(ticks(0.3)))
    play_until(player, 1.5)
    player.close()
    x = read_wav(wav)
    assert level(x, 0, anchor + 290) == 0.0
    assert_onsets(onsets_ms(x), [anchor + 300])


def test_stop_leaves_no_hanging_notes(player, wav):
    organ = track_at([0.0], length=5.0, pitch=60, program=16)  # sustains until released
    anchor = player.play(score_of(organ), 0)
    wait_clock(player, anchor + 300)
    player.stop()
    stopped = player.clock_ms()
    assert not player.is_playing and player.state == "stopped"
    assert player.position_tick() == 0  # back to the start tick
    wait_clock(player, stopped + 800)
    player.close()
    x = read_wav(wav)
    assert level(x, anchor + 100, anchor + 250) > 0.02
    assert level(x, stopped + 500, stopped + 800) < 1e-3  # released and silent


def test_loop_wraps_to_the_loop_start(player, wav):
    notes = track_at([0.0, 0.5, 1.2])  # the note at 1.2 s is outside the loop
    anchor = player.play(score_of(notes), 0, loop=(0, int(ticks(1.0))))
    samples = play_until(player, 2.25)
    assert player.state == "playing"  # a loop never ends
    player.stop()
    player.close()
    found = onsets_ms(read_wav(wav))
    # Passes start at 0, 1 s and 2 s of playback; the note at 1.2 s never sounds.
    assert_onsets(found[:5], [anchor + t for t in (0, 500, 1000, 1500, 2000)])
    positions = [tick for _, clock, tick in samples if clock > anchor]
    assert max(positions) < ticks(1.0)
    assert any(b < a for a, b in zip(positions, positions[1:]))  # the playhead went back


def test_pause_and_resume(player, wav):
    notes = track_at([0.0, 0.3, 0.6, 0.9])
    score = score_of(notes)
    anchor = player.play(score, 0)
    wait_clock(player, anchor + 450)
    paused_tick = player.pause()
    paused_at = player.clock_ms()
    assert player.state == "paused"
    assert abs(paused_tick - ticks(0.45)) < ticks(0.05)
    wait_clock(player, paused_at + 400)
    assert player.position_tick() == paused_tick
    resumed = player.resume()  # synth time at which paused_tick sounds
    play_until(player, 2.0)
    player.close()
    paused_sec = paused_tick / (2 * PPQ)
    expected = [anchor, anchor + 300] + [resumed + (t - paused_sec) * 1000 for t in (0.6, 0.9)]
    assert_onsets(onsets_ms(read_wav(wav)), expected)
    assert resumed - paused_at >= 400


def test_position_follows_real_time(player):
    long = track_at(np.arange(0, 3, 0.25))
    player.play(score_of(long), int(ticks(0.5)))
    samples = play_until(player, 0.8)
    player.stop()
    wall = np.array([s[0] for s in samples])
    tick = np.array([s[2] for s in samples], dtype=float)
    slope = np.polyfit(wall - wall[0], tick, 1)[0]  # ticks per second
    assert slope == pytest.approx(2 * PPQ, rel=0.1)
    assert tick[0] >= ticks(0.5) - 1 and tick[-1] > ticks(0.5 + 0.5)


def test_muting_while_playing_silences_the_track_and_unmuting_brings_it_back(player, wav):
    # Drums every 0.3 s from 0.15 s on; a piano note at 0 only. Muted from 0.5 s to 1.1 s:
    # the drum hits at 0.75 s and 1.05 s are skipped. (Unmuting inside the 1.05-1.15 s note does
    # not strike it late: drum hits are never chased.)
    piano = track_at([0.0], pitch=60)
    drums = track_at(np.arange(0.15, 1.6, 0.3), pitch=38, is_drum=True)
    score = score_of(piano, drums)
    anchor = player.play(score, 0)
    wait_clock(player, anchor + 500)
    drums.muted = True
    score.events.tracks_changed.emit()
    wait_clock(player, anchor + 1100)
    drums.muted = False
    score.events.tracks_changed.emit()
    play_until(player, 1.0)
    player.close()
    expected = [anchor + t for t in (0, 150, 450, 1350)]
    assert_onsets(onsets_ms(read_wav(wav)), expected)


def test_removing_a_sounding_note_releases_it(player, wav):
    organ = track_at([0.0], length=3.0, pitch=60, program=16)
    score = score_of(organ)
    anchor = player.play(score, 0)
    wait_clock(player, anchor + 300)
    ids = organ.notes["id"].copy()
    organ._delete(ids)
    score.events.notes_removed.emit(organ.id, ids)
    wait_clock(player, anchor + 1000)
    edit = anchor + 300
    player.close()
    x = read_wav(wav)
    assert level(x, anchor + 100, anchor + 250) > 0.02
    assert level(x, edit + 400, anchor + 1000) < 1e-3


def test_seek_and_set_loop_while_playing(player, wav):
    notes = track_at([0.0, 0.5, 1.0, 1.5])
    anchor = player.play(score_of(notes), 0)
    wait_clock(player, anchor + 200)
    player.seek(int(ticks(1.4)))  # jump: the note at 1.5 s comes 0.1 s later
    jumped = player.clock_ms()
    player.set_loop((int(ticks(1.4)), int(ticks(1.7))))
    assert player.loop == (int(ticks(1.4)), int(ticks(1.7)))
    play_until(player, 0.8)
    player.close()
    found = onsets_ms(read_wav(wav))
    assert found[0] == pytest.approx(anchor, abs=TOLERANCE_MS)
    # After the jump the 1.5 s note sounds about every 0.3 s (the loop), not at 0.5 s steps.
    later = [t for t in found if t > jumped + 50]
    assert len(later) >= 2
    assert np.diff(later) == pytest.approx(300, abs=TOLERANCE_MS)


def test_a_note_held_across_the_loop_end_is_struck_again_not_cut(player, wav):
    organ = track_at([0.0], length=2.0, pitch=60, program=16)
    anchor = player.play(score_of(organ), 0, loop=(0, int(ticks(0.5))))
    wait_clock(player, anchor + 1300)
    player.close()
    x = read_wav(wav)
    held = level(x, anchor + 200, anchor + 450)
    assert held > 0.02
    for t in (600, 1100):  # inside the second and third passes
        assert level(x, anchor + t, anchor + t + 250) > 0.5 * held


def test_a_note_added_while_playing_is_heard(player, wav):
    piano = track_at([0.0])
    score = score_of(piano)
    anchor = player.play(score, 0, loop=(0, int(ticks(2.0))))  # a loop: no stop at the end
    wait_clock(player, anchor + 400)
    added = make_notes(ticks([0.8]), ticks([0.9]), [76], 110)
    added["id"] = piano.new_note_ids(1)
    piano._insert(added)
    score.events.notes_added.emit(piano.id, added["id"])
    wait_clock(player, anchor + 1100)
    player.close()
    assert_onsets(onsets_ms(read_wav(wav)), [anchor, anchor + 800])


def test_a_tempo_change_keeps_the_position_and_changes_the_speed(player):
    score = score_of(track_at(np.arange(0, 4, 0.5)))
    anchor = player.play(score, 0)
    wait_clock(player, anchor + 300)
    before = player.position_tick()
    score.set_timing(tempos=[TempoChange(0, 240.0)])
    after = play_until(player, 0.4)
    ticks_after = np.array([s[2] for s in after], dtype=float)
    wall = np.array([s[0] for s in after])
    assert abs(ticks_after[0] - before) < ticks(0.1)  # no jump
    slope = np.polyfit(wall - wall[0], ticks_after, 1)[0]
    assert slope == pytest.approx(4 * PPQ, rel=0.15)  # 240 BPM: 1920 ticks per second


def test_empty_score_stops_at_once(player):
    player.play(Score(), 0)
    play_until(player, 0.5)
    assert player.state == "stopped"


# ---- failures ----------------------------------------------------------------------------------

def test_unknown_driver_is_a_clear_no_sound_device_error():
    with pytest.raises(NoAudioDevice) as info:
        Player(driver="no-such-driver")
    message = str(info.value)
    assert message.startswith("no sound device:") and "no-such-driver" in message
    assert "\n" not in message
    assert isinstance(info.value, synth.AudioUnavailable)


def test_device_that_cannot_open_says_why(tmp_path):
    # The file driver writing into a missing folder fails like a device that cannot be opened.
    with pytest.raises(NoAudioDevice, match=r"^no sound device: file: .+") as info:
        Player(file=tmp_path / "missing folder" / "out.wav")
    assert "\n" not in str(info.value)


def test_no_device_on_this_machine_or_a_working_one():
    # Whatever this machine has, the default either starts a driver or says why in one line.
    known = {d for drivers in fluidsynth_driver.PLATFORM_DRIVERS.values() for d in drivers}
    try:
        with Player() as p:
            assert p.driver in known | set(fluidsynth_driver.OTHER_PLATFORM_DRIVERS)
            assert 0 < p.latency < 1
    except NoAudioDevice as exc:
        assert str(exc).startswith("no sound device: ") and "\n" not in str(exc)


def test_missing_fluidsynth_is_audio_unavailable(monkeypatch, wav):
    def fail():
        raise OSError("libfluidsynth.so.3: cannot open shared object file")

    monkeypatch.setattr(synth, "_import_fluidsynth", fail)
    with pytest.raises(synth.AudioUnavailable, match="libfluidsynth3"):
        Player(file=wav)


def test_bad_arguments(wav):
    with pytest.raises(ValueError):
        Player(driver="alsa", file=wav)
    with pytest.raises(ValueError):
        Player(driver="file")
    with Player(file=wav) as p:
        with pytest.raises(ValueError):
            p.play(score_of(track_at([0.0])), 0, loop=(100, 100))
        with pytest.raises(ValueError):
            p.resume()  # nothing to play yet
    with pytest.raises(RuntimeError):
        p.play(score_of(track_at([0.0])))
    p.close()  # twice is fine


# ---- the Qt controller and toolbar -------------------------------------------------------------

@pytest.fixture
def controller(qtbot, wav):
    from composer.gui.transport import PlaybackController

    c = PlaybackController(driver="file", file=wav)
    yield c
    c.close()


def test_controller_plays_and_reports_state_and_position(qtbot, controller):
    score = score_of(track_at([0.0, 0.3, 0.6]))
    controller.set_score(score)
    assert controller.wait_until_loaded()
    with qtbot.waitSignal(controller.state_changed, timeout=1000) as state:
        controller.play()
    assert state.args == ["playing"] and controller.is_playing
    ticks_seen = []
    controller.position_changed.connect(ticks_seen.append)
    qtbot.waitUntil(lambda: len(ticks_seen) >= 8, timeout=2000)
    assert ticks_seen[-1] > ticks_seen[0]
    # Without a loop the controller stops by itself at the end and returns to the start tick.
    with qtbot.waitSignal(controller.state_changed, timeout=3000) as state:
        pass
    assert state.args == ["stopped"]
    assert ticks_seen[-1] == 0


def test_controller_first_play_before_loading_ends(qtbot, wav):
    from composer.gui.transport import PlaybackController

    c = PlaybackController(driver="file", file=wav)
    try:
        c.set_score(score_of(track_at([0.0, 0.5])))
        t0 = time.perf_counter()
        with qtbot.waitSignal(c.state_changed, timeout=3000) as state:
            c.play()  # the Player is most likely still loading
        assert state.args == ["playing"]
        assert time.perf_counter() - t0 < 2.0
    finally:
        c.close()


def test_controller_toggle_pause_stop_and_loop(qtbot, controller):
    score = score_of(track_at(np.arange(0, 4, 0.25)))
    controller.set_score(score)
    controller.set_start_tick(int(ticks(1.0)))
    assert controller.wait_until_loaded()
    with qtbot.waitSignal(controller.state_changed, timeout=1000):
        controller.toggle()
    assert controller.state == "playing"
    qtbot.wait(200)
    with qtbot.waitSignal(controller.state_changed, timeout=1000) as state:
        controller.toggle()
    assert state.args == ["paused"]
    assert controller.position_tick() > ticks(1.0)
    with qtbot.waitSignals([controller.state_changed, controller.position_changed],
                           timeout=1000):
        controller.stop()
    assert controller.state == "stopped" and controller.position_tick() == ticks(1.0)

    with qtbot.waitSignal(controller.loop_changed) as looping:
        controller.set_loop(0, int(ticks(0.5)))
    assert looping.args == [True] and controller.player.loop == (0, int(ticks(0.5)))
    controller.set_start_tick(0)
    controller.play()
    seen = []
    controller.position_changed.connect(seen.append)
    qtbot.wait(800)
    assert seen and max(seen) < ticks(0.5) and controller.player.loop == (0, int(ticks(0.5)))
    controller.set_loop_enabled(False)
    assert controller.player.loop is None
    controller.set_loop_enabled(True)  # the region is kept
    assert controller.player.loop == (0, int(ticks(0.5)))
    controller.set_loop(None)
    assert not controller.loop_enabled and controller.player.loop is None
    controller.set_loop_enabled(True)  # without a region: the whole score, to its last bar
    assert controller.player.loop == (0, 2 * 4 * PPQ)  # notes end at 3.85 s: two bars
    controller.stop()


def test_controller_reports_unavailable_instead_of_raising(qtbot):
    from composer.gui.transport import PlaybackController, TransportBar

    c = PlaybackController(driver="no-such-driver", preload=False)
    bar = TransportBar(c)
    qtbot.addWidget(bar)
    try:
        c.set_score(score_of(track_at([0.0])))
        with qtbot.waitSignal(c.unavailable, timeout=3000) as reason:
            c.play()
        assert reason.args[0].startswith("no sound device")
        assert c.state == "stopped" and c.player is None
        assert bar.status_label.isVisibleTo(bar)
        assert "Playback off" in bar.status_label.text()
        assert bar.status_label.toolTip() == reason.args[0]
        # Pressing play again tries again and reports again; the app keeps going.
        with qtbot.waitSignal(c.unavailable, timeout=3000):
            c.toggle()
    finally:
        c.close()


def test_transport_bar_follows_the_controller(qtbot, controller):
    from composer.core.timing import TimeSignature
    from composer.gui.transport import TransportBar, bar_beat, format_position

    score = score_of(track_at(np.arange(0, 3, 0.25)))
    bar = TransportBar(controller)
    qtbot.addWidget(bar)
    controller.set_score(score)
    controller.set_start_tick(4 * PPQ + PPQ)  # bar 2, beat 2, 2.5 s
    assert bar.time_label.text() == "2:2  00:02"
    assert controller.wait_until_loaded()
    with qtbot.waitSignal(controller.state_changed, timeout=1000):
        bar.play_action.trigger()
    assert bar.play_action.text() == "Pause"
    with qtbot.waitSignal(controller.state_changed, timeout=1000):
        bar.stop_action.trigger()
    assert bar.play_action.text() == "Play"
    bar.loop_action.trigger()
    assert controller.loop_enabled
    controller.set_loop(None)
    assert not bar.loop_action.isChecked()

    waltz = Score([], ppq=PPQ, time_signatures=[TimeSignature(0, 3, 4), TimeSignature(3 * PPQ * 2, 6, 8)])
    assert bar_beat(waltz, 0) == (1, 1)
    assert bar_beat(waltz, 3 * PPQ + PPQ) == (2, 2)
    assert bar_beat(waltz, 6 * PPQ + PPQ // 2 * 3) == (3, 4)  # 6/8: eighth-note beats
    assert format_position(None, 123) == "1:1  00:00"
    assert format_position(score, 2 * PPQ * 65) == "33:3  01:05"
