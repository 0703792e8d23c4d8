"""Accompany a lead track: which track leads, over which bars, and the checks with their messages.

Torch-free, so the app's plan (composer.generation.plan), ``composer generate --accompany`` and
composer.generation.generate share them. The lead stays exactly as it is; a multitrack model
(paper 004's ConditionalNNs) writes every other instrument slot under it, bar by bar.
"""

from __future__ import annotations

import numpy as np

from composer.core.errors import ComposerError, ScoreError
from composer.core.score import Score, Track


def track_label(track: Track, score: Score) -> str:
    """"track 2 (Alto)" or "track 2" for an unnamed track: how messages name a track."""
    number = score.track_index(track.id) + 1
    return f"track {number} ({track.name})" if track.name.strip() else f"track {number}"


def lead_track(score: Score, track_id: int) -> Track:
    """The track to accompany, checked: it exists, is pitched and has notes.

    Raises
    ------
    ComposerError
        For an unknown id, a drum track or an empty track, with what to do instead.
    """
    try:
        track = score.track(track_id)
    except ScoreError:
        raise ComposerError(f"there is no track {track_id} to accompany") from None
    label = track_label(track, score)
    if track.is_drum:
        raise ComposerError(f"{label} is a drum track; accompany a melody: choose a pitched track")
    if not len(track):
        raise ComposerError(f"{label} has no notes to accompany; choose the track with the melody")
    return track


def find_track(score: Score, name_or_number: str) -> Track:
    """``composer generate --accompany TRACK``: a 1-based track number, or a track's name (case
    does not matter). Raises ComposerError naming the tracks there are."""
    text = str(name_or_number).strip()
    if text.isdigit() and 1 <= int(text) <= len(score.tracks):
        return score.tracks[int(text) - 1]
    named = [t for t in score.tracks if t.name.strip().lower() == text.lower()]
    if named:
        return named[0]
    tracks = ", ".join(f"{i} ({t.name})" if t.name.strip() else str(i) for i, t in enumerate(score.tracks, 1))
    raise ComposerError(f"the primer has no track {text!r} to accompany; give a track number or name "
                        f"(its tracks: {tracks or 'none'})")


def accompany_end(score: Score, lead: Track, start_tick: int) -> int:
    """Where accompanying the whole piece from ``start_tick`` ends: the bar line at or after the
    lead's last note (so its last bar is accompanied whole)."""
    end = max(lead.end_tick, int(start_tick) + 1)
    lines = score.bar_starts(end)  # ends with the first bar line at or after ``end``
    return int(lines[np.searchsorted(lines, end)])


def check_lead_sounds(score: Score, lead: Track, start_tick: int, end_tick: int) -> None:
    """A ComposerError when ``lead`` has no note sounding in [start_tick, end_tick)."""
    notes = lead.notes
    if not ((notes["start"] < end_tick) & (notes["end"] > start_tick)).any():
        first, last = score.bar_index_at(start_tick) + 1, score.bar_index_at(max(end_tick - 1, start_tick)) + 1
        bars = f"bar {first}" if first == last else f"bars {first}-{last}"
        raise ComposerError(f"{track_label(lead, score)} has no notes in {bars} to accompany; choose "
                            f"bars where the melody plays")
