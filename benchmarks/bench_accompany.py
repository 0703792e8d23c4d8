"""Accompany held-out melodies with the bundled multitrack VAE (issue 15, part 1).

    OMP_NUM_THREADS=1 python benchmarks/bench_accompany.py [--quick] [--model PATH] [--variations N]
        [--missing-slots silence|prior] [--repeats N]

Each melody is accompanied over its whole length the way ``composer generate --accompany 1``
does it (composer.generation.generate: key normalisation, the family's sampling defaults,
threshold 0.3 and noise 0.2, ``--variations`` seeds per melody). The melodies, all held out
from the bundled model's training:

- ``jsfakes``: the soprano of the JS Fake Chorales that ``split_of`` puts in "test" (the split
  training held out), from the first downbeat; the reference is the chorale's own A, T and B.
- ``jsb``: the soprano of the JSB Chorales' standard test split (czhuang's
  ``Jsb16thSeparated.json``, sixteenths, read as bench_continuation reads it: 4/4 at 90 bpm, the
  pickup left out); the reference is Bach's A, T and B.
- ``nottingham``: the melody track of the Nottingham test files (folk tunes in 4/4, 6/8, 3/4 ...;
  bar lines from their time signatures); the reference is the file's chord track (polyphonic,
  so its figures are a different kind of accompaniment).
- ``melody``: bench_continuation's drawn melodies alone (every key, both modes, 4/4 and 3/4, three
  tempos), no reference.

Per accompanying slot (A, T, B), over every variation of every melody of a set:

- sounds: the share of the accompanied bars in which the slot sounds (goal >= 0.8);
- in key: the share of the slot's notes, by duration, in the melody's key (``find_key`` on the
  melody; its major scale, or natural minor plus the raised seventh; goal >= 0.88);
- consonant: of the melody notes at whose onset the slot sounds, the share at a consonant
  interval to it: unison or octave, minor or major third, perfect fifth, minor or major sixth
  (interval classes 0, 3, 4, 7, 8, 9; the fourth counts as dissonant, as it does against a
  bass). The reference rows take the same measures of the real accompaniment.

Speed: accompanying a 3-minute melody (a drawn melody, 83 bars of 4/4 at 110 bpm, one variation)
through ``generate``, the median of ``--repeats`` runs after one warm-up; torch on one thread, as
generate.py sets it (goal <= 0.2 s).

``--figure PNG`` also draws the piano roll of one held-out chorale's soprano (black) and its
accompaniment (A blue, T green, B red; notes off the melody's key faded with a red edge); it
needs matplotlib (which the ``bench`` extra's music21 brings).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_continuation import (DATASETS, JSB_QPM, PPQ, _held_notes, drawn_combinations,  # noqa: E402
                                drawn_piece, evenly, from_first_downbeat, test_files)
from summary import report  # noqa: E402

from composer.core.score import Score, Track  # noqa: E402
from composer.core.timing import TempoChange, TimeSignature  # noqa: E402
from composer.representations.keys import Key, find_key  # noqa: E402

ROOT = HERE.parent
DEFAULT_MODEL = ROOT / "checkpoints" / "multitrack_vae-jsfakes.safetensors"
SETS = ("jsfakes", "jsb", "nottingham", "melody")
COUNTS = {"jsfakes": 200, "jsb": 77, "nottingham": 110, "melody": 48}
QUICK_COUNTS = {"jsfakes": 12, "jsb": 8, "nottingham": 8, "melody": 12}
MELODY_SEEDS = 2000
CONSONANT = (0, 3, 4, 7, 8, 9)
GOAL_SOUNDS, GOAL_IN_KEY, GOAL_SECONDS = 0.8, 0.88, 0.2
SLOTS = ("A", "T", "B")
REFERENCE = "(real accompaniment)"


# ----------------------------------------------------------------------------- melodies


def jsfakes_pieces(count: int) -> list[tuple[str, Score]]:
    from composer.io.midi import read_midi

    pieces = []
    for rel, path in test_files(DATASETS / "js_fakes", count):
        piece = from_first_downbeat(read_midi(path))
        if piece is not None and len(piece.tracks) == 4:
            pieces.append((rel, piece))
    return pieces


def jsb_pieces(count: int) -> list[tuple[str, Score]]:
    data = json.loads((DATASETS / "pianoroll_benchmarks" / "jsb_czhuang" / "Jsb16thSeparated.json").read_text())
    pieces = []
    for index in evenly(list(range(len(data["test"]))), count):
        frames = np.asarray(data["test"][index], dtype=float)
        frames = np.nan_to_num(frames[len(frames) % 16:], nan=-1).astype(int)
        tracks = [Track(voice, 0, False, _held_notes(frames[:, k], PPQ // 4)) for k, voice in enumerate("SATB")]
        pieces.append((f"test/{index}", Score(tracks, PPQ, [TempoChange(0, JSB_QPM)], [TimeSignature(0, 4, 4)])))
    return pieces


def nottingham_pieces(count: int) -> list[tuple[str, Score]]:
    from composer.io.midi import read_midi

    pieces = []
    for rel, path in test_files(DATASETS / "nottingham", count):
        piece = from_first_downbeat(read_midi(path))
        if piece is not None and len(piece.tracks) >= 2 and len(piece.tracks[0]) and len(piece.tracks[1]):
            pieces.append((rel, piece))
    return pieces


def melody_pieces(count: int) -> list[tuple[str, Score]]:
    pieces = []
    for i, (tonic, mode, qpm, meter) in enumerate(drawn_combinations(count)):
        piece = drawn_piece(tonic, mode, qpm, meter, MELODY_SEEDS + i)
        pieces.append((f"drawn/{i}", Score([piece.tracks[0]], piece.ppq, piece.tempos, piece.time_signatures)))
    return pieces


LOADERS = {"jsfakes": jsfakes_pieces, "jsb": jsb_pieces, "nottingham": nottingham_pieces, "melody": melody_pieces}


# ----------------------------------------------------------------------------- measures


def sounding_bars(notes: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Bool per bar between ``lines``: some note sounds in it."""
    out = np.zeros(len(lines) - 1, bool)
    for start, end in zip(notes["start"], notes["end"]):
        first = max(int(np.searchsorted(lines, start, side="right")) - 1, 0)
        last = min(int(np.searchsorted(lines, end, side="left")) - 1, len(out) - 1)
        out[first:last + 1] = True
    return out


