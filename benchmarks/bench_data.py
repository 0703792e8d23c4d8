"""Preprocessing a folder: the data layer adds no more than 20% to the raw reading time.

    python benchmarks/bench_data.py [--folder DIR] [--workers N] [--family F] [--repeat R]

On the POP909 folder (909 files) by default, with the same worker count throughout:

(a) raw reading: list the files, then ``read_midi`` + ``codec.encode`` over every file in a plain
    ``ProcessPoolExecutor.map`` (chunks of 32), the rolls returned to the parent: the foundation's
    reading path with nothing else;
(b) ``encode_folder(..., use_cache=False)``: the same work plus what the data layer adds (skip
    reasons, warnings, statistics, bit-packing in the workers, the split, writing the cache);
(c) ``encode_folder`` again: loaded from the cache.

Prints each time (the median of ``--repeat`` runs, pool start-up included), files/s, the overhead
of (b) over (a) against the goal (<= 20%), and (c).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from summary import report  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
GOAL_OVERHEAD = 0.20


def _raw_one(args):
    path, codec = args
    from composer.io.midi import read_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return codec.encode(read_midi(path))
        except Exception:  # a bad file: the raw path just drops it
            return None


def raw_read(folder: Path, codec, workers: int) -> int:
    files = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    with ProcessPoolExecutor(workers) as pool:
        rolls = list(pool.map(_raw_one, [(f, codec) for f in files], chunksize=32))
    return sum(r is not None for r in rolls)


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=DATASETS / "pop909")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--family", default="bar_lstm", help="codec of this model family (default "
                        "bar_lstm: piano roll, 4 steps per beat; pianoroll_lstm: 16 frames/s)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from composer.data.dataset import encode_folder
    from composer.training.trainer import family_config

    if not args.folder.is_dir():
        sys.exit(f"folder not found: {args.folder}")
    module, config = family_config(args.family, None, {})
    codec = module.Model.adapter_class.default_codec(config)
    print(f"folder: {args.folder}, codec {codec.params()}, {args.workers} workers, "
          f"{os.cpu_count()} cores, median of {args.repeat} runs")

    with tempfile.TemporaryDirectory() as cache_dir:
        def build():
            return encode_folder(args.folder, codec, workers=args.workers, cache_dir=cache_dir,
                                 use_cache=False)

        def cached():
            return encode_folder(args.folder, codec, workers=args.workers, cache_dir=cache_dir)

        raw_read(args.folder, codec, args.workers)  # warm the page cache and the imports
        build()
        # Interleave (a) and (b) so drifts in machine load hit both alike.
        a_times, b_times = [], []
        for _ in range(args.repeat):
            a_times.append(timed(lambda: raw_read(args.folder, codec, args.workers), 1)[0])
            b_times.append(timed(build, 1)[0])
        n_raw = raw_read(args.folder, codec, args.workers)
        encoded = build()
        c_med, c_min, again = timed(cached, args.repeat)
        assert again.from_cache, "the second run did not load the cache"
        cache_bytes = os.path.getsize(again.cache_path)

    a, b = statistics.median(a_times), statistics.median(b_times)
    n = encoded.summary["files_found"]
    overhead = b / a - 1.0
    s = encoded.summary
    print(f"files: {n} found, {s['files_used']} used ({n_raw} by the raw path), "
          f"{s['total_frames']:,} frames, {s['total_notes']:,} notes, "
          f"{s['duration_seconds'] / 3600:.1f} h; cache {cache_bytes / 1e6:.1f} MB")
    print(f"(a) raw read + encode      : {a:7.3f} s  {n / a:7.0f} files/s  (min {min(a_times):.3f})")
    print(f"(b) encode_folder, no cache: {b:7.3f} s  {n / b:7.0f} files/s  (min {min(b_times):.3f})")
    print(f"    overhead of (b) over (a): {overhead * 100:+.1f}%   goal <= {GOAL_OVERHEAD * 100:.0f}%  "
          f"{'met' if overhead <= GOAL_OVERHEAD else 'NOT MET'}")
    report(f"encode_folder / raw read + encode time ({args.family}, {args.workers} workers)", b / a, "x",
           1 + GOAL_OVERHEAD, "lower", f"overhead {overhead * 100:+.1f}% (medians), "
           f"{min(b_times) / min(a_times) - 1:+.1%} (best runs)")
    report(f"raw read + encode ({args.family}, {args.workers} workers)", n / a, "files/s")
    print(f"(c) encode_folder, cached  : {c_med:7.3f} s  {n / c_med:7.0f} files/s  (min {c_min:.3f}), "
          f"{a / c_med:.0f}x faster than (a)")


if __name__ == "__main__":
    main()
