"""Density and polyphony controls (issue 15), on held-out real pieces, for every bundled model
that steers them.

Each held-out piece (the "test" files by ``split_of``: Nottingham for the Nottingham models,
JS Fake Chorales for the others) is continued from bar 5 for 8 bars, 3 variations, asking for
each density (notes per beat) and polyphony (most notes at once) below. Printed per model and
request: the notes per beat reached (mean, and the share of variations within 20% of the
request: goal 1.0) and the most notes at once in any variation (goal: never above the request).

    OMP_NUM_THREADS=1 python benchmarks/bench_texture_controls.py [--pieces 10]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_continuation import from_first_downbeat, test_files  # noqa: E402

from composer.generation.generate import generate  # noqa: E402
from composer.generation.request import GenerateRequest  # noqa: E402
from composer.io.midi import read_midi  # noqa: E402
from composer.models.base import load_model  # noqa: E402
from composer.models.library import BUNDLED  # noqa: E402
from composer.models.registry import family_spec  # noqa: E402
from composer.representations.continuation import most_voices  # noqa: E402

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
REQUESTS = [(None, None), (0.5, None), (1.0, None), (2.0, None), (4.0, None), (1.0, 1), (2.0, 2), (None, 1),
            (None, 2), (None, 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    pieces = {}
    for name, folder in {"nottingham": DATASETS / "nottingham", "jsfakes": DATASETS / "js_fakes"}.items():
        loaded = [from_first_downbeat(read_midi(path)) for _, path in test_files(folder, args.pieces)]
        pieces[name] = [p for p in loaded if p is not None and len(p.bar_starts(p.end_tick)) > 5]
    print(f"{'model':32s} {'density':>8s} {'poly':>5s} {'reached':>8s} {'within 20%':>10s} {'most at once':>12s}")
    for path in sorted(BUNDLED.glob("*.safetensors")):
        model, meta = load_model(path)
        if "density" not in family_spec(meta["family"]).controls:
            continue
        data = pieces["nottingham" if "nottingham" in path.stem else "jsfakes"]
        for density, polyphony in REQUESTS:
            reached, voices = [], []
            for seed, piece in enumerate(data):
                start = int(piece.bar_starts(piece.end_tick)[4])
                beats = 8 * piece.bar_ticks_at(start) / piece.ppq
                result = generate(model, GenerateRequest(primer=piece, start_tick=start, bars=8, variations=3,
                                                         seed=seed, density=density, polyphony=polyphony))
                reached += [len(notes) / beats for notes in result.continuations]
                voices += [most_voices(notes) for notes in result.continuations]
            within = np.mean([abs(r - density) <= 0.2 * density for r in reached]) if density else float("nan")
            print(f"{path.stem:32s} {density or '-':>8} {polyphony or '-':>5} {np.mean(reached):8.2f} "
                  f"{within:10.2f} {max(voices):12d}")


if __name__ == "__main__":
    main()
