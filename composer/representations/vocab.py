"""Vocabularies of the token families, built from the training split, stored as token strings.

A vocabulary turns the codec's vocabulary-independent arrays (:mod:`composer.representations.tokens`)
into token ids and back. It is saved in a checkpoint's JSON metadata as its list of token strings
(never pickled) and rebuilt with ``from_tokens``.

Tokens the vocabulary does not know (a primer's chord the training data never had, a pitch out of
range) are mapped to the nearest known token, never refused:

* a chord to the known chord whose pitch profile is most similar: every pitch is spread over its
  neighbours with weights ``exp(-|distance in semitones| / 2)`` and the cosine of the two profiles
  is compared, so a chord missing one note, or moved by a semitone, finds its neighbour; ties go
  to the more frequent chord. A single unknown pitch goes to the nearest known single pitch.
* a timing token to the known (duration, shift) pair with the nearest shift on a log2 scale, and
  among those the nearest duration: the shift places every later onset, the duration only this
  chord's end (by the sum of both distances, a sixteenth note a beat before the next chord, t1:4,
  went to t1:1, moving every onset before it by three sixteenths);
* a pitch symbol to the nearest known pitch of the same pitch class (an octave move keeps the
  harmony), or else to the nearest known pitch.

numpy only.
"""

from __future__ import annotations

import numpy as np

from .tokens import NEXT, chord_name, masks_to_pitches, parse_chord, parse_pitch, pitch_name

__all__ = ["ChordVocab", "SymbolVocab", "NEXT_TOKEN"]

NEXT_TOKEN = "<next>"
#: Timing pairs as one int64 code, duration * base + shift (both far below 2**31 steps).
_PAIR_BASE = 1 << 31
_KERNEL = np.exp(-np.abs(np.subtract.outer(np.arange(128), np.arange(128))) / 2.0)


