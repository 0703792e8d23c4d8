"""Reading throughput and `composer info` start-up time (issue: Foundation).

    python benchmarks/bench_io.py [--folder DIR] [--workers N]

Prints, for the POP909 folder (909 files) by default:
- files per second read into Scores and piano rolls (4 steps per beat), in one process and with a
  process pool, against the goal of 1,000 files/s;
- the same for pretty_midi on a sample, for the ratio;
- the wall time of `composer info FILE` in a fresh process (goal: under 1 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from summary import report  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def read_and_roll(path: str) -> int:
    """Read one file and encode it as a piano roll; returns the number of notes."""
    from composer.io.midi import read_midi
    from composer.representations.pianoroll import to_pianoroll

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = read_midi(path)
    to_pianoroll(score, steps_per_beat=4)
    return score.note_count


def read_chunk(paths: list[str]) -> int:
    return sum(read_and_roll(p) for p in paths)


def rate_serial(files: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    notes = read_chunk(files)
    return len(files) / (time.perf_counter() - start), notes


def rate_parallel(files: list[str], workers: int) -> float:
    chunks = [files[i::workers * 4] for i in range(workers * 4)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(read_chunk, chunks[:workers]))  # start the workers before timing
        start = time.perf_counter()
        list(pool.map(read_chunk, chunks))
        return len(files) / (time.perf_counter() - start)


def rate_pretty_midi(files: list[str]) -> float:
    import pretty_midi

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            pretty_midi.PrettyMIDI(path).get_piano_roll(fs=8)
    return len(files) / (time.perf_counter() - start)


def info_wall_time(path: str, runs: int = 7) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "composer.cli", "info", path], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=DATASETS / "pop909")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--pretty-midi-sample", type=int, default=60)
    args = parser.parse_args()
    files = sorted(str(p) for p in args.folder.rglob("*.mid"))
    if not files:
        sys.exit(f"no MIDI files under {args.folder}")
    print(f"folder: {args.folder} ({len(files)} files), {os.cpu_count()} cores")

    read_chunk(files[:20])  # warm the imports and the page cache
    serial, notes = rate_serial(files)
    parallel = rate_parallel(files, args.workers)
    pm = rate_pretty_midi(files[: args.pretty_midi_sample])
    print(f"read + piano roll, 1 process : {serial:8.0f} files/s ({notes} notes)")
    print(f"read + piano roll, {args.workers} processes: {parallel:8.0f} files/s   goal >= 1000  "
          f"ratio {parallel / 1000:.2f}")
    print(f"pretty_midi + piano roll     : {pm:8.1f} files/s   (Composer is {serial / pm:.0f}x faster "
          f"in one process)")

    best, median = info_wall_time(files[0])
    print(f"composer info, wall time     : best {best:.3f} s, median {median:.3f} s   goal < 1 s")
    report(f"read + piano roll, {args.workers} processes", parallel, "files/s", 1000, "higher")
    report("read + piano roll, 1 process", serial, "files/s")
    report(f"pretty_midi + piano roll, 1 process ({len(files[: args.pretty_midi_sample])} files)", pm, "files/s")
    report("`composer info FILE`, fresh process (median)", median, "s", 1.0, "lower")


if __name__ == "__main__":
    main()
