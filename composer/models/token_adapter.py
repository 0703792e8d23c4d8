"""The token families' adapter (torch-free): codec, vocabulary, primer ids, decoding.

A piece is a 1-D int64 array of token ids through the family's vocabulary
(:mod:`composer.representations.vocab`, stored in the checkpoint's ``info["vocab"]``). The data
summaries here (:func:`longest_runs_limit`, :func:`top_tokens`) feed ``data_info``.
"""

from __future__ import annotations

import math
import warnings
from abc import abstractmethod

import numpy as np

from composer.core.errors import ComposerError, ComposerWarning
from composer.core.score import Score
from composer.data.encoded import EncodedSet
from composer.representations.codecs import ChordTokenCodec, NoteSymbolCodec, SkipFile
from composer.representations.tokens import parse_chord, parse_pitch
from composer.representations.vocab import ChordVocab, SymbolVocab

from .adapter import FamilyAdapter

#: The primer's last this-many tokens (times seq_len) feed the network; older ones add little.
PRIMER_CONTEXTS = 4
#: Generated tokens per requested token of length, so timed vocabularies cover the length.
LENGTH_MARGIN = 1.25


class TokenAdapter(FamilyAdapter):
    """Base of the token families' adapters. Subclasses name their ``vocab_class`` and
    implement ``token_id``, ``content_units`` and ``notes_and_beats``."""

    #: What a token is called in messages ("chord", "pitch").
    unit_name = "token"

    #: The vocabulary's class, built from ``info["vocab"]`` as ``self.vocab``.
    vocab_class: type

    def __init__(self, config, info: dict):
        super().__init__(config, info)
        self.vocab = self.vocab_class(info["vocab"])
        #: (ids, codec array) of the primer :meth:`encode_primer` last read (see :meth:`primer_array`).
        self._encoded_primer: tuple[np.ndarray, np.ndarray] | None = None

    def piece_ids(self, piece: np.ndarray) -> np.ndarray:
        """The codec's array of one piece -> token ids (1-D int64); unknown tokens are mapped to
        their nearest (see :mod:`composer.representations.vocab`)."""
        return self.vocab.encode(piece)[0]

    def window_align(self) -> int:
        """Training windows and a cut primer start on a multiple of this many tokens."""
        return 1

    @abstractmethod
    def notes_and_beats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per token of the vocabulary, float64 (V,) each: the notes it starts and the beats
        it moves on (what density steering weighs)."""

    def codec_rows(self, ids: np.ndarray) -> np.ndarray:
        """Ids (N,) -> the codec's array for its ``decode``."""
        return self.vocab.decode(ids)

    @abstractmethod
    def token_id(self, name: str) -> int:
        """The id of a token name such as "C4" or "C4.E4.G4", or the nearest (with a warning)."""

    @abstractmethod
    def content_units(self, ids: np.ndarray) -> list:
        """What the quality checks count repeats of in ids (N,): chords, or the pitch sets of
        steps (a rest is an empty set)."""

    # ----------------------------------------------------------------------- generation
    def encode_primer(self, part: Score, primer: Score, start_tick: int) -> np.ndarray:
        """The primer's ids (T0,), at most the last ``PRIMER_CONTEXTS * seq_len`` of them.
        Unknown tokens become their nearest known ones with a ComposerWarning; a primer without
        pitched notes (none, or only drums) gives no ids: generation starts from a start token."""
        try:
            ids, unknown, array = self._ids_until(part, start_tick)
        except SkipFile as exc:
            warnings.warn(f"the primer cannot be used ({exc}); starting from a start token instead",
                          ComposerWarning, stacklevel=4)
            return np.zeros(0, dtype=np.int64)
        if unknown:
            warnings.warn(f"{unknown} primer {self.unit_name}{'s' if unknown != 1 else ''} this model "
                          f"never saw in training {'were' if unknown != 1 else 'was'} replaced by the "
                          f"nearest known {self.unit_name}", ComposerWarning, stacklevel=4)
        keep = PRIMER_CONTEXTS * self.config.seq_len
        if len(ids) > keep:
            keep -= keep % self.window_align()
            ids = ids[-keep:]
        self._encoded_primer = (ids.copy(), array)
        return ids

    def _ids_until(self, part: Score, tick: int) -> tuple[np.ndarray, int, np.ndarray]:
        """All ids of ``part`` before ``tick`` (none without notes), how many were unknown, and
        the codec's array they come from. Raises SkipFile for a part the codec cannot read."""
        if part.note_count == 0 or tick <= 0:
            return np.zeros(0, dtype=np.int64), 0, np.zeros(0)
        array = self.codec.encode(part, end_tick=tick)
        ids, unknown = self.vocab.encode(array)
        return ids, unknown, array

    def steps_between(self, part: Score, primer: Score, start_tick: int, end_tick: int) -> int:
        """The ids of [start_tick, end_tick): a token's length varies, so they are counted."""
        try:
            return len(self._ids_until(part, end_tick)[0]) - len(self._ids_until(part, start_tick)[0])
        except SkipFile:
            return 0

    def primer_array(self, primer_ids: np.ndarray) -> np.ndarray:
        """The codec's array of the primer these ids (T0,) encode: as :meth:`encode_primer` last
        read it, when they are its ids (so a chord the vocabulary lacks counts with its own
        notes, not its nearest known chord's: a melody the vocabulary maps to triads is still a
        melody), or else decoded from the ids."""
        encoded = self._encoded_primer
        if encoded is not None and np.array_equal(encoded[0], primer_ids):
            return encoded[1]
        return self.codec_rows(primer_ids)

    def steps_for(self, primer: Score, start_tick: int, end_tick: int) -> int:
        """Tokens for [start_tick, end_tick): the training data's tokens per beat (with a margin
        where token durations vary; the result is cut to the length afterwards)."""
        beats = (end_tick - start_tick) / primer.ppq
        rate = float(self.info["tokens_per_beat"])
        margin = 1.0 if self.info.get("fixed_rate") else LENGTH_MARGIN
        return max(int(math.ceil(beats * rate * margin)), 1)

    def decode_continuation(self, ids: np.ndarray, primer: Score, start_tick: int) -> np.ndarray:
        """Generated ids (N,) -> notes from ``start_tick`` in the primer's ticks."""
        notes = self.codec.decode(self.codec_rows(ids), ppq=primer.ppq).tracks[0].notes.copy()
        notes["start"] += start_tick
        notes["end"] = np.maximum(notes["end"] + start_tick, notes["start"] + 1)
        return notes


