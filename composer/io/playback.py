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

Timeline model (composer.io.playback_timeline): playback is *anchored* at a synth time ``anchor_ms`` where score time
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
import os
import weakref
from pathlib import Path

import numpy as np

from ..core import Score
from .fluidsynth_driver import fluid_api, start_driver
from .playback_timeline import SEQ_TICKS_PER_SECOND, Timeline, audible_notes, segment, switch_events
from .synth import (
    DEFAULT_SAMPLE_RATE,
    AudioUnavailable,
    check_sample_rate,
    find_soundfont,
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
#: Note previews sound on the last channel (tracks take channels from the first) for this long.
PREVIEW_CHANNEL = 15
PREVIEW_SECONDS = 0.4

PLAYING, PAUSED, STOPPED = "playing", "paused", "stopped"


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
        The user's SoundFont setting; see :func:`composer.io.synth.find_soundfont`.
    driver : str, optional
        A FluidSynth audio driver ("pulseaudio", "alsa", "coreaudio", "wasapi", "file", ...).
        None tries the platform's usual drivers in turn
        (:data:`~composer.io.fluidsynth_driver.PLATFORM_DRIVERS`).
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
        SoundFont is usable; :class:`~composer.io.fluidsynth_driver.NoAudioDevice` ("no sound
        device: ...") when no audio driver starts.
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
        api = self._api = fluid_api()
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
            self.driver, self._driver = start_driver(api, self._synth, driver, device)
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
        self._init_state()

    def _init_state(self) -> None:  # (also MidiOutPlayer's, composer.io.midi_output)
        self._state = STOPPED
        self._score: Score | None = None
        self._loop: tuple[int, int] | None = None
        self._start_tick = 0
        self._paused_tick = 0
        self._timeline: Timeline | None = None
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
        self._drop_pending()
        self._send(*switch_events(old, new, now, RACE_MS))
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
        self._select_program(PREVIEW_CHANNEL, int(program), bool(is_drum))
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

    def _build(self, anchor_ms: int, tick: int, before: Timeline | None = None) -> Timeline:
        """The timeline playing score tick ``tick`` at synth time ``anchor_ms``; selects each
        heard track's instrument on its channel."""
        score = self._score
        notes = audible_notes(score, self._select_program)
        tempo_map = score.tempo_map
        anchor_sec = float(tempo_map.tick_to_seconds(tick))
        loop = None
        if self._loop is not None and tick < self._loop[1]:
            loop = tuple(float(s) for s in tempo_map.tick_to_seconds(np.array(self._loop)))
        first = segment(notes, anchor_sec, None if loop is None else loop[1])
        repeat = None if loop is None else segment(notes, loop[0], loop[1])
        if before is not None:
            before.before = None  # keep one step of history only
        return Timeline(anchor_ms, tempo_map, first, repeat, score.duration_seconds, before)

    def _silence(self) -> None:
        """Drop pending events and release every sounding note."""
        if self.closed:
            return
        self._drop_pending()
        # After the removal: a note the audio thread started meanwhile is released too.
        self._all_notes_off()
        self._timeline = None

    # The output: MidiOutPlayer (composer.io.midi_output) sends to a MIDI port instead.
    def _select_program(self, channel: int, program: int, is_drum: bool) -> None:
        select_program(self._synth, self._sfid, channel, program, is_drum)

    def _drop_pending(self) -> None:
        self._api.remove_events(self._seq, -1, self._dest, -1)

    def _all_notes_off(self) -> None:
        self._api.all_notes_off(self._synth.synth, -1)

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
