"""What the piano-roll families' networks share: training windows, frame sampling, following
the primer (voices, register, grid), losses and metrics.

Rolls arrive from the data layer as (T, 128) uint8 arrays; a model works on the ``P = hi - lo``
pitches of its ``pitch_range`` (:class:`~composer.models.pianoroll_adapter.PianoRollAdapter`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from composer.data.augment import DEFAULT_SHIFTS, transposition_range
from composer.representations.continuation import GRID_COVER, GRID_DIVISIONS, MIN_GRID_ONSETS

from .base import FamilyModel, SamplingOptions, TrainingExamples
from .metric_info import PIANO_KEYS
from .steering import DensitySteer
from .pianoroll_adapter import PianoRollAdapter


class PianoRollModel(FamilyModel):
    """Base of the piano-roll families' networks; frames come from :class:`PianoRollAdapter`."""

    adapter_class = PianoRollAdapter
    takes_normalized_shifts = True

    def make_dataset(self, pieces, augment: bool, training: bool) -> "RollWindows":
        """Windows of ``seq_len + 1`` frames: ``seq_len`` inputs and the frames they predict."""
        return RollWindows(pieces, self.info["pitch_range"], self.config.seq_len + 1,
                           training=training, augment=augment, shifts=augment_shifts(self))

    @torch.no_grad()
    def log_likelihood(self, inputs: list[np.ndarray], following: list[int]) -> np.ndarray:
        """Sum over the last ``following[k]`` frames of roll k (T_k, P) of the log-probability
        of each frame (independent sigmoids) given the frames before, through the family's
        :meth:`frame_predictions`. Only the last :data:`SCORING_CONTEXT` frames before them
        (the model's context, when it has one) are read (cut at a multiple of 64 frames, so bar-conditioned models stay on bars)."""
        device = next(self.parameters()).device
        out = np.zeros(len(inputs))
        context = self.adapter.context_frames or SCORING_CONTEXT  # a windowed model reads no more
        for k, (roll, n) in enumerate(zip(inputs, following)):
            roll = np.asarray(roll, dtype=np.float32)
            keep = -(-(context + int(n)) // 64) * 64
            x = torch.as_tensor(roll[-keep:], device=device)[None]
            logits, target = self.frame_predictions(x)
            n = min(int(n), len(target))
            if n > 0:
                out[k] = -float(torch.nn.functional.binary_cross_entropy_with_logits(
                    logits[-n:], target[-n:], reduction="sum"))
        return out

    @property
    def steps_per_beat(self) -> int | None:
        """Frames a beat of a beat-tied model (None for real time): the primer's grid is read in them."""
        return self.adapter.codec.steps_per_beat


PAD = -1
#: Frames of music before the scored ones that :meth:`PianoRollModel.log_likelihood` reads.
SCORING_CONTEXT = 256


def split_padding(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """frames (..., T, P) with PAD rows -> (frames with PAD read as silence, mask (..., T) of real rows)."""
    real = frames[..., 0] != PAD
    return frames.clamp(min=0), real


def masked_bce(logits: torch.Tensor, target: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over the real rows (real: (..., T) bool)."""
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(-1)
    return (loss * real).sum() / real.sum().clamp(min=1)


def augment_shifts(model) -> tuple[int, int]:
    """The widest random transpositions of a model's training windows: all 12 keys, or on
    key-normalised data +-``config.normalized_shifts`` semitones."""
    small = model.config.normalized_shifts
    return (-small, small) if model.key_normalized and small > 0 else DEFAULT_SHIFTS


class RollWindows(TrainingExamples):
    """Windows of ``length`` frames from cropped rolls, as float32 tensors of shape (length, P).

    Training draws each window at a random position (a multiple of ``align``, weighted by piece
    length) with an optional random transposition that keeps every note in range; validation
    walks fixed, non-overlapping
    windows so its loss is comparable between epochs. Pieces shorter than a window are padded at
    the start with rows of :data:`PAD` (-1): models read them as silence and leave them out of
    the loss (see :func:`split_padding`), so padding never makes a loss look better than it is.
    """

    def __init__(self, pieces: list[np.ndarray], pitch_range, length: int, training: bool,
                 augment: bool, seed: int = 0, step: int | None = None, align: int = 1,
                 shifts: tuple[int, int] = DEFAULT_SHIFTS):
        self.length = length
        self.align = align
        self.training = training
        self.augment = augment
        self.pitch_range = tuple(pitch_range)
        self.pieces = []
        self.shifts = []
        lo, hi = self.pitch_range
        for roll in pieces:
            if len(roll) < 2:
                continue
            fits = transposition_range(roll, self.pitch_range, shifts=shifts) if augment else range(0, 1)
            # The window is cut at [lo - shift, hi - shift) of the 128 pitches: keep it in bounds.
            self.shifts.append([s for s in fits if lo - s >= 0 and hi - s <= roll.shape[1]] or [0])
            if len(roll) < length:  # pad the start with PAD rows, which losses leave out
                pad = np.full((length - len(roll), roll.shape[1]), PAD, dtype=np.int8)
                roll = np.concatenate([pad, roll.astype(np.int8)])
            self.pieces.append(np.ascontiguousarray(roll))
        if not self.pieces:
            raise ValueError("no piece is long enough to train on")
        starts = [len(p) - length + 1 for p in self.pieces]
        self.weights = np.array(starts, dtype=np.float64) / sum(starts)
        stride = step or length
        self.fixed = [(i, s) for i, p in enumerate(self.pieces) for s in range(0, len(p) - length + 1, stride)]
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.fixed)

    def sample_batch(self, size: int) -> torch.Tensor:
        """``size`` random training windows at once, float32 of shape (size, length, P)."""
        lo, hi = self.pitch_range
        pieces = self.rng.choice(len(self.pieces), size=size, p=self.weights)
        out = np.empty((size, self.length, hi - lo), dtype=np.float32)
        for row, piece in enumerate(pieces.tolist()):
            roll = self.pieces[piece]
            start = int(self.rng.integers(0, (len(roll) - self.length) // self.align + 1)) * self.align
            shifts = self.shifts[piece]
            shift = shifts[int(self.rng.integers(len(shifts)))]
            out[row] = roll[start:start + self.length, lo - shift:hi - shift]
        return torch.from_numpy(out)

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


class LSTMStepper:
    """Runs a trained ``nn.LSTM`` one time step at a time, fast.

    ``nn.LSTM`` called on single steps spends most of its time in call overhead (2.7 ms a step
    for 2x256 here). ``nn.LSTMCell`` runs one layer for one step in a single fused call; the
    cells share the LSTM's parameters. Inference only; the output head follows
    (:mod:`~composer.models.output_heads`).
    """

    def __init__(self, lstm: torch.nn.LSTM):
        self.cells = []
        for k in range(lstm.num_layers):
            cell = torch.nn.LSTMCell(lstm.input_size if k == 0 else lstm.hidden_size, lstm.hidden_size,
                                     device=lstm.weight_ih_l0.device)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                setattr(cell, name, getattr(lstm, f"{name}_l{k}"))
            self.cells.append(cell)

    def step(self, x: torch.Tensor, h: list[torch.Tensor], c: list[torch.Tensor]) -> torch.Tensor:
        """Advance one step from input ``x`` (B, input); ``h`` and ``c`` (per layer, (B, H)) are
        updated in place. Returns the top layer's output (B, H), the head's features."""
        for k, cell in enumerate(self.cells):
            h[k], c[k] = cell(x, (h[k], c[k]))
            x = h[k]
        return x


#: How far (semitones) a continuation may go beyond the primer's lowest and highest pitch.
REGISTER_MARGIN = 12
#: The same for a primer of one voice (a lone melody): a fourth. With an octave, models trained
#: on chorales took the tune up to the top of the window (a D4 melody went on at A5-B5: the
#: highest voice sampled is kept, and a chorale's soprano sits high), where real continuations
#: of such melodies move about 2 semitones at the seam (benchmarks/RESULTS.md, the melody set).
MELODY_MARGIN = 5


def register_margin(voices: int) -> int:
    """How far a continuation may leave the primer's register, for a primer of ``voices``."""
    return MELODY_MARGIN if voices <= 1 else REGISTER_MARGIN


@dataclass(frozen=True)
class PrimerFit:
    """What sampling keeps from the primer (see :func:`fit_to_primer`).

    ``mask``: pitches allowed, bool (P,), or None for all; ``voices``: the most pitches a frame
    may hold, or None; ``hold``: per generated step, True where the step is off the primer's
    grid, so the frame before it is held (no note starts or ends there), or None."""

    mask: torch.Tensor | None = None
    voices: int | None = None
    hold: list[bool] | None = None
    #: Density steering (``SamplingOptions.density``), shared by every step, and the beats a step lasts.
    steer: DensitySteer | None = None
    beats_per_step: float = 0.25


def primer_grid_steps(roll: np.ndarray, steps_per_beat: int) -> int:
    """The primer's grid in steps of a beat-tied roll (T0, P): the coarsest division of the beat
    into whole steps (quarters, eighths, ...; see
    :data:`~composer.representations.continuation.GRID_DIVISIONS`) on which
    :data:`~composer.representations.continuation.GRID_COVER` of the roll's onsets lie; 1 (every
    step) when none does or the primer has fewer than :data:`MIN_GRID_ONSETS` onsets."""
    active = np.asarray(roll) > 0
    onsets = active.copy()
    onsets[1:] &= ~active[:-1]
    frames = np.nonzero(onsets)[0]
    if len(frames) < MIN_GRID_ONSETS:
        return 1
    for division in GRID_DIVISIONS:
        if steps_per_beat % division == 0 and np.mean(frames % (steps_per_beat // division) == 0) >= GRID_COVER:
            return steps_per_beat // division
    return 1


def fit_to_primer(primer: np.ndarray, n_steps: int, options: SamplingOptions, pitch_range,
                  steps_per_beat: int | None, device, batch: int = 1) -> PrimerFit:
    """How sampling follows the primer ``primer`` (T0, P), the model's input, when
    ``options.follow_primer`` is set (and only the user's constraints otherwise):

    - voices: a frame keeps at most the primer's most simultaneous notes (its most probable
      pitches), so a melody goes on as a melody and a chorale in four voices;
    - register: without a user's pitch range, pitches within an octave of the primer's lowest
      and highest (:data:`REGISTER_MARGIN`; a fourth for a lone melody, :func:`register_margin`);
    - grid (beat-tied models, ``steps_per_beat`` set): notes start and end only on the
      primer's grid (:func:`primer_grid_steps`); the steps between hold the frame before.

    A primer without notes (generation from scratch) sets none of the three. The user's
    ``options.polyphony`` caps the voices and ``options.density`` steers the notes started
    (:class:`~composer.models.steering.DensitySteer`, over ``batch`` variations) either way.
    """
    fit = _followed(primer, n_steps, options, pitch_range, steps_per_beat, device)
    voices = fit.voices
    if options.polyphony is not None:
        voices = min(voices or options.polyphony, options.polyphony)
    beats = options.beats_per_step or (1.0 / steps_per_beat if steps_per_beat else 0.25)
    steer = DensitySteer(options.density, batch, device) if options.density else None
    return replace(fit, voices=voices, steer=steer, beats_per_step=beats)


def _followed(primer: np.ndarray, n_steps: int, options: SamplingOptions, pitch_range,
              steps_per_beat: int | None, device) -> PrimerFit:
    """The part of :func:`fit_to_primer` that follows the primer (mask, voices, grid)."""
    mask = allowed_pitch_mask(options, pitch_range, device)
    roll = np.asarray(primer) > 0
    if not options.follow_primer or roll.ndim != 2 or not roll.any():
        return PrimerFit(mask)
    voices = options.primer_voices or int(roll.sum(axis=1).max())
    if options.pitch_range is None:
        used = np.flatnonzero(roll.any(axis=0))
        columns = torch.arange(roll.shape[1], device=device)
        margin = register_margin(voices)
        window = (columns >= int(used[0]) - margin) & (columns <= int(used[-1]) + margin)
        mask = window if mask is None else mask & window
        mask = None if bool(mask.all()) else mask
    hold = None
    if steps_per_beat:
        grid = primer_grid_steps(roll, steps_per_beat)
        if grid > 1:
            hold = [(len(roll) + i) % grid != 0 for i in range(n_steps)]
    return PrimerFit(mask, voices if voices < roll.shape[1] else None, hold)


def keep_voices(frame: torch.Tensor, logits: torch.Tensor, voices: int) -> torch.Tensor:
    """``frame`` (B, P) 0/1 with at most ``voices`` pitches a row: of the sampled pitches, the
    outer voices first (the highest, the melody; with two voices or more also the lowest, the
    bass), then those of the highest logits.

    Taking only the most probable pitches lost the melody: a chord tone held from the step
    before is almost certain to go on, so a one-voice continuation became long held notes."""
    if voices >= frame.shape[-1]:
        return frame
    sounding = frame > 0
    columns = torch.arange(frame.shape[-1], device=frame.device)
    scores = logits.masked_fill(~sounding, -math.inf)
    highest = torch.where(sounding, columns, -1).amax(dim=-1, keepdim=True).clamp(min=0)
    scores = scores.scatter(-1, highest, math.inf)
    if voices >= 2:
        lowest = torch.where(sounding, columns, frame.shape[-1]).amin(dim=-1, keepdim=True)
        scores = scores.scatter(-1, lowest.clamp(max=frame.shape[-1] - 1), math.inf)
    kept = torch.zeros_like(frame).scatter_(-1, scores.topk(voices, dim=-1).indices, 1.0)
    return frame * kept


def step_thresholds(options: SamplingOptions, shape: tuple[int, ...], mask: torch.Tensor | None,
                    generator: torch.Generator, device) -> torch.Tensor:
    """Thresholds (*shape, P) for heads' :meth:`draw`: a pitch sounds when its logit is over its
    threshold. Sampling: ``T * logit(u)`` for uniform ``u``, i.e. Bernoulli sampling of
    ``sigmoid(logit / T)``, drawn for every step at once; threshold mode: ``T * logit(p)``.
    Pitches ``mask`` forbids get an infinite threshold."""
    temperature = max(options.temperature, 1e-3)
    if options.mode == "threshold":
        p = min(max(options.threshold, 1e-6), 1 - 1e-6)
        thresholds = torch.full(shape, temperature * math.log(p / (1 - p)), device=device)
    else:
        u = torch.rand(shape, generator=generator, device=device).clamp_(1e-7, 1 - 1e-7)
        thresholds = temperature * (u.log() - (-u).log1p())
    if mask is not None:
        thresholds[..., ~mask] = math.inf
    return thresholds


def draw_frame(head, features: torch.Tensor, thresholds: torch.Tensor, fit: PrimerFit,
               last: torch.Tensor) -> torch.Tensor:
    """One sampled frame (B, P) from the head's features (B, F) following ``fit``: the density
    lean on the pitches silent in ``last`` (the frame before), at most ``fit.voices`` pitches,
    the density steering's count of started notes. Off the primer's grid (see
    :func:`hold_frame`) nothing is drawn."""
    lean = None if fit.steer is None else fit.steer.lean(fit.beats_per_step) * (last <= 0)
    frame, logits = head.draw(features, thresholds, lean)
    if fit.voices is not None:
        frame = keep_voices(frame, logits, fit.voices)
    return count_started(fit, frame, last, logits)


def hold_frame(fit: PrimerFit, last: torch.Tensor) -> torch.Tensor:
    """The frame at a step off the primer's grid: the frame before, held (counted by the steering)."""
    return count_started(fit, last.clone(), last)


def sample_sequence(stepper: LSTMStepper, head, features: torch.Tensor, state, n_steps: int,
                    options: SamplingOptions, generator: torch.Generator, fit: PrimerFit,
                    report_every: int = 48, previous: torch.Tensor | None = None):
    """Sample ``n_steps`` frames, feeding each back; yields progress, then frames (B, n_steps, P).

    ``features`` (B, F): the network's output before the first step, for ``head`` (an output
    head of :mod:`~composer.models.output_heads`); ``fit`` (:func:`fit_to_primer`) masks pitches,
    limits the voices and holds the frame before at steps off the primer's grid (``previous``
    (B, P), the frame before the first step; silence when None).
    """
    batch = features.shape[0]
    width = head.output_bias.shape[0]
    h = list(state[0].unbind(0))
    c = list(state[1].unbind(0))
    thresholds = step_thresholds(options, (n_steps, batch, width), fit.mask, generator, features.device)
    frames = torch.empty(n_steps, batch, width, device=features.device)
    before = previous if previous is not None else torch.zeros(batch, width, device=features.device)
    for step in range(n_steps):
        last = frames[step - 1] if step else before
        if fit.hold is not None and fit.hold[step]:
            frames[step] = hold_frame(fit, last)
        else:
            frames[step] = draw_frame(head, features, thresholds[step], fit, last)
        features = stepper.step(frames[step], h, c)
        if step % report_every == 0:
            yield step / n_steps
    yield frames.transpose(0, 1)


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


def count_started(fit: PrimerFit, frame: torch.Tensor, last: torch.Tensor,
                  logits: torch.Tensor | None = None) -> torch.Tensor:
    """``frame`` (B, P) with, when ``fit`` steers density, at most the steering's room of new
    notes (those silent in ``last``; the most likely, by ``logits``, stay), counted by the
    steering. A frame off the primer's grid (no ``logits``) starts none and is only counted."""
    steer = fit.steer
    if steer is None:
        return frame
    if steer.fresh:  # decoded on its own, the new part starts every note sounding at its start
        last = torch.zeros_like(last)
    started = (frame > 0) & (last <= 0)
    if logits is not None:
        order = logits.masked_fill(~started, -math.inf).argsort(dim=1, descending=True)
        ranks = torch.empty_like(order).scatter_(1, order, torch.arange(order.shape[1], device=order.device)
                                                 .expand_as(order))
        over = started & (ranks >= steer.room(fit.beats_per_step)[:, None])
        frame, started = frame.masked_fill(over, 0), started & ~over
    steer.update(started.sum(dim=1), fit.beats_per_step)
    return frame


def frame_metrics(logits: torch.Tensor, target: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
    """Over the real frames: the NLL summed over pitches (nats per frame), and paper 002's note
    score, the slides' "accuracy metric" (1/N) * sum(|y| - |y - round(p)|) = (TP - FP) / N.

    The slides call it an accuracy, but it is no share of right answers: silence scores 0, a
    wrong note costs as much as a right one earns, so it runs from -1 (every key wrong) to the
    share of keys sounding. N is the 88 piano keys (as in ``composer eval``), not the model's
    own pitch range, so models cropped to different ranges compare; notes outside the range
    count as neither right nor wrong. (Before, it was stored as ``accuracy``, divided by the
    model's range: composer.models.metric_info reads those old headers.)
    """
    with torch.no_grad():
        nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
        predicted = (logits > 0).float()
        note_score = (target * predicted - (1 - target) * predicted).sum(-1) / PIANO_KEYS
        count = real.sum().clamp(min=1)
        return {"nll_per_frame": float((nll * real).sum() / count),
                "note_score": float((note_score * real).sum() / count)}
