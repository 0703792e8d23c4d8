"""Infill that hears both sides: rewrite a gap so that it leads into the music after it.

An autoregressive family only reads what comes before. To hear what comes after, it draws
:data:`CANDIDATES` continuations of the gap from the left context and keeps the variations by
importance resampling: each candidate's weight is the likelihood the model gives the bars
after the gap (up to :data:`AFTER_BARS` of them) when they follow it, and the variations are
drawn in proportion to it without replacement (Gumbel top-k), so they stay different. The
multitrack VAE interpolates between its latents of the bar before and the bar after the gap.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import replace
from typing import Callable

import numpy as np

from composer.core.errors import ComposerError
from composer.core.score import Score, Track
from composer.core.transforms import slice_time
from composer.models.base import FamilyModel
from composer.models.registry import INTERPOLATE, family_spec

from .request import GenerateRequest, primer_notes

#: Continuations drawn from the left context before resampling (at least the variations asked).
CANDIDATES = 32
#: The bars after the gap a candidate is judged by.
AFTER_BARS = 2
#: Nats a candidate's weight loses per semitone its top voice leaps into the music after the
#: gap: the models' likelihoods barely tell a leap of an octave from a step there (benchmarks/
#: RESULTS.md, "Infill"), and melodies move by steps.
SEAM_COST = 1.0
#: The leap a silent candidate is charged (an octave): silence is no smooth way into the music.
SILENT_SEAM = 12


def gap_bounds(primer: Score, request: GenerateRequest) -> tuple[int, int, int]:
    """(start, end, after_end) ticks: the gap [start, end) and the music after it that the
    candidates are judged by, [end, after_end). Raises ComposerError for a gap with nothing
    before or after it."""
    start = int(request.start_tick)
    end = request.end_tick(primer, start)
    if not len(primer_notes(primer, request.track_id, start)):
        raise ComposerError("there is no music before the gap to continue from; fill it with "
                            "\"From scratch\", or move the gap later")
    after = _notes_from(primer, request.track_id, end)
    if not len(after):
        raise ComposerError("there is no music after the gap to lead into; continue the piece "
                            "instead (Continue from the playhead, or composer generate without --infill)")
    lines = primer.bar_starts(end + (AFTER_BARS + 1) * max(primer.bar_lengths()))
    later = lines[lines > end]
    after_end = int(later[AFTER_BARS - 1]) if len(later) >= AFTER_BARS else end + AFTER_BARS * primer.bar_ticks_at(end)
    return start, end, min(after_end, int(after["end"].max()))


def infill(model: FamilyModel, request: GenerateRequest,
           progress: Callable[[float], None] | None = None,
           cancel: threading.Event | None = None):
    """Fill ``request``'s gap (``start_tick`` and its length) for any family: see the module
    docstring. The result's scores hold the whole piece, the gap rewritten."""
    from .generate import run_request

    primer = request.primer
    start, end, after_end = gap_bounds(primer, request)
    if INTERPOLATE in family_spec(model.family).capabilities:
        result = run_request(model, replace(request, infill=False, interpolate=True), progress, cancel)
        return _with_music_after(result, primer, end)
    _check_context(model, primer, start, end)
    count = max(CANDIDATES, request.variations)
    report = (lambda f: progress(0.9 * f)) if progress is not None else None
    drawn = run_request(model, replace(request, infill=False, variations=count), report, cancel)
    weights = following_log_likelihood(model, request, drawn.continuations, after_end)
    first_after = seam_pitch(_notes_from(primer, request.track_id, end), False, primer.ppq)
    seams = np.array([abs(seam_pitch(notes, True, primer.ppq) - first_after) if len(notes) else SILENT_SEAM
                      for notes in drawn.continuations], dtype=np.float64)
    keys = weights - SEAM_COST * seams + np.random.default_rng(request.seed).gumbel(size=len(weights))
    chosen = np.argsort(-keys, kind="stable")[:request.variations]
    result = replace(drawn, scores=[drawn.scores[i] for i in chosen],
                     continuations=[drawn.continuations[i] for i in chosen],
                     log_likelihoods=[float(weights[i]) for i in chosen])
    if progress is not None:
        progress(1.0)
    return _with_music_after(result, primer, end)


def following_log_likelihood(model: FamilyModel, request: GenerateRequest, gaps: list[np.ndarray],
                             after_end: int) -> np.ndarray:
    """For each gap filling (notes in the primer's ticks, in the primer's key), the
    log-likelihood the model gives the music of [gap end, ``after_end``) when it follows the
    primer before the gap and that filling; (K,). The gap's own notes in the primer are left out."""
    from .generate import _moved, key_shift

    primer = request.primer
    start = int(request.start_tick)
    end = request.end_tick(primer, start)
    context = _context_without_gap(primer, request.track_id, start, end, after_end)
    inputs, following = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # generation already said what it had to change
        shift = key_shift(model, primer, request.track_id, start, request)
        for notes in gaps:
            part = context.copy()
            part.tracks.append(Track("gap", 0, notes=notes.copy()))
            part = _moved(part, shift)
            inputs.append(model.adapter.encode_primer(part, primer, after_end))
            following.append(model.adapter.steps_between(part, primer, end, after_end))
    return model.log_likelihood(inputs, following)


def _check_context(model: FamilyModel, primer: Score, start: int, end: int) -> None:
    """A gap longer than what the model reads at once cannot hear both sides."""
    frames = model.adapter.context_frames
    if frames and model.adapter.steps_for(primer, start, end) > frames:
        bar_steps = model.adapter.steps_for(primer, start, start + primer.bar_ticks_at(start))
        raise ComposerError(f"the gap is longer than this model's context ({frames // max(bar_steps, 1)} "
                            f"bars): the music after it could not hear the music before it; shorten "
                            f"the gap or pick another model")


def seam_pitch(notes: np.ndarray, last: bool, beat: int) -> int:
    """The top voice at a seam: the highest pitch of the notes (not empty) that start in the
    last (``last``) or first beat (``beat`` ticks) of their onsets. A beat, not one onset: an
    accompaniment chord struck after the tune's last note is not the tune."""
    if last:
        return int(notes["pitch"][notes["start"] > notes["start"].max() - beat].max())
    return int(notes["pitch"][notes["start"] < notes["start"].min() + beat].max())


def _notes_from(primer: Score, track_id: int | None, tick: int) -> np.ndarray:
    """The pitched notes (of track ``track_id`` when given) that start at or after ``tick``."""
    parts = [t.notes[t.notes["start"] >= tick] for t in primer.tracks
             if (track_id is None or t.id == track_id) and not t.is_drum]
    return np.concatenate(parts) if parts else np.zeros(0)


def _context_without_gap(primer: Score, track_id: int | None, start: int, end: int,
                         after_end: int) -> Score:
    """The primer's part (track ``track_id``, or every pitched track) up to ``after_end``
    with the notes that start in the gap [start, end) left out."""
    part = slice_time(primer, 0, after_end, shift_to_zero=False)
    part.tracks = [t for t in part.tracks if (track_id is None or t.id == track_id) and not t.is_drum]
    for track in part.tracks:
        inside = (track.notes["start"] >= start) & (track.notes["start"] < end)
        track.notes = track.notes[~inside]
    return part


def _with_music_after(result, primer: Score, end: int):
    """``result`` with the primer's notes from ``end`` on added back to every score, so a
    filled piece is the whole piece."""
    for score in result.scores:
        for track in primer.tracks:
            later = track.notes[track.notes["start"] >= end]
            if len(later) and track.id in {t.id for t in score.tracks}:
                score.track(track.id).add_new_notes(later.copy())
    return result
