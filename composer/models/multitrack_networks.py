"""The networks of the multitrack VAE (paper 004) and its training examples: one convolutional
VAE per instrument slot over (steps, 128) bars, MelodyNN stepping the lead's latent, one
ConditionalNN per other slot, and pairs of consecutive bars (composer.models.multitrack_vae puts
them together)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from composer.core.errors import ComposerError
from composer.representations.multitrack import N_PITCHES

from .base import TrainingExamples


class BarVAE(nn.Module):
    """Paper 004's convolutional VAE of one (steps, 128) bar: convolutions 1->c1 (4x4 stride 4),
    c1->c2 (4x4 stride 4), c2->c3 (steps/16 x 8, same stride), a linear layer to the latent; the
    decoder mirrors it with transposed convolutions and returns logits."""

    def __init__(self, steps: int, latent: int, channels):
        super().__init__()
        if steps % 16:
            raise ComposerError(f"steps_per_bar must be a multiple of 16 for this VAE, not {steps}")
        c1, c2, c3 = channels
        last = (steps // 16, N_PITCHES // 16)
        self.c3 = c3
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=4), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=4), nn.ReLU(),
            nn.Conv2d(c2, c3, last, stride=last), nn.ReLU(), nn.Flatten())
        self.to_latent = nn.Linear(c3, 2 * latent)
        self.from_latent = nn.Sequential(nn.Linear(latent, c3), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(c3, c2, last, stride=last), nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, 4, stride=4), nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 4, stride=4))

    def encode(self, bars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """bars (B, steps, 128) -> mean and log-variance (B, K)."""
        mu, logvar = self.to_latent(self.encoder(bars.unsqueeze(1))).chunk(2, dim=-1)
        return mu, logvar.clamp(-20, 10)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, K) -> logits (B, steps, 128)."""
        return self.decoder(self.from_latent(z)[:, :, None, None]).squeeze(1)


class MelodyNN(nn.Module):
    """K -> hidden -> hidden -> K with dropout: the lead's next latent."""

    def __init__(self, latent: int, hidden: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, latent))

    def forward(self, z):
        return self.net(z)


class ConditionalNN(nn.Module):
    """2K -> hidden -> K: a slot's next latent from its previous one and the lead's next one."""

    def __init__(self, latent: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * latent, hidden), nn.ReLU(), nn.Linear(hidden, latent))

    def forward(self, previous, lead_next):
        return self.net(torch.cat([previous, lead_next], dim=-1))


class BarPairs(TrainingExamples):
    """Pairs of consecutive bars of every slot, float32 (2, slots, steps, 128).

    Training draws pairs at random (``sample_batch``); validation walks every pair in order."""

    def __init__(self, pieces: list[np.ndarray], seed: int = 0):
        self.pieces = [p for p in pieces if len(p) >= 2]
        if not self.pieces:
            raise ValueError("no piece has two bars")
        self.fixed = [(i, b) for i, p in enumerate(self.pieces) for b in range(len(p) - 1)]
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.fixed)

    def __getitem__(self, index: int) -> torch.Tensor:
        piece, bar = self.fixed[index]
        return torch.from_numpy(self.pieces[piece][bar:bar + 2].astype(np.float32))

    def sample_batch(self, size: int) -> torch.Tensor:
        rows = self.rng.integers(0, len(self.fixed), size=size)
        return torch.stack([self[int(i)] for i in rows])