def in_key(notes: np.ndarray, key: Key) -> tuple[float, float]:
    """(duration in ``key``, total duration) of ``notes``."""
    durations = (notes["end"] - notes["start"]).astype(float)
    inside = np.isin(notes["pitch"] % 12, sorted(key.pitch_classes()))
    return float(durations[inside].sum()), float(durations.sum())


def consonance(melody: np.ndarray, part: np.ndarray) -> tuple[int, int]:
    """(consonant, heard): of the melody notes at whose onset ``part`` sounds, how many make a
    consonant interval with every ``part`` note sounding then, and how many there are."""
    consonant = heard = 0
    for onset, pitch in zip(melody["start"], melody["pitch"]):
        under = part["pitch"][(part["start"] <= onset) & (part["end"] > onset)]
        if not len(under):
            continue
        heard += 1
        consonant += bool(np.isin(np.abs(int(pitch) - under.astype(int)) % 12, CONSONANT).all())
    return consonant, heard


class Tally:
    """Sums of one (set, slot) row."""

    def __init__(self):
        self.bars = self.sounding = 0
        self.in_key = self.duration = 0.0
        self.consonant = self.heard = 0

    def add(self, melody: np.ndarray, part: np.ndarray, lines: np.ndarray, key: Key | None) -> None:
        sounding = sounding_bars(part, lines)
        self.bars += len(sounding)
        self.sounding += int(sounding.sum())
        if key is not None:
            inside, total = in_key(part, key)
            self.in_key += inside
            self.duration += total
        consonant, heard = consonance(melody, part)
        self.consonant += consonant
        self.heard += heard

    def row(self) -> dict:
        nan = float("nan")
        return {"sounds": self.sounding / self.bars if self.bars else nan,
                "in_key": self.in_key / self.duration if self.duration else nan,
                "consonant": self.consonant / self.heard if self.heard else nan}


