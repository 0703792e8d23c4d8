"""What the token families' networks share: id windows for training, next-token sampling with
temperature, top-p and a repetition guard, a fast step-by-step LSTM runner, :class:`TokenModel`
(the LSTM over ids; its adapter, :mod:`composer.models.token_adapter`, turns primers into ids and
ids into notes), and what sampling keeps from the primer (:func:`token_fit`: its grid, chord size and register,
as soft bans that never leave nothing to sample, :func:`with_fallback`).

Shapes: a piece is a 1-D int64 array of token ids; a batch of windows is (B, L + 1) int64 where
:data:`PAD` (-1) fills the start of windows cut from pieces shorter than L + 1 (never a target).
"""

from __future__ import annotations

import copy
import math
import warnings
from abc import abstractmethod
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from composer.core.errors import ComposerError
from composer.core.notes import make_notes
from composer.representations.continuation import GRID_COVER, primer_grid

from .base import FamilyModel, SamplingOptions, TrainingExamples
from .steering import DensitySteer
from .pianoroll_common import MIN_GRID_ONSETS, register_margin

PAD = -1
#: Ids that :meth:`TokenModel.log_likelihood` reads of each piece, the scored ones included.
SCORING_CONTEXT = 256
#: Top-p looks at this many most likely tokens first, then more (all when these hold too
#: little): on (4, 27,475) probabilities, topk(256) took 0.7 ms, topk(2048) 1.6 ms, a sort 9.4 ms.
TOP_P_CANDIDATES = (256, 2048)


# ----------------------------------------------------------------------------- training windows