def _masks_of(chords) -> np.ndarray:
    """Pitch tuples -> 128-bit masks (K, 2) int64, as ChordTokenCodec stores them."""
    masks = np.zeros((len(chords), 2), dtype=np.uint64)
    for i, pitches in enumerate(chords):
        for p in pitches:
            masks[i, p // 64] |= np.uint64(1) << np.uint64(p % 64)
    return masks.view(np.int64)


def _unique_rows(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of an int64 array (N, 2), in sorted order, and how often each occurs.

    ``np.unique(axis=0)`` sorts rows as structured records, several times slower than one
    lexsort of the two columns (1.3 s against about 0.1 s for POP909's 700,000 onsets).
    """
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    ordered = pairs[order]
    starts = np.flatnonzero(np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)])
    counts = np.diff(np.r_[starts, len(ordered)])
    return ordered[starts], counts


def _timing_name(duration: int, shift: int) -> str:
    return f"t{int(duration)}:{int(shift)}"


class ChordVocab:
    """Chord tokens (most frequent first), then timing tokens "t{duration}:{shift}" when timed.

    ``encode`` turns chord rows (N, 4) (see ChordTokenCodec) into ids: (N,) untimed, or (2N,)
    timed with each chord id followed by its timing id.
    """

    def __init__(self, tokens: list[str]):
        if not tokens:
            raise ValueError("a vocabulary needs at least one token")
        self.tokens = list(tokens)
        chords = [t for t in self.tokens if not t.startswith("t")]
        timings = [t for t in self.tokens if t.startswith("t")]
        if self.tokens != chords + timings or not chords:
            raise ValueError("a chord vocabulary lists its chords first, then its timing tokens")
        self.n_chords = len(chords)
        self.timed = bool(timings)
        self.chord_pitches = [parse_chord(t) for t in chords]
        present = np.zeros((self.n_chords, 128), dtype=bool)
        for i, pitches in enumerate(self.chord_pitches):
            present[i, list(pitches)] = True
        self.present = present
        #: Per chord (n_chords,): its number of pitches, lowest and highest pitch (for sampling
        #: masks: a chord's size against the primer's, its span against the primer's register).
        self.chord_size = present.sum(axis=1)
        self.chord_low = present.argmax(axis=1)
        self.chord_high = 127 - present[:, ::-1].argmax(axis=1)
        self._chord_index = {self._key(p): i for i, p in enumerate(self.chord_pitches)}
        self.timing = np.array([[int(x) for x in t[1:].split(":")] for t in timings],
                               dtype=np.int64).reshape(-1, 2)
        self._timing_index = {tuple(pair): self.n_chords + i for i, pair in enumerate(self.timing.tolist())}
        self._profiles = None
        self._mask_index = None

    def __len__(self) -> int:
        return len(self.tokens)

    @staticmethod
    def _key(pitches) -> tuple[int, ...]:
        return tuple(sorted(int(p) for p in pitches))

    @classmethod
    def build(cls, pieces: list[np.ndarray], timed: bool, max_chords: int = 0,
              min_count: int = 1) -> "ChordVocab":
        """From chord rows (N_i, 4) of the training pieces: chords by frequency (ties by name),
        at most ``max_chords`` (0: all) seen at least ``min_count`` times; then the timing pairs."""
        used = [np.asarray(rows, dtype=np.int64).reshape(-1, 4) for rows in pieces if len(rows)]
        if not used:
            raise ValueError("no chords to build a vocabulary from")
        rows = np.concatenate(used)  # all pieces at once, not a Counter per piece
        keys, counts = _unique_rows(rows[:, :2])
        present = masks_to_pitches(keys)
        names = [chord_name(np.flatnonzero(row)) for row in present]
        counts = counts.tolist()
        order = sorted(range(len(keys)), key=lambda i: (-counts[i], names[i]))
        order = [i for i in order if counts[i] >= min_count] or order[:1]
        if max_chords:
            order = order[:max_chords]
        tokens = [names[i] for i in order]
        if timed:
            pairs, _ = _unique_rows(rows[:, 2:])
            tokens += [_timing_name(*pair) for pair in sorted(map(tuple, pairs.tolist()))]
        return cls(tokens)

    # ------------------------------------------------------------------------- ids
    def encode(self, rows: np.ndarray) -> tuple[np.ndarray, int]:
        """Rows (N, 4) -> (ids, number of unknown chords mapped to their nearest)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
        if not len(rows):
            return np.zeros(0, dtype=np.int64), 0
        keys, inverse = np.unique(rows[:, :2], axis=0, return_inverse=True)
        if self._mask_index is None:
            masks = _masks_of(self.chord_pitches)
            self._mask_index = {pair: i for i, pair in enumerate(map(tuple, masks.tolist()))}
        found = [self._mask_index.get(pair, -1) for pair in map(tuple, keys.tolist())]
        ids = np.array(found, dtype=np.int64)
        unknown = np.flatnonzero(ids < 0).tolist()
        if unknown:
            ids[unknown] = self.nearest_chords(masks_to_pitches(keys[unknown]))
        chord_ids = ids[inverse.reshape(-1)]
        n_unknown = int(np.isin(inverse.reshape(-1), unknown).sum()) if unknown else 0
        if not self.timed:
            return chord_ids, n_unknown
        out = np.empty(2 * len(rows), dtype=np.int64)
        out[0::2] = chord_ids
        out[1::2] = self.timing_ids(rows[:, 2:])
        return out, n_unknown

    def timing_ids(self, pairs: np.ndarray) -> np.ndarray:
        """(N, 2) durations and shifts -> timing token ids (N,); an unknown pair gets the known
        one with the nearest shift, then the nearest duration (see the module docstring)."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if not len(self.timing):
            raise ValueError("this vocabulary has no timing tokens")
        # Known pairs by exact lookup (sorted codes); only the others by distance.
        codes = pairs[:, 0] * _PAIR_BASE + pairs[:, 1]
        known_codes = self.timing[:, 0] * _PAIR_BASE + self.timing[:, 1]
        order = np.argsort(known_codes)
        position = np.minimum(np.searchsorted(known_codes[order], codes), len(order) - 1)
        index = order[position]
        missing = known_codes[index] != codes
        if missing.any():
            known = np.log2(np.maximum(self.timing, 1))
            wanted = np.log2(np.maximum(pairs[missing], 1))
            apart = np.abs(wanted[:, None, :] - known[None, :, :])  # (missing, known, 2)
            nearest_shift = apart[..., 1] <= apart[..., 1].min(axis=1, keepdims=True)
            distance = np.where(nearest_shift, apart[..., 0], np.inf)
            index[missing] = distance.argmin(axis=1)
        return self.n_chords + index

    def nearest_chords(self, present: np.ndarray) -> np.ndarray:
        """Bool pitch sets (K, 128) -> ids (K,) of the most similar known chords."""
        if self._profiles is None:
            profiles = self.present.astype(np.float64) @ _KERNEL
            self._profiles = profiles / np.linalg.norm(profiles, axis=1, keepdims=True)
        wanted = np.asarray(present, dtype=np.float64) @ _KERNEL
        wanted /= np.maximum(np.linalg.norm(wanted, axis=1, keepdims=True), 1e-12)
        similarity = wanted @ self._profiles.T
        return similarity.argmax(axis=1)  # first maximum: the most frequent chord

    def decode(self, ids: np.ndarray) -> np.ndarray:
        """Ids -> rows (N, 4): untimed, one row per id; timed, one row per (chord, timing)
        pair, where a missing or misplaced timing token counts as one step of each."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        rows = []
        i = 0
        while i < len(ids):
            token = int(ids[i])
            if token >= self.n_chords:  # a timing token without its chord: skip it
                i += 1
                continue
            pitches = self.chord_pitches[token]
            duration = shift = 0
            if self.timed:
                duration, shift = 1, 1
                if i + 1 < len(ids) and ids[i + 1] >= self.n_chords:
                    duration, shift = self.timing[int(ids[i + 1]) - self.n_chords].tolist()
                    i += 1
            rows.append([*_masks_of([pitches])[0].tolist(), duration, shift])
            i += 1
        return np.array(rows, dtype=np.int64).reshape(-1, 4)

    def is_chord(self) -> np.ndarray:
        """Bool (V,): which ids are chord tokens (the others are timing tokens)."""
        return np.arange(len(self)) < self.n_chords

    def shifts(self) -> np.ndarray:
        """Int64 (V,): each token's shift to the next onset in grid steps (0 for chords)."""
        return np.concatenate([np.zeros(self.n_chords, dtype=np.int64), self.timing[:, 1]])


class SymbolVocab:
    """``<next>`` (id 0) and the pitches the training data uses, ascending, as names ("C4")."""

    def __init__(self, tokens: list[str]):
        if not tokens or tokens[0] != NEXT_TOKEN:
            raise ValueError(f"a symbol vocabulary starts with {NEXT_TOKEN}")
        self.tokens = list(tokens)
        self.pitches = np.array([parse_pitch(t) for t in tokens[1:]], dtype=np.int64)
        self._lookup = np.full(129, -1, dtype=np.int64)  # index 128 is NEXT (-1 wraps there)
        self._lookup[self.pitches] = np.arange(1, len(tokens))
        self._lookup[128] = 0
        if len(self.pitches):
            self._nearest = np.array([self._nearest_known(p) for p in range(128)], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(cls, pieces: list[np.ndarray]) -> "SymbolVocab":
        used = np.zeros(128, dtype=bool)
        for symbols in pieces:
            symbols = np.asarray(symbols)
            used[symbols[symbols >= 0].astype(np.int64)] = True
        return cls([NEXT_TOKEN] + [pitch_name(int(p)) for p in np.flatnonzero(used)])

    def _nearest_known(self, pitch: int) -> int:
        same_class = self.pitches[self.pitches % 12 == pitch % 12]
        pool = same_class if len(same_class) else self.pitches
        return int(self._lookup[pool[np.abs(pool - pitch).argmin()]])

    def encode(self, symbols: np.ndarray) -> tuple[np.ndarray, int]:
        """Symbols (N,) (pitches and NEXT) -> (ids (N,), number of unknown pitches mapped)."""
        symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
        ids = self._lookup[np.where(symbols < 0, 128, symbols)]
        unknown = ids < 0
        n_unknown = int(unknown.sum())
        if n_unknown:
            if not len(self.pitches):
                raise ValueError("this vocabulary has no pitches to map unknown pitches to")
            ids[unknown] = self._nearest[symbols[unknown]]
        return ids, n_unknown

    def decode(self, ids: np.ndarray) -> np.ndarray:
        """Ids (N,) -> symbols (N,) int16."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        table = np.concatenate([[NEXT], self.pitches]).astype(np.int16)
        return table[ids]
