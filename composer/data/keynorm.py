"""Key normalisation: every training piece in C major / A minor, every primer too, and back.

A model trained on pieces in all twelve keys spends its capacity learning twelve copies of one
habit, and a token vocabulary of chords grows with every key. Key normalisation transposes each
training piece so that its Krumhansl-Schmuckler key (:func:`~composer.representations.keys.find_key`)
lands on C major or A minor (by the smallest shift, -6..+5 semitones:
:meth:`~composer.representations.keys.Key.shift_to`); a piece without a clear key stays as it
is. At generation the primer is moved the same way, the model continues it in its reference
key, and the continuation is moved back (composer.generation.generate).

numpy only, so it runs in the data layer's worker processes.
"""

from __future__ import annotations

import numpy as np

from composer.core.notes import MAX_PITCH, MIN_PITCH, empty_notes, make_notes, sort_notes
from composer.core.score import Score
from composer.core.transforms import transpose
from composer.representations.keys import Key, find_key

from .augment import transpose_roll

__all__ = ["pitched_notes", "score_key", "normalize_score", "roll_key", "normalize_roll",
           "shift_notes", "key_toward"]


def pitched_notes(score: Score, start: int | None = None, end: int | None = None) -> np.ndarray:
    """The notes of every pitched (non-drum) track, merged; only those sounding in
    [start, end) ticks when given (clipped to it, so the key weighs what sounds there)."""
    parts = [t.notes for t in score.tracks if not t.is_drum and len(t)]
    if not parts:
        return empty_notes()
    notes = np.concatenate(parts)
    if start is None and end is None:
        return notes
    lo = 0 if start is None else int(start)
    hi = np.iinfo(np.int64).max if end is None else int(end)
    notes = notes[(notes["end"] > lo) & (notes["start"] < hi)].copy()
    notes["start"] = np.maximum(notes["start"], lo)
    notes["end"] = np.minimum(notes["end"], hi)
    return notes


def score_key(score: Score) -> Key | None:
    """The key of a whole score's pitched notes, or None (no pitched notes, or no clear key)."""
    return find_key(pitched_notes(score))


def normalize_score(score: Score) -> tuple[Score, int | None]:
    """``score`` transposed so its key is C major / A minor, and the shift applied (semitones,
    -6..+5); the score itself and None when it has no clear key. Drum tracks are left alone;
    the rare note pushed outside MIDI pitches 0-127 is dropped."""
    key = score_key(score)
    if key is None:
        return score, None
    shift = key.shift_to()
    return (transpose(score, shift)[0] if shift else score), shift


def roll_key(roll: np.ndarray) -> Key | None:
    """The key of a piano roll (T, 128, ...) whose column p is MIDI pitch p, from the number of
    frames each pitch class sounds (its durations), or None without a clear key."""
    roll = np.asarray(roll)
    if roll.ndim < 2 or roll.shape[0] == 0:
        return None
    per_pitch = roll.reshape(roll.shape[0], roll.shape[1], -1).astype(bool).sum(axis=(0, 2))
    weights = np.bincount(np.arange(len(per_pitch)) % 12, weights=per_pitch, minlength=12)
    # find_key reads pitch-class durations from notes: one note per class, as long as its total.
    sounding = np.flatnonzero(weights)
    notes = make_notes(np.zeros(len(sounding)), weights[sounding].astype(np.int64), sounding)
    return find_key(notes)


def normalize_roll(roll: np.ndarray) -> tuple[np.ndarray, int | None]:
    """``roll`` (T, 128, ...) shifted along its pitch axis so its key is C major / A minor, and
    the shift; the roll itself and None without a clear key."""
    key = roll_key(roll)
    if key is None:
        return roll, None
    shift = key.shift_to()
    return (transpose_roll(roll, shift) if shift else roll), shift


def shift_notes(notes: np.ndarray, semitones: int) -> np.ndarray:
    """A copy of ``notes`` (NOTE_DTYPE) moved by ``semitones``; notes pushed outside MIDI
    pitches 0-127 are dropped."""
    if semitones == 0 or len(notes) == 0:
        return notes.copy()
    pitch = notes["pitch"].astype(np.int64) + int(semitones)
    keep = (pitch >= MIN_PITCH) & (pitch <= MAX_PITCH)
    out = notes[keep].copy()
    out["pitch"] = pitch[keep]
    return sort_notes(out)


def key_toward(pitch_classes: frozenset[int], root: int) -> int:
    """The shift that key normalisation would apply to music in the scale ``pitch_classes`` on
    ``root`` (a scale lock with no primer to follow): the shift s (-6..+5) whose reference
    scale (C major moved by -s) covers most of the scale, preferring the one whose major tonic,
    then relative minor tonic, is the root. Generating in the reference key and moving the
    result by -s then lands in the requested key."""
    c_major = Key(0, "major").pitch_classes()
    best, best_score = 0, None
    for s in range(-6, 6):
        reference = {(pc - s) % 12 for pc in c_major}
        overlap = len(reference & set(pitch_classes))
        tonic_bonus = 2 if (0 - s) % 12 == root % 12 else 1 if (9 - s) % 12 == root % 12 else 0
        score = (overlap, tonic_bonus, -abs(s))
        if best_score is None or score > best_score:
            best, best_score = s, score
    return best