class NoteSymbolAdapter(TokenAdapter):
    """Paper 003's pitch symbols with a ``<next>`` step separator (id 0)."""

    unit_name = "pitch"
    vocab_class = SymbolVocab

    @classmethod
    def default_codec(cls, config) -> NoteSymbolCodec:
        return NoteSymbolCodec(grid=config.grid, steps_per_beat=config.steps_per_beat)

    @classmethod
    def data_info(cls, data: EncodedSet, config) -> dict:
        """Alphabet from the training split, symbols per beat, the largest chord, the longest
        rest, the repetition limit and the most frequent pitches (start notes)."""
        codec = cls.default_codec(config)
        train = _pieces_to_learn(data)
        vocab = SymbolVocab.build(train)
        ids = [vocab.encode(p)[0] for p in train]
        steps = sum(int((p < 0).sum()) for p in train)
        symbols = sum(len(p) for p in train)
        if codec.grid:
            rate = symbols / max(steps / codec.steps_per_beat, 1e-9)
        else:
            rate = symbols / max(steps, 1) / codec.untimed_beats
        sizes, rests, strikes = [1], [1], []
        for p in train:
            groups = step_groups(p)
            sizes.append(max(len(g) for g in groups) if groups else 1)
            empty = np.array([len(g) == 0 for g in groups] + [False])
            if empty.any():  # the longest run of empty steps
                edges = np.flatnonzero(np.diff(np.concatenate([[0], empty.astype(np.int8)])))
                rests.append(int(np.max(edges[1::2] - edges[0::2])) if len(edges) > 1 else 1)
            lows = [g[0] for g in groups if g]
            strikes.append(np.array(lows, dtype=np.int64))  # runs of the same lowest pitch
        lo, hi = data.pitch_span()
        is_pitch = np.arange(len(vocab)) > 0
        return {"codec": data.codec, "vocab": vocab.tokens, "tokens_per_beat": round(rate, 4),
                "fixed_rate": False, "max_chord_notes": int(min(np.percentile(sizes, 99), 12)) or 1,
                "max_rest_steps": int(max(np.percentile(rests, 99), 4)),
                "max_repeat": longest_runs_limit(strikes, floor=4),
                "start_tokens": top_tokens(ids, is_pitch), "pitch_range": [lo, hi]}

    def content_units(self, ids: np.ndarray) -> list:
        return step_groups(self.vocab.decode(ids))

    def notes_and_beats(self) -> tuple[np.ndarray, np.ndarray]:
        """A pitch starts a note; ``<next>`` (id 0) closes a step: a grid step, or an onset
        group every ``untimed_beats``."""
        codec = self.codec
        notes = np.ones(len(self.vocab))
        notes[0] = 0.0
        beats = np.zeros(len(self.vocab))
        beats[0] = 1.0 / codec.steps_per_beat if codec.grid else codec.untimed_beats
        return notes, beats

    def token_id(self, name: str) -> int:
        try:
            pitch = parse_pitch(name)
        except ValueError:
            raise ComposerError(f"{name!r} is not a note name (write e.g. C4 or F#3)") from None
        ids, unknown = self.vocab.encode(np.array([pitch]))
        if unknown:
            warnings.warn(f"the start note {name} is not in this model's alphabet; starting from "
                          f"{self.vocab.tokens[int(ids[0])]}", ComposerWarning, stacklevel=5)
        return int(ids[0])


