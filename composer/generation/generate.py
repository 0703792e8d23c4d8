"""GenerateRequest + model -> Scores: encode the primer, run the family, decode the result.

Generation is a generator underneath (the family yields progress every few steps), so a GUI
worker can report progress and stop at once when Cancel is pressed. All variations are sampled
as one batch. Torch runs with one thread while stepping on the CPU: on a 2-core machine one LSTM
step took 2.7 ms with one thread and 22 ms with two (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from composer.core.errors import ComposerError, ComposerWarning
from composer.core.notes import sort_notes
from composer.core.score import Score, Track
from composer.core.timing import TempoChange
from composer.core.transforms import slice_time
from composer.models.base import FamilyModel, SamplingOptions
from composer.representations.codecs import PianoRollCodec, codec_from_params

from .request import GenerateRequest


class GenerationCancelled(ComposerError):
    """The user cancelled; nothing was produced."""


@dataclass
class GenerationResult:
    """``scores``: one per variation, the primer followed by the continuation.
    ``continuations``: the generated notes alone, one note array per variation, placed from
    ``start_tick`` in the primer's ticks. ``track_index``: where they went in each score."""

    scores: list[Score]
    continuations: list[np.ndarray]
    start_tick: int
    track_index: int


@contextmanager
def cpu_threads(device: torch.device, n: int = 1):
    if device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def generate(model: FamilyModel, request: GenerateRequest,
             progress: Callable[[float], None] | None = None,
             cancel: threading.Event | None = None) -> GenerationResult:
    """Run ``request`` on ``model`` (a piano-roll family); see :class:`GenerateRequest`.

    Raises
    ------
    GenerationCancelled
        When ``cancel`` is set while generating.
    ComposerError
        Invalid request, or a primer the model cannot use (no notes in its range, ...).
    """
    request.validate()
    codec = codec_from_params(model.info["codec"])
    if not isinstance(codec, PianoRollCodec):
        raise ComposerError(f"{model.family} models are not piano-roll models")
    lo, hi = model.info["pitch_range"]
    primer_score = request.primer if request.primer is not None else Score()
    start_tick = primer_score.end_tick if request.start_tick is None else int(request.start_tick)

    primer_roll, source_track = _primer_roll(model, codec, primer_score, request.track_id, start_tick)
    n_steps = _steps_for(codec, primer_score, start_tick, request)
    options = SamplingOptions(temperature=request.temperature, mode=request.sampling,
                              threshold=request.threshold, top_p=request.top_p,
                              pitch_range=request.pitch_range(), pitch_classes=request.pitch_classes(),
                              noise=request.noise)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(request.seed))
    result = None
    with cpu_threads(device), torch.inference_mode():
        for item in model.generate(primer_roll, n_steps, request.variations, options, generator):
            if isinstance(item, np.ndarray):
                result = item
            elif progress is not None:
                progress(float(item))
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled("generation cancelled")
    if progress is not None:
        progress(1.0)
    continuation_rolls = result[:, len(primer_roll):]
    return _assemble(codec, primer_score, source_track, continuation_rolls, (lo, hi), start_tick)


def _primer_roll(model, codec: PianoRollCodec, primer: Score, track_id, start_tick: int):
    """The primer as the model's input, shape (T0, P), and the Track it came from (or None)."""
    lo, hi = model.info["pitch_range"]
    if primer.note_count == 0 or start_tick == 0:
        return np.zeros((0, hi - lo), dtype=np.uint8), (primer.track(track_id) if track_id else None)
    part = slice_time(primer, 0, max(start_tick, 1), shift_to_zero=False)
    source = None
    if track_id is not None:
        source = part.track(track_id)
        if source.is_drum:
            raise ComposerError(f"track {source.name!r} is a drum track; this model writes pitched notes")
        part.tracks = [source]
    full = codec.encode(part) if part.note_count else np.zeros((0, 128), np.uint8)
    end_frame = _frame_of(codec, primer, start_tick)
    full = full[:end_frame] if len(full) >= end_frame else np.pad(full, ((0, end_frame - len(full)), (0, 0)))
    outside = int(full[:, :lo].sum() + full[:, hi:].sum())
    inside = int(full[:, lo:hi].sum())
    if outside and not inside:
        raise ComposerError(f"every primer note is outside this model's pitch range "
                            f"{lo}-{hi - 1}; transpose the primer or pick another model")
    if outside:
        warnings.warn(f"primer notes outside the model's pitch range {lo}-{hi - 1} were left out "
                      f"({outside} frames)", ComposerWarning, stacklevel=3)
    context = getattr(model, "context_frames", None)
    roll = full[:, lo:hi]
    if context and len(roll) > context:
        warnings.warn(f"the primer is longer than the model's context of {context} frames; "
                      f"it continues from the last {context}", ComposerWarning, stacklevel=3)
    return roll, source


