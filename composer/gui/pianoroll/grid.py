"""Snap settings: grid names ("1/16", "1/8T", "off") to ticks, and snapping ticks to the grid.

The grid restarts at every bar line, so snapping stays musical across time-signature changes
that fall inside a bar.
"""

from __future__ import annotations

import math

import numpy as np

#: Snap names offered by the editor, coarse to fine; "off" snaps to single ticks.
SNAP_NAMES = ("1/1", "1/2", "1/4", "1/8", "1/16", "1/32", "1/8T", "1/16T", "off")


def snap_ticks(name: str, ppq: int) -> int:
    """Grid step in ticks for a snap name at ``ppq`` ticks per quarter (0 for "off").

    ``"1/N"`` is a 1/N note (four quarters divided by N); a ``T`` suffix makes it a triplet
    (two thirds as long). Raises ValueError for an unknown name.
    """
    if name == "off":
        return 0
    if name not in SNAP_NAMES:
        raise ValueError(f"unknown snap {name!r}; choose one of {', '.join(SNAP_NAMES)}")
    triplet = name.endswith("T")
    division = int(name[2:].rstrip("T"))
    ticks = 4 * ppq / division * (2 / 3 if triplet else 1)
    return max(int(round(ticks)), 1)


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def snap(tick: float, step: int, bars: np.ndarray, mode: str = "round") -> int:
    """Snap ``tick`` to the grid of ``step`` ticks that restarts at each bar start in ``bars``.

    ``mode`` is "round", "floor" or "ceil". With ``step`` 0 or 1 the tick is only made an integer.
    """
    how = {"round": _round_half_up, "floor": math.floor, "ceil": math.ceil}[mode]
    if step <= 1:
        return int(how(tick))
    i = int(np.searchsorted(bars, tick, side="right")) - 1 if len(bars) else -1
    origin = int(bars[i]) if i >= 0 else 0
    return origin + int(how((tick - origin) / step)) * step
