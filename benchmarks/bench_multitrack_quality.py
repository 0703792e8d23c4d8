"""``multitrack_vae`` (paper 004): how well a trained model reconstructs and what its songs look like.

    OMP_NUM_THREADS=1 python benchmarks/bench_multitrack_quality.py [--model PATH] [--data FOLDER]
        [--seeds 5] [--primers 5]

Defaults: ``--model checkpoints/multitrack_vae-jsfakes.safetensors``, ``--data`` the JS Fake
Chorales (encoded with the model's own codec; the test split is the one training held out).

1. Reconstruction of held-out bars: every bar of the test split through each slot's VAE (the
   latent mean, no sampling), decoded and thresholded at 0.3 (paper 004) and 0.5. Per slot:
   precision, recall and F1 of the active (step, pitch) cells and of the note onsets (a cell on
   at step t and off at t-1 of the same bar, or on at t = 0), exact over all bars (true / false
   positives and negatives summed, not a mean of per-batch F1s); the share of cells the model
   turns on against the share that are on; and the KL term, the mean over bars of
   KL(q(z|x) || N(0, I)) in nats.
2. 3-minute songs (90 bars: 3 minutes at 120 bpm in 4/4) from scratch and after the first 2 bars
   of ``--primers`` test-split chorales, each with ``--seeds`` seeds, sampled three ways:
   threshold 0.3 with latent noise 0, threshold 0.3 with noise 0.5, and Bernoulli sampling (noise
   0). They run through ``Model.generate`` (the loop ``composer.generation.generate`` drives, with
   its one-thread setting), so the figures read the generated bars (the primer left out). Per
   slot: the share of empty bars (no active cell), overall and in the first and last third of the
   song (paper 004 saw instruments abandoned after a few bars); pitch-class entropy (muspy: the
   entropy in bits of the normalised 12-bin pitch-class histogram of the note onsets); polyphony
   (muspy: the mean number of pitches on at the time steps with at least one on); the
   distinct-bars ratio (distinct bar patterns / bars; one bar repeated gives 1 / bars) and the
   longest run of identical consecutive non-empty bars. Songs are rolls of consecutive bars (a
   note is an onset where a pitch turns on, across bar lines too); the "all" column merges the
   slots as muspy merges tracks. The training split's pieces get the same computation for
   comparison (they are chorales of about 12 bars, so their distinct-bar ratio is not comparable
   with 90-bar songs).

Tables are markdown rows for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from composer.data.dataset import load_source
from composer.generation.generate import cpu_threads
from composer.models.base import SamplingOptions, load_model

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
DEFAULT_MODEL = ROOT / "checkpoints" / "multitrack_vae-jsfakes.safetensors"
SONG_BARS = 90  # 3 minutes at 120 bpm in 4/4


def sampling_modes(noises: str) -> list[tuple[str, str, float]]:
    """(label, mode, noise): threshold 0.3 with each noise in ``noises`` ("0,0.5"), and Bernoulli."""
    modes = [(f"threshold 0.3, noise {n:g}", "threshold", n) for n in (float(x) for x in noises.split(","))]
    return modes + [("bernoulli, noise 0", "bernoulli", 0.0)]


# ---------------------------------------------------------------------------- reconstruction
def onsets(roll: np.ndarray | torch.Tensor, axis: int = -2):
    """Cells on at a step and off at the step before along ``axis`` (the first step: on)."""
    if isinstance(roll, torch.Tensor):
        before = torch.zeros_like(roll)
        before[..., 1:, :] = roll[..., :-1, :]
        return roll & ~before
    before = np.zeros_like(roll)
    index = [slice(None)] * roll.ndim
    index[axis] = slice(1, None)
    source = [slice(None)] * roll.ndim
    source[axis] = slice(None, -1)
    before[tuple(index)] = roll[tuple(source)]
    return roll & ~before


def _counts(predicted: torch.Tensor, truth: torch.Tensor) -> np.ndarray:
    tp = int((predicted & truth).sum())
    return np.array([tp, int(predicted.sum()) - tp, int(truth.sum()) - tp], dtype=np.int64)


def _prf(counts: np.ndarray) -> tuple[float, float, float]:
    tp, fp, fn = (float(c) for c in counts)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return precision, recall, f1


@torch.no_grad()
def reconstruction(model, bars: np.ndarray, thresholds=(0.3, 0.5), batch: int = 256) -> dict:
    """Per slot: {"kl": nats per bar, "cells": share on, threshold: {"cell": counts,
    "onset": counts, "on": share predicted on}}."""
    out = {}
    for k, vae in enumerate(model.vaes):
        kl_sum, on = 0.0, 0
        counts = {t: {"cell": np.zeros(3, np.int64), "onset": np.zeros(3, np.int64), "on": 0}
                  for t in thresholds}
        for start in range(0, len(bars), batch):
            x = torch.from_numpy(bars[start:start + batch, k].astype(np.float32))
            mu, logvar = vae.encode(x)
            kl_sum += float((-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)).sum())
            probs = torch.sigmoid(vae.decode(mu))
            truth = x > 0.5
            on += int(truth.sum())
            for t in thresholds:
                predicted = probs >= t
                counts[t]["cell"] += _counts(predicted, truth)
                counts[t]["onset"] += _counts(onsets(predicted), onsets(truth))
                counts[t]["on"] += int(predicted.sum())
        cells = bars[:, k].size
        out[model.slot_names[k]] = {"kl": kl_sum / len(bars), "cells": on / cells,
                                    **{t: {**c, "on": c["on"] / cells} for t, c in counts.items()}}
    return out


def print_reconstruction(result: dict, n_bars: int, thresholds=(0.3, 0.5)) -> None:
    print(f"\nReconstruction of the {n_bars} test-split bars (latent mean, no sampling):\n")
    print("| slot | threshold | cells on (true / decoded) | cell P | cell R | cell F1 | onset P | onset R "
          "| onset F1 | KL (nats) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in result.items():
        for t in thresholds:
            cp, cr, cf = _prf(r[t]["cell"])
            op, orr, of = _prf(r[t]["onset"])
            print(f"| {name} | {t} | {r['cells']:.2%} / {r[t]['on']:.2%} | {cp:.3f} | {cr:.3f} | {cf:.3f} | "
                  f"{op:.3f} | {orr:.3f} | {of:.3f} | {r['kl']:.2f} |")
    for t in thresholds:
        cell = sum(r[t]["cell"] for r in result.values())
        onset = sum(r[t]["onset"] for r in result.values())
        print(f"| all | {t} | | {' | '.join(f'{v:.3f}' for v in _prf(cell))} | "
              f"{' | '.join(f'{v:.3f}' for v in _prf(onset))} | {sum(r['kl'] for r in result.values()):.2f} (sum) |")


# ---------------------------------------------------------------------------- song figures
def _entropy(pitches: np.ndarray) -> float:
    """muspy's pitch-class entropy of onset pitches, bits; NaN without onsets."""
    if len(pitches) == 0:
        return float("nan")
    histogram = np.bincount(pitches % 12, minlength=12) / len(pitches)
    nonzero = histogram[histogram > 0]
    return float(-(nonzero * np.log2(nonzero)).sum())