# ----------------------------------------------------------------------------- running


def accompany_sets(model, counts: dict, variations: int, missing: str) -> tuple[dict, dict, int]:
    """Rows {(set, slot): measures} for the model and for the reference, and the melodies used."""
    from composer.generation.generate import generate
    from composer.generation.request import GenerateRequest, sampling_defaults
    from composer.models.registry import family_spec

    defaults = sampling_defaults(family_spec("multitrack_vae").sampling_defaults)
    model_rows, reference_rows = {}, {}
    used = 0
    for name in SETS:
        generated = {slot: Tally() for slot in SLOTS}
        real = {slot: Tally() for slot in SLOTS} if name != "melody" else None
        for index, (_, piece) in enumerate(LOADERS[name](counts[name])):
            lead = piece.tracks[0]
            key = find_key(lead.notes)
            melody = Score([lead], piece.ppq, piece.tempos, piece.time_signatures)
            result = generate(model, GenerateRequest(primer=melody, accompany=lead.id, variations=variations,
                                                     seed=index, missing_slots=missing, **defaults))
            end = int(piece.bar_starts(lead.end_tick)[-1])
            lines = piece.bar_starts(end)
            for parts in result.slot_tracks:
                for part in parts:
                    generated[part.name].add(lead.notes, part.notes, lines, key)
            if real is not None:
                others = piece.tracks[1:4] if name != "nottingham" else [piece.tracks[1]] * 3
                for slot, track in zip(SLOTS, others):
                    notes = track.notes[track.notes["start"] < end]
                    real[slot].add(lead.notes, notes, lines, key)
            used += 1
        for slot in SLOTS:
            model_rows[(name, slot)] = generated[slot].row()
            if real is not None:
                reference_rows[(name, slot)] = real[slot].row()
    return model_rows, reference_rows, used


def speed(model, repeats: int) -> tuple[float, float, int]:
    """(median seconds, warm-up seconds, bars) to accompany a 3-minute drawn melody."""
    from composer.generation.generate import generate
    from composer.generation.request import GenerateRequest, sampling_defaults
    from composer.models.registry import family_spec

    qpm, bars = 110.0, 83  # 83 bars of 4/4 at 110 bpm: 181 s
    piece = drawn_piece(0, "major", qpm, (4, 4), 7, bars=bars)
    melody = Score([piece.tracks[0]], piece.ppq, piece.tempos, piece.time_signatures)
    assert melody.duration_seconds >= 180, melody.duration_seconds
    request = GenerateRequest(primer=melody, accompany=melody.tracks[0].id,
                              **sampling_defaults(family_spec("multitrack_vae").sampling_defaults))
    started = time.perf_counter()
    generate(model, request)
    warm_up = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        generate(model, request)
        times.append(time.perf_counter() - started)
    return statistics.median(times), warm_up, bars


