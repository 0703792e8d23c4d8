"""From what the user set up in the editor to a GenerateRequest, and from results back to edits.

Qt-free, so every mode's arithmetic is tested without a window. A :class:`Plan` says where the
generated notes go (a track and a tick range). A candidate is one variation as a list of
:class:`CandidatePart` (one track for most families, one per instrument slot for multitrack
ones), cropped to that range, previewed on a copy of the score, and accepted as one undoable
edit that replaces the range in every part's track.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from composer.core.edits import AddTrack, Edit, EditGroup, ReplaceRegion
from composer.core.errors import ComposerError
from composer.core.score import Score, Track
from composer.generation.accompany import accompany_end, check_lead_sounds, lead_track
from composer.generation.controls import CONTROLS
from composer.generation.request import PRIMER_KEY, GenerateRequest, is_primer_key, key_fields, primer_notes
from composer.representations.continuation import continuation_measures, seam_for
from composer.representations.keys import Key, find_key

if TYPE_CHECKING:  # generate imports torch, which the GUI thread never does
    from composer.generation.generate import GenerationResult

#: Generation modes, in the order the panel lists them.
MODES = {
    "playhead": "Continue from the playhead",
    "selection": "Continue after the selection",
    "scratch": "From scratch",
    "fill": "Fill the loop region",
    "regenerate": "Regenerate the selected bars",
    "interpolate": "Interpolate across the loop region",
    "accompany": "Accompany the selected track",
    "drums": "Drums for this song",
}
#: The family capability (composer.models.registry) each mode needs.
MODE_CAPABILITY = {"playhead": "continue", "selection": "continue", "scratch": "from_scratch",
                   "fill": "continue", "regenerate": "continue", "interpolate": "interpolate",
                   "accompany": "accompany", "drums": "drums"}
#: The modes whose length the editor sets (the loop region, the selected bars; Accompany: the
#: loop region or the whole piece), not the panel.
LENGTH_FROM_EDITOR = ("fill", "regenerate", "interpolate", "accompany", "drums")
#: The modes that rewrite a gap so that it leads into the music after it (infill).
INFILL_MODES = ("fill", "regenerate")
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
    #: The track the editor is working on (the one Accompany accompanies), or None.
    active_track: int | None = None


@dataclass
class Plan:
    """Where the candidates go: ``track_id`` (None: a new track) over ticks [start, end).

    ``key_from_primer``: the user asked for the primer's key; ``primer_key`` is the key found
    (the request is locked to its scale), None when the primer has no clear key (no lock)."""

    request: GenerateRequest
    track_id: int | None
    start: int
    end: int
    key_from_primer: bool = False
    primer_key: Key | None = None
    #: Multitrack families rewriting one voice (the selected bars of a track): the other
    #: instrument slots' output is left out, so the other voices stay as they are.
    one_voice: bool = False
    #: "Drums for this song": only the drum slots' output is kept.
    drums_only: bool = False


def _next_bar(score: Score, tick: int) -> int:
    """The first bar line at or after ``tick``."""
    bars = score.bar_starts(tick)  # ends with the first bar start >= tick
    return int(bars[np.searchsorted(bars, tick)])


def _next_beat(score: Score, tick: int) -> int:
    beat = score.ppq
    return int(math.ceil(tick / beat) * beat)


def _timing_only(score: Score, tracks: list[Track] | None = None) -> Score:
    """A new score with ``score``'s timing and ``tracks`` (none by default)."""
    return Score(tracks, ppq=score.ppq, tempos=score.tempos, time_signatures=score.time_signatures)


