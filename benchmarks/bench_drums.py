"""Drums (issue 16 part 2): a drum model's parts against the Groove MIDI Dataset's test split.

    OMP_NUM_THREADS=1 python benchmarks/bench_drums.py [--model PATH] [--data FOLDER] [--parts 20]
        [--continuations 40] [--figure PNG] [--noise X] [--threshold X] [--anchor X]

Defaults: ``--model checkpoints/multitrack_vae-groove.safetensors``, ``--data`` the Groove MIDI
Dataset (its own split, info.csv; the model never saw the test split).

1. Reference: groove consistency and drum-pattern consistency (muspy's definitions as
   ``composer metrics`` takes them: :mod:`composer.representations.music_metrics`) of every
   test-split beat (the "beat" files; the fills are one or two bars) and of every test file
   they can be taken on, mean and standard deviation.
2. From scratch: ``--parts`` 32-bar parts in 4/4 at 120 bpm (one seed each, the family's
   default sampling), the same two measures, whether the mean lies within one standard
   deviation of the test beats' mean, the bars without a hit (the goal: none), and the time
   one part takes.
3. Continuation of held-out beats: the first 4 bars of each test beat of at least 12 bars
   (up to ``--continuations``) are the primer; the model writes the next 8 bars. Against the
   drummer's own 8 bars: hit F1 (a hit: a key at a sixteenth of the bar, the 9 drum classes of
   Gillick et al. 2019 for keys), and the same F1 for 8 bars from scratch (the model ignoring
   the primer) and for the primer's last bar repeated 8 times (a loop pedal); bars without a hit.
   How far the continuations stay from a loop and from one another: the two consistency
   measures of the 8 written bars (and of the drummers' own 8), the bars that play exactly the
   primer's last bar's hits and a bar's hit F1 against it, and the hit F1 between
   ``VARIATIONS`` variations of one continuation.
4. ``--figure PNG``: the piano roll of an 8-bar part from scratch, rows named by GM drum key
   (needs matplotlib).

Markdown rows for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np

from composer.core.score import Score, TempoChange
from composer.core.timing import TimeSignature
from composer.generation.generate import generate
from composer.generation.plan import model_sampling_defaults
from composer.generation.request import GenerateRequest
from composer.io.midi import read_midi
from composer.models.base import load_model
from composer.models.registry import family_spec
from composer.representations.instruments import drum_name
from composer.representations.music_metrics import measure

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "checkpoints" / "multitrack_vae-groove.safetensors"
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "groove"
MEASURES = ("groove_consistency", "drum_pattern_consistency")
PART_BARS, PRIMER_BARS, CONTINUATION_BARS = 32, 4, 8
#: Variations of each continuation compared with one another.
VARIATIONS = 4
#: Gillick et al. 2019's 9 drum classes (kick, snare, closed hat, open hat, low/mid/high tom,
#: crash, ride) by GM / Roland key.
CLASSES = {36: 0, 35: 0, 38: 1, 37: 1, 40: 1, 42: 2, 22: 2, 44: 2, 46: 3, 26: 3, 43: 4, 58: 4, 41: 4,
           47: 5, 45: 5, 48: 6, 50: 6, 49: 7, 52: 7, 55: 7, 57: 7, 51: 8, 59: 8, 53: 8}


#: Sampling settings that replace the family's defaults: the model's own (its header's), then
#: ``--noise`` and ``--threshold``.
OVERRIDES: dict = {}


def request(**fields) -> GenerateRequest:
    """A request with the sampling defaults the app starts the model with, or OVERRIDES."""
    return GenerateRequest(**{**dict(family_spec("multitrack_vae").sampling_defaults), **OVERRIDES, **fields})


def test_files(data: Path) -> list[tuple[str, str]]:
    """(relative path, beat type) of the test split."""
    with open(data / "info.csv", newline="") as f:
        return [(r["midi_filename"], r["beat_type"]) for r in csv.DictReader(f) if r["split"] == "test"]


def read(path: Path) -> Score:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_midi(path)


def stats(rows: list[dict]) -> dict[str, tuple[float, float, int]]:
    out = {}
    for name in MEASURES:
        values = np.array([r[name] for r in rows], float)
        values = values[~np.isnan(values)]
        out[name] = (float(values.mean()), float(values.std()), len(values)) if len(values) else (np.nan, np.nan, 0)
    return out


def empty_bars(notes: np.ndarray, start: int, bar: int, n_bars: int) -> int:
    """Bars of [start, start + n_bars * bar) without a hit (a hit a little early counts for its bar)."""
    hit = np.zeros(n_bars, bool)
    index = (notes["start"] - start + bar // 32) // bar
    hit[index[(index >= 0) & (index < n_bars)]] = True
    return int((~hit).sum())


def hits(notes: np.ndarray, start: int, bar: int, n_bars: int) -> set[tuple[int, int, int]]:
    """(bar, sixteenth, drum class) of every hit in the bars."""
    step = np.rint((notes["start"] - start) * 16 / bar).astype(np.int64)
    keep = (step >= 0) & (step < 16 * n_bars)
    return {(int(s) // 16, int(s) % 16, CLASSES.get(int(p), 9)) for s, p in zip(step[keep], notes["pitch"][keep])}


def f1(made: set, real: set) -> float:
    if not made and not real:
        return 1.0
    return 2 * len(made & real) / (len(made) + len(real))


def drums_of(score: Score) -> np.ndarray:
    parts = [t.notes for t in score.tracks if t.is_drum]
    return np.concatenate(parts) if parts else np.zeros(0, score.tracks[0].notes.dtype)


def empty_song(qpm: float = 120.0, numerator: int = 4) -> Score:
    return Score([], 480, [TempoChange(0, qpm)], [TimeSignature(0, numerator, 4)])


def from_scratch(model, parts: int) -> tuple[list[dict], int, int, float]:
    rows, empty, bars, seconds = [], 0, 0, 0.0
    for seed in range(parts):
        song = empty_song()
        began = time.perf_counter()
        result = generate(model, request(primer=song, start_tick=0, bars=PART_BARS, variations=1, seed=seed))
        seconds += time.perf_counter() - began
        score = result.scores[0]
        rows.append(measure(score))
        empty += empty_bars(drums_of(score), 0, score.bar_ticks_at(0), PART_BARS)
        bars += PART_BARS
    return rows, empty, bars, seconds / parts


def continuations(model, data: Path, files: list[str], count: int) -> dict:
    made_f1, scratch_f1, loop_f1, empty, bars, used = [], [], [], 0, 0, 0
    rows, real_rows, looped, apart, like_last, real_like_last = [], [], 0, [], [], []
    for name in files:
        score = read(data / name)
        bar = score.bar_ticks_at(0)
        if len(score.time_signatures) > 1 or score.end_tick < (PRIMER_BARS + CONTINUATION_BARS) * bar:
            continue
        start = PRIMER_BARS * bar
        real = hits(drums_of(score), start, bar, CONTINUATION_BARS)
        result = generate(model, request(primer=score, start_tick=start, bars=CONTINUATION_BARS,
                                                 variations=1, seed=used))
        made = result.slot_tracks[0][0].notes
        made_f1.append(f1(hits(made, start, bar, CONTINUATION_BARS), real))
        empty += empty_bars(made, start, bar, CONTINUATION_BARS)
        bars += CONTINUATION_BARS
        rows.append(measure(result.scores[0], start, start + CONTINUATION_BARS * bar))
        real_rows.append(measure(score, start, start + CONTINUATION_BARS * bar))
        last = {(0, s, c) for b, s, c in hits(drums_of(score), start - bar, bar, 1)}
        for b in range(CONTINUATION_BARS):
            made_bar = {(0, s, c) for _, s, c in hits(made, start + b * bar, bar, 1)}
            looped += made_bar == last
            like_last.append(f1(made_bar, last))
            real_like_last.append(f1({(0, s, c) for _, s, c in hits(drums_of(score), start + b * bar, bar, 1)}, last))
        apart.append(variations_apart(model, score, start, bar, used))
        scratch = generate(model, request(primer=empty_song(score.tempo_map.qpm_at(0)), start_tick=start,
                                                  bars=CONTINUATION_BARS, variations=1, seed=used))
        scratch_f1.append(f1(hits(scratch.slot_tracks[0][0].notes, start, bar, CONTINUATION_BARS), real))
        loop_f1.append(f1({(b, s, c) for b in range(CONTINUATION_BARS) for _, s, c in last}, real))
        used += 1
        if used >= count:
            break
    return {"pieces": used, "f1": np.mean(made_f1), "f1_std": np.std(made_f1), "scratch_f1": np.mean(scratch_f1),
            "loop_f1": np.mean(loop_f1), "empty": empty, "bars": bars, "measures": stats(rows),
            "real_measures": stats(real_rows),
            "looped": looped, "apart": float(np.mean(apart)), "like_last": float(np.mean(like_last)),
            "real_like_last": float(np.mean(real_like_last))}


def variations_apart(model, score: Score, start: int, bar: int, seed: int, n: int = VARIATIONS) -> float:
    """How alike ``n`` variations of one continuation are: the mean hit F1 between every two of
    them (1: all the same, 0: no hit shared)."""
    result = generate(model, request(primer=score, start_tick=start, bars=CONTINUATION_BARS, variations=n,
                                     seed=seed))
    made = [hits(tracks[0].notes, start, bar, CONTINUATION_BARS) for tracks in result.slot_tracks]
    return float(np.mean([f1(made[i], made[j]) for i in range(n) for j in range(i + 1, n)]))


def draw(model, path: Path, bars: int = 8, seed: int = 0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = generate(model, request(primer=empty_song(), start_tick=0, bars=bars, variations=1, seed=seed))
    notes = result.slot_tracks[0][0].notes
    keys = sorted(set(int(p) for p in notes["pitch"]))
    row = {k: i for i, k in enumerate(keys)}
    beat = 480
    figure, ax = plt.subplots(figsize=(16, 1 + 0.4 * len(keys)))
    for n in notes:
        ax.add_patch(plt.Rectangle((n["start"] / beat, row[int(n["pitch"])] - 0.4), 0.12, 0.8,
                                   color=plt.cm.viridis(n["velocity"] / 127)))
    for b in range(bars * 4 + 1):
        ax.axvline(b, color="#000" if b % 4 == 0 else "#ccc", lw=1 if b % 4 == 0 else 0.5, zorder=0)
    ax.set_yticks(range(len(keys)), [f"{drum_name(k)} ({k})" for k in keys])
    ax.set_xlim(0, bars * 4)
    ax.set_ylim(-0.6, len(keys) - 0.4)
    ax.set_xlabel("beats (4/4, bar lines black); colour: velocity")
    ax.set_title(f"{bars} drum bars from scratch (seed {seed})")
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--parts", type=int, default=20)
    parser.add_argument("--continuations", type=int, default=40)
    parser.add_argument("--figure", type=Path, metavar="PNG")
    parser.add_argument("--noise", type=float, help="latent noise (default: the model's, else the family's 0.2)")
    parser.add_argument("--threshold", type=float, help="threshold (default: the family's, 0.3)")
    parser.add_argument("--anchor", type=float, help="pull of each bar's latent toward the primer bar's, 0-1 "
                        "(default: the model's)")
    args = parser.parse_args(argv)
    model, meta = load_model(args.model)
    OVERRIDES.update(model_sampling_defaults((), meta.get("info")))
    OVERRIDES.update({k: v for k, v in (("noise", args.noise), ("threshold", args.threshold),
                                        ("anchor", args.anchor)) if v is not None})
    model.eval()

    files = test_files(args.data)
    beats = [read(args.data / name) for name, kind in files if kind == "beat"]
    every = beats + [read(args.data / name) for name, kind in files if kind != "beat"]
    reference = stats([measure(s) for s in beats])
    reference_all = stats([measure(s) for s in every])
    rows, empty, bars, seconds = from_scratch(model, args.parts)
    made = stats(rows)
    print(f"model: {args.model.name}; test split: {len(beats)} beats, {len(every)} files")
    print("| measure | test beats | all test files | 32-bar parts from scratch | within 1 SD of the beats |")
    print("|---|---|---|---|---|")
    for name in MEASURES:
        (m, s, n), (ma, sa, na), (g, gs, gn) = reference[name], reference_all[name], made[name]
        print(f"| {name.replace('_', ' ')} | {m:.3f} ± {s:.3f} (n={n}) | {ma:.3f} ± {sa:.3f} (n={na}) | "
              f"{g:.3f} ± {gs:.3f} (n={gn}) | {'yes' if abs(g - m) <= s else 'NO'} |")
    print(f"bars without a hit: {empty} of {bars} ({args.parts} parts of {PART_BARS} bars); "
          f"one 32-bar part: {seconds * 1000:.0f} ms")
    held = continuations(model, args.data, [name for name, kind in files if kind == "beat"], args.continuations)
    print(f"continuation of {held['pieces']} held-out beats ({PRIMER_BARS} bars given, {CONTINUATION_BARS} written): "
          f"hit F1 against the drummer's own bars {held['f1']:.3f} ± {held['f1_std']:.3f}; from scratch "
          f"{held['scratch_f1']:.3f}; the primer's last bar looped {held['loop_f1']:.3f}; "
          f"bars without a hit {held['empty']} of {held['bars']}")
    (g, gs, _), (d, ds, _) = (held["measures"][name] for name in MEASURES)
    (rg, rgs, _), (rd, rds, _) = (held["real_measures"][name] for name in MEASURES)
    print(f"continuations: groove consistency {g:.3f} ± {gs:.3f}, drum pattern consistency {d:.3f} ± {ds:.3f} "
          f"(the drummers' own 8 bars: {rg:.3f} ± {rgs:.3f}, {rd:.3f} ± {rds:.3f}); "
          f"bars that play the primer's last bar's hits {held['looped']} of {held['bars']} (hit F1 of a bar "
          f"against it {held['like_last']:.3f}, the drummers' {held['real_like_last']:.3f}); hit F1 between "
          f"{VARIATIONS} variations of one continuation {held['apart']:.3f} (1: all alike)")
    if args.figure:
        draw(model, args.figure)
        print(f"figure: {args.figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
