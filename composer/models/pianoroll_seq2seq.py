"""``pianoroll_seq2seq``: paper 000's LSTM encoder-decoder with an output sequence of length 1.

The encoder (one LSTM layer of 256) reads the last ``seq_len`` frames; its final state starts
the decoder LSTM, which takes the last frame as input and predicts the next frame through a
sigmoid layer. Generation slides the window one frame at a time, so the model only ever sees
``seq_len`` frames of context (its adapter's ``context_frames``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .base import SamplingOptions, TrainConfig
from .output_heads import HeadSettings, make_head
from .pianoroll_adapter import ContextWindowAdapter
from .pianoroll_common import (
    PianoRollModel,
    draw_frame,
    fit_to_primer,
    frame_metrics,
    hold_frame,
    masked_bce,
    split_padding,
    step_thresholds,
)


@dataclass
class Config(HeadSettings, TrainConfig):
    encoder_hidden: int = 256
    decoder_hidden: int = 256
    dropout: float = 0.2
    fps: float | None = 16.0
    steps_per_beat: int | None = None


PRESETS = {
    # The paper's network on sixteenth notes tied to the beat (the default): at 16 frames a
    # second its notes fall off the beat at any tempo but 120. 32 steps are two 4/4 bars.
    # Its length and batch size follow the data (schedule "auto"); the paper preset's are fixed.
    "256-beat": Config(seq_len=32, batch_size=64, epochs=100, patience=5, fps=None, steps_per_beat=4,
                       schedule="auto"),
    "256-beat-nade": Config(seq_len=32, batch_size=64, epochs=100, patience=5, fps=None, steps_per_beat=4,
                            schedule="auto", head="nade"),
    "256": Config(seq_len=32, batch_size=64, epochs=100, patience=5),
    "tiny": Config(encoder_hidden=16, decoder_hidden=16, dropout=0.0, seq_len=8, batch_size=8,
                   epochs=2, patience=2, steps_per_epoch=4),
}


class Model(PianoRollModel):
    family = "pianoroll_seq2seq"
    adapter_class = ContextWindowAdapter

    def __init__(self, config: Config, info: dict):
        super().__init__(config, info)
        lo, hi = info["pitch_range"]
        self.n_pitches = hi - lo
        self.encoder = nn.LSTM(self.n_pitches, config.encoder_hidden, batch_first=True)
        self.bridge = nn.Linear(config.encoder_hidden, config.decoder_hidden * 2)
        self.decoder = nn.LSTM(self.n_pitches, config.decoder_hidden, batch_first=True)
        self.out = make_head(config, config.decoder_hidden, self.n_pitches)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        """window (B, L, P) -> the head's features (B, H) for the frame after it."""
        _, (h, _) = self.encoder(window)
        h0, c0 = torch.tanh(self.bridge(h[-1])).chunk(2, dim=-1)
        out, _ = self.decoder(window[:, -1:], (h0.unsqueeze(0).contiguous(), c0.unsqueeze(0).contiguous()))
        return out[:, 0]

    def loss(self, batch: torch.Tensor, metrics: bool = True):
        """``batch``: (B, L + 1, P): the first L frames predict the last."""
        frames, real = split_padding(batch)  # padding sits at the start: the target is always real
        target, real = frames[:, -1], real[:, -1]
        logits = self.out.logits(self(frames[:, :-1]), target)
        return masked_bce(logits, target, real), frame_metrics(logits, target, real) if metrics else {}

    def frame_predictions(self, roll: torch.Tensor):
        """Each frame from the ``seq_len`` frames before it (zero-padded at the start)."""
        length = self.config.seq_len
        padded = torch.cat([roll.new_zeros(1, length - 1, roll.shape[-1]), roll], dim=1)
        windows = padded[0, :-1].unfold(0, length, 1).permute(0, 2, 1)  # (T-1, L, P)
        target = roll[0, 1:]
        logits = torch.cat([self.out.logits(self(chunk), goal)
                            for chunk, goal in zip(windows.split(256), target.split(256))])
        return logits, target

    @torch.no_grad()
    def generate(self, primer: np.ndarray, n_steps: int, n_variations: int, options: SamplingOptions,
                 generator: torch.Generator) -> Iterator[float | np.ndarray]:
        """primer (T0, P) -> yields progress, then (n_variations, T0 + n_steps, P) uint8."""
        device = next(self.parameters()).device
        length = self.config.seq_len
        fit = fit_to_primer(primer, n_steps, options, self.info["pitch_range"],
                            self.steps_per_beat, device, n_variations)
        seed = torch.as_tensor(np.asarray(primer, dtype=np.float32).reshape(-1, self.n_pitches), device=device)
        seed = seed[-length:]
        window = torch.zeros(n_variations, length, self.n_pitches, device=device)
        if len(seed):
            window[:, -len(seed):] = seed
        frames = torch.zeros(n_variations, n_steps, self.n_pitches, device=device)
        thresholds = step_thresholds(options, (n_steps, n_variations, self.n_pitches), fit.mask, generator, device)
        report_every = max(n_steps // 20, 1)
        for step in range(n_steps):
            last = window[:, -1]
            if fit.hold is not None and fit.hold[step]:  # off the primer's grid: hold the frame
                frame = hold_frame(fit, last)
            else:
                frame = draw_frame(self.out, self(window), thresholds[step], fit, last)
            frames[:, step] = frame
            window = torch.cat([window[:, 1:], frame.unsqueeze(1)], dim=1)
            if step % report_every == 0:
                yield step / n_steps
        primer_part = np.broadcast_to(np.asarray(primer, dtype=np.uint8).reshape(-1, self.n_pitches),
                                      (n_variations, len(primer), self.n_pitches))
        yield np.concatenate([primer_part, frames.to("cpu").numpy().astype(np.uint8)], axis=1)

