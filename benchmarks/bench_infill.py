"""Infill that hears both sides (issue 15), on held-out real pieces, for every bundled model.

Each held-out piece (the "test" files by ``split_of``: Nottingham for the Nottingham models,
JS Fake Chorales for the others) loses bars 5-8 (bars 5-6 for the encoder-decoder, whose
context is two bars); the model fills the gap three ways, 3 variations each, the same seed:

- ``infill``: ``GenerateRequest(infill=True)`` (32 candidates resampled by the likelihood of
  the two bars after the gap; the VAE interpolates between its latents at both ends);
- ``plain``: a plain continuation from the bars before (what "Fill" did before);
- ``real``: the piece's own bars.

Printed per model: the mean log-likelihood (nats) the model gives the two bars after the gap
when they follow each filling (goal: infill > plain), the pitch jump into the bar after the gap
(semitones between the top voice in the filling's last beat and in the first beat after it;
goal: infill no larger than real), and the time of one infill of 4 bars with 32 candidates (goal <= 1 s).

    OMP_NUM_THREADS=1 python benchmarks/bench_infill.py [--pieces 20]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_continuation import from_first_downbeat, test_files  # noqa: E402

from composer.core.errors import ComposerError  # noqa: E402
from composer.generation.generate import generate  # noqa: E402
from composer.generation.infill import following_log_likelihood, gap_bounds, seam_pitch  # noqa: E402
from composer.generation.request import GenerateRequest  # noqa: E402
from composer.io.midi import read_midi  # noqa: E402
from composer.models.base import load_model  # noqa: E402
from composer.models.library import BUNDLED  # noqa: E402

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
GAP_START_BAR = 4  # 0-based: the gap starts at bar 5
VARIATIONS = 3


def jump(filling: np.ndarray, after: np.ndarray, beat: int) -> float:
    """Semitones between the top voice at the end of ``filling`` and at the start of ``after``
    (:func:`~composer.generation.infill.seam_pitch`); NaN when either has no notes."""
    if not len(filling) or not len(after):
        return float("nan")
    return float(abs(seam_pitch(filling, True, beat) - seam_pitch(after, False, beat)))


def pitched(score, lo: int, hi: int) -> np.ndarray:
    parts = [t.notes[(t.notes["start"] >= lo) & (t.notes["start"] < hi)] for t in score.tracks if not t.is_drum]
    return np.concatenate(parts) if parts else np.zeros(0)


def measure(model, piece, gap_bars: int, seed: int) -> dict[str, float] | None:
    lines = piece.bar_starts(piece.end_tick)
    if len(lines) < GAP_START_BAR + gap_bars + 3:
        return None
    start = int(lines[GAP_START_BAR])
    request = GenerateRequest(primer=piece, start_tick=start, bars=gap_bars, variations=VARIATIONS,
                              seed=seed, infill=True)
    try:
        _, end, after_end = gap_bounds(piece, request)
    except ComposerError:
        return None
    after = pitched(piece, end, after_end)
    began = time.perf_counter()
    filled = generate(model, request)
    took = time.perf_counter() - began
    plain = generate(model, GenerateRequest(primer=piece, start_tick=start, bars=gap_bars,
                                            variations=VARIATIONS, seed=seed))
    real = pitched(piece, start, end)
    beat = piece.ppq
    row = {"time": took,
           "jump_infill": np.nanmean([jump(c, after, beat) for c in filled.continuations]),
           "jump_plain": np.nanmean([jump(c, after, beat) for c in plain.continuations]),
           "jump_real": jump(real, after, beat)}
    if filled.log_likelihoods is not None:
        row["ll_infill"] = float(np.mean(filled.log_likelihoods))
        row["ll_plain"] = float(np.mean(following_log_likelihood(model, request, plain.continuations, after_end)))
        row["ll_real"] = float(following_log_likelihood(model, request, [real], after_end)[0])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--models", nargs="*", help="bundled model names (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    sets = {"nottingham": DATASETS / "nottingham", "jsfakes": DATASETS / "js_fakes"}
    pieces = {}
    for name, folder in sets.items():
        loaded = [from_first_downbeat(read_midi(path)) for _, path in test_files(folder, args.pieces)]
        pieces[name] = [p for p in loaded if p is not None]
    print(f"{'model':32s} {'ll infill':>10s} {'ll plain':>9s} {'ll real':>8s} {'jump infill':>11s} "
          f"{'plain':>6s} {'real':>6s} {'time s':>7s} {'pieces':>6s}")
    for path in sorted(BUNDLED.glob("*.safetensors")):
        if args.models and path.stem not in args.models:
            continue
        model, meta = load_model(path)
        gap_bars = 2 if model.adapter.context_frames else 4
        data = "nottingham" if "nottingham" in path.stem else "jsfakes"
        rows = [r for i, p in enumerate(pieces[data]) if (r := measure(model, p, gap_bars, seed=i)) is not None]
        if not rows:
            print(f"{path.stem:32s} (no piece long enough)")
            continue

        def mean(key: str) -> float:
            return float(np.nanmean([r.get(key, np.nan) for r in rows]))

        print(f"{path.stem:32s} {mean('ll_infill'):10.1f} {mean('ll_plain'):9.1f} {mean('ll_real'):8.1f} "
              f"{mean('jump_infill'):11.2f} {mean('jump_plain'):6.2f} {mean('jump_real'):6.2f} "
              f"{np.median([r['time'] for r in rows]):7.2f} {len(rows):6d}")


if __name__ == "__main__":
    main()
