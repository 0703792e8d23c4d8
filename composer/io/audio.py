"""Offline audio rendering of a Score through FluidSynth (pyfluidsynth), numpy only: which tracks
sound on which channels, their notes as note-on/off events, audio arrays and WAV files.

Audio is float32 stereo of shape (n_samples, 2) in [-1, 1] (louder passages may exceed 1 until
:func:`write_wav` clips them). FluidSynth and the SoundFont come from :mod:`composer.io.synth`,
which loads the library lazily, so importing this module never fails on a machine without it;
the first call that needs it raises :class:`~composer.io.synth.AudioUnavailable` with install
instructions instead.

:class:`Renderer` keeps one synth with its SoundFont loaded, for callers that render often (the
editor's keyboard preview); :func:`render` and :func:`preview_note` are one-shot wrappers. No audio
driver is ever started here: real-time playback is :mod:`composer.io.playback`, which shares
:func:`audible_tracks`, :func:`assign_channels` and :func:`key_events` (and the synth set-up of
:mod:`composer.io.synth`) so both sound the same.
"""

from __future__ import annotations

import ctypes
import io
import os
import wave
from pathlib import Path
from typing import Callable

import numpy as np

from ..core import ComposerError, Score, TempoChange, Track, make_notes
from .files import atomic_write_bytes
from .synth import (
    DEFAULT_SAMPLE_RATE,
    DRUM_CHANNEL,
    MIDI_CHANNELS,
    check_sample_rate,
    find_soundfont,
    load_fluidsynth,
    new_synth,
    select_program,
)

#: FluidSynth renders in blocks of this many frames (FLUID_BUFSIZE) and applies events at block
#: boundaries.
SYNTH_BLOCK = 64
#: Release time appended to :func:`preview_note` so the note fades out instead of clicking.
PREVIEW_RELEASE_SECONDS = 0.25


# --------------------------------------------------------------------------------------------
# Tracks, channels and note events (shared with composer.io.playback)


def _track_is_audible(track: Track, any_solo: bool) -> bool:
    return not track.muted and (track.solo or not any_solo)


def audible_tracks(score: Score, respect_mute_solo: bool = True) -> list[Track]:
    """The tracks of ``score`` that have notes and, when ``respect_mute_solo``, are heard:
    not muted and, if any track is solo, solo themselves (mute wins over solo)."""
    tracks = [t for t in score.tracks if len(t.notes)]
    if respect_mute_solo:
        any_solo = any(t.solo for t in score.tracks)
        tracks = [t for t in tracks if _track_is_audible(t, any_solo)]
    return tracks


def assign_channels(tracks: list[Track], n_channels: int = MIDI_CHANNELS) -> list[int]:
    """MIDI channel for each track.

    The first drum track gets channel 9 and every other track a channel of its own (channel 9 is
    kept for drums) while channels last, so tracks never cut each other's notes. When channels
    run out, a track shares the channel of an earlier track with the same instrument; failing
    that, drums go to channel 9 and melodic tracks to the least used melodic channel (whose
    program then changes: only a last resort).

    Parameters
    ----------
    tracks : list of Track
    n_channels : int
        Channels available, at least 16 (16 for a General MIDI file).

    Returns
    -------
    list of int, one channel per track
    """
    free = [c for c in range(n_channels) if c != DRUM_CHANNEL]
    by_instrument: dict[tuple[bool, int], int] = {}
    load: dict[int, int] = {}
    channels = []
    for track in tracks:
        key = (track.is_drum, track.program)
        if track.is_drum and DRUM_CHANNEL not in load:
            channel = DRUM_CHANNEL
        elif free:
            channel = free.pop(0)
        elif key in by_instrument:
            channel = by_instrument[key]
        elif track.is_drum:
            channel = DRUM_CHANNEL
        else:
            channel = min((c for c in load if c != DRUM_CHANNEL), key=load.__getitem__)
        by_instrument.setdefault(key, channel)
        load[channel] = load.get(channel, 0) + 1
        channels.append(channel)
    return channels


