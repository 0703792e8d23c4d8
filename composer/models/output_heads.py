"""Output heads of the piano-roll families: from the network's features to the next frame.

Two heads share one interface, so a family picks one by its ``head`` setting:

- :class:`IndependentHead` (``head="independent"``, the papers'): one sigmoid per pitch, each
  pitch of a frame sampled without regard to the others.
- :class:`NadeHead` (``head="nade"``, Boulanger-Lewandowski et al. 2012's RNN-NADE output): a
  NADE over the frame's pitches, low to high, whose biases come from the features, so each
  pitch is predicted knowing which pitches below it sound. Chords are sampled as chords.

Both give, for a frame ``target`` (..., P) and the features before it (..., F), the logit of each
pitch given the pitches below it (:meth:`logits`; for the independent head the pitches below do
not matter). Binary cross-entropy on those logits, summed over pitches, is the exact negative
log-likelihood of the frame for either head, so the losses, ``composer eval`` and the infill
scoring read both alike.

Sampling (:meth:`draw`) compares logits with thresholds drawn before (``logit / T > logit(u)``,
Bernoulli sampling at temperature T; an infinite threshold forbids a pitch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from composer.core.errors import ComposerError

HEADS = ("independent", "nade")


@dataclass
class HeadSettings:
    """The output-head fields of a piano-roll family's Config (a mixin)."""

    #: "independent" (the papers' sigmoids) or "nade" (notes that sound together: RNN-NADE).
    head: str = "independent"
    #: Hidden units of the NADE head (Boulanger-Lewandowski et al. used 150).
    head_hidden: int = 150


def make_head(config: HeadSettings, features: int, n_pitches: int, hidden_layers=()) -> nn.Module:
    """The head ``config.head`` names on ``features`` inputs; ``hidden_layers`` are the Linear
    +ReLU(+Dropout) layers between the features and the output, as modules (after dropout)."""
    dropout = getattr(config, "dropout", 0.0)
    if config.head == "independent":
        return IndependentHead(nn.Dropout(dropout), *hidden_layers, nn.Linear(_width(features, hidden_layers), n_pitches))
    if config.head == "nade":
        if not 1 <= config.head_hidden <= 4096:
            raise ComposerError(f"head_hidden must be between 1 and 4096, not {config.head_hidden}")
        return NadeHead(nn.Sequential(nn.Dropout(dropout), *hidden_layers), _width(features, hidden_layers),
                        n_pitches, config.head_hidden)
    raise ComposerError(f"head must be one of {', '.join(HEADS)}, not {config.head!r}")


def _width(features: int, hidden_layers) -> int:
    linears = [m for m in hidden_layers if isinstance(m, nn.Linear)]
    return linears[-1].out_features if linears else features


