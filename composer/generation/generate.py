"""GenerateRequest + model -> Scores: encode the primer, run the family, decode the result.

Generation is a generator underneath (the family yields progress every few steps), so a GUI
worker can report progress and stop at once when Cancel is pressed. All variations are sampled
as one batch. Torch runs with one thread while stepping on the CPU: on a 2-core machine one LSTM
step took 2.7 ms with one thread and 22 ms with two (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from composer.core.errors import ComposerError
from composer.core.notes import empty_notes, sort_notes
from composer.core.score import Score, Track
from composer.core.timing import signature_at
from composer.core.transforms import slice_time
from composer.models.base import FamilyModel, SamplingOptions
from composer.models.registry import MULTITRACK, family_spec

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
    #: Multitrack families: per variation, the generated Track of every instrument slot (their
    #: notes are also in ``scores``, each in the primer track continuing the slot or in a new
    #: track; ``continuations`` then holds the pitched slots' notes merged). None otherwise.
    slot_tracks: list[list[Track]] | None = None
    #: Multitrack families: per slot, the id of the primer track continuing it (None: new track).
    slot_targets: list[int | None] | None = None


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
    """Run ``request`` on ``model`` (any family); see :class:`GenerateRequest`.

    The family decides through its hooks (:meth:`FamilyModel.encode_primer`,
    :meth:`~FamilyModel.steps_for`, :meth:`~FamilyModel.decode_continuation`) how the primer
    becomes its input, how many of its steps the requested length is, and how its output becomes
    notes; this function picks the primer's part and track, runs the steps and builds the scores.

    Raises
    ------
    GenerationCancelled
        When ``cancel`` is set while generating.
    ComposerError
        Invalid request, or a primer the model cannot use (no notes in its range, ...).
    """
    request.validate()
    primer_score = request.primer if request.primer is not None else Score()
    start_tick = primer_score.end_tick if request.start_tick is None else int(request.start_tick)
    part, source_track = _primer_part(primer_score, request.track_id, start_tick)
    primer_input = model.encode_primer(part, primer_score, start_tick)
    end_tick = _end_tick(primer_score, start_tick, request)
    n_steps = model.steps_for(primer_score, start_tick, end_tick)
    options = SamplingOptions(temperature=request.temperature, mode=request.sampling,
                              threshold=request.threshold, top_p=request.top_p,
                              pitch_range=request.pitch_range(), pitch_classes=request.pitch_classes(),
                              noise=request.noise, start_token=request.start_token,
                              missing_slots=request.missing_slots)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(request.seed))
    result = None
    if request.interpolate:
        after_input = _encode_bar_after(model, primer_score, request.track_id, end_tick)
        steps = model.interpolate(primer_input, after_input, n_steps, request.variations, options, generator)
        primer_input = primer_input[:0]  # the result holds the new steps only
    else:
        steps = model.generate(primer_input, n_steps, request.variations, options, generator)
    with cpu_threads(device), torch.inference_mode():
        for item in steps:
            if isinstance(item, np.ndarray):
                result = item
            elif progress is not None:
                progress(float(item))
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled("generation cancelled")
    if progress is not None:
        progress(1.0)
    if MULTITRACK in family_spec(model.family).capabilities:
        return _assemble_slots(model, result[:, len(primer_input):], primer_score, start_tick, end_tick,
                               request.slot_programs or {})
    # (_cropped: token families may overshoot the length)
    continuations = [_cropped(model.decode_continuation(steps, primer_score, start_tick), end_tick)
                     for steps in result[:, len(primer_input):]]
    return _assemble(primer_score, source_track, continuations, start_tick)


def _encode_bar_after(model: FamilyModel, primer: Score, track_id, tick: int) -> np.ndarray:
    """The family's encoding of the bar starting at ``tick`` (the far end of an interpolation)."""
    lines = primer.bar_starts(tick + 1)
    bar_end = int(lines[-1])  # the first bar line after ``tick``
    part, _ = _primer_part(primer, track_id, bar_end)
    return model.encode_primer(part, primer, bar_end)