def _note_events(score: Score, tracks: list[Track], channels: list[int], sample_rate: int):
    """Note-on and note-off events of ``tracks`` in playing order.

    Returns
    -------
    tuple of np.ndarray, each of shape (n_events,)
        ``(sample, is_on, channel, pitch, velocity)``; offs come before ons at the same sample.
    """
    cols = []
    for track, channel in zip(tracks, channels):
        notes = track.notes[(track.notes["pitch"] >= 0) & (track.notes["pitch"] <= 127)]
        if len(notes):
            cols.append((notes["start"], notes["end"], notes["pitch"], notes["velocity"],
                         np.full(len(notes), channel)))
    if not cols:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))
    start, end, pitch, velocity, channel = (np.concatenate(c).astype(np.int64) for c in zip(*cols))
    n = len(start)
    samples = np.rint(score.tempo_map.tick_to_seconds(np.concatenate([start, end])) * sample_rate)
    on = np.maximum(samples[:n], 0).astype(np.int64)
    return key_events(on, samples[n:].astype(np.int64), channel, pitch, velocity)


def key_events(on: np.ndarray, off: np.ndarray, channel: np.ndarray, pitch: np.ndarray,
               velocity: np.ndarray, *extra: np.ndarray):
    """Note-on and note-off events of notes given by their on and off times, in playing order.

    Times are integers in any unit (samples, milliseconds). A note lasts at least one unit.

    Parameters
    ----------
    on, off, channel, pitch, velocity : np.ndarray of int, shape (n,)
    *extra : np.ndarray, shape (n,)
        Further per-note columns carried along (for example a flag), reported on both events.

    Returns
    -------
    tuple of np.ndarray, each of shape (n_events,), n_events <= 2 n
        ``(time, is_on, channel, pitch, velocity, *extra)``; offs come before ons at the same
        time. Repeated keys never overlap: of several notes starting together on one key only
        the longest is kept, and each note ends where the next one on its key starts.
    """
    on, off, channel, pitch, velocity = (np.asarray(a, dtype=np.int64)
                                         for a in (on, off, channel, pitch, velocity))
    off = np.maximum(off, on + 1)
    velocity = np.clip(velocity, 1, 127)
    cols = (on, off, pitch, channel, velocity, *extra)

    # A note-off releases every voice of its key on the channel, so repeated keys must not
    # overlap: keep one of several notes starting together (the longest), and end each note
    # where the next one on the same key starts.
    order = np.lexsort((off, on, pitch, channel))
    cols = tuple(a[order] for a in cols)
    on, off, pitch, channel = cols[:4]
    same_key = (channel[1:] == channel[:-1]) & (pitch[1:] == pitch[:-1])
    keep = np.ones(len(on), dtype=bool)
    keep[:-1] = ~(same_key & (on[1:] == on[:-1]))
    cols = tuple(a[keep] for a in cols)
    on, off, pitch, channel, velocity = cols[:5]
    same_key = (channel[1:] == channel[:-1]) & (pitch[1:] == pitch[:-1])
    off[:-1] = np.where(same_key, np.minimum(off[:-1], on[1:]), off[:-1])

    n = len(on)
    time = np.concatenate([off, on])
    is_on = np.repeat(np.array([0, 1], dtype=np.int64), n)
    order = np.lexsort((is_on, time))
    return (time[order], is_on[order], np.tile(channel, 2)[order], np.tile(pitch, 2)[order],
            np.tile(velocity, 2)[order], *(np.tile(a, 2)[order] for a in cols[5:]))


# --------------------------------------------------------------------------------------------
# Rendering


def _sample_writer(fs, synth, out: np.ndarray) -> Callable[[int, int], None]:
    """A function ``write(start, stop)`` that renders the synth into ``out[start:stop]``.

    ``out`` is a C-contiguous float32 array of shape (n_samples, 2). FluidSynth's float output is
    written straight into it (no copy, no 16-bit rounding) when the library exposes it; otherwise
    pyfluidsynth's int16 ``get_samples`` is converted.
    """
    lib = getattr(fs, "_fl", None)
    try:
        write_float = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
            ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
        )(("fluid_synth_write_float", lib))
    except (AttributeError, TypeError):
        def write(start: int, stop: int) -> None:
            out[start:stop] = synth.get_samples(stop - start).reshape(-1, 2) * np.float32(1 / 32768)
        return write

    base, frame_bytes = out.ctypes.data, out.strides[0]

    def write(start: int, stop: int) -> None:
        # Interleaved stereo: left at offset 0, right at offset 1, both with stride 2.
        ptr = base + start * frame_bytes
        write_float(synth.synth, stop - start, ptr, 0, 2, ptr, 1, 2)
    return write


