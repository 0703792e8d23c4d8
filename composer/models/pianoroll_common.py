"""Pieces shared by the piano-roll families: pitch cropping, training windows, frame sampling.

Rolls arrive from the data layer as (T, 128) uint8 arrays; a model works on the ``P = hi - lo``
pitches of its ``pitch_range`` (cropped to what its training data uses, as paper 002 does).
"""

from __future__ import annotations

import numpy as np
import torch

from composer.data.augment import transposition_range
from composer.data.dataset import EncodedSet
from composer.representations.pianoroll import crop_range

from .base import SamplingOptions


def data_pitch_range(data: EncodedSet, margin_octaves: bool = True) -> tuple[int, int]:
    """The pitches the data uses, widened to whole octaves so transpositions and primers fit."""
    lo, hi = data.pitch_span()
    if hi <= lo:
        return (0, 128)
    return crop_range(lo, hi) if margin_octaves else (lo, hi)


def crop(roll: np.ndarray, pitch_range) -> np.ndarray:
    """(T, 128) -> (T, hi - lo)."""
    lo, hi = pitch_range
    return roll[:, lo:hi]


class RollWindows(torch.utils.data.Dataset):
    """Windows of ``length`` frames from cropped rolls, as float32 tensors of shape (length, P).

    Training draws each window at a random position (a multiple of ``align``, weighted by piece
    length) with an optional
    random transposition that keeps every note in range; validation walks fixed, non-overlapping
    windows so its loss is comparable between epochs. Pieces shorter than a window are padded
    with silence at the start (music starts after silence anyway).
    """

    def __init__(self, pieces: list[np.ndarray], pitch_range, length: int, training: bool,
                 augment: bool, seed: int = 0, step: int | None = None, align: int = 1):
        self.length = length
        self.align = align
        self.training = training
        self.augment = augment
        self.pitch_range = tuple(pitch_range)
        width = pitch_range[1] - pitch_range[0]
        self.pieces = []
        self.shifts = []
        for roll in pieces:
            if len(roll) < 2:
                continue
            if len(roll) < length:
                roll = np.concatenate([np.zeros((length - len(roll), roll.shape[1]), roll.dtype), roll])
            self.pieces.append(np.ascontiguousarray(roll))
            shifts = transposition_range(roll, self.pitch_range) if augment else range(0, 1)
            # The window is cut at [lo - shift, hi - shift) of the 128 pitches: keep it in bounds.
            lo, hi = self.pitch_range
            self.shifts.append([s for s in shifts if lo - s >= 0 and hi - s <= roll.shape[1]] or [0])
        if not self.pieces:
            raise ValueError("no piece is long enough to train on")
        starts = [len(p) - length + 1 for p in self.pieces]
        self.weights = np.array(starts, dtype=np.float64) / sum(starts)
        stride = step or length
        self.fixed = [(i, s) for i, p in enumerate(self.pieces) for s in range(0, len(p) - length + 1, stride)]
        self.width = width
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.fixed)

    def __getitem__(self, index: int) -> torch.Tensor:
        lo, hi = self.pitch_range
        if self.training:
            piece = int(self.rng.choice(len(self.pieces), p=self.weights))
            starts = (len(self.pieces[piece]) - self.length) // self.align + 1
            start = int(self.rng.integers(0, starts)) * self.align
            shifts = self.shifts[piece]
            shift = shifts[int(self.rng.integers(len(shifts)))]
        else:
            piece, start = self.fixed[index]
            shift = 0
        window = self.pieces[piece][start:start + self.length, lo - shift:hi - shift]
        return torch.from_numpy(window.astype(np.float32))


def allowed_pitch_mask(options: SamplingOptions, pitch_range, device) -> torch.Tensor | None:
    """Boolean mask of shape (P,) of pitches the sampling options allow, or None for all."""
    lo, hi = pitch_range
    pitches = torch.arange(lo, hi, device=device)
    mask = torch.ones(hi - lo, dtype=torch.bool, device=device)
    if options.pitch_range is not None:
        mask &= (pitches >= options.pitch_range[0]) & (pitches < options.pitch_range[1])
    if options.pitch_classes is not None:
        allowed = torch.tensor(sorted(options.pitch_classes), device=device)
        mask &= torch.isin(pitches % 12, allowed)
    return None if bool(mask.all()) else mask


def sample_frames(logits: torch.Tensor, options: SamplingOptions, mask: torch.Tensor | None,
                  generator: torch.Generator) -> torch.Tensor:
    """Multi-hot frames from logits of shape (B, P): Bernoulli or threshold, with temperature.

    Returns float32 0/1 of shape (B, P).
    """
    probs = torch.sigmoid(logits / max(options.temperature, 1e-3))
    if mask is not None:
        probs = probs * mask
    if options.mode == "threshold":
        return (probs >= options.threshold).float()
    return torch.bernoulli(probs, generator=generator)


def nll_per_frame(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over pitches, one value per frame: shape (B, T)."""
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)


def hamming_accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Paper 002's metric, mean over frames of (1/N) * sum(|y| - |y - round(p)|) = (TP - FP) / N."""
    predicted = (logits > 0).float()
    return (target.abs() - (target - predicted).abs()).mean()
