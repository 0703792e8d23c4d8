"""Machine-readable headline figures of the benchmarks, for ``run_all.py``.

Each speed benchmark calls :func:`report` where it prints a headline figure. When the environment
variable ``COMPOSER_BENCH_SUMMARY`` names a file, one JSON line per figure is appended to it;
otherwise :func:`report` does nothing, so running a benchmark by hand is unchanged.

A line: ``{"bench": "bench_io", "measure": "...", "value": 1063.0, "unit": "files/s",
"goal": 1000.0, "better": "higher", "note": "..."}``. ``goal`` is null for figures shown for
context only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ENV = "COMPOSER_BENCH_SUMMARY"


def report(name: str, value: float, unit: str, goal: float | None = None, better: str = "lower",
           note: str = "") -> None:
    """Append one figure (``name``: what was measured) to the summary file, if one is set."""
    path = os.environ.get(ENV)
    if not path:
        return
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', not {better!r}")
    line = {"bench": Path(sys.argv[0]).stem, "measure": name, "value": float(value), "unit": unit,
            "goal": None if goal is None else float(goal), "better": better, "note": note}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
