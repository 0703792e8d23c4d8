"""``bar_lstm``: paper 002's LSTM that writes each bar conditioned on the bar before it.

The roll is cut into bars of ``steps_per_bar`` steps (S = 16 by default: sixteenth notes in 4/4).
For each pair of consecutive bars the network reads the previous bar, then predicts the next bar
frame by frame (independent sigmoids, binary cross-entropy) from the previous bar and the frames
of the new bar so far; only the new bar's frames count in the loss. Generation starts every bar
afresh from the bar before it, so the model's whole context is one bar, as in the slides.

A first version mapped each frame of a bar straight to the frame at the same position of the next
bar, without seeing the new bar's earlier frames; like the slides warn, it settled on predicting
silence (validation loss stuck at the notes' base rate), so the new bar is now written frame by
frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .base import SamplingOptions, TrainConfig
from .output_heads import HeadSettings, make_head
from .pianoroll_adapter import BarRollAdapter
from .pianoroll_common import (
    LSTMStepper,
    PianoRollModel,
    RollWindows,
    augment_shifts,
    fit_to_primer,
    frame_metrics,
    masked_bce,
    sample_sequence,
    split_padding,
)


@dataclass
class Config(HeadSettings, TrainConfig):
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.5
    #: S: steps per bar; a 4/4 bar has S/4 steps per beat.
    steps_per_bar: int = 16


PRESETS = {
    # Nadam, batch 128, 80/20 split as in the slides; the learning rate is Keras' Nadam default.
    "2x256": Config(batch_size=128, learning_rate=2e-3, epochs=100, patience=5, valid_fraction=0.2),
    # The same, as long and in batches as the data allows (schedule "auto"; the default).
    "2x256-auto": Config(batch_size=128, learning_rate=2e-3, epochs=100, patience=5, valid_fraction=0.2,
                         schedule="auto"),
    "2x256-auto-nade": Config(batch_size=128, learning_rate=2e-3, epochs=100, patience=5, valid_fraction=0.2,
                              schedule="auto", head="nade"),
    "tiny": Config(hidden=16, layers=1, dropout=0.0, steps_per_bar=8, batch_size=8, epochs=2,
                   patience=2, steps_per_epoch=4, valid_fraction=0.2),
}


class Model(PianoRollModel):
    family = "bar_lstm"
    adapter_class = BarRollAdapter

    def __init__(self, config: Config, info: dict):
        super().__init__(config, info)
        lo, hi = info["pitch_range"]
        self.n_pitches = hi - lo
        self.lstm = nn.LSTM(self.n_pitches, config.hidden, config.layers, batch_first=True,
                            dropout=config.dropout if config.layers > 1 else 0.0)
        self.head = make_head(config, config.hidden, self.n_pitches)

    def make_dataset(self, pieces, augment: bool, training: bool):
        bar = self.config.steps_per_bar
        return RollWindows(pieces, self.info["pitch_range"], 2 * bar, training=training,
                           augment=augment, step=bar, align=bar, shifts=augment_shifts(self))

    def make_optimizer(self, learning_rate: float):
        return torch.optim.NAdam(self.parameters(), lr=learning_rate, weight_decay=self.config.weight_decay)

    def forward(self, frames: torch.Tensor, state=None):
        """frames (B, T, P) -> the head's features (B, T, H) for the frame after each position,
        new state."""
        return self.lstm(frames, state)

    def _pair_logits(self, pairs: torch.Tensor):
        """pairs (B, 2S, P) of bars -> logits and targets (B, S, P) of the second bar's frames."""
        bar = self.config.steps_per_bar
        features, _ = self(pairs[:, :-1])
        target = pairs[:, bar:]
        return self.head.logits(features[:, bar - 1:], target), target

    def loss(self, batch: torch.Tensor, metrics: bool = True):
        """``batch``: (B, 2S, P): a bar and the bar after it."""
        bar = self.config.steps_per_bar
        frames, real = split_padding(batch)
        logits, target = self._pair_logits(frames)
        real = real[:, bar:]
        return masked_bce(logits, target, real), frame_metrics(logits, target, real) if metrics else {}

    def frame_predictions(self, roll: torch.Tensor):
        """Every bar after the first, predicted from the bar before; (N, P) x 2."""
        bar = self.config.steps_per_bar
        n_bars = roll.shape[1] // bar
        if n_bars < 2:
            empty = roll.new_zeros(0, roll.shape[-1])
            return empty, empty
        bars = roll[0, : n_bars * bar].reshape(n_bars, bar, -1)
        logits, target = self._pair_logits(torch.cat([bars[:-1], bars[1:]], dim=1))
        return logits.reshape(-1, logits.shape[-1]), target.reshape(-1, target.shape[-1])

    @torch.no_grad()
    def generate(self, primer: np.ndarray, n_steps: int, n_variations: int, options: SamplingOptions,
                 generator: torch.Generator) -> Iterator[float | np.ndarray]:
        """primer (T0, P) -> yields progress, then (n_variations, T0 + n_steps, P) uint8.

        The last S frames of the primer (silence-padded) condition the first new bar.
        """
        device = next(self.parameters()).device
        bar = self.config.steps_per_bar
        fit = fit_to_primer(primer, n_steps, options, self.info["pitch_range"],
                            self.steps_per_beat, device, n_variations)
        seed = torch.as_tensor(np.asarray(primer, dtype=np.float32).reshape(-1, self.n_pitches), device=device)
        current = torch.zeros(n_variations, bar, self.n_pitches, device=device)
        if len(seed):
            tail = seed[-bar:]
            current[:, bar - len(tail):] = tail
        n_bars = -(-n_steps // bar)
        stepper = LSTMStepper(self.lstm)
        bars = []
        for index in range(n_bars):
            features, state = self(current)  # read the previous bar from a fresh state
            hold = None if fit.hold is None else (fit.hold + [False] * bar)[index * bar:(index + 1) * bar]
            for item in sample_sequence(stepper, self.head, features[:, -1], state, bar, options, generator,
                                        replace(fit, hold=hold), report_every=bar + 1,
                                        previous=current[:, -1]):
                if not isinstance(item, float):
                    current = item
            bars.append(current)
            yield (index + 1) / n_bars
        frames = torch.cat(bars, dim=1)[:, :n_steps]
        primer_part = np.broadcast_to(np.asarray(primer, dtype=np.uint8).reshape(-1, self.n_pitches),
                                      (n_variations, len(primer), self.n_pitches))
        yield np.concatenate([primer_part, frames.to("cpu").numpy().astype(np.uint8)], axis=1)
