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
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch

from composer.core.edits import ReplaceRegion
from composer.core.errors import ComposerError, ComposerWarning
from composer.core.notes import empty_notes, sort_notes
from composer.core.score import Score, Track
from composer.core.transforms import slice_time, transpose
from composer.data.dataset import parse_track_names
from composer.data.keynorm import key_toward, shift_notes
from composer.models.base import FamilyModel, SamplingOptions
from composer.models.registry import ACCOMPANY, MULTITRACK, family_spec
from composer.representations.continuation import limit_voices, most_voices, primer_grid
from composer.representations.keys import find_key
from composer.representations.tokens import chord_name, parse_chord

from .accompany import accompany_end, check_lead_sounds, lead_track
from .controls import CONTROLS
from .infill import infill
from .request import SCALES, GenerateRequest, primer_notes, scale_pitch_classes


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
    #: Infill by resampling: per variation, the log-likelihood the model gives the music after
    #: the gap when it follows this filling (composer.generation.infill). None otherwise.
    log_likelihoods: list[float] | None = None


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

    The family's adapter (:class:`~composer.models.adapter.FamilyAdapter`: ``encode_primer``,
    ``steps_for``, ``decode_continuation`` / ``decode_slots``) decides how the primer becomes
    its input, how many of its steps the requested length is, and how its output becomes notes;
    its network samples the steps; this function picks the primer's part and track, runs the
    steps and builds the scores.

    Raises
    ------
    GenerationCancelled
        When ``cancel`` is set while generating.
    ComposerError
        Invalid request, or a primer the model cannot use (no notes in its range, ...).
    """
    request.validate()
    if request.accompany is not None:
        return accompany(model, request, progress, cancel)
    request = with_own_track(model, request)  # (before infill, which reads the same track)
    if request.infill:
        return infill(model, request, progress, cancel)
    return run_request(model, request, progress, cancel)


def run_request(model: FamilyModel, request: GenerateRequest,
                progress: Callable[[float], None] | None = None,
                cancel: threading.Event | None = None) -> GenerationResult:
    """:func:`generate` for a request already validated and given its track (:func:`with_own_track`;
    infill asks it for more variations than a user may)."""
    _check_texture_controls(model, request)
    primer_score = request.primer if request.primer is not None else Score()
    start_tick = primer_score.end_tick if request.start_tick is None else int(request.start_tick)
    part, source_track = _primer_part(primer_score, request.track_id, start_tick, _writes_drums(model))
    # A key-normalised model works in C major / A minor: the primer goes there, the result back.
    shift = key_shift(model, primer_score, request.track_id, start_tick, request)
    primer_input = model.adapter.encode_primer(_moved(part, shift), primer_score, start_tick)
    end_tick = request.end_tick(primer_score, start_tick)
    n_steps = model.adapter.steps_for(primer_score, start_tick, end_tick)
    pitch_classes = request.pitch_classes()
    options = SamplingOptions(temperature=request.temperature, mode=request.sampling,
                              threshold=request.threshold, top_p=request.top_p,
                              pitch_range=_moved_range(request.pitch_range(), shift),
                              pitch_classes=_moved_classes(pitch_classes, shift),
                              noise=request.noise, start_token=_moved_token(request.start_token, shift),
                              missing_slots=request.missing_slots, follow_primer=request.follow_primer,
                              anchor=request.anchor, primer_voices=most_voices(request.primer_notes()) or None,
                              density=request.density, polyphony=request.polyphony,
                              beats_per_step=(end_tick - start_tick) / primer_score.ppq / n_steps)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(request.seed))
    if request.interpolate:
        after_input = _encode_bar_after(model, primer_score, request.track_id, end_tick, shift)
        steps = model.interpolate(primer_input, after_input, n_steps, request.variations, options, generator)
        primer_input = primer_input[:0]  # the result holds the new steps only
    else:
        steps = model.generate(primer_input, n_steps, request.variations, options, generator)
    result = run_steps(steps, device, progress, cancel)
    if MULTITRACK in family_spec(model.family).capabilities:
        every_part = primer_notes(primer_score, None, start_tick)  # the VAE continues every slot
        grid = primer_grid(every_part, primer_score.ppq) if request.follow_primer and len(every_part) else None
        return _assemble_slots(model, result[:, len(primer_input):], primer_score, start_tick, end_tick,
                               request.slot_programs or {}, shift, grid)
    # (_cropped: token families may overshoot the length)
    continuations = [_cropped(shift_notes(model.adapter.decode_continuation(steps, primer_score, start_tick), -shift),
                              end_tick)
                     for steps in result[:, len(primer_input):]]
    if request.polyphony is not None:  # a decoded note may outlast its step: the limit holds anyway
        continuations = [limit_voices(notes, request.polyphony) for notes in continuations]
    _say_missed_density(request, continuations, (end_tick - start_tick) / primer_score.ppq)
    return _assemble(primer_score, source_track, continuations, start_tick)


def with_own_track(model: FamilyModel, request: GenerateRequest) -> GenerateRequest:
    """``request`` continuing the primer track named as the tracks the model was trained on
    (``config.track_names``, e.g. the pop melody model's MELODY; case aside) when it names no
    track and that track has notes before the start: as if ``track_id`` were given, only its
    notes are the primer and the result goes into it. A melody model that read a POP909
    opening's piano as well wrote a melody a third as dense, and was silent in 7% of the
    variations (benchmarks/RESULTS.md, "A pop melody model"). Else ``request`` as it is."""
    names = [n.casefold() for n in parse_track_names(getattr(model.config, "track_names", ""))]
    if request.track_id is not None or not names or request.primer is None \
            or MULTITRACK in family_spec(model.family).capabilities:
        return request
    start = request.primer.end_tick if request.start_tick is None else int(request.start_tick)
    for name in names:
        for track in request.primer.tracks:
            if not track.is_drum and track.name.strip().casefold() == name and (track.notes["start"] < start).any():
                return replace(request, track_id=track.id)
    return request


#: How far the achieved density may miss the requested one before the user is told.
DENSITY_TOLERANCE = 0.2


def _check_texture_controls(model: FamilyModel, request: GenerateRequest) -> None:
    """A ComposerError when the request steers density or polyphony and the family cannot."""
    spec = family_spec(model.family)
    for name in ("density", "polyphony"):
        if getattr(request, name) is not None and name not in spec.controls:
            raise ComposerError(f"{spec.name} models cannot steer {name}; leave it at "
                                f"\"{CONTROLS[name].off_text}\" or pick another model")


def _say_missed_density(request: GenerateRequest, continuations: list[np.ndarray], beats: float) -> None:
    """A ComposerWarning when the variations' notes per beat miss ``request.density`` by more
    than :data:`DENSITY_TOLERANCE` (the model's grid, voices or pitch limits allow no more, or
    it keeps to fewer)."""
    if not request.density or beats <= 0:
        return
    achieved = float(np.mean([len(notes) for notes in continuations])) / beats
    if abs(achieved - request.density) > DENSITY_TOLERANCE * request.density:
        warnings.warn(f"asked for {request.density:g} notes a beat; the variations have {achieved:.2f} "
                      f"(the model's grid, the voices or the pitch limits allow no closer)",
                      ComposerWarning, stacklevel=3)


def run_steps(steps, device: torch.device, progress: Callable[[float], None] | None = None,
              cancel: threading.Event | None = None) -> np.ndarray:
    """Run a family's sampling generator (progress floats, then the result array) on one CPU
    thread without autograd, reporting progress and stopping when ``cancel`` is set."""
    result = None
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
    return result


def _encode_bar_after(model: FamilyModel, primer: Score, track_id, tick: int, shift: int = 0) -> np.ndarray:
    """The family's encoding of the bar starting at ``tick`` (the far end of an interpolation)."""
    lines = primer.bar_starts(tick + 1)
    bar_end = int(lines[-1])  # the first bar line after ``tick``
    part, _ = _primer_part(primer, track_id, bar_end)
    return model.adapter.encode_primer(_moved(part, shift), primer, bar_end)


# ----------------------------------------------------------------------------- key normalisation


def key_shift(model: FamilyModel, primer: Score, track_id: int | None, start_tick: int,
              request: GenerateRequest) -> int:
    """The semitones that move this generation into a key-normalised model's reference key
    (C major / A minor); the continuation is moved back by the opposite. 0 for a model trained
    without key normalisation (every checkpoint from before it), so those generate as before.

    - A primer with a clear key (:func:`~composer.representations.keys.find_key` on the notes
      before ``start_tick`` of the continued track, else of every pitched track): that key's
      :meth:`~composer.representations.keys.Key.shift_to`, an octave further where that keeps
      more of the primer inside the model's pitch range.
    - Otherwise, with a key/scale lock: the shift that lands the reference key on the locked
      scale (:func:`~composer.data.keynorm.key_toward`).
    - Otherwise 0: the model's own C major / A minor, with a ComposerWarning when the primer had
      pitched notes but no clear key (atonal, one or two pitch classes).
    """
    if not model.key_normalized:
        return 0
    notes = primer_notes(primer, track_id, start_tick)
    key = find_key(notes)
    if key is None and track_id is not None:
        key = find_key(primer_notes(primer, None, start_tick))
    if key is not None:
        return _in_range_octave(key.shift_to(), notes, model)
    locked = request.pitch_classes()
    if locked is not None and len(locked) < 12:
        return key_toward(locked, _requested_root(request))
    if len(notes):
        warnings.warn("the primer has no clear key (too few or too evenly spread pitch classes); "
                      "the model continues it as if in C major / A minor", ComposerWarning, stacklevel=3)
    return 0


def _in_range_octave(shift: int, notes: np.ndarray, model: FamilyModel) -> int:
    """``shift``, or ``shift`` -+ 12 when that keeps more primer notes inside the model's pitch
    range (``info["pitch_range"]``, lo inclusive, hi exclusive): the key is the same, and a
    primer near the edge of the range is not pushed out of it by the move to C."""
    span = model.info.get("pitch_range")
    if not span or not len(notes):
        return shift
    lo, hi = int(span[0]), int(span[1])
    pitch = notes["pitch"].astype(np.int64)

    def outside(s: int) -> int:
        return int(((pitch + s < lo) | (pitch + s >= hi)).sum())

    best = shift
    for other in (shift - 12, shift + 12):
        if outside(other) < outside(best):
            best = other
    return best


def _requested_root(request: GenerateRequest) -> int:
    """The tonic pitch class of the request's key (0 when it names none the lock knows)."""
    try:
        major = scale_pitch_classes(request.key, "major")
    except (ComposerError, AttributeError):
        return 0
    steps = SCALES["major"]
    return next((r for r in range(12) if major == {(r + k) % 12 for k in steps}), 0)


def _moved(part: Score, shift: int) -> Score:
    """``part`` transposed by ``shift`` (drums stay; notes leaving 0-127 are dropped)."""
    return transpose(part, shift)[0] if shift and part.note_count else part


def _moved_range(pitch_range: tuple[int, int] | None, shift: int) -> tuple[int, int] | None:
    """The user's pitch limits in the model's (moved) pitches."""
    if pitch_range is None or not shift:
        return pitch_range
    return (max(pitch_range[0] + shift, 0), min(pitch_range[1] + shift, 128))


def _moved_classes(pitch_classes: frozenset[int] | None, shift: int) -> frozenset[int] | None:
    """A scale lock's pitch classes in the model's (moved) pitches."""
    if pitch_classes is None or not shift:
        return pitch_classes
    return frozenset((pc + shift) % 12 for pc in pitch_classes)


def _moved_token(token: str | None, shift: int) -> str | None:
    """A token family's start token ("C4", "C4.E4.G4") in the model's (moved) pitches; one that
    does not parse is left for the family to refuse."""
    if not token or not shift:
        return token
    try:
        pitches = [p + shift for p in parse_chord(token)]
    except ValueError:
        return token
    return chord_name(pitches) if all(0 <= p <= 127 for p in pitches) else token


def _cropped(notes: np.ndarray, end_tick: int) -> np.ndarray:
    notes = notes[notes["start"] < end_tick].copy()
    notes["end"] = np.minimum(notes["end"], end_tick)
    notes["id"] = -1
    return sort_notes(notes)


def _assemble_slots(model: FamilyModel, results: np.ndarray, primer: Score, start_tick: int,
                    end_tick: int, programs: dict[str, int], shift: int = 0,
                    grid: int | None = None) -> GenerationResult:
    """Multitrack results: every slot's notes into the primer track continuing it, or a new
    track for the slot (its name, GM program, or the one ``programs`` gives, and drum flag).
    Pitched slots are moved back by ``-shift`` from a key-normalised model's reference key;
    ``grid``: the primer's grid in ticks, when following it."""
    programs = {name.lower(): program for name, program in programs.items()}
    scores, continuations, slot_tracks, targets = [], [], [], []
    for steps in results:
        score = _before(primer, start_tick)
        generated = []
        decoded = model.adapter.decode_slots(steps, primer, start_tick, grid)
        targets = [target for _, target in decoded]
        unknown = set(programs) - {track.name.lower() for track, _ in decoded}
        if unknown:
            raise ComposerError(f"this model has no slot {', '.join(sorted(unknown))}; its slots are "
                                f"{', '.join(track.name for track, _ in decoded)}")
        for track, target in decoded:
            track.program = programs.get(track.name.lower(), track.program)
            notes = _cropped(track.notes if track.is_drum else shift_notes(track.notes, -shift), end_tick)
            generated.append(Track(track.name, track.program, track.is_drum, notes))
            ids = {t.id for t in score.tracks}
            if target is not None and target in ids:
                destination = score.tracks[score.track_index(target)]
            else:
                destination = Track(track.name, track.program, track.is_drum)
                score.tracks.append(destination)
            destination.add_new_notes(notes)
        pitched = [t.notes for t in generated if not t.is_drum]
        merged = np.concatenate(pitched) if pitched else empty_notes()
        continuations.append(sort_notes(merged))
        scores.append(score)
        slot_tracks.append(generated)
    return GenerationResult(scores, continuations, start_tick, 0, slot_tracks, targets)


def accompany(model: FamilyModel, request: GenerateRequest,
              progress: Callable[[float], None] | None = None,
              cancel: threading.Event | None = None) -> GenerationResult:
    """Keep track ``request.accompany`` of the primer as it is and write the model's other
    instrument slots under it, bar by bar (paper 004: the lead's bars, encoded by its VAE, in
    place of MelodyNN's predictions; the ConditionalNNs write the rest). The bars are the
    primer's from ``start_tick`` (default 0) for ``bars``/``seconds``, else to the end of the
    lead; a key-normalised model hears the piece in C major / A minor and the parts are moved
    back. Each score of the result is the primer with every accompanying slot's notes in that
    range: in the track the slot was assigned (its notes there replaced), else in a new track.

    Raises
    ------
    ComposerError
        A family that cannot accompany, a lead that does not exist, is drums or has no notes.
    """
    spec = family_spec(model.family)
    if ACCOMPANY not in spec.capabilities:
        raise ComposerError(f"{spec.name} models write one part and cannot accompany a track; "
                            f"choose a multitrack model (Multitrack VAE)")
    _check_texture_controls(model, request)
    score = request.primer
    lead = lead_track(score, request.accompany)
    start = 0 if request.start_tick is None else int(request.start_tick)
    end = accompany_end(score, lead, start) if request.bars is None and request.seconds is None \
        else request.end_tick(score, start)
    check_lead_sounds(score, lead, start, end)
    shift = key_shift(model, score, lead.id, end, request)  # the key of the lead (else of the piece)
    encoded = model.adapter.encode_accompaniment(_moved(score, shift), lead.id, start,
                                                 model.adapter.steps_for(score, start, end))
    options = SamplingOptions(temperature=request.temperature, mode=request.sampling,
                              threshold=request.threshold, noise=request.noise,
                              pitch_range=_moved_range(request.pitch_range(), shift),
                              pitch_classes=_moved_classes(request.pitch_classes(), shift),
                              missing_slots=request.missing_slots, follow_primer=request.follow_primer)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(request.seed))
    bars = run_steps(model.accompany(encoded.lead_bars, encoded.first_bars, request.variations, options, generator),
                     device, progress, cancel)
    every_part = primer_notes(score)
    grid = primer_grid(every_part, score.ppq) if request.follow_primer else None
    programs = {name.lower(): program for name, program in (request.slot_programs or {}).items()}
    lead_slot = model.adapter.codec.lead_index
    scores, continuations, slot_tracks = [], [], []
    for variation in bars:
        result = score.copy()  # the lead and every other track as they were
        decoded = model.adapter.decode_slots(variation, score, start, grid)
        unknown = set(programs) - {track.name.lower() for track, _ in decoded}
        if unknown:
            raise ComposerError(f"this model has no slot {', '.join(sorted(unknown))}; its slots are "
                                f"{', '.join(track.name for track, _ in decoded)}")
        parts = []
        for k, (track, _) in enumerate(decoded):
            if k == lead_slot:  # the lead is the primer's own track, untouched
                continue
            notes = _cropped(track.notes if track.is_drum else shift_notes(track.notes, -shift), end)
            part = Track(track.name, programs.get(track.name.lower(), track.program), track.is_drum, notes)
            parts.append(part)
            if encoded.targets[k] is None:
                added = Track(part.name, part.program, part.is_drum)
                added.add_new_notes(notes)
                result.insert_track(added)
            else:
                ReplaceRegion(encoded.targets[k], start, end, notes.copy()).apply(result)
        pitched = [part.notes for part in parts if not part.is_drum]
        continuations.append(sort_notes(np.concatenate(pitched)) if pitched else empty_notes())
        scores.append(result)
        slot_tracks.append(parts)
    targets = [target for k, target in enumerate(encoded.targets) if k != lead_slot]
    return GenerationResult(scores, continuations, start, score.track_index(lead.id), slot_tracks, targets)