class IndependentHead(nn.Sequential):
    """Dropout, optional hidden layers, and one logit per pitch. A Sequential, so checkpoints
    written before heads were selectable (``head.0``, ``head.1.weight``, ...) load unchanged."""

    def __init__(self, *layers: nn.Module):
        super().__init__(*layers)
        self._linears = tuple(m for m in layers if isinstance(m, nn.Linear))  # (a tuple: not registered twice)

    def logits(self, features: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """features (..., F) -> logits (..., P); ``target`` is not needed (pitches are independent)."""
        return self(features)

    @property
    def output_bias(self) -> torch.Tensor:
        """The bias of each pitch's logit (P,), which training starts at the data's log-odds."""
        return self[-1].bias

    def draw(self, features: torch.Tensor, thresholds: torch.Tensor,
             lean: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One frame per row: features (B, F), thresholds (B, P), ``lean`` (B, P) added to the
        logits (density steering) -> (frame (B, P) 0/1 float, logits (B, P)). Inference only:
        the Linear layers run as plain functions, without module-call overhead."""
        x = features
        for n, linear in enumerate(self._linears):
            x = torch.nn.functional.linear(x, linear.weight, linear.bias)
            if n < len(self._linears) - 1:
                x = x.relu_()
        if lean is not None:
            x = x + lean
        return (x > thresholds).float(), x


class NadeHead(nn.Module):
    """A NADE over the P pitches of a frame, low to high, its biases set by the features.

    With ``a_i = c + sum_{j<i} W[:, j] v_j`` (c (H,) from the features), pitch i sounds with
    probability ``sigmoid(b_i + V[i] . sigmoid(a_i))`` (b (P,) from the features).
    """

    def __init__(self, trunk: nn.Module, width: int, n_pitches: int, hidden: int):
        super().__init__()
        self.trunk = trunk
        self._trunk_linears = tuple(m for m in trunk.modules() if isinstance(m, nn.Linear))
        self.visible = nn.Linear(width, n_pitches)
        self.hidden_bias = nn.Linear(width, hidden)
        # Small weights: training starts near the independent head (the visible biases).
        self.W = nn.Parameter(torch.randn(hidden, n_pitches) * 0.01)
        self.V = nn.Parameter(torch.randn(n_pitches, hidden) * 0.01)

    @property
    def output_bias(self) -> torch.Tensor:
        return self.visible.bias

    def logits(self, features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """features (..., F), target frames (..., P) 0/1 -> the logit of each pitch of the
        target given the target's pitches below it (..., P): teacher forcing over pitches, all
        at once. (A matrix product with the pitches below each pitch runs twice as fast here as
        a cumulative sum over pitches.)"""
        x = self.trunk(features)
        width = target.shape[-1]
        below = target.unsqueeze(-2) * torch.ones(width, width, device=target.device).tril(-1)  # (..., P, P)
        a = torch.matmul(below, self.W.t()) + self.hidden_bias(x).unsqueeze(-2)  # (..., P, H)
        return self.visible(x) + torch.einsum("...ph,ph->...p", torch.sigmoid(a), self.V)

    def draw(self, features: torch.Tensor, thresholds: torch.Tensor,
             lean: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample one frame per row, low to high (as :meth:`IndependentHead.draw`); the logits
        returned are, for the pitches that sound, each one's given the pitches below it (what
        the voice limit and the density steering rank them by); 0 for the others.

        Pitches are decided in runs: until a pitch sounds, the NADE's hidden state does not
        change, so the logits of every pitch above the last sounding one come from one matrix
        product, and the first of them over its threshold is the next note. A frame of k notes
        takes k + 1 passes, not P. Inference only (plain functions, no module-call overhead)."""
        x = features
        for linear in self._trunk_linears:  # (each followed by a ReLU; dropout is off at inference)
            x = torch.nn.functional.linear(x, linear.weight, linear.bias).relu_()
        b = torch.nn.functional.linear(x, self.visible.weight, self.visible.bias)
        if lean is not None:
            b = b + lean
        a = torch.nn.functional.linear(x, self.hidden_bias.weight, self.hidden_bias.bias)
        rows, width = b.shape
        columns = torch.arange(width, device=b.device)
        # One spare column past the pitches takes the writes of rows that found no note.
        frame = b.new_zeros(rows, width + 1)
        chosen_logits = b.new_zeros(rows, width + 1)
        w, v = self.W.t(), self.V.t()  # (P, H), (H, P)
        for _ in range(width + 1):
            logits = torch.addmm(b, torch.sigmoid(a), v)
            hits = logits > thresholds
            first = hits.to(torch.uint8).argmax(dim=1, keepdim=True)  # (0 where none)
            found = hits.gather(1, first)
            if not bool(found.any()):
                break
            target = torch.where(found, first, width)
            frame.scatter_(1, target, 1.0)
            chosen_logits.scatter_(1, target, logits.gather(1, first))
            # decided: every pitch up to the note (all, where none): none of them can sound now
            thresholds = torch.where(columns <= target, math.inf, thresholds)
            a = a + found * w[first.squeeze(1)]
        return frame[:, :width], chosen_logits[:, :width]
