"""The pop multitrack VAE (issue 16 part 1): songs, accompaniment, speed and the exported parts.

    OMP_NUM_THREADS=1 python benchmarks/bench_pop.py [--model PATH] [--songs N] [--melodies N]
        [--repeats N] [--figures DIR]

With the family's sampling defaults (``composer generate``'s), one variation each:

- songs: ``--songs`` 3-minute songs from scratch (90 bars of 4/4 at 120 bpm, seeds 0..N-1) and
  ``--songs`` continued for 3 minutes after the 4-bar openings of held-out POP909 songs
  (bench_continuation's pop909 primers: melody and piano, in 4/4 from the first downbeat; the
  slot they leave silent, BRIDGE, starts from a random point: the app's Silent voices "prior");
  per slot, the share of the generated bars in which it sounds (goal: every slot >= 0.8);
- export: the first song written as MIDI (``score_to_midi_bytes``) and read back: one track per
  slot, named after it, with the slot's program;
- accompaniment: the MELODY tracks of ``--melodies`` held-out POP909 songs (bar lines from
  ``beat_midi.txt``, ``composer.data.beats``) accompanied over their whole length as ``composer
  generate --accompany`` does it; per slot, the share of bars it sounds in, the share of its
  duration in the melody's key, and of the melody's onsets over it, the share consonant
  (bench_accompany's measures); the same for the songs' own BRIDGE, PIANO and bass;
- speed: a 3-minute song from scratch and accompanying a 3-minute melody, the median of
  ``--repeats`` calls after a warm-up, torch on one thread as generate.py sets it (goal <= 0.2 s).

``--figures DIR`` draws the piano rolls of one continuation and one accompaniment (matplotlib).
``--voice-sounds max|sum`` overrides the model's rule for when a one-note slot sounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_accompany import Tally, sounding_bars  # noqa: E402
from bench_continuation import DATASETS, evenly, pop909_cases  # noqa: E402
from summary import report  # noqa: E402

from composer.core.score import Score  # noqa: E402
from composer.core.timing import TempoChange, TimeSignature  # noqa: E402
from composer.representations.keys import find_key  # noqa: E402

ROOT = HERE.parent
DEFAULT_MODEL = ROOT / "checkpoints" / "multitrack_vae-pop909.safetensors"
POP909 = DATASETS / "pop909"
GOAL_SOUNDS, GOAL_SECONDS = 0.8, 0.2
COLORS = ("black", "tab:orange", "tab:blue", "tab:red")


def _defaults() -> dict:
    from composer.generation.request import sampling_defaults
    from composer.models.registry import family_spec

    return sampling_defaults(family_spec("multitrack_vae").sampling_defaults)


def scratch_request(seed: int):
    from composer.generation.request import GenerateRequest

    empty = Score([], 480, [TempoChange(0, 120.0)], [TimeSignature(0, 4, 4)])
    return GenerateRequest(primer=empty, start_tick=0, seconds=180, variations=1, seed=seed, **_defaults())


def continuation_request(primer: Score, seam: int, seed: int):
    from composer.generation.request import GenerateRequest

    return GenerateRequest(primer=primer, start_tick=seam, seconds=180, variations=1, seed=seed,
                           missing_slots="prior", **_defaults())


def slot_shares(result, start: int) -> dict[str, tuple[int, int]]:
    """{slot: (bars it sounds in, generated bars)} of the first variation."""
    score = result.scores[0]
    tracks = result.slot_tracks[0]
    end = max([int(t.notes["end"].max()) for t in tracks if len(t)] + [start + 1])
    lines = score.bar_starts(end)
    lines = lines[lines >= start]
    if lines[-1] < end:
        lines = np.append(lines, end)
    return {t.name: (int(sounding_bars(t.notes, lines).sum()), len(lines) - 1) for t in tracks}


def songs(model, count: int) -> tuple[dict, dict, object]:
    """Per slot, (sounding, bars) summed over songs from scratch and over continuations."""
    from composer.generation.generate import generate

    rows = {"from scratch": {}, "after a POP909 opening (silent slots: prior)": {}}
    first = None
    for seed in range(count):
        result = generate(model, scratch_request(seed))
        first = first or result
        for name, (on, bars) in slot_shares(result, 0).items():
            a, b = rows["from scratch"].get(name, (0, 0))
            rows["from scratch"][name] = (a + on, b + bars)
    cases = pop909_cases(POP909, count)
    for seed, case in enumerate(cases):
        result = generate(model, continuation_request(case.primer, case.seam, seed))
        for name, (on, bars) in slot_shares(result, case.seam).items():
            row = rows["after a POP909 opening (silent slots: prior)"]
            a, b = row.get(name, (0, 0))
            row[name] = (a + on, b + bars)
    return rows, {"primers": len(cases)}, first


def exported_parts(model, result) -> tuple[list[tuple[str, int]], bool]:
    """(name, program) of every track of the first song's MIDI file, and whether there is one
    per slot with the slot's program."""
    from composer.io.midi import parse_midi, score_to_midi_bytes

    read = parse_midi(score_to_midi_bytes(result.scores[0]))
    parts = [(t.name, t.program) for t in read.tracks if len(t)]
    codec = model.adapter.codec
    wanted = [(codec.track_name(k), codec.slot_program(k)) for k in range(len(codec.slot_names))]
    return parts, sorted(parts) == sorted(wanted)


