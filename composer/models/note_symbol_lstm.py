"""``note_symbol_lstm``: paper 003's LSTM over pitch symbols with a ``<next>`` step separator.

A step is written as its pitches (ascending) followed by ``<next>`` (:class:`NoteSymbolCodec`),
so a chord needs no symbol of its own and the alphabet stays small: ``<next>`` plus the pitches
the training split uses (paper 003: 90 symbols), stored in the checkpoint's metadata.

Network (paper 003): one-hot input, one LSTM layer with hidden size 64 (``hidden``), a fully
connected layer and softmax; cross-entropy; Adam; a cyclical learning rate between 1e-4
(``min_learning_rate``) and 1e-3 (``learning_rate``), one triangle per epoch unless
``cycle_steps`` says otherwise; sequences of 100 symbols from random positions; next-symbol
accuracy on validation and test.

Presets: ``paper`` (steps are onset groups, as the paper's music21 parsing made them; batch 1, as
its n x 1 x d tensors; 3 epochs), ``grid`` (the same network on a grid of 4 steps a beat, so
rests and onset times survive) and ``tiny`` (tests).

Generation starts from the primer or from a single note. Besides temperature and top-p it keeps
steps sensible: no pitch twice in one step, at most ``max_chord_notes`` pitches a step (the
largest chord of the training data; the paper's model wrote chords of 10+ notes), no empty step
in the paper's encoding and no rest longer than the data's longest on the grid, and no pitch
struck in more consecutive steps than the data does (``max_repeat``). Following the primer
(``SamplingOptions.follow_primer``, on by default): on the grid, steps off the primer's grid
(counted from the seam) only close with ``<next>``, so an eighth-note primer goes on in eighths;
pitches stay within an octave of the primer's (both dropped where they would leave nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from composer.representations.tokens import NEXT

from .base import SamplingOptions, TrainConfig
from .token_adapter import NoteSymbolAdapter
from .token_common import TokenModel, allowed_pitches, no_fit_error, with_fallback


@dataclass
class Config(TrainConfig):
    hidden: int = 64
    layers: int = 1
    #: The lower bound of the cyclical learning rate; ``learning_rate`` is the upper one.
    min_learning_rate: float = 1e-4
    #: Steps of one half cycle (rising); 0 means half an epoch (one triangle per epoch).
    cycle_steps: int = 0
    #: Steps on a grid (4 a beat) closed by <next>, instead of one step per onset group.
    grid: bool = False
    steps_per_beat: int = 4


PRESETS = {
    "paper": Config(seq_len=100, batch_size=1, epochs=3, patience=3, learning_rate=1e-3),
    # Batches of up to 32 sequences, as long as the data allows (schedule "auto"): the paper's
    # 3 epochs of single sequences learn little from a folder of 100 tunes.
    "grid": Config(seq_len=100, batch_size=32, epochs=3, patience=5, learning_rate=1e-3, grid=True,
                   schedule="auto"),
    "tiny": Config(hidden=16, seq_len=16, batch_size=8, epochs=2, patience=2, steps_per_epoch=4),
}


class Model(TokenModel):
    family = "note_symbol_lstm"
    adapter_class = NoteSymbolAdapter

    def __init__(self, config: Config, info: dict):
        super().__init__(config, info)
        size = len(self.vocab)
        self.lstm = nn.LSTM(size, config.hidden, config.layers, batch_first=True)
        self.out = nn.Linear(config.hidden, size)

    # ------------------------------------------------------------------------------- data
    def make_scheduler(self, optimizer, steps_per_epoch: int):
        half = self.config.cycle_steps or max(steps_per_epoch // 2, 1)
        return torch.optim.lr_scheduler.CyclicLR(
            optimizer, base_lr=self.config.min_learning_rate, max_lr=self.config.learning_rate,
            step_size_up=half, mode="triangular", cycle_momentum=False)

    def transposer(self):
        """Transpose a window by -6..+5 semitones when every pitch stays in the alphabet."""
        pitches = np.concatenate([[NEXT], self.vocab.pitches])
        lookup = np.full(128 + 12, -1, dtype=np.int64)
        lookup[self.vocab.pitches] = np.arange(1, len(self.vocab))

        def transpose(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            shift = int(rng.integers(-6, 6))
            if shift == 0:
                return ids
            real = ids > 0
            moved = pitches[ids[real]] + shift
            if moved.min(initial=0) < 0 or moved.max(initial=0) >= 128:
                return ids
            new = lookup[moved]
            if (new < 0).any():
                return ids
            out = ids.copy()
            out[real] = new
            return out

        return transpose

    # ---------------------------------------------------------------------------- network
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """One-hot symbols (B, T, V); PAD is all zeros."""
        onehot = nn.functional.one_hot(ids.clamp(min=0), len(self.vocab)).float()
        return onehot * (ids >= 0).unsqueeze(-1)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(h)

    # ------------------------------------------------------------------------- generation
    def make_guard(self, primer_ids, n_variations, options: SamplingOptions, device) -> "StepGuard":
        allowed = None
        pitches = allowed_pitches(options)
        if pitches is not None:
            fits = pitches[self.vocab.pitches]
            if not fits.any():
                raise no_fit_error("pitch")
            allowed = torch.ones(len(self.vocab), dtype=torch.bool)
            allowed[1:] = torch.as_tensor(fits)
        # Following the primer: its grid and register. Not its voices: a step lists its pitches
        # from the lowest, so a cap on their number cuts the melody on top (on drawn melodies with
        # a bass, a cap of two left a quarter of the notes: density ratio 0.30 against 1.23).
        fit = self.primer_fit(primer_ids, options)
        guard = StepGuard(len(self.vocab), self.adapter.codec.grid,
                          options.max_repeat or int(self.info.get("max_repeat", 4)),
                          min(int(self.info.get("max_chord_notes", 6)), options.polyphony or 128),
                          int(self.info.get("max_rest_steps", 16)),
                          None if allowed is None else allowed.to(device), n_variations, device,
                          every=fit.grid, outside=self._outside_register(fit, device))
        for token in np.asarray(primer_ids)[-64:].tolist():  # the primer's last steps count
            guard.update(torch.full((n_variations,), int(token), dtype=torch.long, device=device))
        guard.at_seam(fit.offset)
        return guard

    def _outside_register(self, fit, device) -> torch.Tensor | None:
        """Bool (V,): the pitch symbols outside the primer's register, or None (none are)."""
        if fit.register is None:
            return None
        lo, hi = fit.register
        outside = np.concatenate([[False], (self.vocab.pitches < lo) | (self.vocab.pitches > hi)])
        return torch.as_tensor(outside, device=device) if outside.any() else None