def _frame_of(codec: PianoRollCodec, score: Score, tick: int) -> int:
    if codec.fps:
        return int(round(float(score.tempo_map.tick_to_seconds(tick)) * codec.fps))
    return int(round(tick * codec.steps_per_beat / score.ppq))


def _steps_for(codec: PianoRollCodec, score: Score, start_tick: int, request: GenerateRequest) -> int:
    if request.seconds is not None:
        seconds = request.seconds
        if codec.steps_per_beat:
            beats = seconds * score.tempo_map.qpm_at(start_tick) / 60
            return max(int(round(beats * codec.steps_per_beat)), 1)
        return max(int(round(seconds * codec.fps)), 1)
    sig = [s for s in score.time_signatures if s.tick <= start_tick][-1]
    bar_ticks = sig.bar_ticks(score.ppq)
    end_tick = start_tick + int(round(request.bars * bar_ticks))
    if codec.steps_per_beat:
        return max(int(round((end_tick - start_tick) * codec.steps_per_beat / score.ppq)), 1)
    # Real-time rolls: the bars last as long as the primer's tempo at the start says.
    seconds = (end_tick - start_tick) * 60.0 / (score.tempo_map.qpm_at(start_tick) * score.ppq)
    return max(int(round(seconds * codec.fps)), 1)


def _assemble(codec: PianoRollCodec, primer: Score, source: Track | None, rolls: np.ndarray,
              pitch_range, start_tick: int) -> GenerationResult:
    """Decode continuation rolls (V, N, P) into notes from ``start_tick`` and build the scores."""
    qpm = primer.tempo_map.qpm_at(start_tick)
    start_seconds = float(primer.tempo_map.tick_to_seconds(start_tick))
    continuations = []
    for roll in rolls:
        decoded = codec.decode(roll, pitch_range=pitch_range, qpm=qpm).tracks[0].notes.copy()
        if codec.fps:  # frames are seconds: map through the primer's own tempo map
            seconds_per_tick = 60.0 / (qpm * 480)
            for field in ("start", "end"):
                seconds = start_seconds + decoded[field] * seconds_per_tick
                decoded[field] = primer.tempo_map.seconds_to_tick(seconds)
        else:
            for field in ("start", "end"):
                decoded[field] = start_tick + decoded[field] * primer.ppq // 480
        decoded["end"] = np.maximum(decoded["end"], decoded["start"] + 1)
        decoded["id"] = -1
        continuations.append(sort_notes(decoded))

    scores = []
    for notes in continuations:
        score = slice_time(primer, 0, max(start_tick, 1), shift_to_zero=False) if primer.note_count \
            else Score(ppq=primer.ppq, tempos=primer.tempos or [TempoChange(0, 120.0)],
                       time_signatures=primer.time_signatures)
        if source is not None:
            index = score.track_index(source.id)
            target = score.tracks[index]
        else:
            target = Track("Generated", 0)
            score.tracks.append(target)
            index = len(score.tracks) - 1
        added = notes.copy()
        added["id"] = target.new_note_ids(len(added))
        target._insert(added)
        scores.append(score)
    return GenerationResult(scores, continuations, start_tick, index if scores else 0)