def draw(model, path: Path, name: str = "jsf-extended/612.mid") -> None:
    """The piano roll of held-out chorale ``name``'s soprano and its first accompaniment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from composer.generation.generate import generate
    from composer.generation.request import GenerateRequest, sampling_defaults
    from composer.io.midi import read_midi
    from composer.models.registry import family_spec

    piece = from_first_downbeat(read_midi(DATASETS / "js_fakes" / name))
    lead = piece.tracks[0]
    melody = Score([lead], piece.ppq, piece.tempos, piece.time_signatures)
    result = generate(model, GenerateRequest(primer=melody, accompany=lead.id,
                                             **sampling_defaults(family_spec("multitrack_vae").sampling_defaults)))
    score, key = result.scores[0], find_key(lead.notes)
    figure, ax = plt.subplots(figsize=(16, 6))
    for track, color in zip(score.tracks, ("black", "tab:blue", "tab:green", "tab:red")):
        for note in track.notes:
            inside = key is None or int(note["pitch"]) % 12 in key.pitch_classes()
            ax.add_patch(plt.Rectangle((note["start"] / score.ppq, note["pitch"] - 0.4),
                                       (note["end"] - note["start"]) / score.ppq, 0.8, color=color,
                                       alpha=1.0 if inside else 0.35, ec=None if inside else "red", lw=1.5))
    for line in score.bar_starts():
        ax.axvline(line / score.ppq, color="0.85", lw=0.6, zorder=0)
    pitches = np.concatenate([t.notes["pitch"] for t in score.tracks])
    ax.set_xlim(0, score.end_tick / score.ppq)
    ax.set_ylim(int(pitches.min()) - 2, int(pitches.max()) + 2)
    ax.set_xlabel("beats")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(f"{name} (held out), in {key.name if key else 'no clear key'}: its soprano (black) accompanied: "
                 f"A blue, T green, B red; off the key: faded, red edge")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    print(f"wrote {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--quick", action="store_true", help="a few melodies per set")
    parser.add_argument("--variations", type=int, default=2)
    parser.add_argument("--missing-slots", default="silence", choices=("silence", "prior"))
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--figure", type=Path, metavar="PNG", help="draw one accompanied chorale (needs matplotlib)")
    args = parser.parse_args(argv)

    from composer.models.base import load_model

    model, meta = load_model(args.model)
    counts = QUICK_COUNTS if args.quick else COUNTS
    print(f"model: {meta.get('name')} ({args.model.name}); {args.variations} variations a melody, "
          f"missing slots: {args.missing_slots}")
    started = time.perf_counter()
    rows, reference, used = accompany_sets(model, counts, args.variations, args.missing_slots)
    print(f"{used} melodies accompanied in {time.perf_counter() - started:.1f} s\n")
    print("| set | slot | sounds (bars) | in key (duration) | consonant with the melody |")
    print("|---|---|---|---|---|")
    for name in SETS:
        for slot in SLOTS:
            row = rows[(name, slot)]
            print(f"| {name} | {slot} | {row['sounds']:.3f} | {row['in_key']:.3f} | {row['consonant']:.3f} |")
        if any(key[0] == name for key in reference):
            chords = name == "nottingham"  # one chord track: the same row for each slot
            for slot in SLOTS[:1] if chords else SLOTS:
                row = reference[(name, slot)]
                label = "(real chord track)" if chords else REFERENCE
                print(f"| {name} {label} | {'chords' if chords else slot} | {row['sounds']:.3f} | "
                      f"{row['in_key']:.3f} | {row['consonant']:.3f} |")
    worst_sounds = min(row["sounds"] for row in rows.values())
    worst_in_key = min(row["in_key"] for row in rows.values())
    print(f"\nlowest share of bars sounding: {worst_sounds:.3f} (goal >= {GOAL_SOUNDS}); lowest in-key "
          f"share: {worst_in_key:.3f} (goal >= {GOAL_IN_KEY})")
    report("accompaniment: lowest share of bars a slot sounds in", worst_sounds, "share", GOAL_SOUNDS, "higher")
    report("accompaniment: lowest in-key share of a slot", worst_in_key, "share", GOAL_IN_KEY, "higher")
    seconds, warm_up, bars = speed(model, args.repeats)
    print(f"accompanying a 3-minute melody ({bars} bars): {seconds * 1000:.0f} ms (median of {args.repeats}; "
          f"first call {warm_up * 1000:.0f} ms; goal <= {GOAL_SECONDS * 1000:.0f} ms)")
    report("accompany a 3-minute melody", seconds, "s", GOAL_SECONDS, "lower")
    if args.figure:
        draw(model, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