class Renderer:
    """A FluidSynth synthesizer with a General MIDI SoundFont loaded, rendering offline.

    Loading a SoundFont takes 0.1-0.5 s, so keep one Renderer for repeated work (the editor's
    keyboard preview) rather than calling :func:`preview_note` each time. Not thread-safe: use
    one Renderer per thread. Close it (or use it as a context manager) to free the synth.

    Renders are reproducible: fresh Renderers give identical output, and so do repeated renders
    on one Renderer, except that its first render differs from later ones by an inaudible trace
    (-40 dB or less) because FluidSynth's voices start from a fresh state.

    Parameters
    ----------
    soundfont : str or path-like, optional
        The user's SoundFont setting; see :func:`find_soundfont`.
    sample_rate : int
        Output rate in Hz, 8000-96000.
    effects : bool
        FluidSynth's reverb and chorus. Off by default: they cost as much as ten or so voices,
        which roughly halves the speed of light scores (about 180x real time without, 90x
        with). On sounds roomier, like a General MIDI player, which suits a final WAV export.

    Raises
    ------
    AudioUnavailable
        When FluidSynth cannot be loaded; :class:`SoundFontError` when no usable SoundFont is found.
    """

    def __init__(self, soundfont: str | os.PathLike | None = None,
                 sample_rate: int = DEFAULT_SAMPLE_RATE, effects: bool = False):
        self.sample_rate = check_sample_rate(sample_rate)
        self.soundfont = find_soundfont(soundfont)
        self._fs = load_fluidsynth()
        # No audio driver is started: samples are pulled with fluid_synth_write_*.
        self._synth, self._sfid = new_synth(self.soundfont, self.sample_rate, effects)

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Free the synth and SoundFont; the Renderer cannot be used afterwards."""
        if self._synth is not None:
            self._synth.delete()
            self._synth = None

    def _select_program(self, channel: int, program: int, is_drum: bool) -> None:
        select_program(self._synth, self._sfid, channel, program, is_drum)

    def render(self, score: Score, tail_seconds: float = 1.0,
               respect_mute_solo: bool = True) -> np.ndarray:
        """Render ``score`` to stereo audio.

        Parameters
        ----------
        score : Score
        tail_seconds : float
            Silence appended after the last note-off so releases and reverb ring out.
        respect_mute_solo : bool
            When true, muted tracks are skipped and, if any track is solo, only solo tracks sound.

        Returns
        -------
        np.ndarray of float32, shape (n_samples, 2)
            ``n_samples = round((score.duration_seconds + tail_seconds) * sample_rate)``.
        """
        if self._synth is None:
            raise RuntimeError("Renderer is closed")
        if tail_seconds < 0:
            raise ValueError(f"tail_seconds must be >= 0, not {tail_seconds}")
        synth = self._synth
        synth.system_reset()  # forget notes, programs and reverb left by an earlier render
        tracks = audible_tracks(score, respect_mute_solo)
        channels = assign_channels(tracks)
        for track, channel in zip(tracks, channels):
            self._select_program(channel, int(track.program), track.is_drum)

        n_samples = int(round((score.duration_seconds + tail_seconds) * self.sample_rate))
        # Render whole blocks so the synth ends block-aligned: otherwise its leftover frames
        # would shift every event of the next render by up to a block, changing the result.
        n_rendered = -(-n_samples // SYNTH_BLOCK) * SYNTH_BLOCK
        out = np.zeros((n_rendered, 2), dtype=np.float32)
        write = _sample_writer(self._fs, synth, out)
        sample, is_on, channel, pitch, velocity = _note_events(score, tracks, channels,
                                                               self.sample_rate)
        noteon, noteoff = synth.noteon, synth.noteoff
        cur = 0
        # One synth call per event and one render call per gap between events: FluidSynth
        # renders each gap in a single call, so Python does no per-sample work.
        for pos, on, ch, key, vel in zip(sample.tolist(), is_on.tolist(), channel.tolist(),
                                         pitch.tolist(), velocity.tolist()):
            pos = min(pos, n_rendered)
            if pos > cur:
                write(cur, pos)
                cur = pos
            if on:
                noteon(ch, key, vel)
            else:
                noteoff(ch, key)
        if n_rendered > cur:
            write(cur, n_rendered)
        return out[:n_samples]

    def preview_note(self, pitch: int, program: int = 0, is_drum: bool = False,
                     velocity: int = 100, seconds: float = 0.5) -> np.ndarray:
        """One note on one instrument, for auditioning in the editor.

        The note is held for ``seconds`` and followed by a short release
        (:data:`PREVIEW_RELEASE_SECONDS`) so it does not end with a click.

        Returns
        -------
        np.ndarray of float32, shape (round((seconds + PREVIEW_RELEASE_SECONDS) * sample_rate), 2)
        """
        if not 0 <= pitch <= 127:
            raise ComposerError(f"pitch {pitch} is outside the MIDI range 0-127")
        # At 120 BPM and 480 PPQ one tick is 1/960 s.
        ticks = max(int(round(seconds * 960)), 1)
        track = Track("preview", program, is_drum, make_notes([0], [ticks], [pitch], velocity))
        score = Score([track], ppq=480, tempos=[TempoChange(0, 120.0)])
        return self.render(score, tail_seconds=PREVIEW_RELEASE_SECONDS, respect_mute_solo=False)


def render(score: Score, sample_rate: int = DEFAULT_SAMPLE_RATE,
           soundfont: str | os.PathLike | None = None, tail_seconds: float = 1.0,
           respect_mute_solo: bool = True, effects: bool = False) -> np.ndarray:
    """Render ``score`` to stereo float32 audio, shape (n_samples, 2); see :meth:`Renderer.render`.

    Creates a :class:`Renderer` (loading the SoundFont) for this one call; ``effects`` is as there.

    Raises
    ------
    AudioUnavailable
        When FluidSynth or a SoundFont is missing (the message says how to fix it).
    """
    with Renderer(soundfont, sample_rate, effects) as renderer:
        return renderer.render(score, tail_seconds, respect_mute_solo)


def preview_note(pitch: int, program: int = 0, is_drum: bool = False, velocity: int = 100,
                 seconds: float = 0.5, sample_rate: int = DEFAULT_SAMPLE_RATE,
                 soundfont: str | os.PathLike | None = None) -> np.ndarray:
    """One note on one instrument, float32 of shape (n_samples, 2).

    See :meth:`Renderer.preview_note`; keep a :class:`Renderer` instead when previewing often.
    """
    with Renderer(soundfont, sample_rate) as renderer:
        return renderer.preview_note(pitch, program, is_drum, velocity, seconds)


# --------------------------------------------------------------------------------------------
# WAV files


def write_wav(path: str | os.PathLike, audio: np.ndarray,
              sample_rate: int = DEFAULT_SAMPLE_RATE) -> Path:
    """Write 16-bit PCM stereo WAV, atomically: an existing file is replaced only on success.

    Parameters
    ----------
    path : str or path-like
    audio : np.ndarray of float, shape (n_samples, 2) or (n_samples,) for mono
        Samples in [-1, 1]; values outside are clipped.
    sample_rate : int

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ComposerError
        When the file cannot be written (missing folder, no permission, disk full).
    """
    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[1] not in (1, 2):
        raise ValueError(f"audio must have shape (n_samples, 2), not {audio.shape}")
    pcm = np.rint(np.broadcast_to(np.clip(audio, -1.0, 1.0), (len(audio), 2)) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def render_wav(score: Score, path: str | os.PathLike, sample_rate: int = DEFAULT_SAMPLE_RATE,
               soundfont: str | os.PathLike | None = None, tail_seconds: float = 1.0,
               respect_mute_solo: bool = True, effects: bool = False) -> Path:
    """Render ``score`` and write it to ``path`` as a 16-bit stereo WAV; returns the path."""
    audio = render(score, sample_rate, soundfont, tail_seconds, respect_mute_solo, effects)
    return write_wav(path, audio, sample_rate)
