"""Benchmark FluidSynth rendering speed against the goal of 100x real time.

Usage: python benchmarks/bench_audio.py [--effects] [--repeat N] [--soundfont PATH] [MIDI files...]

Without files, renders a few from ../shared/datasets, whichever are present: JS Fakes chorales and
Nottingham folk tunes (typical pieces: 2-4 parts) and Lakh multitrack pop songs (dense: 10-14 tracks
with drums). Files are read with symusic and converted to a Score here, so the benchmark does not
depend on the MIDI import module. Render time excludes loading the SoundFont (done once) and is
the best of --repeat runs (default 3), since other processes on the machine add noise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import symusic

from composer.core import Score, TempoChange, Track, make_notes
from composer.io.audio import Renderer
from summary import report

GOAL = 100.0
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_FILES = [("js_fakes/midi", 3), ("nottingham/MIDI", 3), ("lakh_multitrack_sample", 2)]


def load_score(path: Path) -> Score:
    """A Score from a MIDI file, built from symusic's note arrays."""
    s = symusic.Score(str(path))
    tracks = []
    for tr in s.tracks:
        n = tr.notes.numpy()
        start = n["time"].astype(np.int64)
        end = start + np.maximum(n["duration"].astype(np.int64), 1)
        notes = make_notes(start, end, n["pitch"], np.clip(n["velocity"], 1, 127))
        tracks.append(Track(tr.name, int(tr.program), bool(tr.is_drum), notes))
    tempos = [TempoChange(int(t.time), float(t.qpm)) for t in s.tempos]
    return Score(tracks, ppq=int(s.ticks_per_quarter), tempos=tempos or None, title=path.stem)


def default_files() -> list[Path]:
    files = []
    for folder, count in DEFAULT_FILES:
        files += sorted((DATASETS / folder).glob("*.mid"))[:count]
    return files


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--effects", action="store_true", help="render with reverb and chorus")
    parser.add_argument("--repeat", type=int, default=3, help="runs per file; the best counts")
    parser.add_argument("--soundfont", help="SoundFont to use (default: find_soundfont())")
    args = parser.parse_args(argv)
    files = args.files or default_files()
    if not files:
        print(f"no MIDI files given and none found under {DATASETS}")
        return 1

    groups: dict[str, list[float]] = {}  # folder -> [audio seconds, render seconds]
    with Renderer(args.soundfont, effects=args.effects) as renderer:
        print(f"SoundFont: {renderer.soundfont}, {renderer.sample_rate} Hz, "
              f"reverb and chorus {'on' if args.effects else 'off'}")
        print(f"{'file':<36} {'tracks':>6} {'notes':>6} {'audio s':>8} {'render s':>8} "
              f"{'speed':>8}")
        for path in files:
            score = load_score(path)
            elapsed = float("inf")
            for _ in range(max(args.repeat, 1)):
                t0 = time.perf_counter()
                audio = renderer.render(score)
                elapsed = min(elapsed, time.perf_counter() - t0)
            seconds = len(audio) / renderer.sample_rate
            folder = path.parent.parent if path.parent.name.lower() == "midi" else path.parent
            group = groups.setdefault(folder.name, [0.0, 0.0])
            group[0] += seconds
            group[1] += elapsed
            print(f"{path.name[:36]:<36} {len(score.tracks):>6} {score.note_count:>6} "
                  f"{seconds:>8.1f} {elapsed:>8.3f} {seconds / elapsed:>7.1f}x")

    print()
    for name, (seconds, elapsed) in groups.items():
        print(f"{'subtotal ' + name:<50} {seconds:>8.1f} {elapsed:>8.3f} "
              f"{seconds / elapsed:>7.1f}x")
    total_audio = sum(g[0] for g in groups.values())
    total_render = sum(g[1] for g in groups.values())
    speed = total_audio / total_render
    print(f"{'total':<50} {total_audio:>8.1f} {total_render:>8.3f} {speed:>7.1f}x")
    print(f"audio render: {speed:.1f}x real time (goal >= {GOAL:g}x)")
    report(f"audio render, {len(files)} files{', effects on' if args.effects else ''}", speed,
           "x real time", GOAL, "higher")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
