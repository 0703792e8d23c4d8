"""Real-time playback of a Score through FluidSynth's own audio driver (numpy, no Qt).

A :class:`Player` owns a FluidSynth synth with a SoundFont loaded, a FluidSynth sequencer that the
synth drives, and an audio driver (PulseAudio, ALSA, CoreAudio, WASAPI, ..., or the ``file``
driver, which writes what would be heard to a WAV in real time). Note events are scheduled on the
sequencer with timestamps in milliseconds of *synth time* (samples rendered / sample rate), so the
audio thread applies them at the right sample block without any Python in the audio callback.

Scheduling looks ahead: :meth:`Player.pump`, which the GUI calls every 20-50 ms, sends the events
of the next :data:`DEFAULT_LOOKAHEAD` seconds only. Each call therefore does little work, and an
edit, a mute or solo change, a new loop or a jump only has to replace that window: pending events
are removed from the sequencer and the window is scheduled again from the current position.
Playback survives a GUI stall shorter than the lookahead without a gap.

Timeline model: playback is *anchored* at a synth time ``anchor_ms`` where score time
``anchor_sec`` sounds. From there a first segment plays up to the loop end (or the score's end);
with a loop, passes over ``[loop_start, loop_end)`` follow back to back. Every change re-anchors
at the current position, so tempo edits never make the playhead jump.

Notes in progress are heard: starting in the middle of a note, or wrapping to a loop start inside
one, starts that note there ("chasing", as in most sequencers). Drum notes are not chased: a drum
hit is a one-shot whose MIDI length means little, so one that began earlier has been heard.

Not thread-safe: call a Player from one thread (the GUI thread). Creating it may happen on
another thread (loading a SoundFont takes 0.02-0.5 s).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import Score
from ..core.timing import TempoMap
from .native import quiet_native_stderr
from .audio import (
    DEFAULT_SAMPLE_RATE,
    AudioUnavailable,
    _fluidsynth,
    assign_channels,
    audible_tracks,
    check_sample_rate,
    find_soundfont,
    key_events,
    new_synth,
    select_program,
)

#: Seconds of music scheduled ahead of the synth. Longer survives longer GUI stalls; every
#: change re-schedules this window, so its length does not delay edits.
DEFAULT_LOOKAHEAD = 1.0
#: Play starts this far (ms) ahead of the synth clock, so the first events are in the sequencer
#: before the audio thread reaches them and keep their exact spacing.
START_LEAD_MS = 10
#: After a re-schedule, keys the old schedule may have started while it was being replaced (the
#: audio thread runs on) are released; this is how far ahead (ms) that looks.
RACE_MS = 50
#: Sequencer time unit: ticks per second (1 ms; FluidSynth applies events per 64-frame block,
#: 1.45 ms at 44.1 kHz, anyway).
SEQ_TICKS_PER_SECOND = 1000
#: Note previews sound on the last channel (tracks take channels from the first) for this long.
PREVIEW_CHANNEL = 15
PREVIEW_SECONDS = 0.4

#: Audio drivers tried in this order when none is named, by platform; only those the FluidSynth
#: library was built with are tried.
PLATFORM_DRIVERS = {
    "linux": ("pulseaudio", "pipewire", "alsa", "jack", "sdl2", "oss"),
    "darwin": ("coreaudio", "portaudio", "sdl2", "jack"),
    "win32": ("wasapi", "dsound", "waveout", "sdl2", "portaudio"),
}
_OTHER_PLATFORM_DRIVERS = ("pulseaudio", "sndio", "oss", "portaudio", "sdl2", "jack")

PLAYING, PAUSED, STOPPED = "playing", "paused", "stopped"

# Probing for a device must not launch a JACK server, which would take over the sound card (set
# here, at import on the main thread, because changing the environment while other threads run is
# unsafe in C). A JACK user starts their server anyway.
os.environ.setdefault("JACK_NO_START_SERVER", "1")


class NoAudioDevice(AudioUnavailable):
    """No audio driver could be started; the message says which were tried and why each failed."""


# --------------------------------------------------------------------------------------------
# The parts of the FluidSynth C API pyfluidsynth does not wrap (or wraps slowly)


class _Api:
    """ctypes prototypes of the sequencer, event, driver and log functions.

    Declared here rather than through pyfluidsynth's wrappers: those allocate a new event per
    note and parse keyword flags on every call, several times slower when scheduling thousands
    of notes.
    """

    LOG_FUNCTION = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
    OPTION_FUNCTION = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)

    def __init__(self, lib):
        vp, i, s, u = ctypes.c_void_p, ctypes.c_int, ctypes.c_short, ctypes.c_uint

        def f(name, restype, *argtypes):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, list(argtypes)
            return fn

        self.new_sequencer = f("new_fluid_sequencer2", vp, i)
        self.delete_sequencer = f("delete_fluid_sequencer", None, vp)
        self.register_synth = f("fluid_sequencer_register_fluidsynth", s, vp, vp)
        self.get_tick = f("fluid_sequencer_get_tick", u, vp)
        self.send_at = f("fluid_sequencer_send_at", i, vp, vp, u, i)
        self.remove_events = f("fluid_sequencer_remove_events", None, vp, s, s, i)
        self.new_event = f("new_fluid_event", vp)
        self.delete_event = f("delete_fluid_event", None, vp)
        self.event_set_source = f("fluid_event_set_source", None, vp, s)
        self.event_set_dest = f("fluid_event_set_dest", None, vp, s)
        self.event_noteon = f("fluid_event_noteon", None, vp, i, s, s)
        self.event_noteoff = f("fluid_event_noteoff", None, vp, i, s)
        self.all_notes_off = f("fluid_synth_all_notes_off", i, vp, i)
        self.new_audio_driver = f("new_fluid_audio_driver", vp, vp, vp)
        self.delete_audio_driver = f("delete_fluid_audio_driver", None, vp)
        self.set_log_function = f("fluid_set_log_function", vp, i, vp, vp)
        self.foreach_option = f("fluid_settings_foreach_option", None, vp, ctypes.c_char_p, vp,
                                self.OPTION_FUNCTION)


_api_cache: _Api | None = None


def _api() -> _Api:
    global _api_cache
    if _api_cache is None:
        fs = _fluidsynth()
        try:
            _api_cache = _Api(fs._fl)
        except AttributeError as exc:  # a FluidSynth 1.x library, or a pyfluidsynth without _fl
            raise AudioUnavailable(f"Audio is unavailable: this FluidSynth library lacks {exc}; "
                                   "FluidSynth 2.2 or newer is needed.") from exc
    return _api_cache


# --------------------------------------------------------------------------------------------
# Audio drivers


def _driver_options(api: _Api, settings) -> list[str]:
    """The audio drivers this FluidSynth library was built with."""
    names: list[str] = []
    callback = _Api.OPTION_FUNCTION(lambda _data, _name, option: names.append(option.decode()))
    api.foreach_option(settings, b"audio.driver", None, callback)
    return names


# One C callback for the life of the process: FluidSynth may still be inside a log call from
# another thread when capturing ends, so the callback must never be freed.
_log_sink: list[list[str]] = []


def _log_to_sink(_level, message, _data) -> None:
    if _log_sink and message:
        _log_sink[-1].append(message.decode(errors="replace").strip().rstrip("."))


_log_callback = _Api.LOG_FUNCTION(_log_to_sink)


@contextlib.contextmanager
def _fluid_log_captured():
    """Collect FluidSynth's error and warning messages (a list of str) instead of printing them,
    so a failed driver can say why in one line. Restores the previous log functions."""
    api = _api()
    messages: list[str] = []
    _log_sink.append(messages)
    levels = (0, 1, 2)  # FLUID_PANIC, FLUID_ERR, FLUID_WARN
    previous = [api.set_log_function(level, ctypes.cast(_log_callback, ctypes.c_void_p), None)
                for level in levels]
    try:
        yield messages
    finally:
        for level, function in zip(levels, previous):
            api.set_log_function(level, function, None)
        _log_sink.remove(messages)


def _init_sdl2() -> str | None:
    """FluidSynth's SDL2 driver needs SDL's audio subsystem started by the application; returns
    None when it is, else why not."""
    name = ctypes.util.find_library("SDL2") or ctypes.util.find_library("SDL2-2.0")
    if name is None:
        return "the SDL2 library was not found"
    try:
        sdl = ctypes.CDLL(name)
        sdl.SDL_InitSubSystem.argtypes = [ctypes.c_uint32]
        if sdl.SDL_InitSubSystem(0x10) != 0:  # SDL_INIT_AUDIO
            sdl.SDL_GetError.restype = ctypes.c_char_p
            return f"SDL2 audio could not be started ({sdl.SDL_GetError().decode(errors='replace')})"
    except (OSError, AttributeError) as exc:
        return f"SDL2 could not be loaded ({exc})"
    return None


def _start_driver(api: _Api, synth, driver: str | None, device: str | None):
    """Start an audio driver on ``synth``; returns ``(driver name, driver handle)``.

    Raises
    ------
    NoAudioDevice
        When the named driver (or, with none named, every usual driver of the platform) fails.
    """
    available = _driver_options(api, synth.settings)
    if driver:
        if driver not in available:
            raise NoAudioDevice(f"no sound device: this FluidSynth has no {driver!r} audio driver "
                                f"(it has {', '.join(available) or 'none'})")
        candidates = [driver]
    else:
        preferred = PLATFORM_DRIVERS.get(sys.platform, _OTHER_PLATFORM_DRIVERS)
        candidates = [d for d in preferred if d in available] or available
    failures = []
    for name in candidates:
        if name == "sdl2":
            with quiet_native_stderr():
                problem = _init_sdl2()
            if problem:
                failures.append(f"sdl2: {problem}")
                continue
        synth.setting("audio.driver", name)
        if device:
            synth.setting(f"audio.{name}.device", device)
        with _fluid_log_captured() as messages, quiet_native_stderr():
            handle = api.new_audio_driver(synth.settings, synth.synth)
        if handle:
            return name, handle
        failures.append(f"{name}: {'; '.join(messages) or 'failed to start'}")
    raise NoAudioDevice("no sound device: " + "; ".join(failures or ["no audio driver to try"]))


# --------------------------------------------------------------------------------------------
# The timeline: what to play when


@dataclass
class _Segment:
    """The note events of score time ``[start, start + length)``, in ms from its start.

    All arrays have shape (n_events,) and are in playing order (offs before ons at equal times).
    ``length`` is None for a segment that runs to the end of the score. Every note is released
    by the segment's end, so consecutive passes never leave a key held. ``drum`` marks events of
    drum tracks.
    """

    start: float  # score seconds at time 0 of the segment
    length: int | None  # ms
    time: np.ndarray  # int64 ms from the segment start
    is_on: np.ndarray  # int64 0/1
    channel: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    drum: np.ndarray  # bool

    def columns(self, lo: int, hi: int, offset: int) -> tuple[np.ndarray, ...]:
        return (self.time[lo:hi] + offset, self.is_on[lo:hi], self.channel[lo:hi],
                self.pitch[lo:hi], self.velocity[lo:hi])


def _empty_columns() -> tuple[np.ndarray, ...]:
    return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))


def _audible_notes(score: Score, select) -> tuple[np.ndarray, ...]:
    """``(start_sec, end_sec, channel, pitch, velocity, drum)`` of the notes heard, each of
    shape (n,); ``drum`` is bool.

    ``select(channel, program, is_drum)`` is called once per heard track, so the caller can give
    the track's channel its instrument.
    """
    tracks = audible_tracks(score)
    channels = assign_channels(tracks)
    cols = []
    for track, channel in zip(tracks, channels):
        select(channel, int(track.program), bool(track.is_drum))
        notes = track.notes[(track.notes["pitch"] >= 0) & (track.notes["pitch"] <= 127)]
        if len(notes):
            cols.append((notes["start"], notes["end"], np.full(len(notes), channel),
                         notes["pitch"], notes["velocity"], np.full(len(notes), track.is_drum)))
    if not cols:
        return (np.zeros(0), np.zeros(0), *(np.zeros(0, dtype=np.int64) for _ in range(3)),
                np.zeros(0, dtype=bool))
    start, end, channel, pitch, velocity = (np.concatenate(c).astype(np.int64)
                                            for c in list(zip(*cols))[:5])
    drum = np.concatenate([c[5] for c in cols]).astype(bool)
    seconds = score.tempo_map.tick_to_seconds(np.concatenate([start, end]))
    n = len(start)
    return seconds[:n], seconds[n:], channel, pitch, velocity, drum


def _segment(notes: tuple[np.ndarray, ...], start: float, end: float | None) -> _Segment:
    """The segment of score seconds ``[start, end)`` (``end`` None: to the end of the score).

    Notes sounding at ``start`` begin there (chasing), except drum notes; notes still sounding
    at ``end`` are released there.
    """
    note_start, note_end, channel, pitch, velocity, drum = notes
    length = None if end is None else max(int(round((end - start) * SEQ_TICKS_PER_SECOND)), 1)
    keep = (note_end > start) & ((note_start >= start) | ~drum)
    if end is not None:
        keep &= note_start < end
    on = np.rint((np.maximum(note_start[keep], start) - start) * SEQ_TICKS_PER_SECOND)
    off_sec = note_end[keep] if end is None else np.minimum(note_end[keep], end)
    off = np.rint((off_sec - start) * SEQ_TICKS_PER_SECOND)
    channel, pitch, velocity, drum = channel[keep], pitch[keep], velocity[keep], drum[keep]
    if length is not None:  # a note rounded onto the end would start after the wrap
        inside = on < length
        on, off, channel, pitch, velocity, drum = (a[inside] for a in (on, off, channel, pitch,
                                                                       velocity, drum))
        off = np.minimum(off, length)
    time, is_on, channel, pitch, velocity, drum = key_events(
        on.astype(np.int64), off.astype(np.int64), channel, pitch, velocity, drum)
    return _Segment(start, length, time, is_on, channel, pitch, velocity, drum)


class _Timeline:
    """Maps synth time (ms) to score time and to the note events to send.

    Playback is anchored at synth time ``anchor_ms``, where score second ``first.start`` sounds;
    ``first`` plays once, then ``loop`` (if any) repeats forever. ``before`` is the timeline this
    one replaced, used only to report positions just before ``anchor_ms`` (the driver latency
    makes the heard position lag behind).
    """

    def __init__(self, anchor_ms: int, tempo_map: TempoMap, first: _Segment,
                 loop: _Segment | None, end_sec: float, before: "_Timeline | None" = None):
        self.anchor_ms = int(anchor_ms)
        self.tempo_map = tempo_map
        self.first = first
        self.loop = loop
        self.before = before
        # Without a loop playback ends when the score does.
        self.end_ms = None if loop is not None else (
            self.anchor_ms + max(end_sec - first.start, 0.0) * SEQ_TICKS_PER_SECOND)

    def _pass_at(self, ms: int) -> tuple[_Segment, int]:
        """The segment playing at synth time ``ms`` (>= anchor) and the synth time it began."""
        first_len = self.first.length
        if first_len is None or ms < self.anchor_ms + first_len or self.loop is None:
            return self.first, self.anchor_ms
        k = (ms - self.anchor_ms - first_len) // self.loop.length
        return self.loop, self.anchor_ms + first_len + k * self.loop.length

    def window(self, w0: int, w1: int) -> tuple[np.ndarray, ...]:
        """Events with synth times in ``[w0, w1)``: ``(time, is_on, channel, pitch, velocity)``,
        each of shape (n,), in playing order."""
        w0 = max(int(w0), self.anchor_ms)
        if w1 <= w0:
            return _empty_columns()
        # Start from the pass holding w0 - 1: its releases at its very end fall on w0.
        segment, start = self._pass_at(max(w0 - 1, self.anchor_ms))
        parts = []
        while start < w1:
            lo, hi = np.searchsorted(segment.time, [w0 - start, w1 - start], side="left")
            if hi > lo:
                parts.append(segment.columns(lo, hi, start))
            if segment.length is None or self.loop is None:
                break
            start += segment.length
            segment = self.loop
        if not parts:
            return _empty_columns()
        return tuple(np.concatenate(c) for c in zip(*parts))

    def sounding(self, ms: int) -> tuple[np.ndarray, ...]:
        """``(channel, pitch, velocity, drum)`` of the keys held at synth time ``ms``, shape (n,)
        each: those whose latest event at or before ``ms`` is a note-on."""
        if ms < self.anchor_ms:
            return (*_empty_columns()[:3], np.zeros(0, dtype=bool))
        segment, start = self._pass_at(ms)
        n = int(np.searchsorted(segment.time, ms - start, side="right"))
        key = segment.channel[:n] * 128 + segment.pitch[:n]
        _, from_end = np.unique(key[::-1], return_index=True)
        last = n - 1 - from_end
        held = last[segment.is_on[last] == 1]
        return segment.channel[held], segment.pitch[held], segment.velocity[held], segment.drum[held]

    def seconds_at(self, ms: float) -> float:
        """Score seconds sounding at synth time ``ms``."""
        if ms < self.anchor_ms:
            if self.before is not None:
                return self.before.seconds_at(ms)
            return self.first.start
        segment, start = self._pass_at(int(ms))
        return segment.start + (ms - start) / SEQ_TICKS_PER_SECOND

    def tick_at(self, ms: float) -> int:
        return max(int(self.tempo_map.seconds_to_tick(self.seconds_at(ms))), 0)


def _keys(channel: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    return np.asarray(channel, dtype=np.int64) * 128 + np.asarray(pitch, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# The player


_live_players: "weakref.WeakSet[Player]" = weakref.WeakSet()


@atexit.register
def _close_live_players() -> None:
    # Stop audio threads before the interpreter and the C libraries shut down under them.
    for player in list(_live_players):
        with contextlib.suppress(Exception):
            player.close()


class Player:
    """Plays a Score in real time through FluidSynth.

    Parameters
    ----------
    soundfont : str or path-like, optional
        The user's SoundFont setting; see :func:`composer.io.audio.find_soundfont`.
    driver : str, optional
        A FluidSynth audio driver ("pulseaudio", "alsa", "coreaudio", "wasapi", "file", ...).
        None tries the platform's usual drivers in turn (:data:`PLATFORM_DRIVERS`).
    file : str or path-like, optional
        Use the ``file`` driver and write what would be heard to this WAV file, in real time
        (for tests and benchmarks on machines without a sound device). The file is complete
        once the Player is closed.
    device : str, optional
        The driver's device name (``audio.<driver>.device``).
    sample_rate : int
    lookahead : float
        Seconds of music scheduled ahead (see :data:`DEFAULT_LOOKAHEAD`).
    effects : bool
        Reverb and chorus, off by default as in :class:`composer.io.audio.Renderer`.
    cpu_cores : int
        FluidSynth render threads; 1 keeps the audio thread alone, which suits real time.
    settings : dict, optional
        Further FluidSynth settings, e.g. ``{"audio.period-size": 256, "audio.periods": 8}``.

    Raises
    ------
    AudioUnavailable
        FluidSynth is missing (install hint in the message); :class:`SoundFontError` when no
        SoundFont is usable; :class:`NoAudioDevice` ("no sound device: ...") when no audio driver
        starts.
    """

    def __init__(self, soundfont: str | os.PathLike | None = None, driver: str | None = None,
                 file: str | os.PathLike | None = None, *, device: str | None = None,
                 sample_rate: int = DEFAULT_SAMPLE_RATE, lookahead: float = DEFAULT_LOOKAHEAD,
                 effects: bool = False, cpu_cores: int = 1, settings: dict | None = None):
        if file is not None:
            if driver not in (None, "file"):
                raise ValueError(f"a file is only written by the 'file' driver, not {driver!r}")
            driver = "file"
        elif driver == "file":
            raise ValueError("the 'file' audio driver needs a file name")
        if lookahead <= 0:
            raise ValueError(f"lookahead must be > 0 s, not {lookahead}")
        self.sample_rate = check_sample_rate(sample_rate)
        self.soundfont: Path = find_soundfont(soundfont)
        self.file = None if file is None else Path(file)
        self.lookahead = float(lookahead)
        api = self._api = _api()
        extra = dict(settings or {})
        if self.file is not None:
            extra["audio.file.name"] = str(self.file)
        self._synth = self._seq = self._event = self._driver = None
        self._synth, self._sfid = new_synth(self.soundfont, self.sample_rate, effects, cpu_cores,
                                            **extra)
        try:
            # use_system_timer=0: the synth drives the sequencer clock from the samples it renders,
            # so events land on the right sample block whatever the wall clock does.
            self._seq = api.new_sequencer(0)
            self._dest = api.register_synth(self._seq, self._synth.synth)
            if self._dest < 0:
                raise AudioUnavailable("Audio is unavailable: FluidSynth's sequencer could not "
                                       "be connected to the synth.")
            self._event = api.new_event()  # reused: send_at copies it
            api.event_set_source(self._event, -1)
            api.event_set_dest(self._event, self._dest)
            self.driver, self._driver = _start_driver(api, self._synth, driver, device)
        except BaseException:
            self._free()
            raise
        # The synth renders ahead of what is heard by the driver's buffer; the file driver's
        # output *is* the rendered signal.
        if self.driver == "file":
            self.latency = 0.0
        else:
            period = self._synth.get_setting("audio.period-size") or 0
            periods = self._synth.get_setting("audio.periods") or 0
            self.latency = float(period) * float(periods) / self.sample_rate
        self._state = STOPPED
        self._score: Score | None = None
        self._loop: tuple[int, int] | None = None
        self._start_tick = 0
        self._paused_tick = 0
        self._timeline: _Timeline | None = None
        self._scheduled_until = 0
        self._dirty = False
        _live_players.add(self)

    # ------------------------------------------------------------------------- properties
    @property
    def state(self) -> str:
        """The state: "playing", "paused" or "stopped"."""
        return self._state

    @property
    def is_playing(self) -> bool:
        return self._state == PLAYING

    @property
    def score(self) -> Score | None:
        return self._score

    @property
    def loop(self) -> tuple[int, int] | None:
        """The loop region ``(start, end)`` in ticks, or None."""
        return self._loop

    @property
    def closed(self) -> bool:
        return self._synth is None

    def clock_ms(self) -> int:
        """Synth time in ms: how much audio FluidSynth has rendered since the driver started.

        With the file driver, sample ``round(ms * sample_rate / 1000)`` of the file is rendered at
        this time.
        """
        self._check_open()
        return int(self._api.get_tick(self._seq))

    # ------------------------------------------------------------------------- transport
    def play(self, score: Score | None = None, start_tick: int = 0,
             loop: tuple[int, int] | None = None) -> int:
        """Play ``score`` (None: the current one) from ``start_tick``, looping ``loop`` if given.

        The loop region ``(start, end)`` in ticks repeats once playback reaches ``end``; from a
        start at or after ``end`` playback runs on to the end of the score instead. Without a
        loop, playback stops by itself at the end of the score (see :meth:`pump`).

        Returns
        -------
        int
            The synth time (ms, see :meth:`clock_ms`) at which ``start_tick`` sounds.
        """
        self._check_open()
        loop = _checked_loop(loop)
        if score is not None:
            self._set_score(score)
        if self._score is None:
            raise ValueError("no score to play")
        self._silence()
        self._loop = loop
        self._start_tick = max(int(start_tick), 0)
        return self._start_at(self._start_tick)

    def pause(self) -> int:
        """Stop sounding and remember the position; returns the paused tick."""
        self._check_open()
        if self._state == PLAYING:
            self._paused_tick = self._timeline.tick_at(self.clock_ms())
            self._silence()
            self._state = PAUSED
        return self._paused_tick if self._state == PAUSED else self._start_tick

    def resume(self) -> int:
        """Continue from the paused position (from the start tick when stopped); returns the
        synth time at which playback resumes, as :meth:`play` does."""
        self._check_open()
        if self._state == PLAYING:
            return self.clock_ms()
        if self._score is None:
            raise ValueError("no score to play")
        return self._start_at(self._paused_tick if self._state == PAUSED else self._start_tick)

    def stop(self) -> None:
        """Stop: pending notes are dropped and sounding notes released (no hanging notes).

        The position returns to the tick playback was started from.
        """
        if self.closed:
            return
        self._silence()
        self._state = STOPPED

    def seek(self, tick: int) -> None:
        """Move the position to ``tick``: playing continues from there, a paused player resumes
        from there, and a stopped one starts there next time. It also becomes the tick
        :meth:`stop` returns to (the user's playhead)."""
        tick = max(int(tick), 0)
        self._start_tick = tick
        if self._state == PLAYING:
            self._silence()
            self._start_at(tick)
        elif self._state == PAUSED:
            self._paused_tick = tick

    def set_loop(self, loop: tuple[int, int] | None) -> None:
        """Change the loop region (None: no loop); while playing it takes effect at once."""
        self._loop = _checked_loop(loop)
        if self._state == PLAYING:
            self.refresh()

    def set_score(self, score: Score) -> None:
        """Play ``score`` instead, continuing from the current position if playing."""
        self._set_score(score)
        if self._state == PLAYING:
            self.refresh()

    def position_tick(self) -> int:
        """The score tick being heard now (the rendered position minus the driver latency);
        the paused tick when paused, the start tick when stopped."""
        if self._state == PAUSED:
            return self._paused_tick
        if self._state != PLAYING or self.closed:
            return self._start_tick
        return self._timeline.tick_at(self.clock_ms() - self.latency * SEQ_TICKS_PER_SECOND)

    # ------------------------------------------------------------------------- scheduling
    def pump(self) -> str:
        """Schedule the next :attr:`lookahead` seconds; call every 20-50 ms while playing.

        Applies score edits, mute and solo changes made since the last call, and stops at the
        end of the score (without a loop) once it has been heard.

        Returns
        -------
        str
            The state after the call ("stopped" once the end has been reached).
        """
        if self._state != PLAYING or self.closed:
            return self._state
        now = self.clock_ms()
        end = self._timeline.end_ms
        if end is not None and now - self.latency * SEQ_TICKS_PER_SECOND >= end:
            self.stop()
            return self._state
        if self._dirty:
            self.refresh()
            return self._state
        self._schedule(now)
        return self._state

    def refresh(self) -> None:
        """Re-read the score (notes, instruments, mute, solo, tempo) and the loop now, going on
        from the current position without a gap.

        Keys sounding both before and after keep sounding; keys no longer wanted are released;
        notes newly heard at this moment (an unmuted track) start now, except drum hits.
        """
        self._dirty = False
        if self._state != PLAYING:
            return
        old = self._timeline
        anchor = self.clock_ms()
        tick = old.tick_at(anchor)
        new = self._build(anchor, tick, before=old)
        # The timeline took a few ms to build while the audio thread went on: switch over now.
        now = max(self.clock_ms(), anchor)
        api = self._api
        api.remove_events(self._seq, -1, self._dest, -1)
        old_ch, old_pitch, _, _ = old.sounding(now)
        new_ch, new_pitch, new_vel, new_drum = new.sounding(now)
        # Python sets: a few dozen keys at most, and no numpy set routines on the GUI thread.
        old_keys = set(_keys(old_ch, old_pitch).tolist())
        new_keys = _keys(new_ch, new_pitch).tolist()
        # Keys the old schedule was about to start may have started during the switch.
        soon = old.window(now + 1, now + 1 + RACE_MS)
        soon_keys = set(_keys(soon[2], soon[3])[soon[1] == 1].tolist())
        release = sorted((old_keys | soon_keys) - (old_keys & set(new_keys)))
        # Newly heard notes (an unmuted track) start now, drums excepted (see the module doc).
        start = np.array([k not in old_keys for k in new_keys], dtype=bool) & ~new_drum
        n_release, n_start = len(release), int(start.sum())
        release = np.array(release, dtype=np.int64)
        self._send(np.full(n_release, now), np.zeros(n_release, dtype=np.int64),
                   release // 128, release % 128, np.zeros(n_release, dtype=np.int64))
        self._send(np.full(n_start, now), np.ones(n_start, dtype=np.int64),
                   new_ch[start], new_pitch[start], new_vel[start])
        self._timeline = new
        self._scheduled_until = now + 1
        self._schedule(now)

    def _schedule(self, now: int) -> None:
        target = now + int(self.lookahead * SEQ_TICKS_PER_SECOND)
        if target <= self._scheduled_until:
            return
        time, is_on, channel, pitch, velocity = self._timeline.window(self._scheduled_until, target)
        # After a GUI stall longer than the lookahead, late notes are dropped rather than all
        # started at once; their releases still go out.
        late = (is_on == 1) & (time < now)
        if late.any():
            time, is_on, channel, pitch, velocity = (a[~late] for a in (time, is_on, channel, pitch,
                                                                         velocity))
        self._send(time, is_on, channel, pitch, velocity)
        self._scheduled_until = target

    def _send(self, time, is_on, channel, pitch, velocity) -> None:
        api, seq, evt = self._api, self._seq, self._event
        noteon, noteoff, send_at = api.event_noteon, api.event_noteoff, api.send_at
        for t, on, ch, key, vel in zip(np.asarray(time).tolist(), np.asarray(is_on).tolist(),
                                       np.asarray(channel).tolist(), np.asarray(pitch).tolist(),
                                       np.asarray(velocity).tolist()):
            if on:
                noteon(evt, ch, key, vel)
            else:
                noteoff(evt, ch, key)
            send_at(seq, evt, t, 1)

    def preview_note(self, pitch: int, program: int = 0, is_drum: bool = False, velocity: int = 100,
                     seconds: float = PREVIEW_SECONDS) -> bool:
        """Sound one note now on a channel of its own (the editor's keyboard, a drawn note).

        Skipped while playing, so a preview never re-programs a channel the music uses.
        Returns whether the note was sent.
        """
        self._check_open()
        if self._state == PLAYING or not 0 <= pitch <= 127:
            return False
        select_program(self._synth, self._sfid, PREVIEW_CHANNEL, int(program), bool(is_drum))
        now = self.clock_ms() + START_LEAD_MS
        held = max(int(seconds * SEQ_TICKS_PER_SECOND), 1)
        channel, key = [PREVIEW_CHANNEL] * 2, [int(pitch)] * 2
        self._send([now, now + held], [1, 0], channel, key, [int(np.clip(velocity, 1, 127)), 0])
        return True

    def _start_at(self, tick: int) -> int:
        anchor = self.clock_ms() + START_LEAD_MS
        self._timeline = self._build(anchor, tick)
        self._scheduled_until = anchor
        self._state = PLAYING
        self._dirty = False
        self._schedule(anchor - START_LEAD_MS)
        return anchor

    def _build(self, anchor_ms: int, tick: int, before: _Timeline | None = None) -> _Timeline:
        """The timeline playing score tick ``tick`` at synth time ``anchor_ms``; selects each
        heard track's instrument on its channel."""
        score = self._score
        notes = _audible_notes(score, lambda ch, program, drum: select_program(
            self._synth, self._sfid, ch, program, drum))
        tempo_map = score.tempo_map
        anchor_sec = float(tempo_map.tick_to_seconds(tick))
        loop = None
        if self._loop is not None and tick < self._loop[1]:
            loop = tuple(float(s) for s in tempo_map.tick_to_seconds(np.array(self._loop)))
        first = _segment(notes, anchor_sec, None if loop is None else loop[1])
        repeat = None if loop is None else _segment(notes, loop[0], loop[1])
        if before is not None:
            before.before = None  # keep one step of history only
        return _Timeline(anchor_ms, tempo_map, first, repeat, score.duration_seconds, before)

    def _silence(self) -> None:
        """Drop pending events and release every sounding note."""
        if self.closed:
            return
        self._api.remove_events(self._seq, -1, self._dest, -1)
        # After the removal: a note the audio thread started meanwhile is released too.
        self._api.all_notes_off(self._synth.synth, -1)
        self._timeline = None

    # ------------------------------------------------------------------------- score changes
    def _set_score(self, score: Score) -> None:
        if score is self._score:
            return
        self._disconnect()
        self._score = score
        events = score.events
        for signal in (events.notes_added, events.notes_removed, events.notes_changed,
                       events.tracks_changed, events.timing_changed):
            signal.connect(self._mark_dirty)
        self._dirty = True

    def _disconnect(self) -> None:
        if self._score is None:
            return
        events = self._score.events
        for signal in (events.notes_added, events.notes_removed, events.notes_changed,
                       events.tracks_changed, events.timing_changed):
            signal.disconnect(self._mark_dirty, missing_ok=True)

    def _mark_dirty(self, *_args) -> None:
        # Coalesce: a drag emits many edits; the next pump() re-schedules once.
        self._dirty = True

    # ------------------------------------------------------------------------- lifetime
    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("Player is closed")

    def _free(self) -> None:
        api = self._api
        if self._driver is not None:
            api.delete_audio_driver(self._driver)  # stops the audio thread first
            self._driver = None
        if self._event is not None:
            api.delete_event(self._event)
            self._event = None
        if self._seq is not None:
            api.delete_sequencer(self._seq)
            self._seq = None
        if self._synth is not None:
            self._synth.delete()
            self._synth = None

    def close(self) -> None:
        """Stop, release the audio device and free the synth; closing twice is fine. With the
        file driver, the WAV file is complete afterwards."""
        if self.closed:
            return
        self.stop()
        self._disconnect()
        self._score = None
        self._free()
        _live_players.discard(self)

    def __enter__(self) -> "Player":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Player({self.driver if not self.closed else 'closed'}, {self._state})"


def _checked_loop(loop) -> tuple[int, int] | None:
    if loop is None:
        return None
    start, end = (int(x) for x in loop)
    if start < 0 or end <= start:
        raise ValueError(f"a loop needs 0 <= start < end, not {loop!r}")
    return start, end
