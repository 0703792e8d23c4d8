"""Density steering: lean sampling toward a number of notes per beat.

While sampling, :class:`DensitySteer` keeps each variation's count of the notes it started and
the beats it covered. Where a variation is behind the target (fewer notes than ``rate x
beats``), choices that start notes get a logit bonus in proportion to how far behind it is;
ahead, a penalty: a feedback loop, so the result lands near the target whatever the model's
own density, without changing which notes the model prefers among the ones it could start.
"""

from __future__ import annotations

import torch

#: Logits per note of lag; the lean is capped at :data:`MAX_LEAN` either way.
GAIN = 2.0
MAX_LEAN = 8.0


class DensitySteer:
    """Running counts of ``batch`` variations aiming at ``rate`` notes per beat."""

    def __init__(self, rate: float, batch: int, device):
        self.rate = float(rate)
        self.notes = torch.zeros(batch, device=device)
        self.beats = torch.zeros(batch, device=device)
        #: Nothing counted yet: the next choice is the first of the new music, where a note
        #: held from the primer counts as a new note (the new part starts with it).
        self.fresh = True

    def lean(self, next_beats: float | torch.Tensor = 0.0) -> torch.Tensor:
        """The logit lean (B, 1): positive while behind the target at ``next_beats`` beats on
        (a frame's length: what the next choice must keep up with), negative while ahead."""
        behind = self.rate * (self.beats + next_beats) - self.notes
        return (GAIN * behind).clamp(-MAX_LEAN, MAX_LEAN)[:, None]

    def room(self, next_beats: float | torch.Tensor = 0.0) -> torch.Tensor:
        """How many notes each variation may start now (B,) int64: its lag rounded up, at
        least one, so a chord does not overshoot a sparse target by all its notes at once."""
        behind = self.rate * (self.beats + next_beats) - self.notes
        return behind.ceil().clamp(min=1).long()

    def update(self, notes: torch.Tensor, beats: float | torch.Tensor) -> None:
        """Count ``notes`` (B,) started and ``beats`` covered by the last choice."""
        self.notes += notes.float()
        self.beats += beats
        self.fresh = False