class ChordTokenAdapter(TokenAdapter):
    """Paper 001's note and chord tokens, untimed or each followed by a timing token."""

    unit_name = "chord"
    vocab_class = ChordVocab

    @classmethod
    def default_codec(cls, config) -> ChordTokenCodec:
        return ChordTokenCodec(timed=config.timed, steps_per_beat=config.steps_per_beat)

    @classmethod
    def data_info(cls, data: EncodedSet, config) -> dict:
        """Vocabulary from the training split, the tokens per beat, the repetition limit and the
        most frequent chords (start tokens)."""
        codec = cls.default_codec(config)
        train = _pieces_to_learn(data)
        vocab = ChordVocab.build(train, timed=codec.timed, max_chords=config.max_chords,
                                 min_count=config.min_count)
        ids = [vocab.encode(p)[0] for p in train]
        chords = [i[0::2] if codec.timed else i for i in ids]
        if codec.timed:
            beats = sum(int(p[:, 3].sum()) for p in train) / codec.steps_per_beat
            rate, fixed = sum(len(i) for i in ids) / max(beats, 1e-9), False
        else:
            rate, fixed = 1.0 / codec.untimed_beats, True
        lo, hi = data.pitch_span()
        return {"codec": data.codec, "vocab": vocab.tokens, "tokens_per_beat": round(rate, 4),
                "fixed_rate": fixed, "max_repeat": longest_runs_limit(chords),
                "start_tokens": top_tokens(chords, vocab.is_chord()), "pitch_range": [lo, hi]}

    def window_align(self) -> int:
        return 2 if self.vocab.timed else 1  # windows start on a chord

    def content_units(self, ids: np.ndarray) -> list:
        ids = np.asarray(ids)
        return ids[ids < self.vocab.n_chords].tolist()

    def notes_and_beats(self) -> tuple[np.ndarray, np.ndarray]:
        """A chord starts its notes; a timing token moves on by its shift (untimed: every
        chord lasts ``untimed_beats``)."""
        codec, vocab = self.codec, self.vocab
        notes = np.zeros(len(vocab))
        notes[:vocab.n_chords] = vocab.chord_size
        if vocab.timed:
            beats = vocab.shifts().astype(np.float64) / codec.steps_per_beat
        else:
            beats = np.where(np.arange(len(vocab)) < vocab.n_chords, codec.untimed_beats, 0.0)
        return notes, beats

    def token_id(self, name: str) -> int:
        try:
            pitches = parse_chord(name)
        except ValueError:
            raise ComposerError(f"{name!r} is not a note or chord token (write e.g. C4 or C4.E4.G4)") from None
        present = np.zeros((1, 128), dtype=bool)
        present[0, list(pitches)] = True
        known = self.vocab._chord_index.get(tuple(pitches))
        if known is not None:
            return known
        nearest = int(self.vocab.nearest_chords(present)[0])
        warnings.warn(f"the start token {name} is not in this model's vocabulary; starting from the "
                      f"nearest known chord {self.vocab.tokens[nearest]}", ComposerWarning, stacklevel=5)
        return nearest


def _pieces_to_learn(data: EncodedSet) -> list[np.ndarray]:
    """The training split's pieces that hold a token (ValueError when none does)."""
    train = [p for p in (data.split_pieces("train") or data.pieces) if len(p)]
    if not train:
        raise ValueError("no training piece has a token")
    return train


def step_groups(symbols: np.ndarray) -> list[tuple[int, ...]]:
    """Symbols (N,) -> the pitch set of every closed step, in order."""
    groups, current = [], []
    for s in np.asarray(symbols).tolist():
        if s < 0:
            groups.append(tuple(sorted(current)))
            current = []
        else:
            current.append(s)
    return groups


def longest_runs_limit(sequences: list[np.ndarray], floor: int = 3, ceiling: int = 16) -> int:
    """The repetition guard's limit from training data: the 99th percentile of the longest run
    of one token per piece, kept within [floor, ceiling]."""
    longest = []
    for seq in sequences:
        seq = np.asarray(seq)
        if len(seq) == 0:
            continue
        change = np.flatnonzero(np.diff(seq) != 0)
        bounds = np.concatenate([[-1], change, [len(seq) - 1]])
        longest.append(int(np.diff(bounds).max()))
    if not longest:
        return floor
    return int(min(max(np.percentile(longest, 99), floor), ceiling))


def top_tokens(sequences: list[np.ndarray], candidates: np.ndarray, k: int = 16) -> list[list[int]]:
    """[[id, count], ...] of the ``k`` most frequent ids among ``candidates`` (bool (V,))."""
    counts = np.zeros(len(candidates), dtype=np.int64)
    for seq in sequences:
        counts += np.bincount(np.asarray(seq, dtype=np.int64), minlength=len(candidates))[:len(candidates)]
    counts[~candidates] = 0
    order = np.argsort(-counts, kind="stable")[:k]
    return [[int(i), int(counts[i])] for i in order if counts[i] > 0]
