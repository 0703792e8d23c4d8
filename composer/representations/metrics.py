"""Objective checks of a generated piece: pure functions of a Score (numpy only).

They catch the failures papers 000 and 001 reported: silence (a high empty-beat rate), one stuck
chord or one repeated note (few distinct onset chords, a long run of the same one).
Drum tracks are left out unless ``include_drums``; a score without notes gives an empty-beat rate
of 1.0 and zero onsets.
"""

from __future__ import annotations

import numpy as np

from ..core.score import Score


def empty_beat_rate(score: Score, start_tick: int = 0, end_tick: int | None = None,
                    include_drums: bool = False) -> float:
    """Share of beats (quarter notes) in [start_tick, end_tick) during which no note sounds."""
    end_tick = score.end_tick if end_tick is None else end_tick
    n_beats = int(np.ceil((end_tick - start_tick) / score.ppq))
    if n_beats <= 0:
        return 1.0
    sounding = np.zeros(n_beats, dtype=bool)
    for track in score.tracks:
        if track.is_drum and not include_drums:
            continue
        n = track.notes
        first = np.clip((n["start"] - start_tick) // score.ppq, 0, n_beats)
        last = np.clip((n["end"] - 1 - start_tick) // score.ppq + 1, 0, n_beats)
        for a, b in zip(first.tolist(), last.tolist()):
            sounding[a:b] = True
    return float(1.0 - sounding.mean())


def onset_chords(score: Score, start_tick: int = 0, end_tick: int | None = None,
                 include_drums: bool = False) -> list[tuple[int, ...]]:
    """The pitch sets that start together, in time order, for notes starting in the range."""
    end_tick = score.end_tick if end_tick is None else end_tick
    rows = []
    for track in score.tracks:
        if track.is_drum and not include_drums:
            continue
        n = track.notes
        keep = (n["start"] >= start_tick) & (n["start"] < end_tick)
        rows.append(np.stack([n["start"][keep], n["pitch"][keep].astype(np.int64)], axis=1))
    if not rows or not sum(len(r) for r in rows):
        return []
    both = np.concatenate(rows)
    both = both[np.lexsort((both[:, 1], both[:, 0]))]
    cuts = np.flatnonzero(np.diff(both[:, 0])) + 1
    return [tuple(group[:, 1].tolist()) for group in np.split(both, cuts)]


def generation_check(score: Score, start_tick: int = 0, end_tick: int | None = None,
                     include_drums: bool = False) -> dict:
    """Silence and repetition figures of the part of ``score`` in [start_tick, end_tick) (drum
    tracks counted with ``include_drums``: a drum model's part).

    Returns
    -------
    dict with ``empty_beat_rate``, ``onsets`` (onset times), ``distinct_onset_chords``,
    ``longest_chord_run`` (most consecutive onsets of one identical pitch set) and
    ``distinct_pitches``.
    """
    chords = onset_chords(score, start_tick, end_tick, include_drums)
    longest = run = 0
    for i, chord in enumerate(chords):
        run = run + 1 if i and chord == chords[i - 1] else 1
        longest = max(longest, run)
    pitches = {p for chord in chords for p in chord}
    return {
        "empty_beat_rate": empty_beat_rate(score, start_tick, end_tick, include_drums),
        "onsets": len(chords),
        "distinct_onset_chords": len(set(chords)),
        "longest_chord_run": longest,
        "distinct_pitches": len(pitches),
    }


def token_check(tokens) -> dict:
    """Repetition figures of a token sequence (any hashable items: ids, chord tuples).

    Returns
    -------
    dict with ``tokens`` (length), ``distinct`` (number of different tokens),
    ``distinct_share`` (distinct / length; 0.0 for an empty sequence) and ``longest_run`` (most
    consecutive equal tokens; 0 for an empty sequence).
    """
    items = list(tokens.tolist() if isinstance(tokens, np.ndarray) else tokens)
    longest = run = 0
    for i, item in enumerate(items):
        run = run + 1 if i and item == items[i - 1] else 1
        longest = max(longest, run)
    distinct = len(set(items))
    return {"tokens": len(items), "distinct": distinct,
            "distinct_share": distinct / len(items) if items else 0.0, "longest_run": longest}
