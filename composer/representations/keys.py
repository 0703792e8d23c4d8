"""Key finding (Krumhansl-Schmuckler) and how much of a passage lies in a key (numpy only).

The key of a passage is the major or minor key whose Krumhansl-Kessler tonal profile correlates
best with the passage's pitch-class durations (Krumhansl 1990; the profiles as music21's
``KrumhanslSchmuckler`` uses them). Generation uses it to read the key of a musician's primer,
training to bring every piece to one reference key, and the continuation benchmark to judge
whether a continuation stays in its primer's key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Krumhansl-Kessler probe-tone ratings, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
#: Scale steps of each mode (natural minor, plus the raised seventh that minor melodies use).
MODE_STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10, 11)}
#: Tonic names as musicians write keys.
TONIC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Below this correlation, or with fewer distinct pitch classes, a passage has no clear key.
MIN_CORRELATION = 0.5
MIN_PITCH_CLASSES = 3


@dataclass(frozen=True)
class Key:
    """A key: ``tonic`` pitch class (0 = C) and ``mode`` ("major" or "minor"); ``strength`` is
    the profile correlation that chose it (-1..1)."""

    tonic: int
    mode: str
    strength: float = 1.0

    @property
    def name(self) -> str:
        return f"{TONIC_NAMES[self.tonic]} {self.mode}"

    def pitch_classes(self) -> frozenset[int]:
        """The key's scale (for minor, natural minor with the raised seventh)."""
        return frozenset((self.tonic + step) % 12 for step in MODE_STEPS[self.mode])

    def shift_to(self, tonic_major: int = 0) -> int:
        """Semitones (-6..+5) that move this key onto ``tonic_major`` major or its relative minor
        (C major / A minor by default): the transposition that key normalisation applies."""
        major_tonic = self.tonic if self.mode == "major" else (self.tonic + 3) % 12
        return (tonic_major - major_tonic + 6) % 12 - 6


def pitch_class_weights(notes: np.ndarray) -> np.ndarray:
    """Total duration (ticks) of each pitch class, shape (12,), from NOTE_DTYPE ``notes``."""
    lengths = np.maximum(notes["end"].astype(np.int64) - notes["start"].astype(np.int64), 1)
    return np.bincount(notes["pitch"].astype(np.int64) % 12, weights=lengths, minlength=12)


def _correlations(weights: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``weights`` (12,) with every key's profile: shape (2, 12), row 0
    major, row 1 minor, column the tonic."""
    out = np.zeros((2, 12))
    w = weights - weights.mean()
    for row, profile in enumerate((MAJOR_PROFILE, MINOR_PROFILE)):
        for tonic in range(12):
            p = np.roll(profile, tonic)
            p = p - p.mean()
            out[row, tonic] = float(w @ p / np.sqrt((w @ w) * (p @ p)))
    return out


def find_key(notes: np.ndarray) -> Key | None:
    """The most likely key of ``notes`` (NOTE_DTYPE, drums left out by the caller), or None when
    the passage has no clear key: fewer than three pitch classes, or no profile correlating at
    :data:`MIN_CORRELATION` or more (atonal or chromatic music)."""
    if len(notes) == 0:
        return None
    weights = pitch_class_weights(notes)
    if np.count_nonzero(weights) < MIN_PITCH_CLASSES or np.ptp(weights) == 0:
        return None  # (all twelve equally long: no profile fits better than another)
    scores = _correlations(weights)
    row, tonic = np.unravel_index(int(np.argmax(scores)), scores.shape)
    strength = float(scores[row, tonic])
    if strength < MIN_CORRELATION:
        return None
    return Key(int(tonic), "major" if row == 0 else "minor", strength)


def in_key_share(notes: np.ndarray, key: Key) -> float:
    """The share of ``notes``' total duration on pitch classes of ``key``'s scale (NaN: no notes)."""
    if len(notes) == 0:
        return float("nan")
    weights = pitch_class_weights(notes)
    inside = sorted(key.pitch_classes())
    return float(weights[inside].sum() / weights.sum())