def _before(primer: Score, start_tick: int) -> Score:
    """The primer's tracks (empty ones too: the result may go into one) with their notes that
    start before ``start_tick``."""
    return slice_time(primer, 0, max(start_tick, 1), shift_to_zero=False)


def _writes_drums(model: FamilyModel) -> bool:
    """Whether ``model`` has a drum slot of its own (a drum model continues a drum track)."""
    return bool(getattr(model.adapter.codec, "drums", ()))


def _primer_part(primer: Score, track_id, start_tick: int, drums: bool = False) -> tuple[Score, Track | None]:
    """The primer's notes before ``start_tick`` (only track ``track_id`` when given, which may be
    a drum track only for a model that writes ``drums``) and that Track (or None)."""
    if primer.note_count == 0 or start_tick == 0:
        return Score(ppq=primer.ppq, tempos=primer.tempos, time_signatures=primer.time_signatures), \
            (primer.track(track_id) if track_id else None)
    part = slice_time(primer, 0, max(start_tick, 1), shift_to_zero=False)
    source = None
    if track_id is not None:
        source = part.track(track_id)
        if source.is_drum and not drums:
            raise ComposerError(f"track {source.name!r} is a drum track; this model writes pitched notes")
        part.tracks = [source]
    return part, source


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
        target.add_new_notes(notes)
        scores.append(score)
    return GenerationResult(scores, continuations, start_tick, index if scores else 0)
