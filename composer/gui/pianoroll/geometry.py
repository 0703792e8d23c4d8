"""Scene units and the pixel grid shared by the piano-roll widgets.

The scene is laid out in musical units that do not depend on the zoom: ``x`` is the tick and
``y`` is the key row, ``127 - pitch`` (one unit per key, the highest key on top). Zooming only
changes the view's transform, ``scale(px_per_tick, key_height)``, so no item moves when the user
zooms, however many notes the score holds.

Whatever is painted (grid lines, key rows, note outlines, ruler ticks, velocity stems) is placed
on whole device pixels by :func:`pixel`, in device coordinates: a note's left edge lands on the
pixel column of the grid line at its start tick, and its top on the first pixel row of its key.
"""

from __future__ import annotations

import math

import numpy as np

#: Key rows in the scene (MIDI pitches 0-127); the scene is this many units high.
ROWS = 128

# Ticks times a zoom that is not a power of two land a hair below whole numbers (3 * 0.1 is
# 0.30000000000000004, but 0.29 * 100 is 28.999999999999996); this keeps them on their pixel.
EPSILON = 1e-6


def pixel(x: float) -> int:
    """The device pixel (column or row) where something at device coordinate ``x`` is drawn."""
    return math.floor(x + EPSILON)


def pixels(x) -> np.ndarray:
    """Vectorised :func:`pixel` (as floats) for an array of device coordinates."""
    return np.floor(np.asarray(x, dtype=float) + EPSILON)

