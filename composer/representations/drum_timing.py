"""How a drummer plays off the grid: timing and velocity of drum hits by their step in the bar.

A bar codec quantises hits to ``steps_per_bar`` steps; the Groove MIDI Dataset's drummers play a
little early or late and louder on some steps than others (Gillick et al. 2019 call putting
this back "humanizing"). :func:`measure_timing` takes, for each step of the bar, the mean and
standard deviation of the hits' offset from the step (in steps) and of their velocity, over the
drum tracks of some MIDI files; :func:`humanize` moves decoded hits by a draw from that step's
offsets and gives them a velocity drawn likewise. numpy only.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core.score import Score
from ..io.midi import read_midi

__all__ = ["measure_timing", "humanize", "MAX_OFFSET"]

#: The furthest a hit moves from its step, in steps (it stays nearer its own step than the next).
MAX_OFFSET = 0.45


def _hits(score: Score, steps_per_bar: int):
    """(step in the bar, offset from it in steps, velocity) of every drum hit of ``score``."""
    notes = [t.notes for t in score.tracks if t.is_drum and len(t)]
    if not notes:
        return np.zeros((0, 3))
    notes = np.concatenate(notes)
    lines = score.bar_starts(int(notes["start"].max()) + 1)
    bar = np.clip(np.searchsorted(lines, notes["start"], side="right") - 1, 0, len(lines) - 2)
    length = np.maximum(lines[bar + 1] - lines[bar], 1)
    x = (notes["start"] - lines[bar]) * steps_per_bar / length
    step = np.rint(x)
    return np.stack([step.astype(np.int64) % steps_per_bar, x - step, notes["velocity"]], axis=1)


def measure_timing(paths, steps_per_bar: int) -> dict | None:
    """Per step of the bar: "offset_mean", "offset_std" (steps) and "velocity_mean",
    "velocity_std" of the drum hits in the MIDI files ``paths`` (lists of ``steps_per_bar``
    floats); None without hits. Files that cannot be read are left out."""
    rows = []
    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows.append(_hits(read_midi(path), steps_per_bar))
        except Exception:  # noqa: BLE001 - a file the data set skipped anyway
            continue
    hits = np.concatenate(rows) if rows else np.zeros((0, 3))
    if not len(hits):
        return None
    table = {name: [] for name in ("offset_mean", "offset_std", "velocity_mean", "velocity_std")}
    for step in range(steps_per_bar):
        here = hits[hits[:, 0] == step]
        offset = here[:, 1] if len(here) else np.zeros(1)
        velocity = here[:, 2] if len(here) else np.full(1, 100.0)
        table["offset_mean"].append(round(float(offset.mean()), 4))
        table["offset_std"].append(round(float(offset.std()), 4))
        table["velocity_mean"].append(round(float(velocity.mean()), 2))
        table["velocity_std"].append(round(float(velocity.std()), 2))
    return table


def humanize(notes: np.ndarray, bar_lines: np.ndarray, steps_per_bar: int, table: dict,
             rng: np.random.Generator) -> np.ndarray:
    """Decoded hits (on steps of the bars between ``bar_lines``) moved off the grid and given
    velocities as ``table`` (:func:`measure_timing`) has them for their step; a copy. A hit
    moves at most :data:`MAX_OFFSET` steps and never before the first bar line."""
    notes = notes.copy()
    if not len(notes):
        return notes
    lines = np.asarray(bar_lines, dtype=np.int64)
    bar = np.clip(np.searchsorted(lines, notes["start"], side="right") - 1, 0, len(lines) - 2)
    length = np.maximum(lines[bar + 1] - lines[bar], 1)
    step = np.rint((notes["start"] - lines[bar]) * steps_per_bar / length).astype(np.int64) % steps_per_bar
    mean, std = np.asarray(table["offset_mean"])[step], np.asarray(table["offset_std"])[step]
    offset = np.clip(rng.normal(mean, std), -MAX_OFFSET, MAX_OFFSET)
    shift = np.rint(offset * length / steps_per_bar).astype(np.int64)
    shift = np.maximum(shift, lines[0] - notes["start"])
    notes["start"] += shift
    notes["end"] += shift
    velocity = rng.normal(np.asarray(table["velocity_mean"])[step], np.asarray(table["velocity_std"])[step])
    notes["velocity"] = np.clip(np.rint(velocity), 1, 127)
    return notes
