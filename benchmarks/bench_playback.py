"""Benchmark real-time playback: start latency (goal <= 150 ms) and GUI-thread stalls (goal <= 50 ms).

Usage: python benchmarks/bench_playback.py [--seconds S] [--repeat N] [--soundfont PATH]
                                           [--driver NAME] [--no-editor] [MIDI file]

Sound goes to FluidSynth's "file" driver (a WAV in a temporary folder, rendered in real time),
so this runs on machines without a sound device; --driver uses a real one. A real device adds its
buffer (FluidSynth's default 16 x 64 frames, 23 ms at 44.1 kHz) before the sound is heard; that
figure is printed too.

Start latency, from pressing play (PlaybackController.play()) to:
  * play() returning: the first window of notes is in FluidSynth's sequencer;
  * the synth applying the first note-on (its clock passing the first event);
  * the first non-silent frame of the file driver's output (file driver only).
Measured warm (Player loaded: the usual case, since the controller loads it on a background
thread as soon as it exists), and cold: play pressed at once after creating the controller
(while the SoundFont is still loading) and with preload=False (loading at the first play).

GUI stall: a 5 ms QTimer probe on the GUI thread records the longest gap between its ticks while
the controller plays a dense multitrack MIDI file for --seconds (default 5), with a piano-roll
editor following the playhead (as the app does) and a track muted/unmuted every second (each
re-schedules the lookahead window). The same probe on the idle event loop gives the machine's
own noise for comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from composer.gui.transport import PlaybackController  # noqa: E402
from composer.io.midi import read_midi  # noqa: E402
from composer.io.playback import SEQ_TICKS_PER_SECOND  # noqa: E402
from summary import report  # noqa: E402

START_GOAL_MS, STALL_GOAL_MS = 150.0, 50.0
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_FILE = DATASETS / "lakh_multitrack_sample" / "All The Small Things.mid"
PROBE_MS = 5
#: Start playback this far into the song, where all parts play (seconds).
START_SECONDS = 30.0


def wait(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def first_sound_ms(path: Path, sample_rate: int) -> float | None:
    """Synth time (ms) of the first frame above -60 dBFS in a WAV written by the file driver."""
    with wave.open(str(path), "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    loud = np.nonzero(np.abs(pcm) > 32)[0]
    return None if len(loud) == 0 else float(loud[0] // 2) * 1000.0 / sample_rate


class Probe:
    """Longest gap between the ticks of a PROBE_MS timer on the GUI thread."""

    def __init__(self):
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = None

    def _tick(self):
        now = self.clock.nsecsElapsed() / 1e6
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    def run(self, app: QApplication, seconds: float) -> np.ndarray:
        self.gaps, self._last = [], None
        self.clock.start()
        self.timer.start()
        wait(app, seconds)
        self.timer.stop()
        return np.array(self.gaps)


def start_latency(app, score, start_tick, options, wav: Path | None, preload: bool,
                  load_first: bool) -> dict:
    """One press of play on a fresh controller; times in ms from the press."""
    controller = PlaybackController(preload=preload, **options)
    controller.set_score(score)
    controller.set_start_tick(start_tick)
    if load_first and not controller.wait_until_loaded():
        raise SystemExit(f"playback unavailable: {controller.reason}")
    t0 = time.perf_counter()
    controller.play()
    returned = (time.perf_counter() - t0) * 1000
    while controller.player is None or not controller.is_playing:  # cold: still loading
        app.processEvents()
        if controller.reason:
            raise SystemExit(f"playback unavailable: {controller.reason}")
        time.sleep(0.0005)
    playing = (time.perf_counter() - t0) * 1000
    player = controller.player
    # Synth clock at the press: the clock runs in real time, so the clock when play() returned
    # minus the time since the press.
    clock_at_press = player.clock_ms() - (time.perf_counter() - t0) * SEQ_TICKS_PER_SECOND
    first_event = player._timeline.window(0, 2**31)[0][0]  # synth ms of the first note-on
    while player.clock_ms() < first_event:
        time.sleep(0.0002)
    applied = (time.perf_counter() - t0) * 1000
    wait(app, 0.3)
    controller.close()
    sound = None
    if wav is not None:
        at = first_sound_ms(wav, player.sample_rate)
        sound = None if at is None else at - clock_at_press
    return {"returned": returned, "playing": playing, "applied": applied, "sound": sound,
            "latency": player.latency * 1000}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--seconds", type=float, default=5.0, help="playback time for the stall probe")
    parser.add_argument("--repeat", type=int, default=5, help="warm starts to time")
    parser.add_argument("--soundfont", help="SoundFont (default: find_soundfont())")
    parser.add_argument("--driver", help="a real audio driver instead of the file driver")
    parser.add_argument("--no-editor", action="store_true", help="no piano roll following the playhead")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"MIDI file not found: {args.file}")
        return 1

    app = QApplication.instance() or QApplication(sys.argv[:1])
    score = read_midi(args.file)
    start_tick = int(score.tempo_map.seconds_to_tick(min(START_SECONDS, score.duration_seconds / 2)))
    print(f"{args.file.name}: {len(score.tracks)} tracks, {score.note_count} notes, "
          f"{score.duration_seconds:.0f} s ({score.note_count / score.duration_seconds:.1f} notes/s); "
          f"playing from {score.tempo_map.tick_to_seconds(start_tick):.1f} s")
    tmp = Path(tempfile.mkdtemp(prefix="bench_playback_"))

    def options(name: str) -> tuple[dict, Path | None]:
        if args.driver:
            return dict(soundfont=args.soundfont, driver=args.driver), None
        wav = tmp / f"{name}.wav"
        return dict(soundfont=args.soundfont, file=wav), wav

    # ---- start latency
    rows = []
    for i in range(args.repeat):
        opts, wav = options(f"warm{i}")
        rows.append(("warm (Player loaded)", start_latency(app, score, start_tick, opts, wav,
                                                           preload=True, load_first=True)))
    opts, wav = options("cold_preload")
    rows.append(("cold, play at once (preload)", start_latency(app, score, start_tick, opts, wav,
                                                               preload=True, load_first=False)))
    opts, wav = options("cold_lazy")
    rows.append(("cold, preload=False", start_latency(app, score, start_tick, opts, wav,
                                                      preload=False, load_first=False)))
    latency = rows[0][1]["latency"]
    print(f"\nstart latency, ms from play() (goal <= {START_GOAL_MS:.0f}); driver buffer "
          f"{latency:.0f} ms{'' if args.driver else ' (file driver; a real device adds ~23 ms)'}")
    print(f"  {'case':32s} {'returned':>9s} {'playing':>8s} {'note-on':>8s} {'sound':>8s}")

    def fmt(v):
        return "     n/a" if v is None else f"{v:8.1f}"

    warm = [r for name, r in rows if name.startswith("warm")]
    for name, r in rows:
        if name.startswith("warm"):
            continue
        print(f"  {name:32s} {r['returned']:9.1f} {r['playing']:8.1f} {r['applied']:8.1f} {fmt(r['sound'])}")
    for label, pick in (("warm, median", statistics.median), ("warm, worst", max)):
        vals = {k: pick([r[k] for r in warm if r[k] is not None] or [float("nan")])
                for k in ("returned", "playing", "applied", "sound")}
        print(f"  {label:32s} {vals['returned']:9.1f} {vals['playing']:8.1f} {vals['applied']:8.1f} "
              f"{fmt(vals['sound'])}")
        first = "sound" if vals["sound"] == vals["sound"] else "applied"  # NaN: no sound measured
        report(f"playback start, {label}: first {'sound' if first == 'sound' else 'note-on'}", vals[first],
               "ms", START_GOAL_MS, "lower", "file driver; a real device adds ~23 ms" if not args.driver else "")
    cold = dict(rows)["cold, play at once (preload)"]
    key = "sound" if cold["sound"] is not None else "applied"
    report(f"playback start, play at app start (SoundFont loading): first {'sound' if key == 'sound' else 'note-on'}",
           cold[key], "ms", START_GOAL_MS, "lower")

    # ---- GUI stall while playing
    probe = Probe()
    idle = probe.run(app, 1.0)
    opts, _ = options("stall")
    controller = PlaybackController(**opts)
    controller.set_score(score)
    controller.set_start_tick(start_tick)
    if not controller.wait_until_loaded():
        print(f"playback unavailable: {controller.reason}")
        return 1
    editor = None
    if not args.no_editor:
        from composer.gui.pianoroll import PianoRollEditor

        editor = PianoRollEditor()
        editor.resize(1400, 700)
        editor.set_score(score)
        editor.show()

        def follow(tick: int) -> None:
            editor.set_playhead(tick)
            editor.view.ensure_tick_visible(tick)

        controller.position_changed.connect(follow)
    pumps: list[float] = []
    player = controller.player
    original_pump = player.pump

    def timed_pump():
        t = time.perf_counter()
        state = original_pump()
        pumps.append((time.perf_counter() - t) * 1000)
        return state

    player.pump = timed_pump
    positions = []
    controller.position_changed.connect(positions.append)
    track = max(score.tracks, key=len)
    mute_timer = QTimer()
    mute_timer.setInterval(1000)

    def toggle_mute():
        track.muted = not track.muted
        score.events.tracks_changed.emit()

    mute_timer.timeout.connect(toggle_mute)
    controller.play()
    mute_timer.start()
    gaps = probe.run(app, args.seconds)
    mute_timer.stop()
    controller.close()
    track.muted = False
    pumps_arr = np.array(pumps)
    print(f"\nGUI thread while playing {args.seconds:.0f} s ({'with' if editor else 'without'} a "
          f"piano roll following the playhead; muting a track every second), "
          f"goal <= {STALL_GOAL_MS:.0f} ms")
    print(f"  longest gap between {PROBE_MS} ms probe ticks: {gaps.max():.1f} ms "
          f"(99th percentile {np.percentile(gaps, 99):.1f} ms, {len(gaps)} ticks)")
    print(f"  same probe, idle event loop, no playback: {idle.max():.1f} ms "
          f"(99th percentile {np.percentile(idle, 99):.1f} ms)")
    print(f"  Player.pump(): {len(pumps_arr)} calls, mean {pumps_arr.mean():.2f} ms, "
          f"max {pumps_arr.max():.2f} ms; position updates: {len(positions) / args.seconds:.0f}/s")
    report(f"longest GUI gap while playing {args.seconds:.0f} s", float(gaps.max()), "ms", STALL_GOAL_MS, "lower",
           f"idle loop {idle.max():.1f} ms")
    verdict_start = max(r["applied"] for r in warm) <= START_GOAL_MS
    verdict_stall = gaps.max() <= STALL_GOAL_MS
    print(f"\nstart (warm, worst note-on) {'meets' if verdict_start else 'MISSES'} the goal; "
          f"GUI stall {'meets' if verdict_stall else 'MISSES'} the goal")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