class StepGuard:
    """What may come next in each variation's step (id 0 is ``<next>``): no pitch twice in a
    step, at most ``max_chord`` pitches a step, no empty step (onset groups) or no rest longer
    than ``max_rest`` steps (grid), no pitch struck in more than ``limit`` consecutive steps, and
    the key/range constraint. Following the primer (soft: dropped in a row where it would leave
    nothing, see :func:`~composer.models.token_common.with_fallback`): only ``<next>`` at steps
    off the primer's grid (``every`` > 1: steps counted from the seam, see :meth:`at_seam`; a
    rest may then run past ``max_rest`` to the next grid step), and no pitch of ``outside``."""

    def __init__(self, size: int, grid: bool, limit: int, max_chord: int, max_rest: int,
                 allowed, batch: int, device, every: int = 1, outside: torch.Tensor | None = None):
        self.grid = grid
        self.limit, self.max_chord, self.max_rest = limit, max_chord, max_rest
        self.banned_base = None if allowed is None else ~allowed
        self.in_step = torch.zeros(batch, size, dtype=torch.bool, device=device)
        self.size = torch.zeros(batch, dtype=torch.long, device=device)
        self.streak = torch.zeros(batch, size, dtype=torch.long, device=device)
        self.rest = torch.zeros(batch, dtype=torch.long, device=device)
        self.rows = torch.arange(batch, device=device)
        self.every = every if grid else 1
        #: Steps since the last step on the primer's grid, per variation.
        self.phase = torch.zeros(batch, dtype=torch.long, device=device)
        # The soft bans by phase: on the grid only ``outside``; off it every pitch.
        self.soft = None
        if outside is not None or self.every > 1:
            on_grid = outside if outside is not None else torch.zeros(size, dtype=torch.bool, device=device)
            self.soft = on_grid[None, :].repeat(self.every, 1)
            self.soft[1:, 1:] = True

    def at_seam(self, offset: int = 0) -> None:
        """Count steps from here: the first generated step lies ``offset`` steps past a step
        of the primer's grid (0: on it)."""
        self.phase.fill_(offset % self.every)

    def banned(self) -> torch.Tensor:
        ban = self.in_step | (self.streak >= self.limit)
        full = self.size >= self.max_chord
        ban[full, 1:] = True
        empty = self.size == 0
        if not self.grid:
            ban[:, 0] = empty
        elif self.every > 1:  # off the primer's grid a rest may run past the limit
            ban[:, 0] = empty & (self.rest >= self.max_rest) & (self.phase == 0)
        else:
            ban[:, 0] = empty & (self.rest >= self.max_rest)
        if self.banned_base is not None:
            ban[:, 1:] |= self.banned_base[1:]
        return with_fallback(ban, None if self.soft is None else self.soft[self.phase])

    def update(self, tokens: torch.Tensor) -> None:
        closing = tokens == 0
        pitch_rows = ~closing
        self.in_step[self.rows[pitch_rows], tokens[pitch_rows]] = True
        self.size = self.size + pitch_rows.long()
        if self.every > 1:
            self.phase = (self.phase + closing.long()) % self.every
        if closing.any():
            c = closing[:, None]
            self.streak = torch.where(c, torch.where(self.in_step, self.streak + 1, 0), self.streak)
            self.rest = torch.where(closing, torch.where(self.size == 0, self.rest + 1, 0), self.rest)
            self.in_step &= ~c
            self.size = torch.where(closing, 0, self.size)