class TokenWindows(TrainingExamples):
    """Windows of ``length`` ids from id pieces; (length,) int64 tensors.

    Training draws each window at a random position (paper 003; weighted by piece length) with
    ``align`` keeping windows on token boundaries that matter (timed chords: a chord first);
    validation walks fixed, non-overlapping windows so its loss is comparable between epochs.
    Pieces shorter than a window are padded at the start with :data:`PAD`.
    """

    def __init__(self, pieces: list[np.ndarray], length: int, training: bool, seed: int = 0,
                 align: int = 1, transpose=None):
        self.length = length
        self.align = align
        self.training = training
        #: Optional ``transpose(ids, rng) -> ids`` for augmentation (training only).
        self.transpose = transpose
        self.pieces = []
        for ids in pieces:
            ids = np.asarray(ids, dtype=np.int64)
            if len(ids) < 2:
                continue
            if len(ids) < length:
                ids = np.concatenate([np.full(length - len(ids), PAD, dtype=np.int64), ids])
            self.pieces.append(ids)
        if not self.pieces:
            raise ValueError("no piece has two tokens to train on")
        starts = np.array([(len(p) - length) // align + 1 for p in self.pieces], dtype=np.float64)
        self.weights = starts / starts.sum()
        self.fixed = [(i, s) for i, p in enumerate(self.pieces) for s in range(0, len(p) - length + 1, length)]
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.fixed)

    def _random_window(self) -> np.ndarray:
        piece = self.pieces[int(self.rng.choice(len(self.pieces), p=self.weights))]
        start = int(self.rng.integers(0, (len(piece) - self.length) // self.align + 1)) * self.align
        window = piece[start:start + self.length]
        return self.transpose(window, self.rng) if self.transpose is not None else window

    def sample_batch(self, size: int) -> torch.Tensor:
        """``size`` random training windows at once, int64 of shape (size, length)."""
        choices = self.rng.choice(len(self.pieces), size=size, p=self.weights)
        out = np.empty((size, self.length), dtype=np.int64)
        for row, index in enumerate(choices.tolist()):
            piece = self.pieces[index]
            start = int(self.rng.integers(0, (len(piece) - self.length) // self.align + 1)) * self.align
            window = piece[start:start + self.length]
            out[row] = self.transpose(window, self.rng) if self.transpose is not None else window
        return torch.from_numpy(out)

    def __getitem__(self, index: int) -> torch.Tensor:
        if self.training:
            return torch.from_numpy(np.ascontiguousarray(self._random_window()))
        piece, start = self.fixed[index]
        return torch.from_numpy(self.pieces[piece][start:start + self.length].copy())


# ----------------------------------------------------------------------------- sampling


def _no_int8_kernels() -> bool:
    """True when this torch build has no int8 kernels for the CPU."""
    return torch.backends.quantized.engine in (None, "none")


def sample_next(logits: torch.Tensor, temperature: float, top_p: float, banned: torch.Tensor | None,
                generator: torch.Generator) -> torch.Tensor:
    """One token per row from logits (B, V): banned tokens (B, V) bool removed, temperature,
    then the smallest set of most likely tokens whose probability reaches ``top_p``.
    Returns int64 (B,). A row with every token banned samples from all of them."""
    logits = logits.float() / max(temperature, 1e-3)
    if banned is not None:
        banned = banned & ~banned.all(dim=1, keepdim=True)
        logits = logits.masked_fill(banned, -math.inf)
    probs = torch.softmax(logits, dim=-1)
    if top_p >= 1.0:
        return _draw(probs, generator)
    # The nucleus almost always lies among the few hundred most likely tokens: sorting only
    # those (topk) instead of a vocabulary of tens of thousands saves most of a step's time.
    for k in TOP_P_CANDIDATES:
        top, order = probs.topk(min(k, probs.shape[-1]), dim=-1)
        if k >= probs.shape[-1] or bool((top.sum(-1) >= top_p).all()):
            break
    else:  # a flat distribution (an untrained model): sort everything
        top, order = probs.sort(dim=-1, descending=True)
    before = top.cumsum(dim=-1) - top  # mass of the more likely tokens
    top = top.masked_fill(before >= top_p, 0.0)
    return order.gather(1, _draw(top, generator)[:, None]).squeeze(1)


def _draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One index per row of ``probs`` (B, V), by inverse CDF (several times faster than
    ``torch.multinomial`` over a large vocabulary). Returns int64 (B,)."""
    cdf = probs.cumsum(dim=-1)
    u = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device) * cdf[:, -1:]
    index = torch.searchsorted(cdf, u, right=True).squeeze(1)
    return index.clamp_(max=probs.shape[-1] - 1)


# ----------------------------------------------------------------------------- step runner


class TokenStepper:
    """Runs a trained ``nn.LSTM`` one token at a time through ``nn.LSTMCell`` views of its
    weights (one fused call per layer and step). Inference only."""

    def __init__(self, lstm: nn.LSTM, embed, head):
        self.embed = embed
        self.head = head
        self.cells = []
        for k in range(lstm.num_layers):
            cell = nn.LSTMCell(lstm.input_size if k == 0 else lstm.hidden_size, lstm.hidden_size,
                               device=lstm.weight_ih_l0.device)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                setattr(cell, name, getattr(lstm, f"{name}_l{k}"))
            self.cells.append(cell)

    def step(self, tokens: torch.Tensor, h: list, c: list) -> torch.Tensor:
        """tokens (B,) -> logits (B, V); ``h`` and ``c`` (per layer (B, H)) updated in place."""
        x = self.embed(tokens[:, None])[:, 0]
        for k, cell in enumerate(self.cells):
            h[k], c[k] = cell(x, (h[k], c[k]))
            x = h[k]
        return self.head(x)


# ----------------------------------------------------------------------------- the base model


class TokenModel(FamilyModel):
    """Base of the token families' networks. Subclasses name a
    :class:`~composer.models.token_adapter.TokenAdapter` (whose vocabulary is ``self.vocab``),
    build ``self.lstm`` (an ``nn.LSTM``) and implement ``embed``, ``head`` and ``make_guard``."""

    evaluated_by = "tokens"

    def __init__(self, config, info: dict):
        super().__init__(config, info)
        self.vocab = self.adapter.vocab

    # ------------------------------------------------------------------------- network
    @abstractmethod
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T), PAD allowed -> inputs (B, T, input_size)."""

    @abstractmethod
    def head(self, h: torch.Tensor) -> torch.Tensor:
        """LSTM outputs (N, H) -> logits (N, V)."""

    def recurrent(self):
        """The module that runs the sequence (``nn.LSTM`` or a dropout wrapper around one)."""
        return self.lstm

    def forward(self, ids: torch.Tensor, state=None):
        """ids (B, T) -> logits (B, T, V) of the next token at each position, new state."""
        out, state = self.recurrent()(self.embed(ids), state)
        b, t, h = out.shape
        return self.head(out.reshape(b * t, h)).reshape(b, t, -1), state

    def loss(self, batch: torch.Tensor, metrics: bool = True):
        """``batch``: (B, L + 1) ids; each of the first L predicts the next. Cross-entropy over
        the real targets; metrics: next-token accuracy and perplexity."""
        logits, _ = self(batch[:, :-1])
        target = batch[:, 1:].reshape(-1)
        flat = logits.reshape(-1, logits.shape[-1])
        loss = nn.functional.cross_entropy(flat, target, ignore_index=PAD)
        if not metrics:
            return loss, {}
        with torch.no_grad():
            real = target != PAD
            correct = (flat.argmax(-1) == target) & real
            accuracy = float(correct.sum() / real.sum().clamp(min=1))
        return loss, {"accuracy": accuracy, "perplexity": float(torch.exp(loss.detach()))}

    @torch.no_grad()
    def sequence_predictions(self, ids: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """For evaluation: (logits (N-1, V), targets (N-1,)) of a whole piece's ids (N,), each
        token predicted from every token before it (the LSTM state runs through the piece)."""
        device = next(self.parameters()).device
        x = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=device)[None]
        logits, _ = self(x[:, :-1])
        return logits[0], x[0, 1:]

    @torch.no_grad()
    def log_likelihood(self, inputs: list[np.ndarray], following: list[int]) -> np.ndarray:
        """Sum over the last ``following[k]`` ids of piece k (T_k,) of the log-probability of
        each id given the ids before it. The pieces are cut to their common length (at most
        :data:`SCORING_CONTEXT` ids) and run as one batch: one pass instead of K."""
        out = np.zeros(len(inputs))
        length = min([len(ids) for ids in inputs] + [SCORING_CONTEXT])
        if length < 2:
            return out
        device = next(self.parameters()).device
        batch = torch.as_tensor(np.stack([np.asarray(ids[-length:], dtype=np.int64) for ids in inputs]),
                                device=device)
        logits, _ = self(batch[:, :-1])
        logp = torch.log_softmax(logits.float(), dim=-1).gather(2, batch[:, 1:, None])[..., 0]  # (K, L-1)
        for k, n in enumerate(following):
            n = min(int(n), length - 1)
            if n > 0:
                out[k] = float(logp[k, -n:].sum())
        return out

    # ------------------------------------------------------------------------- data
    def make_dataset(self, pieces, augment: bool, training: bool) -> TokenWindows:
        """Windows of ``seq_len + 1`` ids (``seq_len`` inputs and the tokens they predict)."""
        ids = [self.adapter.piece_ids(p) for p in pieces]
        return TokenWindows(ids, self.config.seq_len + 1, training=training, align=self.adapter.window_align(),
                            transpose=self.transposer() if augment and training else None)

    def transposer(self):
        """``transpose(ids, rng) -> ids`` for augmentation, or None (no augmentation)."""
        return None

    # ------------------------------------------------------------------------- generation
    @abstractmethod
    def make_guard(self, primer_ids: np.ndarray, n_variations: int, options: SamplingOptions, device):
        """An object with ``banned() -> (B, V) bool`` and ``update(tokens (B,))``."""

    def primer_fit(self, primer_ids: np.ndarray, options: SamplingOptions) -> TokenFit:
        """What sampling keeps from the primer's ids (T0,) (:func:`token_fit`): the primer in the
        key the model writes in (a key-normalised model's), read from the ids (see the
        adapter's ``primer_array``), so any caller of :meth:`generate` gets it."""
        primer_ids = np.asarray(primer_ids, dtype=np.int64).reshape(-1)
        if not options.follow_primer or not len(primer_ids):
            return TokenFit()
        codec = self.adapter.codec
        group, onsets, pitches = codec.notes_before_end(self.adapter.primer_array(primer_ids))
        return token_fit(group, onsets, pitches, codec.steps_per_beat, options)

    def start_ids(self, n_variations: int, options: SamplingOptions, generator: torch.Generator) -> torch.Tensor:
        """First tokens (B,) without a primer: the chosen one, or drawn from the most frequent."""
        device = next(self.parameters()).device
        if options.start_token:
            return torch.full((n_variations,), self.adapter.token_id(options.start_token), dtype=torch.long,
                              device=device)
        pool = self.info.get("start_tokens") or [[0, 1]]
        ids = torch.tensor([p[0] for p in pool], device=device)
        weights = torch.tensor([float(p[1]) for p in pool], device=device)
        return ids[torch.multinomial(weights, n_variations, replacement=True, generator=generator)]

    def _density_steer(self, options: SamplingOptions, batch: int, device) -> "TokenSteer | None":
        """The density steering of ``options.density`` over the vocabulary, or None."""
        if not options.density:
            return None
        notes, beats = self.adapter.notes_and_beats()
        return TokenSteer(options.density, torch.as_tensor(notes, dtype=torch.float32, device=device),
                          torch.as_tensor(beats, dtype=torch.float32, device=device), batch)

    @torch.no_grad()
    def _stepper(self, device: torch.device) -> TokenStepper:
        """The one-token-at-a-time runner. On the CPU its LSTM cells and Linear layers are int8
        copies (dynamic quantization): a step reads a quarter of the bytes, and on this kind of
        CPU the cells ran 4x and a 27,000-token output layer 12x faster, which is what brings 500
        tokens of the paper's network near a second. Sampling sees slightly different logits
        (weights rounded to 8 bits); scoring and training stay in float32."""
        stepper = TokenStepper(self.lstm, self.embed, self.head)
        if device.type != "cpu" or _no_int8_kernels():
            return stepper
        quantize = torch.ao.quantization.quantize_dynamic
        # A shallow copy whose Linear layers are int8 runs the family's own ``head``; deep-copying
        # the model would also copy its vocabulary (over a second for 27,000 chords).
        head_owner = copy.copy(self)
        head_owner._modules = dict(self._modules)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao's deprecation notices are not the user's
                for name, module in self._modules.items():
                    if isinstance(module, nn.Linear):
                        head_owner._modules[name] = quantize(nn.Sequential(module), {nn.Linear},
                                                             dtype=torch.qint8)[0]
                cells = quantize(nn.ModuleList(stepper.cells), {nn.LSTMCell}, dtype=torch.qint8)
        except (RuntimeError, AssertionError, NotImplementedError):
            return stepper  # no quantized kernels on this build: float32 it is
        stepper.head, stepper.cells = head_owner.head, list(cells)
        return stepper

    def generate(self, primer: np.ndarray, n_steps: int, n_variations: int, options: SamplingOptions,
                 generator: torch.Generator) -> Iterator[float | np.ndarray]:
        """primer ids (T0,) -> yields progress, then ids (n_variations, T0 + n_steps) int64.

        Without a primer the first generated token is a start token (:meth:`start_ids`).
        """
        device = next(self.parameters()).device
        primer = np.asarray(primer, dtype=np.int64).reshape(-1)
        out = torch.empty(n_variations, n_steps, dtype=torch.long, device=device)
        guard = self.make_guard(primer, n_variations, options, device)
        stepper = self._stepper(device)
        layers, hidden = self.lstm.num_layers, self.lstm.hidden_size
        first = 0
        if len(primer):
            seed = torch.as_tensor(primer, device=device).expand(n_variations, -1)
            logits, (h, c) = self(seed)
            logits = logits[:, -1]
            h, c = list(h.unbind(0)), list(c.unbind(0))
        else:
            h = [torch.zeros(n_variations, hidden, device=device) for _ in range(layers)]
            c = [torch.zeros(n_variations, hidden, device=device) for _ in range(layers)]
            out[:, 0] = self.start_ids(n_variations, options, generator)
            guard.update(out[:, 0])
            logits = stepper.step(out[:, 0], h, c)
            first = 1
        steer = self._density_steer(options, n_variations, device)
        for step in range(first, n_steps):
            if steer is not None:
                logits = steer.lean_logits(logits)
            token = sample_next(logits, options.temperature, options.top_p, guard.banned(), generator)
            out[:, step] = token
            guard.update(token)
            if steer is not None:
                steer.update(token)
            if step + 1 < n_steps:
                logits = stepper.step(token, h, c)
            if step % 32 == 0:
                yield step / n_steps
        primer_part = np.broadcast_to(primer, (n_variations, len(primer)))
        yield np.concatenate([primer_part, out.cpu().numpy()], axis=1)


class TokenSteer(DensitySteer):
    """Density steering for tokens: each token starts ``notes`` (V,) notes and moves on
    ``beats`` (V,) beats; a token's share of the lean is how far it moves a variation toward
    the target rate (``notes - rate x beats``), so behind the target, tokens that add notes
    faster than the rate gain and tokens that move time on lose."""

    def __init__(self, rate: float, notes: torch.Tensor, beats: torch.Tensor, batch: int):
        super().__init__(rate, batch, notes.device)
        self.token_notes, self.token_beats = notes, beats
        self.direction = notes - self.rate * beats

    def lean_logits(self, logits: torch.Tensor) -> torch.Tensor:
        return logits + self.lean() * self.direction[None, :]

    def update(self, tokens: torch.Tensor) -> None:
        super().update(self.token_notes[tokens], self.token_beats[tokens])


# ----------------------------------------------------------------------------- following the primer

#: Ticks one codec step stands for when the primer's onsets (in steps) meet ``primer_grid``
#: (whole steps; its tolerance, a 48th of the beat, stays under half a step).
STEP_TICKS = 480


@dataclass(frozen=True)
class TokenFit:
    """What sampling keeps from the primer when ``SamplingOptions.follow_primer`` is on (see
    :func:`token_fit`): ``grid``, the steps between onsets the primer's grid allows (1: any
    step), and ``offset``, how many steps past one of its grid steps the seam lies (0 when the
    seam is on the grid, as at a bar line or beat); ``voices``, the most pitches one onset may
    hold (None: the model's own limit); ``register``, the lowest and highest pitch a note may
    have (None: any)."""

    grid: int = 1
    offset: int = 0
    voices: int | None = None
    register: tuple[int, int] | None = None


def grid_steps(onsets: np.ndarray, steps_per_beat: int) -> tuple[int, int]:
    """The primer's grid in codec steps and the seam's offset from it (see :class:`TokenFit`),
    from its notes' onsets (n,) in steps counted from the seam.

    The grid is :func:`~composer.representations.continuation.primer_grid` (the coarsest of
    quarters, eighths, sixteenths and triplets holding most onsets), the notion the piano-roll
    families and the continuation measures use, taken from the primer's own beat position (its
    most common step within the beat), so a seam between the primer's grid steps (a playhead
    set there) does not hide the grid. (1, 0) (every step) when that grid is not a whole number
    of steps (triplets on a sixteenth codec), holds too few onsets, or the primer has fewer than
    :data:`~composer.models.pianoroll_common.MIN_GRID_ONSETS` onsets."""
    onsets = np.asarray(onsets, dtype=np.int64).reshape(-1)
    if len(np.unique(onsets)) < MIN_GRID_ONSETS:
        return 1, 0
    anchor = int(np.bincount(onsets % steps_per_beat).argmax())
    shifted = onsets - anchor
    ticks = shifted * STEP_TICKS
    grid = primer_grid(make_notes(ticks, ticks + 1, np.zeros(len(ticks), dtype=np.int64)),
                       STEP_TICKS * steps_per_beat)
    step = grid // STEP_TICKS
    if grid % STEP_TICKS or step <= 1 or np.mean(shifted % step == 0) < GRID_COVER:
        return 1, 0
    return step, -anchor % step


def token_fit(group: np.ndarray, onsets: np.ndarray | None, pitches: np.ndarray, steps_per_beat: int,
              options: SamplingOptions) -> TokenFit:
    """How a token family's sampling follows the primer, from its notes (a codec's
    ``notes_before_end``: onset group, onset in steps from the seam or None, pitch; each (n,)),
    as the piano-roll families do (:func:`~composer.models.pianoroll_common.fit_to_primer`):

    - grid (timed codecs): onsets only on the primer's grid (:func:`grid_steps`);
    - voices: at most the primer's largest onset group, so a melody goes on as a melody;
    - register: without a user's pitch range, within an octave of the primer's lowest and
      highest pitch (a fourth for a lone melody: :func:`~composer.models.pianoroll_common.register_margin`).

    Nothing when ``follow_primer`` is off or the primer has no notes (generation from scratch).
    """
    pitches = np.asarray(pitches, dtype=np.int64).reshape(-1)
    if not options.follow_primer or not len(pitches):
        return TokenFit()
    voices = int(np.bincount(np.asarray(group, dtype=np.int64) - int(np.min(group))).max())
    register = None
    if options.pitch_range is None:
        margin = register_margin(voices)
        register = (int(pitches.min()) - margin, int(pitches.max()) + margin)
    grid, offset = grid_steps(onsets, steps_per_beat) if onsets is not None else (1, 0)
    return TokenFit(grid, offset, voices, register)


def with_fallback(hard: torch.Tensor, soft: torch.Tensor | None) -> torch.Tensor:
    """Bans (B, V): ``hard`` (the grammar, the user's key and range) with ``soft`` (following
    the primer) added, except in rows where both together leave no token: there ``hard``
    alone, so following the primer never leaves nothing to sample."""
    if soft is None:
        return hard
    ban = hard | soft
    # Every token banned is a minimum of 1 (uint8): several times faster than a bool all(), and
    # a row with nothing left is rare, so the (slower) where() runs only then.
    nothing_left = ban.view(torch.uint8).amin(dim=1).bool()
    if bool(nothing_left.any()):
        ban = torch.where(nothing_left[:, None], hard, ban)
    return ban


def allowed_pitches(options: SamplingOptions) -> np.ndarray | None:
    """Bool (128,) of the pitches the key/scale and range constraints allow, or None for all."""
    if options.pitch_range is None and options.pitch_classes is None:
        return None
    pitches = np.arange(128)
    allowed = np.ones(128, dtype=bool)
    if options.pitch_range is not None:
        allowed &= (pitches >= options.pitch_range[0]) & (pitches < options.pitch_range[1])
    if options.pitch_classes is not None:
        allowed &= np.isin(pitches % 12, sorted(options.pitch_classes))
    return allowed


def no_fit_error(what: str) -> ComposerError:
    return ComposerError(f"no {what} of this model fits the key, scale, pitch range or polyphony "
                         f"asked for; widen the constraint")