def plan_generation(score: Score, settings: GenerationSettings, editor: EditorState) -> Plan:
    """The request for ``settings`` in the editor's situation, and where its result goes.

    Raises
    ------
    ComposerError
        When the mode cannot run here (no selection, no loop region, ...), with what to do.
    """
    if settings.mode == "drums":
        return _drums_plan(score, settings, editor)
    target = settings.target_track
    if target is not None:
        track = score.track(target)
        if track.is_drum:
            raise ComposerError(f"{track.name or 'This track'} is a drum track; pick a pitched "
                                f"track or a new track as the target")
    bars = float(settings.request.length_bars() or CONTROLS["bars"].default)
    primer: Score = score.copy()
    mode = settings.mode
    if mode in ("playhead", "scratch"):
        start = int(editor.playhead)
        if start == 0:  # nothing before the playhead: after the last note instead, never over it
            start = _next_bar(score, score.end_tick)
        if mode == "scratch":
            primer = _timing_only(score)
    elif mode == "selection":
        if editor.selection is None or len(editor.selection[1]) == 0:
            raise ComposerError("Select the notes to continue first (Select tool, or Ctrl+A)")
        track_id, notes = editor.selection
        start = _next_beat(score, int(notes["end"].max()))
        source = score.track(track_id).copy()
        source.notes = notes.copy()
        primer = _timing_only(score, [source])
    elif mode == "accompany":
        return _accompany_plan(score, settings, editor)
    elif mode in LENGTH_FROM_EDITOR:
        if mode == "interpolate":
            start, end = _interpolation_gap(score, editor.loop)
        elif mode == "regenerate":
            start, end = _selected_bars(score, editor.selection)
            target = editor.selection[0]
        elif editor.loop is None or editor.loop[1] <= editor.loop[0]:
            raise ComposerError("Set a loop region over the gap to fill first (drag on the ruler)")
        else:
            start, end = int(editor.loop[0]), int(editor.loop[1])
        bars = (end - start) / score.bar_ticks_at(start)  # in the meter at the start, as requests are
    else:
        raise ComposerError(f"{MODES.get(mode, mode)} is not available for this model")

    # The request continues one primer track when there is a target: the selection's track in
    # "selection" mode, else the target itself (None: all pitched tracks, result in a new track).
    if target is None or not primer.tracks:
        target_in_primer = None
    else:
        target_in_primer = primer.tracks[0].id if mode == "selection" else target
    if mode not in LENGTH_FROM_EDITOR:
        end = start + int(round(bars * score.bar_ticks_at(start)))
    request = replace(settings.request, primer=primer, track_id=target_in_primer, start_tick=start,
                      bars=bars, seconds=None, interpolate=mode == "interpolate",
                      infill=mode in INFILL_MODES)
    from_primer = is_primer_key(request.key)
    request, found = request.with_primer_key()
    request.validate()
    return Plan(request, target, start, end, from_primer, found, one_voice=mode == "regenerate")


def _accompany_plan(score: Score, settings: GenerationSettings, editor: EditorState) -> Plan:
    """Accompany the target track (else the active one) over the loop region, from its first
    bar line, or over the whole piece; the primer is the whole score, the lead is kept as it
    is, and every other slot goes into its own track. "Primer's key" is the lead's key."""
    lead_id = settings.target_track if settings.target_track is not None else editor.active_track
    if lead_id is None:
        raise ComposerError("Choose the track to accompany first: click the melody's track in the Tracks panel")
    lead = lead_track(score, lead_id)
    if editor.loop is not None and editor.loop[1] > editor.loop[0]:
        start, end = _next_bar(score, int(editor.loop[0])), int(editor.loop[1])
        if start >= end:
            raise ComposerError("Make the loop region reach over a bar line: Accompany writes whole bars, "
                                "from the first bar line in the region")
    else:
        start, end = 0, accompany_end(score, lead, 0)
    check_lead_sounds(score, lead, start, end)
    request = replace(settings.request, primer=score.copy(), track_id=None, start_tick=start,
                      bars=(end - start) / score.bar_ticks_at(start), seconds=None, interpolate=False,
                      accompany=lead.id)
    from_primer, found = is_primer_key(request.key), None
    if from_primer:
        found = find_key(primer_notes(score, lead.id, end)) or find_key(primer_notes(score, None, end))
        key, scale = key_fields(found) if found is not None else (None, None)
        request = replace(request, key=key, scale=scale)
    request.validate()
    return Plan(request, None, start, end, from_primer, found)


