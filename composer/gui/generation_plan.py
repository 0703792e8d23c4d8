"""From what the user set up in the editor to a GenerateRequest, and from results back to edits.

Qt-free, so every mode's arithmetic is tested without a window. A :class:`Plan` says where the
generated notes go (a track and a tick range); candidates are cropped to that range, previewed
on a copy of the score, and accepted as one undoable edit that replaces the range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from composer.core.edits import AddTrack, Edit, ReplaceRegion
from composer.core.errors import ComposerError
from composer.core.score import Score, Track
from composer.generation.request import GenerateRequest

#: Generation modes, in the order the panel lists them.
MODES = {
    "playhead": "Continue from the playhead",
    "selection": "Continue after the selection",
    "scratch": "From scratch",
    "fill": "Fill the loop region",
    "interpolate": "Interpolate between two selected bars",
}
#: The family capability (composer.models.registry) each mode needs.
MODE_CAPABILITY = {"playhead": "continue", "selection": "continue", "scratch": "from_scratch",
                   "fill": "continue", "interpolate": "interpolate"}
NEW_TRACK = None


def _panel_defaults() -> GenerateRequest:
    return GenerateRequest(bars=4, variations=3)


@dataclass
class GenerationSettings:
    """The generation panel's controls: a mode, a target, and the length and sampling choices as
    a GenerateRequest whose primer, track and start :func:`plan_generation` fills in."""

    mode: str = "playhead"
    #: A track id, or NEW_TRACK for a new track.
    target_track: int | None = NEW_TRACK
    request: GenerateRequest = field(default_factory=_panel_defaults)


@dataclass
class EditorState:
    """What the editor shows when Generate is pressed (ticks of the score)."""

    playhead: int = 0
    #: (track id, selected notes) of the active track, or None when nothing is selected.
    selection: tuple[int, np.ndarray] | None = None
    loop: tuple[int, int] | None = None


@dataclass
class Plan:
    """Where the candidates go: ``track_id`` (None: a new track) over ticks [start, end)."""

    request: GenerateRequest
    track_id: int | None
    start: int
    end: int


def _bar_ticks_at(score: Score, tick: int) -> int:
    signature = [s for s in score.time_signatures if s.tick <= tick][-1]
    return signature.bar_ticks(score.ppq)


def _next_bar(score: Score, tick: int) -> int:
    """The first bar line at or after ``tick``."""
    bars = score.bar_starts(tick)  # ends with the first bar start >= tick
    return int(bars[np.searchsorted(bars, tick)])


def _next_beat(score: Score, tick: int) -> int:
    beat = score.ppq
    return int(math.ceil(tick / beat) * beat)


def _timing_only(score: Score) -> Score:
    return Score(ppq=score.ppq, tempos=score.tempos, time_signatures=score.time_signatures)


def plan_generation(score: Score, settings: GenerationSettings, editor: EditorState) -> Plan:
    """The request for ``settings`` in the editor's situation, and where its result goes.

    Raises
    ------
    ComposerError
        When the mode cannot run here (no selection, no loop region, ...), with what to do.
    """
    target = settings.target_track
    if target is not None:
        track = score.track(target)
        if track.is_drum:
            raise ComposerError(f"{track.name or 'This track'} is a drum track; pick a pitched "
                                f"track or a new track as the target")
    bars = float(settings.request.bars or 4)
    primer: Score = score.copy()
    mode = settings.mode
    if mode == "playhead":
        start = int(editor.playhead)
        if start == 0:  # nothing before the playhead: continue after the last note instead
            start = _next_bar(score, score.end_tick)
    elif mode == "selection":
        if editor.selection is None or len(editor.selection[1]) == 0:
            raise ComposerError("Select the notes to continue first (Select tool, or Ctrl+A)")
        track_id, notes = editor.selection
        start = _next_beat(score, int(notes["end"].max()))
        primer = _timing_only(score)
        source = score.track(track_id).copy()
        source.notes = notes.copy()
        primer.tracks = [source]
    elif mode == "scratch":
        start = int(editor.playhead)
        primer = _timing_only(score)
    elif mode == "fill":
        if editor.loop is None or editor.loop[1] <= editor.loop[0]:
            raise ComposerError("Set a loop region over the gap to fill first (drag on the ruler)")
        start, end = int(editor.loop[0]), int(editor.loop[1])
        bars = (end - start) / _bar_ticks_at(score, start)
    else:
        raise ComposerError(f"{MODES.get(mode, mode)} is not available for this model")

    # The request continues one primer track when there is a target: the selection's track in
    # "selection" mode, else the target itself (None: all pitched tracks, result in a new track).
    if target is None or not primer.tracks:
        target_in_primer = None
    else:
        target_in_primer = primer.tracks[0].id if mode == "selection" else target
    end = int(editor.loop[1]) if mode == "fill" else start + int(round(bars * _bar_ticks_at(score, start)))
    request = replace(settings.request, primer=primer, track_id=target_in_primer, start_tick=start,
                      bars=bars, seconds=None)
    request.validate()
    return Plan(request, target, start, end)


def candidate_notes(plan: Plan, continuation: np.ndarray) -> np.ndarray:
    """One variation's notes cropped to the plan's range, without ids (shape (n,), NOTE_DTYPE)."""
    notes = continuation[(continuation["start"] >= plan.start) & (continuation["start"] < plan.end)].copy()
    notes["end"] = np.minimum(notes["end"], plan.end)
    notes["id"] = -1
    return notes


def accept_edit(score: Score, plan: Plan, notes: np.ndarray, new_track_name: str = "Generated",
                program: int = 0) -> Edit:
    """The one undoable edit that accepts ``notes`` (from :func:`candidate_notes`)."""
    if plan.track_id is None:
        track = Track(new_track_name, program)
        placed = notes.copy()
        placed["id"] = track.new_note_ids(len(placed))
        track.notes = placed
        return AddTrack(track, text="Accept Generated Track")
    return ReplaceRegion(plan.track_id, plan.start, plan.end, notes.copy(), text="Accept Generation")


def preview_score(score: Score, plan: Plan, notes: np.ndarray) -> Score:
    """A copy of ``score`` with the candidate accepted, for auditioning."""
    preview = score.copy()
    accept_edit(preview, plan, notes).apply(preview)
    return preview
