"""``chord_token_lstm``: paper 001's LSTM over note and chord tokens ("C4", "C4.E4.G4").

Each onset group of the merged pitched tracks is one token (:class:`ChordTokenCodec`); the
vocabulary is every chord of the training split, most frequent first (``max_chords`` can cut the
rare tail, which then maps to its nearest known chord), stored in the checkpoint's metadata.

Network (paper 001): three LSTM layers of 512 with recurrent dropout 0.3
(:mod:`composer.models.lstm_dropout` explains how it keeps the fused kernel), batch normalization
of the LSTM output, dense 256 with ReLU, dense softmax over the vocabulary; categorical
cross-entropy; RMSprop with Keras' defaults (rho 0.9, epsilon 1e-7, learning rate 1e-3).

Presets:

* ``paper``: the paper's settings: untimed tokens, windows of 100 tokens, batch 1024, 10 epochs,
  and its input, each token id divided by the vocabulary size as one number (as the public
  implementation it follows does).
* ``timed``: the same network over the timed vocabulary (each chord followed by a duration and
  shift token, see :mod:`composer.representations.tokens`), so a primer's rhythm carries on; it
  reads tokens through a learned embedding of 64, because one number per token cannot tell
  thousands of tokens apart.
* ``tiny``: for tests.

Where the paper predicts only the token after each 100-token window (one target per window,
windows at every position), we train every position of a window to predict its next token
(teacher forcing), which gives each token of the data the same role in about 1/100 of the
computation. Generation samples with temperature and top-p, forbids a chord repeated more times
in a row than the training data ever does (``max_repeat``), and keeps the chord/timing grammar.
Following the primer (``SamplingOptions.follow_primer``, on by default): no chord larger than the
primer's largest or reaching more than an octave beyond its pitches, and (timed) only timing
tokens whose shift lands the next onset on the primer's grid, counted from the seam (each dropped
where it would leave nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from .base import SamplingOptions, TrainConfig
from .lstm_dropout import RecurrentDropoutLSTM
from .token_adapter import ChordTokenAdapter
from .token_common import TokenModel, allowed_pitches, no_fit_error, with_fallback


@dataclass
class Config(TrainConfig):
    hidden: int = 512
    layers: int = 3
    recurrent_dropout: float = 0.3
    dense: int = 256
    #: Dropout before and after the dense layer (not in the paper).
    dropout: float = 0.0
    #: Learned embedding size; 0 is the paper's input (the id divided by the vocabulary size).
    embedding: int = 0
    #: Timed vocabulary: a duration-and-shift token after every chord.
    timed: bool = False
    steps_per_beat: int = 4
    #: Keep at most this many chords (the most frequent); 0 keeps every chord of the data.
    max_chords: int = 0
    min_count: int = 1


_PAPER = Config(seq_len=100, batch_size=1024, epochs=10, patience=10, learning_rate=1e-3)
PRESETS = {
    "paper": _PAPER,
    # Its length and batch size follow the data (schedule "auto"): the paper's batches of 1,024
    # for 10 epochs are 10 steps on a folder of 100 tunes.
    "timed": replace(_PAPER, timed=True, embedding=64, schedule="auto"),
    "tiny": Config(hidden=32, layers=2, recurrent_dropout=0.1, dense=16, embedding=8, timed=True,
                   seq_len=16, batch_size=16, epochs=2, patience=2, steps_per_epoch=4),
}


class Model(TokenModel):
    family = "chord_token_lstm"
    adapter_class = ChordTokenAdapter

    def __init__(self, config: Config, info: dict):
        super().__init__(config, info)
        size = len(self.vocab)
        self.embedding = nn.Embedding(size, config.embedding) if config.embedding else None
        self.rnn = RecurrentDropoutLSTM(config.embedding or 1, config.hidden, config.layers,
                                        config.recurrent_dropout)
        self.norm = nn.BatchNorm1d(config.hidden)
        self.drop = nn.Dropout(config.dropout)
        self.dense = nn.Linear(config.hidden, config.dense)
        self.out = nn.Linear(config.dense, size)
        self._is_chord = torch.as_tensor(self.vocab.is_chord())

    @property
    def lstm(self) -> nn.LSTM:
        return self.rnn.lstm

    def recurrent(self):
        return self.rnn

    # ------------------------------------------------------------------------------- data
    def make_optimizer(self, learning_rate: float):
        # Keras' RMSprop defaults, as the paper's Keras model used.
        return torch.optim.RMSprop(self.parameters(), lr=learning_rate, alpha=0.9, eps=1e-7,
                                   weight_decay=self.config.weight_decay)

    # ---------------------------------------------------------------------------- network
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        real = (ids >= 0).unsqueeze(-1)
        index = ids.clamp(min=0)
        if self.embedding is not None:
            return self.embedding(index) * real
        return (index.float() / len(self.vocab)).unsqueeze(-1) * real

    def head(self, h: torch.Tensor) -> torch.Tensor:
        z = self.drop(self.norm(h))
        return self.out(self.drop(torch.relu(self.dense(z))))

    # ------------------------------------------------------------------------- generation
    def make_guard(self, primer_ids, n_variations, options: SamplingOptions, device) -> "ChordGuard":
        allowed = None
        pitches = allowed_pitches(options)
        if pitches is not None or options.polyphony is not None:
            fits = np.ones(self.vocab.n_chords, dtype=bool)
            if pitches is not None:
                fits &= ~(self.vocab.present & ~pitches).any(axis=1)
            if options.polyphony is not None:
                fits &= self.vocab.chord_size <= options.polyphony
            if not fits.any():
                raise no_fit_error("chord")
            allowed = torch.ones(len(self.vocab), dtype=torch.bool)
            allowed[:self.vocab.n_chords] = torch.as_tensor(fits)
        limit = options.max_repeat or int(self.info.get("max_repeat", 4))
        fit = self.primer_fit(primer_ids, options)
        guard = ChordGuard(self._is_chord.to(device), self.vocab.timed, limit,
                           None if allowed is None else allowed.to(device), primer_ids, n_variations)
        guard.follow(self._unlike_primer(fit, device), *self._timing_grid(fit, device), offset=fit.offset)
        return guard

    def _unlike_primer(self, fit, device) -> torch.Tensor | None:
        """Bool (V,): the chords larger than the primer's largest or reaching outside its
        register, or None (no chord is)."""
        vocab = self.vocab
        unlike = np.zeros(vocab.n_chords, dtype=bool)
        if fit.voices is not None:
            unlike |= vocab.chord_size > fit.voices
        if fit.register is not None:
            unlike |= (vocab.chord_low < fit.register[0]) | (vocab.chord_high > fit.register[1])
        if not unlike.any():
            return None
        return torch.as_tensor(np.concatenate([unlike, np.zeros(len(vocab) - vocab.n_chords, dtype=bool)]),
                               device=device)

    def _timing_grid(self, fit, device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """For the primer's grid of ``fit.grid`` steps: (bans (grid, V), shifts (V,)), row ``r``
        of the bans holding the timing tokens whose shift, taken ``r`` steps past a grid step,
        lands the next onset off the grid; (None, None) without a grid or timing tokens."""
        if fit.grid <= 1 or not self.vocab.timed:
            return None, None
        shifts = torch.as_tensor(self.vocab.shifts(), device=device)
        residue = torch.arange(fit.grid, device=device)[:, None]
        bans = ((residue + shifts[None, :]) % fit.grid != 0) & ~self._is_chord.to(device)[None, :]
        return bans, shifts


class ChordGuard:
    """What may come next, per variation: the timed grammar (a chord, then a timing token), the
    key/range constraint, and no chord more than ``limit`` times in a row. Following the primer
    (:meth:`follow`; soft: dropped in a row where it would leave nothing, see
    :func:`~composer.models.token_common.with_fallback`): no chord unlike the primer's (larger,
    or outside its register), and only timing tokens that land the next onset on its grid.

    A step's bans are rows of precomputed tables (V,): one row for "a chord comes next" and one
    for each offset from the primer's grid where a timing token comes next (one when there is no
    grid), so a step looks them up instead of combining masks over the vocabulary."""

    def __init__(self, is_chord: torch.Tensor, timed: bool, limit: int, allowed, primer_ids, batch: int):
        self.is_chord = is_chord
        self.timed = timed
        self.limit = limit
        self.allowed = allowed
        device = is_chord.device
        chords = [int(i) for i in np.asarray(primer_ids).tolist() if is_chord[int(i)]]
        last, run = -1, 0
        for token in chords:
            run = run + 1 if token == last else 1
            last = token
        self.last = torch.full((batch,), last, dtype=torch.long, device=device)
        self.run = torch.full((batch,), run, dtype=torch.long, device=device)
        ends_on_chord = len(primer_ids) > 0 and bool(is_chord[int(primer_ids[-1])])
        self.expect_chord = torch.full((batch,), not (timed and ends_on_chord), dtype=torch.bool, device=device)
        self.rows = torch.arange(batch, device=device)
        #: Steps past the last step of the primer's grid (at the seam: :meth:`follow`'s offset;
        #: the first chord always starts at the seam, the timing tokens then bring the next
        #: onsets onto the grid).
        self.offset = torch.zeros(batch, dtype=torch.long, device=device)
        self.follow(None, None, None)

    def follow(self, unlike: torch.Tensor | None, grid_bans: torch.Tensor | None,
               shifts: torch.Tensor | None, offset: int = 0) -> None:
        """Follow the primer from the seam on: ``unlike`` (V,) the chords to avoid, ``grid_bans``
        (grid, V) the timing tokens to avoid ``r`` steps past a grid step, ``shifts`` (V,) each
        token's shift (see ``Model._timing_grid``); None for each: no such constraint. The seam
        lies ``offset`` steps past a grid step (0: on it)."""
        size = len(self.is_chord)
        device = self.is_chord.device
        grid = 1 if grid_bans is None else len(grid_bans)
        # The hard bans: the grammar (timing tokens after a chord, a chord after them) and the
        # key/range constraint; row ``grid`` is "a chord comes next".
        hard = self.is_chord[None, :].repeat(grid + 1, 1)
        hard[grid] = ~self.is_chord
        if not self.timed:
            hard.zero_()
        if self.allowed is not None:
            hard |= ~self.allowed[None, :]
        self.hard = hard
        self.soft = None
        if unlike is not None or grid_bans is not None:
            soft = torch.zeros(grid + 1, size, dtype=torch.bool, device=device)
            if grid_bans is not None:
                soft[:grid] = grid_bans
            if unlike is not None:
                soft[grid] = unlike
            self.soft = soft
        self.shifts = shifts if grid_bans is not None else None
        self.offset.fill_(offset % grid)
        self._set_rows()

    def _set_rows(self) -> None:
        self.row = torch.where(self.expect_chord, len(self.hard) - 1, self.offset)

    def banned(self) -> torch.Tensor:
        ban = self.hard[self.row]
        stuck = (self.run >= self.limit) & (self.last >= 0) & self.expect_chord
        last = self.last.clamp(min=0)
        ban[self.rows, last] = ban[self.rows, last] | stuck  # no sync: unstuck rows keep theirs
        return with_fallback(ban, None if self.soft is None else self.soft[self.row])

    def update(self, tokens: torch.Tensor) -> None:
        chord = self.is_chord[tokens]
        same = tokens == self.last
        self.run = torch.where(chord, torch.where(same, self.run + 1, torch.ones_like(self.run)), self.run)
        self.last = torch.where(chord, tokens, self.last)
        if self.timed:
            self.expect_chord = ~chord
        if self.shifts is not None:
            self.offset = (self.offset + self.shifts[tokens]) % (len(self.hard) - 1)
        self._set_rows()
