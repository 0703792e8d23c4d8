"""Reading a folder with music21 (as papers 001 and 003 did) against Composer's reading pipeline.

    pip install music21==10.5.1      (or: pip install -e .[bench])
    python benchmarks/bench_music21.py [--folder DIR] [--files 100] [--repeat 1]

The same files (the first ``--files`` MIDI files of the folder in sorted order; by default
POP909, found as bench_data.py finds it) are turned into paper 001's token list two ways:

(a) music21, as papers 001 and 003 did: ``music21.converter.parse`` on each file, then a walk over
    ``score.recurse().notes`` collecting every Note (its pitch name, "C4") and Chord (its pitch
    names joined by dots, "C4.E4.G4") with its offset, sorted by offset: the token list. Parsing is
    forced from the MIDI source without music21's pickle cache (``forceSource=True,
    storePickle=False``): a first read, which is what a user's new folder gets. One process (the
    papers' scripts ran one loop).
(b) Composer: ``composer.io.midi.read_midi`` + the chord_token_lstm "paper" preset's codec (paper
    001's encoding: a chord token per onset group) in a plain loop in one process; then
    ``composer.data.dataset.encode_folder`` (the app's pipeline: skip reasons, statistics, split;
    no cache) with ``workers=1`` (like for like with (a)) and with every core.

Prints files/s for each and the ratio to music21, with music21's version. Each figure is the
best of ``--repeat`` runs (default 1: music21 is slow). The music21 side takes about 3.3 s per
POP909 file on this project's machine (0.30 files/s), so 100 files take about 5.5 minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

from summary import report

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def music21_tokens(path: str) -> list[str]:
    """Paper 001's get_notes_from_midi: the notes and chords of every part, by offset."""
    from music21 import chord, converter, note

    score = converter.parse(path, forceSource=True, storePickle=False)
    events = []
    for element in score.recurse().notes:
        offset = element.getOffsetInHierarchy(score)
        if isinstance(element, note.Note):
            events.append((offset, str(element.pitch)))
        elif isinstance(element, chord.Chord):
            events.append((offset, ".".join(str(p) for p in element.pitches)))
    events.sort(key=lambda e: e[0])
    return [token for _, token in events]


def best_rate(fn, n_files: int, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return n_files / best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=DATASETS / "pop909")
    parser.add_argument("--files", type=int, default=100, help="the first N MIDI files, sorted")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="for the all-cores run")
    args = parser.parse_args()

    import music21

    from composer.data.dataset import encode_folder
    from composer.io.midi import read_midi
    from composer.models.base import preset_config
    from composer.models.registry import load_family

    files = sorted(str(p) for p in args.folder.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    files = files[: args.files]
    if not files:
        sys.exit(f"no MIDI files under {args.folder}")
    config = preset_config("chord_token_lstm", "paper")
    codec = load_family("chord_token_lstm").Model.adapter_class.default_codec(config)
    print(f"folder: {args.folder}, first {len(files)} files; music21 {music21.__version__}; "
          f"Composer codec {codec.params()}; {os.cpu_count()} cores")

    def composer_loop():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [codec.encode(read_midi(f)) for f in files]

    def music21_loop():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [music21_tokens(f) for f in files]

    with tempfile.TemporaryDirectory() as tmp:
        # encode_folder reads a folder: the same files, linked (or copied) into one.
        folder = Path(tmp) / "songs"
        folder.mkdir()
        for i, f in enumerate(files):
            target = folder / f"{i:04d}_{Path(f).name}"
            try:
                os.symlink(f, target)
            except OSError:
                shutil.copy(f, target)

        def pipeline(workers: int):
            return lambda: encode_folder(folder, codec, workers=workers, use_cache=False, write_cache=False)

        composer_loop()  # warm the imports and the page cache
        music21_tokens(files[0])
        loop_rate, rolls = best_rate(composer_loop, len(files), args.repeat)
        one_rate, encoded = best_rate(pipeline(1), len(files), args.repeat)
        all_rate, _ = best_rate(pipeline(args.workers), len(files), args.repeat)
        m21_rate, tokens = best_rate(music21_loop, len(files), args.repeat)

    n_tokens = sum(len(t) for t in tokens)
    n_chords = sum(len(r) for r in rolls)
    print(f"(a) music21 parse + notes/chords walk, 1 process: {m21_rate:8.2f} files/s "
          f"({n_tokens:,} note/chord tokens)")
    print(f"(b) read_midi + codec.encode, 1 process        : {loop_rate:8.1f} files/s "
          f"({n_chords:,} chord rows)  {loop_rate / m21_rate:.0f}x music21")
    print(f"    encode_folder, 1 worker                    : {one_rate:8.1f} files/s  "
          f"{one_rate / m21_rate:.0f}x music21 ({encoded.summary['files_used']} files used)")
    print(f"    encode_folder, {args.workers} workers                   : {all_rate:8.1f} files/s  "
          f"{all_rate / m21_rate:.0f}x music21")
    note = f"music21 {music21.__version__}, first {len(files)} files of {args.folder.name}"
    report("music21 parse + notes/chords walk, 1 process", m21_rate, "files/s", None, "higher", note)
    report("Composer read_midi + paper-001 chord codec, 1 process", loop_rate, "files/s", None, "higher",
           f"{loop_rate / m21_rate:.0f}x music21")
    report("Composer encode_folder, 1 worker", one_rate, "files/s", None, "higher",
           f"{one_rate / m21_rate:.0f}x music21")
    report(f"Composer encode_folder, {args.workers} workers", all_rate, "files/s", None, "higher",
           f"{all_rate / m21_rate:.0f}x music21")
    report("speed-up of encode_folder (1 worker) over music21", one_rate / m21_rate, "x", None, "higher", note)


if __name__ == "__main__":
    main()