def model_capabilities(capabilities, info: dict | None) -> frozenset[str]:
    """A model's capabilities: its family's, plus "drums" (the mode "Drums for this song") when
    its codec (``info["codec"]``, from the checkpoint) has drum slots of its own."""
    codec = (info or {}).get("codec") or {}
    return frozenset(capabilities) | ({"drums"} if codec.get("drums") else set())


def model_sampling_defaults(family_defaults, info: dict | None) -> tuple:
    """(field, value) sampling defaults of a model: its family's, replaced by the model's own
    (``info["sampling_defaults"]`` in its header, e.g. the drum model's noise) where it has them."""
    own = (info or {}).get("sampling_defaults") or ()
    return tuple(family_defaults) + tuple((str(name), value) for name, value in own)


def _drums_plan(score: Score, settings: GenerationSettings, editor: EditorState) -> Plan:
    """A drum part for the loop region (from its first bar line), else for the whole piece (to
    the bar line after its last note) or, when its drums stop before that, for the bars after
    them, in the song's meter and tempo: the song's drum tracks before that are the primer, so the part goes on from the last drum bar when there is one (else it
    starts from scratch), and it goes into the song's drum track (its range replaced), else a
    new track. Only the model's drum slots are kept."""
    if editor.loop is not None and editor.loop[1] > editor.loop[0]:
        start, end = _next_bar(score, int(editor.loop[0])), int(editor.loop[1])
        if start >= end:
            raise ComposerError("Make the loop region reach over a bar line: the drums are written in whole "
                                "bars, from the first bar line in the region")
    elif score.note_count == 0:
        raise ComposerError("There is no song to write drums for yet: draw or open it first, or choose "
                            "From scratch to start with drums")
    else:  # the whole piece, or the rest of it after the drums drawn at its start
        end = _next_bar(score, score.end_tick)
        drummed = max((t.end_tick for t in score.tracks if t.is_drum and len(t)), default=0)
        start = _next_bar(score, drummed) if 0 < drummed and _next_bar(score, drummed) < end else 0
    drums = [t.copy() for t in score.tracks if t.is_drum]
    request = replace(settings.request, primer=_timing_only(score, drums), track_id=None, start_tick=start,
                      bars=(end - start) / score.bar_ticks_at(start), seconds=None, interpolate=False,
                      infill=False, key=None, scale=None)
    request.validate()
    return Plan(request, None, start, end, drums_only=True)


def planned_primer_key(score: Score, settings: GenerationSettings, editor: EditorState) -> Key | None:
    """The key "Primer's key" would lock to if Generate were pressed now: the key of the notes
    the plan continues (None: no clear key, or nothing to plan here yet)."""
    asking = replace(settings, request=replace(settings.request, key=PRIMER_KEY, scale=None))
    try:
        return plan_generation(score, asking, editor).primer_key
    except ComposerError:  # e.g. "select the notes first": no primer yet, so no key
        return None


def primer_measures(score: Score, plan: Plan, parts: "list[CandidatePart]") -> dict[str, float]:
    """A candidate against the primer it continues (composer.representations.continuation):
    the share in the primer's key, onsets on the primer's grid, notes per beat over the
    primer's, the jump in register at the seam, the longest run of identical bars. NaN where
    a measure cannot be taken (no pitched notes on one side, no clear key); {} for a primer
    without notes (from scratch: there is nothing to measure against)."""
    primer = plan.request.primer_notes()
    if not len(primer):
        return {}
    pitched = [part.notes for part in parts if not part.is_drum]
    continuation = np.concatenate(pitched) if pitched else primer[:0]
    continuation = continuation[np.argsort(continuation["start"], kind="stable")]
    seam = seam_for(score, primer, plan.start, plan.end)
    return continuation_measures(primer, continuation, seam)


