"""Pure transforms: each takes a Score and returns a new one, leaving its input untouched.

Track ids and note ids are kept where the notes survive, so a transform's result can be turned
into an undoable edit of the original.
"""

from __future__ import annotations

import numpy as np

from .errors import ScoreError
from .notes import MAX_PITCH, MIN_PITCH, sort_notes
from .score import Score, Track
from .timing import TempoChange, TimeSignature


def _selected(score: Score, track_ids) -> set[int]:
    return {t.id for t in score.tracks} if track_ids is None else set(track_ids)


def transpose(score: Score, semitones: int, track_ids=None, include_drums: bool = False) -> tuple[Score, int]:
    """Shift pitches by ``semitones``.

    Drum tracks are left alone unless ``include_drums`` (their pitches name instruments, not
    notes). Notes pushed outside MIDI pitches 0-127 are dropped.

    Returns
    -------
    (Score, int)
        The transposed copy and the number of notes dropped for leaving the pitch range.
    """
    out = score.copy()
    chosen = _selected(score, track_ids)
    dropped = 0
    for track in out.tracks:
        if track.id not in chosen or (track.is_drum and not include_drums):
            continue
        pitch = track.notes["pitch"].astype(np.int64) + int(semitones)
        keep = (pitch >= MIN_PITCH) & (pitch <= MAX_PITCH)
        dropped += int((~keep).sum())
        track.notes["pitch"] = np.clip(pitch, MIN_PITCH, MAX_PITCH)
        track.notes = sort_notes(track.notes[keep])
    return out, dropped


def quantize(score: Score, grid: int, strength: float = 1.0, ends: bool = True, track_ids=None) -> Score:
    """Move note starts (and ends, if ``ends``) toward the nearest multiple of ``grid`` ticks.

    ``strength`` in [0, 1] is the share of the distance moved (1 snaps exactly). A note never
    becomes shorter than one grid step when its end is quantized.
    """
    if grid <= 0:
        raise ScoreError(f"quantize grid must be a positive number of ticks, not {grid}")
    if not 0.0 <= strength <= 1.0:
        raise ScoreError(f"quantize strength must be between 0 and 1, not {strength}")
    out = score.copy()
    chosen = _selected(score, track_ids)

    def snap(ticks: np.ndarray) -> np.ndarray:
        target = np.rint(ticks / grid).astype(np.int64) * grid
        return np.rint(ticks + strength * (target - ticks)).astype(np.int64)

    for track in out.tracks:
        if track.id not in chosen or not len(track.notes):
            continue
        n = track.notes
        length = n["end"] - n["start"]
        n["start"] = snap(n["start"])
        if ends:
            n["end"] = np.maximum(snap(n["end"]), n["start"] + min(grid, 1 if strength < 1 else grid))
        else:
            n["end"] = n["start"] + length
        track.notes = sort_notes(n)
    return out


def shift(score: Score, ticks: int) -> Score:
    """Move every note, tempo change and time signature by ``ticks`` (may be negative).

    Raises ScoreError if a note would start before tick 0.
    """
    out = score.copy()
    for track in out.tracks:
        if len(track.notes) and int(track.notes["start"].min()) + ticks < 0:
            raise ScoreError(f"shifting by {ticks} ticks moves notes of track {track.name!r} before 0")
        track.notes["start"] += ticks
        track.notes["end"] += ticks
    out.tempo_map = type(out.tempo_map)(
        [TempoChange(max(c.tick + ticks, 0), c.qpm) for c in score.tempos], out.ppq)
    out.time_signatures = _shift_signatures(score.time_signatures, ticks)
    return out


def _shift_signatures(sigs: list[TimeSignature], ticks: int) -> list[TimeSignature]:
    moved = [TimeSignature(max(s.tick + ticks, 0), s.numerator, s.denominator) for s in sigs]
    last_at_zero = {s.tick: s for s in moved}  # a later signature at the same tick wins
    return sorted(last_at_zero.values(), key=lambda s: s.tick)


def slice_time(score: Score, start: int, end: int, shift_to_zero: bool = True) -> Score:
    """The part of the score in [start, end) ticks.

    Notes that start in the range are kept and cut at ``end``; notes that start before it are
    left out. With ``shift_to_zero`` the slice starts at tick 0, tempos and time signatures
    included (the ones in force at ``start`` move to 0).
    """
    if end <= start or start < 0:
        raise ScoreError(f"invalid time range [{start}, {end})")
    out = score.copy()
    for track in out.tracks:
        n = track.notes
        n = n[(n["start"] >= start) & (n["start"] < end)]
        n["end"] = np.minimum(n["end"], end)
        track.notes = n
    if not shift_to_zero:
        return out
    tempos = [TempoChange(max(c.tick - start, 0), c.qpm) for c in score.tempos if c.tick < end]
    sigs = [s for s in score.time_signatures if s.tick < end]
    out.tempo_map = type(out.tempo_map)(tempos, out.ppq)
    out.time_signatures = _shift_signatures(sigs, -start)
    for track in out.tracks:
        track.notes["start"] -= start
        track.notes["end"] -= start
    return out


def rescale_ppq(score: Score, ppq: int) -> Score:
    """The same music at another tick resolution (times rounded to the nearest tick)."""
    if ppq == score.ppq:
        return score.copy()
    ratio = ppq / score.ppq
    out = score.copy()
    out.ppq = ppq
    for track in out.tracks:
        n = track.notes
        n["start"] = np.rint(n["start"] * ratio).astype(np.int64)
        n["end"] = np.maximum(np.rint(n["end"] * ratio).astype(np.int64), n["start"] + 1)
    out.tempo_map = score.tempo_map.with_ppq(ppq)
    out.time_signatures = [TimeSignature(round(s.tick * ratio), s.numerator, s.denominator)
                           for s in score.time_signatures]
    return out


def merge(first: Score, second: Score) -> Score:
    """All tracks of ``first`` followed by those of ``second`` (rescaled to ``first``'s PPQ).

    Tempo and time signatures come from ``first``. Tracks of ``second`` get new track ids, so
    the result never holds two tracks with one id.
    """
    out = first.copy()
    other = rescale_ppq(second, first.ppq)
    for track in other.tracks:
        out.tracks.append(Track(track.name, track.program, track.is_drum, track.notes.copy(),
                                color=track.color, muted=track.muted, solo=track.solo))
    return out