def _polyphony(roll: np.ndarray) -> float:
    """muspy's polyphony: mean pitches on over the steps with any pitch on; NaN without notes."""
    per_step = roll.sum(axis=-1)
    sounding = per_step[per_step > 0]
    return float(sounding.mean()) if len(sounding) else float("nan")


def _longest_identical_run(bars: np.ndarray) -> int:
    """Longest run of identical consecutive non-empty bars of one slot, (N, steps, 128)."""
    flat = bars.reshape(len(bars), -1)
    nonempty = flat.any(axis=1)
    same = np.r_[False, (flat[1:] == flat[:-1]).all(axis=1)]
    longest = run = 0
    for i in range(len(bars)):
        run = (run + 1 if same[i] else 1) if nonempty[i] else 0
        longest = max(longest, run)
    return longest


def song_figures(song: np.ndarray) -> dict:
    """One song (bars, slots, steps, 128) -> per-slot arrays of its figures (and "all")."""
    n, slots = song.shape[:2]
    third = max(n // 3, 1)
    empty = ~song.reshape(n, slots, -1).any(axis=2)  # (bars, slots)
    rolls = song.transpose(1, 0, 2, 3).reshape(slots, -1, song.shape[-1]) > 0  # (slots, T, 128)
    starts = onsets(rolls)
    figures = {
        "bars": n,
        "empty": empty.sum(axis=0), "empty_first": empty[:third].sum(axis=0),
        "empty_last": empty[-third:].sum(axis=0), "third": third,
        "entropy": np.array([_entropy(np.nonzero(starts[k])[1]) for k in range(slots)]),
        "polyphony": np.array([_polyphony(rolls[k]) for k in range(slots)]),
        "entropy_all": _entropy(np.nonzero(starts)[2]),
        "polyphony_all": _polyphony(rolls.any(axis=0)),
        "distinct": np.array([len({song[i, k].tobytes() for i in range(n)}) / n for k in range(slots)]),
        "run": np.array([_longest_identical_run(song[:, k]) for k in range(slots)]),
    }
    return figures


def summarize(rows: list[dict]) -> dict:
    """Figures of many songs: empty shares over all their bars, the rest means over songs."""
    bars = sum(r["bars"] for r in rows)
    thirds = sum(r["third"] for r in rows)
    with np.errstate(all="ignore"), _quiet():
        return {
            "songs": len(rows), "bars": bars,
            "empty": sum(r["empty"] for r in rows) / bars,
            "empty_first": sum(r["empty_first"] for r in rows) / thirds,
            "empty_last": sum(r["empty_last"] for r in rows) / thirds,
            "entropy": np.nanmean([r["entropy"] for r in rows], axis=0),
            "polyphony": np.nanmean([r["polyphony"] for r in rows], axis=0),
            "entropy_all": np.nanmean([r["entropy_all"] for r in rows]),
            "polyphony_all": np.nanmean([r["polyphony_all"] for r in rows]),
            "distinct": np.mean([r["distinct"] for r in rows], axis=0),
            "run_mean": np.mean([r["run"] for r in rows], axis=0),
            "run_max": np.max([r["run"] for r in rows], axis=0),
        }


class _quiet:
    """Silence numpy's "mean of empty slice" (a slot silent in every song gives NaN, printed)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


def generate_songs(model, primer: np.ndarray, mode: str, noise: float, seeds: int) -> list[np.ndarray]:
    """``seeds`` songs of SONG_BARS new bars after ``primer`` ((0, ...) from scratch), primer left out."""
    songs = []
    options = SamplingOptions(mode=mode, threshold=0.3, noise=noise)
    for seed in range(seeds):
        generator = torch.Generator().manual_seed(seed)
        with cpu_threads(torch.device("cpu")), torch.inference_mode():
            result = list(model.generate(primer, SONG_BARS, 1, options, generator))[-1]
        songs.append(result[0, len(primer):])
    return songs


def print_songs(table: dict[str, dict], slots: list[str]) -> None:
    print("\nEmpty bars per slot, all bars (first third -> last third of each song):\n")
    print(f"| songs | n | bars | {' | '.join(slots)} |")
    print(f"|---|---|---|{'---|' * len(slots)}")
    for label, s in table.items():
        cells = [f"{s['empty'][k]:.0%} ({s['empty_first'][k]:.0%} -> {s['empty_last'][k]:.0%})"
                 for k in range(len(slots))]
        print(f"| {label} | {s['songs']} | {s['bars']} | {' | '.join(cells)} |")
    for key, title in (("entropy", "Pitch-class entropy of onsets, bits (max 3.58), mean over songs"),
                       ("polyphony", "Polyphony (pitches on per sounding step), mean over songs")):
        print(f"\n{title}:\n")
        print(f"| songs | {' | '.join(slots)} | all slots merged |")
        print(f"|---|{'---|' * len(slots)}---|")
        for label, s in table.items():
            print(f"| {label} | {' | '.join(f'{v:.2f}' for v in s[key])} | {s[key + '_all']:.2f} |")
    print("\nDistinct-bars ratio / longest run of identical consecutive non-empty bars (mean, max over songs):\n")
    print(f"| songs | {' | '.join(slots)} |")
    print(f"|---|{'---|' * len(slots)}")
    for label, s in table.items():
        cells = [f"{s['distinct'][k]:.2f} / {s['run_mean'][k]:.1f}, {s['run_max'][k]}" for k in range(len(slots))]
        print(f"| {label} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--data", default=str(DATASETS / "js_fakes"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--noise", default="0,0.5", help="latent noise sizes tried with threshold 0.3")
    parser.add_argument("--no-primers", action="store_true", help="songs from scratch only")
    parser.add_argument("--primers", type=int, default=5, help="test chorales whose first 2 bars prime songs")
    args = parser.parse_args()
    started = time.perf_counter()
    model, meta = load_model(args.model, expected_family="multitrack_vae")
    data = load_source(args.data, model.adapter.codec)
    test, train = data.split_pieces("test"), data.split_pieces("train")
    config = model.config
    print(f"{Path(args.model).name}: {meta.get('name')} ({meta.get('preset')}; slots "
          f"{', '.join(model.slot_names)}, lead {model.slot_names[model.lead]}; channels {config.channels}, "
          f"latent {config.latent}; trained {meta.get('training', {}).get('epochs')} epochs, "
          f"{config.steps_per_epoch or 'full'} steps each); data {args.data}: "
          f"{len(train)} training / {len(test)} test pieces")

    bars = np.concatenate(test)
    with cpu_threads(torch.device("cpu")):
        print_reconstruction(reconstruction(model, bars), len(bars))

    table = {f"training split ({np.mean([len(p) for p in train]):.1f} bars each)":
             summarize([song_figures(p) for p in train])}
    primed = [p for p in test if len(p) >= 2]
    chosen = [primed[int(i)] for i in np.linspace(0, len(primed) - 1, args.primers).round()] if args.primers else []
    empty = np.zeros((0,) + test[0].shape[1:], np.uint8)
    modes = sampling_modes(args.noise)
    for label, mode, noise in modes:
        table[f"scratch, {label}"] = summarize(
            [song_figures(s) for s in generate_songs(model, empty, mode, noise, args.seeds)])
    for label, mode, noise in ([] if args.no_primers else modes):
        rows = [song_figures(s) for piece in chosen for s in generate_songs(model, piece[:2], mode, noise, args.seeds)]
        if rows:
            table[f"primer (2 bars of {len(chosen)} test chorales), {label}"] = summarize(rows)
    print(f"\nSongs of {SONG_BARS} bars, {args.seeds} seeds each:")
    print_songs(table, list(model.slot_names))
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