def pop_melodies(count: int) -> list[tuple[str, Score, list]]:
    """(name, melody score, the song's other slots as the codec splits them) of held-out songs."""
    from composer.data.beats import read_training_midi
    from composer.data.dataset import split_of
    from composer.data.scan import scan_midi_files

    files = [(rel, path) for rel, path in scan_midi_files(POP909) if split_of(rel) == "test"]
    out = []
    for rel, path in evenly(files, count):
        score = read_training_midi(path)
        melody = [t for t in score.tracks if t.name.upper() == "MELODY" and len(t)]
        if melody:
            out.append((rel, score, melody[0]))
    return out


def accompaniments(model, count: int) -> tuple[dict, dict, int]:
    from composer.generation.generate import generate
    from composer.generation.request import GenerateRequest

    codec = model.adapter.codec
    generated, real = {}, {}
    pieces = pop_melodies(count)
    for index, (_, score, lead) in enumerate(pieces):
        key = find_key(lead.notes)
        melody = Score([lead], score.ppq, score.tempos, score.time_signatures)
        result = generate(model, GenerateRequest(primer=melody, accompany=lead.id, variations=1, seed=index,
                                                 **_defaults()))
        end = int(score.bar_starts(lead.end_tick)[-1])
        lines = score.bar_starts(end)
        for part in result.slot_tracks[0]:
            generated.setdefault(part.name, Tally()).add(lead.notes, part.notes, lines, key)
        for k, group in enumerate(codec.assign(score)):
            if k == codec.lead_index:
                continue
            notes = np.concatenate([t.notes for t in group]) if group else lead.notes[:0]
            real.setdefault(codec.slot_names[k], Tally()).add(lead.notes, notes[notes["start"] < end], lines, key)
    return ({k: v.row() for k, v in generated.items()}, {k: v.row() for k, v in real.items()}, len(pieces))


def timed(model, request, repeats: int) -> float:
    from composer.generation.generate import generate

    generate(model, request)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        generate(model, request)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def accompany_request(bars: int = 83):
    from bench_continuation import drawn_piece

    from composer.generation.request import GenerateRequest

    piece = drawn_piece(0, "major", 110.0, (4, 4), 7, bars=bars)
    melody = Score([piece.tracks[0]], piece.ppq, piece.tempos, piece.time_signatures)
    return GenerateRequest(primer=melody, accompany=melody.tracks[0].id, **_defaults())


def draw(score: Score, start: int, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(16, 6))
    end = min(score.end_tick, start + 16 * 4 * score.ppq)
    first = max(start - 4 * 4 * score.ppq, 0)
    order = {"melody": 0, "bridge": 1, "piano": 2, "bass": 3}
    for track in score.tracks:
        color = COLORS[order.get(track.name.lower(), 0)]
        for note in track.notes[(track.notes["start"] < end) & (track.notes["end"] > first)]:
            ax.add_patch(plt.Rectangle((note["start"] / score.ppq, note["pitch"] - 0.4),
                                       (note["end"] - note["start"]) / score.ppq, 0.8, color=color,
                                       alpha=0.5 if note["start"] < start else 1.0))
    for line in score.bar_starts(end):
        ax.axvline(line / score.ppq, color="0.85", lw=0.6, zorder=0)
    ax.axvline(start / score.ppq, color="green", lw=1.5)
    ax.set_xlim(first / score.ppq, end / score.ppq)
    ax.set_ylim(24, 96)
    ax.set_xlabel("beats")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title + ": MELODY black, BRIDGE orange, PIANO blue, BASS red")
    figure.tight_layout()
    figure.savefig(path, dpi=70)
    print(f"wrote {path}")


