"""``pianoroll_lstm``: paper 000's stacked LSTM over a multi-hot piano roll.

Input and output are frames of the piano roll over the model's pitch range P: sixteenth notes
tied to the beat by default (preset ``2x256-beat``), or 16 frames a second as in the paper (its
presets ``2x256``, ``3x1024``, ``3x1024-dense``). Each position predicts the next frame through independent sigmoids (binary
cross-entropy), trained on windows of ``seq_len`` frames. Generation feeds the primer through the
network, then samples one frame at a time with the LSTM state carried along.

The paper's models fell silent or looped; ours are trained with transposition augmentation,
validation-based early stopping and Bernoulli sampling with temperature, and the shipped models
are checked for silence and stuck chords (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .base import SamplingOptions, TrainConfig
from .output_heads import HeadSettings, make_head
from .pianoroll_common import (
    LSTMStepper,
    PianoRollModel,
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
    dropout: float = 0.2
    #: Hidden fully connected layers between the LSTM and the output layer.
    dense_layers: int = 0
    dense_size: int = 256
    #: Frames per second of the roll (paper 000: 16); None to use steps_per_beat.
    fps: float | None = 16.0
    steps_per_beat: int | None = None


_PAPER = Config(seq_len=32, batch_size=64, epochs=100, patience=5)
PRESETS = {
    # The paper's 2x256 network on a sixteenth-note grid tied to the beat (the default): notes
    # land on the primer's beats at any tempo; 64 steps are four 4/4 bars of context.
    # Its length and batch size follow the data (schedule "auto"); the paper presets' are fixed.
    "2x256-beat": replace(_PAPER, hidden=256, layers=2, dropout=0.2, fps=None, steps_per_beat=4, seq_len=64,
                          schedule="auto"),
    # The same with the NADE output head: the notes of a frame predicted together (chords).
    "2x256-beat-nade": replace(_PAPER, hidden=256, layers=2, dropout=0.2, fps=None, steps_per_beat=4, seq_len=64,
                               schedule="auto", head="nade"),
    "2x256": replace(_PAPER, hidden=256, layers=2, dropout=0.2),
    "3x1024": replace(_PAPER, hidden=1024, layers=3, dropout=0.4),
    "3x1024-dense": replace(_PAPER, hidden=1024, layers=3, dropout=0.4, dense_layers=1, dense_size=1024),
    "tiny": Config(hidden=16, layers=1, dropout=0.0, seq_len=16, batch_size=8, epochs=2, patience=2,
                   steps_per_epoch=4),
}


class Model(PianoRollModel):
    family = "pianoroll_lstm"

    def __init__(self, config: Config, info: dict):
        super().__init__(config, info)
        lo, hi = info["pitch_range"]
        self.n_pitches = hi - lo
        self.lstm = nn.LSTM(self.n_pitches, config.hidden, config.layers, batch_first=True,
                            dropout=config.dropout if config.layers > 1 else 0.0)
        dense: list[nn.Module] = []
        width = config.hidden
        for _ in range(config.dense_layers):
            dense += [nn.Linear(width, config.dense_size), nn.ReLU(), nn.Dropout(config.dropout)]
            width = config.dense_size
        self.head = make_head(config, config.hidden, self.n_pitches, dense)
        self._init_biases(info.get("pitch_rates"))

    def _init_biases(self, rates) -> None:
        """Start where an LSTM on piano rolls otherwise spends dozens of epochs getting to: each
        output at its pitch's log-odds in the data, forget gates open (bias 1)."""
        with torch.no_grad():
            if rates is not None:
                p = torch.as_tensor(rates, dtype=torch.float32).clamp(1e-4, 1 - 1e-4)
                self.head.output_bias.copy_(torch.log(p) - torch.log1p(-p))
            size = self.config.hidden
            for k in range(self.config.layers):
                getattr(self.lstm, f"bias_ih_l{k}")[size:2 * size].fill_(1.0)
                getattr(self.lstm, f"bias_hh_l{k}")[size:2 * size].fill_(0.0)

    # ------------------------------------------------------------------------------- data
    # ---------------------------------------------------------------------------- network
    def forward(self, frames: torch.Tensor, state=None):
        """frames (B, T, P) -> the head's features (B, T, H) for the frame after each position,
        new state."""
        return self.lstm(frames, state)

    def loss(self, batch: torch.Tensor, metrics: bool = True):
        """``batch``: (B, T + 1, P) windows; each of the first T frames predicts the next."""
        frames, real = split_padding(batch)
        features, _ = self(frames[:, :-1])
        target, real = frames[:, 1:], real[:, 1:]
        logits = self.head.logits(features, target)
        return masked_bce(logits, target, real), frame_metrics(logits, target, real) if metrics else {}

    def frame_predictions(self, roll: torch.Tensor):
        """Logits for frames 1..T-1 of a piece (1, T, P), each from the frames before (and,
        with the NADE head, the frame's lower pitches); (T-1, P) x 2."""
        features, _ = self(roll[:, :-1])
        return self.head.logits(features, roll[:, 1:])[0], roll[0, 1:]

    # ------------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(self, primer: np.ndarray, n_steps: int, n_variations: int, options: SamplingOptions,
                 generator: torch.Generator) -> Iterator[float | np.ndarray]:
        """primer (T0, P) float/bool -> yields progress, then (n_variations, T0 + n_steps, P) uint8."""
        device = next(self.parameters()).device
        fit = fit_to_primer(primer, n_steps, options, self.info["pitch_range"],
                            self.steps_per_beat, device, n_variations)
        if len(primer):
            seed = torch.as_tensor(np.asarray(primer, dtype=np.float32), device=device)
            features, state = self(seed.expand(n_variations, -1, -1))
        else:  # from silence: one frame of nothing starts the sequence
            features, state = self(torch.zeros(n_variations, 1, self.n_pitches, device=device))
        frames = None
        previous = torch.as_tensor(np.asarray(primer[-1:], dtype=np.float32), device=device).expand(
            n_variations, -1) if len(primer) else None
        for item in sample_sequence(LSTMStepper(self.lstm), self.head, features[:, -1], state, n_steps,
                                    options, generator, fit, previous=previous):
            if isinstance(item, float):
                yield item
            else:
                frames = item
        primer_part = np.broadcast_to(np.asarray(primer, dtype=np.uint8), (n_variations, len(primer), self.n_pitches))
        yield np.concatenate([primer_part, frames.to("cpu").numpy().astype(np.uint8)], axis=1)
