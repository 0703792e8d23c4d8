"""Chords that belong together (issue 17): do the notes a model sounds at once form chords?

    OMP_NUM_THREADS=1 python benchmarks/bench_chords.py [--quick] [--models A,B,...] [--sets jsb,nottingham,jsfakes]

The held-out primers of the continuation benchmark (bench_continuation.py: 4 bars of a piece the
models never trained on, 8 bars continued, 4 variations, the app's default sampling) are
continued by each model, and at every onset where two notes or more sound, the pitch classes
sounding are read as a chord:

- **in a chord**: share of those onsets whose pitch classes all fit one triad (major, minor,
  diminished, augmented) or seventh chord (dominant, major, minor, half-diminished, diminished)
  on some root; passing and neighbour notes of real music fall outside it now and then, so the
  real continuations' own share is the mark;
- **clash**: share of those onsets with a minor second or major seventh between two pitch
  classes (a semitone against another voice);
- **notes at once**: mean number of notes sounding at those onsets.

The real continuation of each primer is measured the same way. A piano-roll head that samples
each pitch on its own (the papers') draws notes that do not belong together more often than one
that models the notes of a frame together (the NADE head).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from itertools import combinations

import numpy as np

import bench_continuation as bc

SETS = ("jsb", "nottingham", "jsfakes")
#: Chord templates as pitch classes above the root: the triads and the seventh chords.
TEMPLATES = ((0, 4, 7), (0, 3, 7), (0, 3, 6), (0, 4, 8),
             (0, 4, 7, 10), (0, 4, 7, 11), (0, 3, 7, 10), (0, 3, 6, 10), (0, 3, 6, 9))


def _chord_masks() -> np.ndarray:
    """fits[m] for every 12-bit pitch-class mask m: True when m's classes fit one template."""
    fits = np.zeros(4096, dtype=bool)
    for template in TEMPLATES:
        for root in range(12):
            classes = [(root + step) % 12 for step in template]
            for size in range(1, len(classes) + 1):
                for subset in combinations(classes, size):
                    fits[sum(1 << c for c in subset)] = True
    return fits


FITS = _chord_masks()
CLASH = {1, 11}


def chord_counts(notes: np.ndarray) -> tuple[int, int, int, int]:
    """For a note array: (onsets with 2+ notes sounding, of them in a chord, of them with a
    clash, notes sounding summed over them)."""
    if len(notes) < 2:
        return 0, 0, 0, 0
    start, end, pitch = notes["start"], notes["end"], notes["pitch"].astype(int)
    chords = in_chord = clashes = sounding_sum = 0
    for tick in np.unique(start):
        sounding = pitch[(start <= tick) & (end > tick)]
        if len(sounding) < 2:
            continue
        classes = {int(p) % 12 for p in sounding}
        mask = sum(1 << c for c in classes)
        chords += 1
        in_chord += bool(FITS[mask])
        clashes += any((a - b) % 12 in CLASH for a in classes for b in classes if a != b)
        sounding_sum += len(sounding)
    return chords, in_chord, clashes, sounding_sum


def summarize(counts: list[tuple[int, int, int, int]]) -> dict[str, float]:
    chords, in_chord, clashes, sounding = (sum(c[k] for c in counts) for k in range(4))
    if not chords:
        return {"onsets": 0, "in_chord": float("nan"), "clash": float("nan"), "at_once": float("nan")}
    return {"onsets": chords, "in_chord": in_chord / chords, "clash": clashes / chords, "at_once": sounding / chords}


def run(model_paths, cases, variations: int) -> dict[str, dict[str, dict[str, float]]]:
    """{model (or the reference): {set: measures}}."""
    import torch

    from composer.core.errors import ComposerError
    from composer.models.base import load_model

    torch.set_num_threads(1)
    rows = {bc.REFERENCE: _by_set(cases, [[case.real] if case.real is not None else [] for case in cases])}
    for path in model_paths:
        started = time.perf_counter()
        model, meta = load_model(path)
        continuations = []
        for seed, case in enumerate(cases):
            try:
                continuations.append(bc.generate_for(model, meta["family"], case, seed, variations).continuations)
            except ComposerError:
                continuations.append([])
        name = path.name.removesuffix(".safetensors")
        if name in rows:
            name += f" ({path.resolve().parent.name}/)"
        rows[name] = _by_set(cases, continuations)
        print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return rows


def _by_set(cases, continuations) -> dict[str, dict[str, float]]:
    out = {}
    for set_name in dict.fromkeys(case.set for case in cases):
        counts = [chord_counts(notes) for case, notes_list in zip(cases, continuations) if case.set == set_name
                  for notes in notes_list]
        out[set_name] = summarize(counts)
    return out


def table(rows) -> str:
    lines = [f"{'set':<11}{'model':<34}{'onsets':>8}{'in a chord':>12}{'clash':>8}{'at once':>9}", "-" * 82]
    sets = list(next(iter(rows.values())))
    for set_name in sets:
        for name, by_set in rows.items():
            m = by_set.get(set_name)
            if m:
                lines.append(f"{set_name:<11}{name[:33]:<34}{m['onsets']:>8}{m['in_chord']:>12.3f}"
                             f"{m['clash']:>8.3f}{m['at_once']:>9.2f}")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the continuation benchmark's quick primer counts")
    parser.add_argument("--models", default="pianoroll_lstm-jsb,pianoroll_lstm-nottingham,bar_lstm-jsfakes,"
                                            "pianoroll_seq2seq-jsfakes",
                        help="comma-separated model names or paths (default: the bundled piano-roll models)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"primer sets (default {','.join(SETS)})")
    parser.add_argument("--variations", type=int, default=bc.VARIATIONS)
    args = parser.parse_args(argv)
    sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
    counts = bc.QUICK_COUNTS if args.quick else bc.COUNTS
    cases = bc.build_cases(bc.DATASETS, counts, sets)
    if not cases:
        raise SystemExit("no primers: is ../shared/datasets there?")
    started = time.perf_counter()
    rows = run(bc.choose_models(args.models), cases, args.variations)
    print(table(rows))
    print("in a chord = share of onsets with 2+ notes sounding whose pitch classes fit one triad or seventh "
          "chord; clash = share with a semitone (or major seventh) between two pitch classes; at once = notes "
          "sounding at those onsets (mean).")
    print(f"{(time.perf_counter() - started) / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
