"""Playback's timeline: which note events sound when, as numpy columns (no FluidSynth, no Qt).

A :class:`Segment` holds the note events of a stretch of score time in milliseconds from its
start; a :class:`Timeline` anchors a first segment (and a repeating loop segment) at a synth
time, and answers which events fall in a window of synth time, which keys are held at a moment,
and which score time sounds then; :func:`switch_events` says what to release and start when one
timeline replaces another. :class:`~composer.io.playback.Player` schedules from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import Score
from ..core.timing import TempoMap
from .audio import assign_channels, audible_tracks, key_events

#: Sequencer time unit: ticks per second (1 ms; FluidSynth applies events per 64-frame block,
#: 1.45 ms at 44.1 kHz, anyway).
SEQ_TICKS_PER_SECOND = 1000




@dataclass
class Segment:
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


def empty_columns() -> tuple[np.ndarray, ...]:
    return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))


def audible_notes(score: Score, select) -> tuple[np.ndarray, ...]:
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


def segment(notes: tuple[np.ndarray, ...], start: float, end: float | None) -> Segment:
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
    return Segment(start, length, time, is_on, channel, pitch, velocity, drum)


class Timeline:
    """Maps synth time (ms) to score time and to the note events to send.

    Playback is anchored at synth time ``anchor_ms``, where score second ``first.start`` sounds;
    ``first`` plays once, then ``loop`` (if any) repeats forever. ``before`` is the timeline this
    one replaced, used only to report positions just before ``anchor_ms`` (the driver latency
    makes the heard position lag behind).
    """

    def __init__(self, anchor_ms: int, tempo_map: TempoMap, first: Segment,
                 loop: Segment | None, end_sec: float, before: "Timeline | None" = None):
        self.anchor_ms = int(anchor_ms)
        self.tempo_map = tempo_map
        self.first = first
        self.loop = loop
        self.before = before
        # Without a loop playback ends when the score does.
        self.end_ms = None if loop is not None else (
            self.anchor_ms + max(end_sec - first.start, 0.0) * SEQ_TICKS_PER_SECOND)

    def _pass_at(self, ms: int) -> tuple[Segment, int]:
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
            return empty_columns()
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
            return empty_columns()
        return tuple(np.concatenate(c) for c in zip(*parts))

    def sounding(self, ms: int) -> tuple[np.ndarray, ...]:
        """``(channel, pitch, velocity, drum)`` of the keys held at synth time ``ms``, shape (n,)
        each: those whose latest event at or before ``ms`` is a note-on."""
        if ms < self.anchor_ms:
            return (*empty_columns()[:3], np.zeros(0, dtype=bool))
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


def switch_events(old: Timeline, new: Timeline, now: int, race_ms: int) -> tuple[np.ndarray, ...]:
    """The events, all at synth time ``now``, that switch playback from ``old`` to ``new``:
    ``(time, is_on, channel, pitch, velocity)``, each of shape (n,), releases first.

    Keys sounding in both keep sounding; keys no longer wanted are released, and so are keys
    ``old`` was about to start within ``race_ms`` (they may have started during the switch);
    notes newly heard (an unmuted track) start now, drums excepted (see composer.io.playback).
    """
    old_ch, old_pitch, _, _ = old.sounding(now)
    new_ch, new_pitch, new_vel, new_drum = new.sounding(now)
    # Python sets: a few dozen keys at most, and no numpy set routines on the GUI thread.
    old_keys = set(_keys(old_ch, old_pitch).tolist())
    new_keys = _keys(new_ch, new_pitch).tolist()
    soon = old.window(now + 1, now + 1 + race_ms)
    soon_keys = set(_keys(soon[2], soon[3])[soon[1] == 1].tolist())
    release = np.array(sorted((old_keys | soon_keys) - (old_keys & set(new_keys))), dtype=np.int64)
    start = np.array([k not in old_keys for k in new_keys], dtype=bool) & ~new_drum
    n_release, n_start = len(release), int(start.sum())
    return (np.full(n_release + n_start, now, dtype=np.int64),
            np.concatenate([np.zeros(n_release, dtype=np.int64), np.ones(n_start, dtype=np.int64)]),
            np.concatenate([release // 128, new_ch[start]]),
            np.concatenate([release % 128, new_pitch[start]]),
            np.concatenate([np.zeros(n_release, dtype=np.int64), new_vel[start]]))