def figures(model, folder: Path) -> None:
    from composer.generation.generate import generate
    from composer.generation.request import GenerateRequest

    folder.mkdir(parents=True, exist_ok=True)
    case = pop909_cases(POP909, 1)[0]
    result = generate(model, continuation_request(case.primer, case.seam, 0))
    draw(result.scores[0], case.seam, folder / "pop909-continuation.png",
         f"{case.name} (held out): its 4-bar opening (faded) continued")
    name, score, lead = pop_melodies(1)[0]
    melody = Score([lead], score.ppq, score.tempos, score.time_signatures)
    result = generate(model, GenerateRequest(primer=melody, accompany=lead.id, seed=0, **_defaults()))
    draw(result.scores[0], 0, folder / "pop909-accompaniment.png", f"{name} (held out): its MELODY accompanied")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--songs", type=int, default=10)
    parser.add_argument("--melodies", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--figures", type=Path, metavar="DIR")
    parser.add_argument("--voice-sounds", choices=("max", "sum"),
                        help="override the model's rule for when a one-note slot sounds (Config.voice_sounds)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    from composer.models.base import load_model

    model, meta = load_model(args.model)
    if args.voice_sounds:
        model.config.voice_sounds = args.voice_sounds
    print(f"model: {meta.get('name')} ({args.model.name}); slots {', '.join(model.slot_names)}; "
          f"one-note slots sound by {model.config.voice_sounds}")
    rows, info, first = songs(model, args.songs)
    lowest = 1.0
    print(f"\n| 3-minute songs ({args.songs} from scratch, {info['primers']} after a held-out opening) | "
          + " | ".join(model.slot_names) + " |")
    print("|---|" + "---|" * len(model.slot_names))
    for label, shares in rows.items():
        cells = []
        for name in model.slot_names:
            on, bars = shares.get(name, (0, 0))
            share = on / bars if bars else float("nan")
            lowest = min(lowest, share)
            cells.append(f"{share:.3f}")
        print(f"| {label}: share of bars sounding | " + " | ".join(cells) + " |")
    print(f"lowest share of bars a slot sounds in: {lowest:.3f} (goal >= {GOAL_SOUNDS})")
    report("pop VAE: lowest share of bars a slot sounds in (3-minute songs)", lowest, "share", GOAL_SOUNDS, "higher")
    parts, ok = exported_parts(model, first)
    print(f"\nexported MIDI parts (name, program): {parts}; one per slot with its program: {ok}")

    generated, real, used = accompaniments(model, args.melodies)
    print(f"\naccompanying {used} held-out POP909 melodies:")
    print("| slot | sounds (bars) | in key (duration) | consonant with the melody |")
    print("|---|---|---|---|")
    for name in model.slot_names:
        for label, table in (("", generated), (" (the songs' own)", real)):
            if name in table:
                row = table[name]
                print(f"| {name}{label} | {row['sounds']:.3f} | {row['in_key']:.3f} | {row['consonant']:.3f} |")
    worst = min(row["sounds"] for row in generated.values())
    report("pop VAE accompaniment: lowest share of bars a slot sounds in", worst, "share", GOAL_SOUNDS, "higher")

    seconds = timed(model, scratch_request(0), args.repeats)
    print(f"\na 3-minute song from scratch: {seconds * 1000:.0f} ms (median of {args.repeats}; goal <= "
          f"{GOAL_SECONDS * 1000:.0f} ms)")
    report("pop VAE: a 3-minute song", seconds, "s", GOAL_SECONDS, "lower")
    seconds = timed(model, accompany_request(), args.repeats)
    print(f"accompanying a 3-minute melody (83 bars): {seconds * 1000:.0f} ms (median of {args.repeats})")
    report("pop VAE: accompany a 3-minute melody", seconds, "s", GOAL_SECONDS, "lower")
    if args.figures:
        figures(model, args.figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
