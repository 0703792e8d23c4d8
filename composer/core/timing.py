"""Tempo map and time signatures: the bridge between integer ticks, seconds and bars."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_PPQ = 480
DEFAULT_QPM = 120.0
#: Tempos outside this range (quarter notes per minute) are treated as corrupt data: the MIDI
#: reader clamps them and the editor refuses them.
MIN_QPM, MAX_QPM = 10.0, 1000.0
#: Time signatures the editor, the project file and the MIDI reader accept.
MIN_NUMERATOR, MAX_NUMERATOR = 1, 32
DENOMINATORS = (1, 2, 4, 8, 16, 32)


def tempo_problem(qpm) -> str | None:
    """Why ``qpm`` is not a usable tempo (one line for the user), or None when it is."""
    try:
        value = float(qpm)
    except (TypeError, ValueError):
        return f"the tempo must be a number of BPM, not {qpm!r}"
    if not MIN_QPM <= value <= MAX_QPM:  # (also false for NaN)
        return f"a tempo of {value:g} BPM is outside {MIN_QPM:g}-{MAX_QPM:g} BPM"
    return None


def meter_problem(numerator, denominator) -> str | None:
    """Why ``numerator/denominator`` is not a usable time signature, or None when it is."""
    whole = isinstance(numerator, (int, np.integer)) and not isinstance(numerator, bool)
    if not (whole and MIN_NUMERATOR <= numerator <= MAX_NUMERATOR):
        return (f"time signature {numerator}/{denominator}: the upper number (beats in a bar) "
                f"must be {MIN_NUMERATOR}-{MAX_NUMERATOR}")
    if denominator not in DENOMINATORS:
        allowed = ", ".join(map(str, DENOMINATORS[:-1])) + f" or {DENOMINATORS[-1]}"
        return (f"time signature {numerator}/{denominator}: the lower number (the beat) must be "
                f"{allowed}")
    return None


@dataclass(frozen=True, slots=True)
class TimeSignature:
    """A time signature taking effect at ``tick``; ``denominator`` is a power of two."""

    tick: int
    numerator: int = 4
    denominator: int = 4

    def bar_ticks(self, ppq: int) -> int:
        """Length of one bar in ticks."""
        return self.numerator * ppq * 4 // self.denominator


@dataclass(frozen=True, slots=True)
class TempoChange:
    """A tempo in quarter notes per minute taking effect at ``tick``."""

    tick: int
    qpm: float


class TempoMap:
    """Piecewise-constant tempo over ticks.

    Conversions are vectorised: pass arrays of ticks or seconds of any shape.
    """

    def __init__(self, changes: list[TempoChange] | None = None, ppq: int = DEFAULT_PPQ):
        changes = sorted(changes or [TempoChange(0, DEFAULT_QPM)], key=lambda c: c.tick)
        if changes[0].tick != 0:
            changes.insert(0, TempoChange(0, changes[0].qpm))
        # A later change at the same tick wins, as in a MIDI file.
        dedup: dict[int, float] = {}
        for change in changes:
            dedup[change.tick] = float(change.qpm)
        self.changes = [TempoChange(t, q) for t, q in dedup.items()]
        self.ppq = ppq
        self._ticks = np.array([c.tick for c in self.changes], dtype=np.int64)
        qpm = np.array([c.qpm for c in self.changes], dtype=np.float64)
        self._sec_per_tick = 60.0 / (qpm * ppq)
        seg = np.diff(self._ticks) * self._sec_per_tick[:-1]
        self._seconds = np.concatenate([[0.0], np.cumsum(seg)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TempoMap) and self.changes == other.changes and self.ppq == other.ppq

    def __repr__(self) -> str:
        return f"TempoMap({self.changes!r}, ppq={self.ppq})"

    def with_ppq(self, ppq: int) -> "TempoMap":
        """The same tempi with ticks rescaled to another resolution."""
        return TempoMap([TempoChange(c.tick * ppq // self.ppq, c.qpm) for c in self.changes], ppq)

    def qpm_at(self, tick: int) -> float:
        i = int(np.searchsorted(self._ticks, tick, side="right")) - 1
        return self.changes[max(i, 0)].qpm

    def tick_to_seconds(self, ticks):
        """Seconds at the given ticks; ``ticks`` is an int or an int array of any shape."""
        ticks = np.asarray(ticks, dtype=np.int64)
        i = np.searchsorted(self._ticks, ticks, side="right") - 1
        i = np.clip(i, 0, len(self._ticks) - 1)
        return self._seconds[i] + (ticks - self._ticks[i]) * self._sec_per_tick[i]

    def seconds_to_tick(self, seconds):
        """Nearest ticks at the given seconds; ``seconds`` is a float or an array of any shape."""
        seconds = np.asarray(seconds, dtype=np.float64)
        i = np.searchsorted(self._seconds, seconds, side="right") - 1
        i = np.clip(i, 0, len(self._seconds) - 1)
        return np.rint(self._ticks[i] + (seconds - self._seconds[i]) / self._sec_per_tick[i]).astype(
            np.int64
        )


def signatures_from_zero(time_signatures: list[TimeSignature]) -> list[TimeSignature]:
    """The signatures sorted by tick, starting at tick 0: bars before the first signature are in
    4/4, as the MIDI standard defines."""
    sigs = sorted(time_signatures or [], key=lambda s: s.tick)
    if not sigs or sigs[0].tick > 0:
        sigs.insert(0, TimeSignature(0))
    return sigs


def signature_at(time_signatures: list[TimeSignature], tick: int) -> TimeSignature:
    """The time signature in force at ``tick`` (4/4 before the first one)."""
    return [s for s in signatures_from_zero(time_signatures) if s.tick <= max(tick, 0)][-1]


def bar_starts(time_signatures: list[TimeSignature], ppq: int, end_tick: int) -> np.ndarray:
    """Ticks at which bars begin, from 0 up to and including the first bar start >= ``end_tick``.

    A time-signature change that falls inside a bar starts a new bar there, as notation programs do.

    Returns
    -------
    np.ndarray of int64, shape (n_bars + 1,)
    """
    sigs = signatures_from_zero(time_signatures)
    starts: list[np.ndarray] = []
    for k, sig in enumerate(sigs):
        step = max(sig.bar_ticks(ppq), 1)
        seg_end = sigs[k + 1].tick if k + 1 < len(sigs) else None
        if seg_end is None:
            starts.append(np.arange(sig.tick, max(end_tick, sig.tick) + step, step, dtype=np.int64))
            break
        starts.append(np.arange(sig.tick, seg_end, step, dtype=np.int64))
        if seg_end >= end_tick:
            starts.append(np.array([seg_end], dtype=np.int64))
            break
    out = np.concatenate(starts)
    last = int(np.searchsorted(out, end_tick, side="left"))
    return out[: last + 1]