def _cropped(notes: np.ndarray, end_tick: int) -> np.ndarray:
    notes = notes[notes["start"] < end_tick].copy()
    notes["end"] = np.minimum(notes["end"], end_tick)
    notes["id"] = -1
    return sort_notes(notes)


def _assemble_slots(model: FamilyModel, results: np.ndarray, primer: Score, start_tick: int,
                    end_tick: int, programs: dict[str, int]) -> GenerationResult:
    """Multitrack results: every slot's notes into the primer track continuing it, or a new
    track for the slot (its name, GM program, or the one ``programs`` gives, and drum flag)."""
    programs = {name.lower(): program for name, program in programs.items()}
    scores, continuations, slot_tracks, targets = [], [], [], []
    for steps in results:
        score = _before(primer, start_tick)
        generated = []
        decoded = model.decode_slots(steps, primer, start_tick)
        targets = [target for _, target in decoded]
        unknown = set(programs) - {track.name.lower() for track, _ in decoded}
        if unknown:
            raise ComposerError(f"this model has no slot {', '.join(sorted(unknown))}; its slots are "
                                f"{', '.join(track.name for track, _ in decoded)}")
        for track, target in decoded:
            track.program = programs.get(track.name.lower(), track.program)
            notes = _cropped(track.notes, end_tick)
            generated.append(Track(track.name, track.program, track.is_drum, notes))
            ids = {t.id for t in score.tracks}
            if target is not None and target in ids:
                destination = score.tracks[score.track_index(target)]
            else:
                destination = Track(track.name, track.program, track.is_drum)
                score.tracks.append(destination)
            added = notes.copy()
            added["id"] = destination.new_note_ids(len(added))
            destination._insert(added)
        pitched = [t.notes for t in generated if not t.is_drum]
        merged = np.concatenate(pitched) if pitched else empty_notes()
        continuations.append(sort_notes(merged))
        scores.append(score)
        slot_tracks.append(generated)
    return GenerationResult(scores, continuations, start_tick, 0, slot_tracks, targets)


def _before(primer: Score, start_tick: int) -> Score:
    """The primer's tracks (empty ones too: the result may go into one) with their notes that
    start before ``start_tick``."""
    return slice_time(primer, 0, max(start_tick, 1), shift_to_zero=False)


def _primer_part(primer: Score, track_id, start_tick: int) -> tuple[Score, Track | None]:
    """The primer's notes before ``start_tick`` (only track ``track_id`` when given) and that
    Track (or None)."""
    if primer.note_count == 0 or start_tick == 0:
        return Score(ppq=primer.ppq, tempos=primer.tempos, time_signatures=primer.time_signatures), \
            (primer.track(track_id) if track_id else None)
    part = slice_time(primer, 0, max(start_tick, 1), shift_to_zero=False)
    source = None
    if track_id is not None:
        source = part.track(track_id)
        if source.is_drum:
            raise ComposerError(f"track {source.name!r} is a drum track; this model writes pitched notes")
        part.tracks = [source]
    return part, source


def _end_tick(score: Score, start_tick: int, request: GenerateRequest) -> int:
    """The tick where the requested length ends: bars in the meter at the start, or seconds at
    the tempo at the start."""
    if request.seconds is not None:
        beats = request.seconds * score.tempo_map.qpm_at(start_tick) / 60
        return start_tick + max(int(round(beats * score.ppq)), 1)
    bar = signature_at(score.time_signatures, start_tick).bar_ticks(score.ppq)
    return start_tick + max(int(round(request.bars * bar)), 1)


def _assemble(primer: Score, source: Track | None, continuations: list[np.ndarray],
              start_tick: int) -> GenerationResult:
    """The scores: the primer up to ``start_tick`` with each continuation in its track."""
    scores = []
    index = 0
    for notes in continuations:
        score = _before(primer, start_tick)
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
