"""Transposition augmentation for piano rolls: all keys the data's range allows.

Paper 000 names it as future work ("all keys within the data's range"): a model cropped to a
pitch range sees each training piece in every key that keeps all of the piece's notes inside that
range, which multiplies the data and keeps the model from learning one key's habits. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np

from .errors import DataError

#: The default shifts, -6..+5 semitones: each of the 12 keys exactly once, nearest the original.
DEFAULT_SHIFTS = (-6, 5)


def transpose_roll(roll: np.ndarray, semitones: int) -> np.ndarray:
    """A copy of ``roll`` (T, P, ...) shifted by ``semitones`` along the pitch axis (axis 1).

    Column ``p`` moves to ``p + semitones``; notes pushed outside the P columns are dropped.
    Positive shifts raise the pitch. Returns a new array of the same shape and dtype.
    """
    roll = np.asarray(roll)
    if roll.ndim < 2:
        raise DataError(f"transpose_roll needs a roll of shape (T, pitches, ...), not {roll.shape}")
    if isinstance(semitones, bool) or not isinstance(semitones, Integral):
        raise DataError(f"semitones must be an integer, not {semitones!r}")
    s = int(semitones)
    width = roll.shape[1]
    out = np.zeros_like(roll)
    if s == 0:
        out[...] = roll
    elif 0 < s < width:
        out[:, s:] = roll[:, :width - s]
    elif -width < s < 0:
        out[:, :width + s] = roll[:, -s:]
    return out


def _span_of(roll_or_pitch_span) -> tuple[int, int] | None:
    """(lo, hi exclusive) of the columns a roll uses, or of a given pair; None for no notes."""
    if isinstance(roll_or_pitch_span, np.ndarray) and roll_or_pitch_span.ndim >= 2:
        roll = roll_or_pitch_span
        used = roll.any(axis=(0,) + tuple(range(2, roll.ndim))) if roll.shape[0] else \
            np.zeros(roll.shape[1], bool)
        cols = np.flatnonzero(used)
        return (int(cols[0]), int(cols[-1]) + 1) if len(cols) else None
    try:
        lo, hi = (int(x) for x in roll_or_pitch_span)
    except (TypeError, ValueError):
        raise DataError("expected a roll of shape (T, pitches) or a pitch span (lo, hi), not "
                        f"{roll_or_pitch_span!r}") from None
    if lo >= hi:
        raise DataError(f"pitch span ({lo}, {hi}) is empty; hi is exclusive")
    return lo, hi


def transposition_range(roll_or_pitch_span, pitch_range: Sequence[int], *,
                        shifts: tuple[int, int] = DEFAULT_SHIFTS) -> range:
    """The semitone shifts that keep every note of a piece inside a model's ``pitch_range``.

    Parameters
    ----------
    roll_or_pitch_span : np.ndarray or (int, int)
        A roll (T, 128, ...) whose column p is MIDI pitch p, or the piece's (lo, hi) pitch span
        with hi exclusive (e.g. :meth:`EncodedSet.pitch_span`).
    pitch_range : (int, int)
        The model's pitches, (lo, hi) with hi exclusive.
    shifts : (int, int)
        The widest shifts considered, inclusive; default -6..+5 (all 12 keys once).

    Returns
    -------
    range
        Shifts ``s`` with ``lo + s >= pitch_range[0]`` and ``hi + s <= pitch_range[1]``, within
        ``shifts``, ascending. Empty when the piece does not fit even untransposed. A piece without
        notes fits every shift.
    """
    try:
        plo, phi = (int(x) for x in pitch_range)
        smin, smax = (int(x) for x in shifts)
    except (TypeError, ValueError):
        raise DataError(f"pitch_range and shifts must be pairs of integers, not {pitch_range!r} "
                        f"and {shifts!r}") from None
    if plo >= phi:
        raise DataError(f"pitch range ({plo}, {phi}) is empty; hi is exclusive")
    if smin > smax:
        raise DataError(f"shifts ({smin}, {smax}) must be (lowest, highest)")
    span = _span_of(roll_or_pitch_span)
    if span is None:
        return range(smin, smax + 1)
    lo, hi = span
    return range(max(smin, plo - lo), min(smax, phi - hi) + 1)
