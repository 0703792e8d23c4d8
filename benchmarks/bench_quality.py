"""Are the shipped models free of the papers' failures (silence, a stuck chord, one repeated note)?

    python benchmarks/bench_quality.py [MODEL.safetensors ...] [--primer FILE.mid] [--seconds 60]

For each model (default: every checkpoint in checkpoints/), continue the first 5 seconds of a real
piece for 60 seconds, 4 variations, and print the empty-beat rate, the number of onsets, distinct
onset chords, the longest run of one chord and the distinct pitches of the continuation, next to
the same figures for the real piece.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

from composer.core.transforms import slice_time
from composer.generation.generate import generate
from composer.generation.request import GenerateRequest
from composer.io.midi import read_midi
from composer.models.base import load_model
from composer.representations.metrics import generation_check

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PRIMER = ROOT.parent / "shared" / "datasets" / "js_fakes" / "midi" / "7.mid"


def main() -> None:
    warnings.simplefilter("ignore")  # primer notes left out, context shorter than the primer
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--primer", type=Path, default=DEFAULT_PRIMER)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--variations", type=int, default=4)
    args = parser.parse_args()
    models = args.models or sorted((ROOT / "checkpoints").glob("*.safetensors"))
    if not models:
        sys.exit("no models given and none in checkpoints/")
    piece = read_midi(args.primer)
    cut = int(piece.tempo_map.seconds_to_tick(5.0))
    primer = slice_time(piece, 0, cut, shift_to_zero=False)
    print(f"primer: first 5 s of {args.primer.name}; continuation {args.seconds:g} s, "
          f"{args.variations} variations")
    print(f"{'model':<34} {'empty beats':>11} {'onsets':>7} {'chords':>7} {'longest run':>11} {'pitches':>8}")
    real = generation_check(piece, cut)
    print(f"{'(the real piece after 5 s)':<34} {real['empty_beat_rate']:>11.1%} {real['onsets']:>7} "
          f"{real['distinct_onset_chords']:>7} {real['longest_chord_run']:>11} {real['distinct_pitches']:>8}")
    for path in models:
        model, meta = load_model(path)
        result = generate(model, GenerateRequest(primer=primer, seconds=args.seconds,
                                                 variations=args.variations, seed=0))
        figures = [generation_check(score, result.start_tick) for score in result.scores]
        mean = {k: statistics.mean(f[k] for f in figures) for k in figures[0]}
        print(f"{path.name:<34} {mean['empty_beat_rate']:>11.1%} {mean['onsets']:>7.0f} "
              f"{mean['distinct_onset_chords']:>7.0f} {mean['longest_chord_run']:>11.1f} "
              f"{mean['distinct_pitches']:>8.0f}")


if __name__ == "__main__":
    main()