def _selected_bars(score: Score, selection: tuple[int, np.ndarray] | None) -> tuple[int, int]:
    """The bars the selected notes start in: [the bar line at or before the first, the bar
    line after the last)."""
    if selection is None or len(selection[1]) == 0:
        raise ComposerError("Select notes in the bars to regenerate first (Select tool)")
    notes = selection[1]
    first, last = int(notes["start"].min()), int(notes["start"].max())
    return score.bar_start_at(first), _next_bar(score, last + 1)


def _interpolation_gap(score: Score, loop: tuple[int, int] | None) -> tuple[int, int]:
    """The bars to interpolate: those of the loop region between its first and its last bar,
    which are the two ends. Returns their (start, end) ticks, both on bar lines."""
    if loop is None or loop[1] <= loop[0]:
        raise ComposerError("Set a loop region first (drag on the ruler): its first and last bars "
                            "are the ends, the bars between them are generated")
    lines = score.bar_starts(int(loop[1]))
    first = int(np.searchsorted(lines, int(loop[0])))  # the first bar starting in the loop
    last = int(np.searchsorted(lines, int(loop[1]), side="right")) - 1  # the last line in it
    inside = lines[first:last + 1]  # bar lines from the first full bar's start to the last's end
    if len(inside) - 1 < 3:
        raise ComposerError("Make the loop region at least three whole bars long: its first and "
                            "last bars are the ends, the bars between them are generated")
    return int(inside[1]), int(inside[-2])


def candidate_notes(plan: Plan, continuation: np.ndarray) -> np.ndarray:
    """One variation's notes cropped to the plan's range, without ids (shape (n,), NOTE_DTYPE)."""
    notes = continuation[(continuation["start"] >= plan.start) & (continuation["start"] < plan.end)].copy()
    notes["end"] = np.minimum(notes["end"], plan.end)
    notes["id"] = -1
    return notes


@dataclass
class CandidatePart:
    """The generated notes of one track: ``track_id``'s region is replaced, or (None) a new
    track is added with the name, program and drum flag given (name None: the caller's)."""

    notes: np.ndarray
    track_id: int | None = None
    name: str | None = None
    program: int = 0
    is_drum: bool = False


def candidate_parts(plan: Plan, result: "GenerationResult", index: int) -> list[CandidatePart]:
    """Variation ``index`` of ``result`` as the parts to accept: the plan's track, or, for
    multitrack families, each instrument slot into the track continuing it or a new track
    (slots that came out silent add no empty track; with ``plan.one_voice``, only the slot of
    the plan's track)."""
    if result.slot_tracks is None:
        return [CandidatePart(candidate_notes(plan, result.continuations[index]), plan.track_id)]
    parts = []
    for track, target in zip(result.slot_tracks[index], result.slot_targets):
        notes = candidate_notes(plan, track.notes)
        if plan.one_voice and target != plan.track_id:
            continue  # regenerating one voice: the others stay as they are
        if plan.drums_only and not track.is_drum:
            continue
        if target is not None or len(notes):
            parts.append(CandidatePart(notes, target, track.name, track.program, track.is_drum))
    return parts


def accept_edit(score: Score, plan: Plan, parts: list[CandidatePart],
                new_track_name: str = "Generated") -> Edit:
    """The one undoable edit that accepts a candidate (from :func:`candidate_parts`)."""
    edits: list[Edit] = []
    for part in parts:
        if part.track_id is None:
            track = Track(part.name or new_track_name, part.program, part.is_drum)
            track.add_new_notes(part.notes)
            edits.append(AddTrack(track, text="Accept Generated Track"))
        else:
            edits.append(ReplaceRegion(part.track_id, plan.start, plan.end, part.notes.copy(),
                                       text="Accept Generation"))
    return edits[0] if len(edits) == 1 else EditGroup(edits, text="Accept Generation")


def preview_score(score: Score, plan: Plan, parts: list[CandidatePart]) -> Score:
    """A copy of ``score`` with the candidate accepted, for auditioning."""
    preview = score.copy()
    accept_edit(preview, plan, parts).apply(preview)
    return preview
