"""An ``nn.LSTM`` with recurrent dropout, keeping PyTorch's fused LSTM kernel.

Keras' ``recurrent_dropout`` (paper 001: 0.3) drops units of the previous hidden state h(t-1)
where it enters the recurrent transform, with one mask per sequence for all its time steps
(variational dropout, Gal and Ghahramani 2016). PyTorch's ``nn.LSTM`` only drops between layers,
and stepping ``nn.LSTMCell`` in Python to apply a mask inside the recurrence is many times slower.

Masking h(t-1) before ``W_hh @ h(t-1)`` is the same as zeroing the matching *columns* of ``W_hh``.
So during training each forward pass draws one Bernoulli mask over the hidden units per layer,
scales the kept columns of ``W_hh`` by 1 / (1 - p) and runs the fused kernel with those weights
(``torch.func.functional_call``; gradients flow to the real weights). The only difference from
Keras is that the mask is shared by the sequences of a batch instead of drawn per sequence: the
same dropout rate and time-constant mask, with less variety per step (the weight-dropped LSTM of
Merity et al. 2017 makes the same trade). At evaluation the LSTM is the plain one.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call


class RecurrentDropoutLSTM(nn.Module):
    """Batch-first ``nn.LSTM`` (available as ``.lstm``) with recurrent dropout ``recurrent_dropout``.

    Input (B, T, input_size) -> output (B, T, hidden), (h, c) each (layers, B, hidden).
    """

    def __init__(self, input_size: int, hidden: int, layers: int, recurrent_dropout: float = 0.0,
                 dropout: float = 0.0):
        super().__init__()
        if not 0.0 <= recurrent_dropout < 1.0:
            raise ValueError(f"recurrent dropout must be in [0, 1), not {recurrent_dropout}")
        self.lstm = nn.LSTM(input_size, hidden, layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.recurrent_dropout = recurrent_dropout

    def forward(self, x: torch.Tensor, state=None):
        p = self.recurrent_dropout
        if not self.training or p == 0.0:
            return self.lstm(x, state)
        weights = {}
        for k in range(self.lstm.num_layers):
            w = getattr(self.lstm, f"weight_hh_l{k}")
            keep = torch.empty(1, w.shape[1], device=w.device, dtype=w.dtype).bernoulli_(1.0 - p)
            weights[f"weight_hh_l{k}"] = w * (keep / (1.0 - p))
        return functional_call(self.lstm, weights, (x, state))
