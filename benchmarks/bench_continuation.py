"""Do the bundled models follow the primer? Key, beat grid, density, register and repetition (issue 13).

    OMP_NUM_THREADS=1 python benchmarks/bench_continuation.py [--quick] [--models NAME,...]
        [--datasets DIR] [--json] [--figures DIR]

Every model continues held-out primers of 4 bars for 8 bars, 4 variations, the way
``composer generate`` does it (the primer's pitched tracks, the family's sampling defaults, seed =
the primer's number; the multitrack VAE continues all its slots), and each continuation is measured
against its primer with :mod:`composer.representations.continuation`. The primer sets:

- ``jsb``: JSB Chorales, the standard test split (czhuang's ``Jsb16thSeparated.json``: sixteenths,
  four voices as four tracks, 90 quarters a minute). Chorales have no bar lines in this form: a
  length that is not whole bars of 4/4 is taken to start with a pickup of the remainder, which is
  left out, so the primer starts on a downbeat.
- ``nottingham``: the Nottingham MIDI folder, the files ``split_of`` puts in "test" (melody and
  chords); pickups are left out.
- ``jsfakes``: JS Fake Chorales MIDI, the "test" files by ``split_of``.
- ``pop909``: POP909 openings, "test" files by ``split_of`` in 4/4 at one tempo: melody and piano
  from the first downbeat (``beat_midi.txt``) at the melody's entry.
- ``drawn``: melodies with a bass on the beat, drawn by this script (deterministic): diatonic lines
  on eighths and quarters and a bass arpeggio on the beats over I-IV-V-vi (major) or i-iv-V-VI
  (minor) bars, in all 12 keys, both modes, at 72, 110 and 160 quarters a minute, in 4/4 and 3/4
  (the full run has all 144; quick, 24).
- ``melody``: the same kind of drawn melodies alone, without the bass (other seeds; 48, quick 24):
  a lone tune is many musicians' first idea, and the easiest to continue in the wrong register.

The reference row of each set ("real continuation") measures the piece's own next 8 bars (for a
drawn primer: the drawing's next 8 bars, in key by construction) against the same primer. Figures:
in-key share (mean over primers with a key), onsets on the primer's grid (mean), density ratio
(median over every variation), register jump at the seam in semitones (median), longest run of
identical bars (mean) and silent variations (share). A model trained on tracks of one name (the
pop melody model: MELODY) continues the primer's track of that name alone where there is one (as
``composer generate`` does), and is measured against that track's notes (density: notes per beat
over the melody's, not over the melody's and the piano's); the reference row stays the whole
piece's. The "all" row of a model is the mean of its set rows, each set counting equally. Goals (issue 13): in-key share >= 0.88 and within 0.05 of the
reference's; onsets on the grid >= 0.95; median density ratio between 0.5 and 2.

``--figures DIR`` also draws, for each model, the piano roll of one primer (grey), the real
continuation (outlined) and the first variation (blue in key, red out of key) as PNG (needs PySide6).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from composer.core.notes import empty_notes, make_notes, sort_notes
from composer.core.score import Score, Track
from composer.core.timing import TempoChange, TimeSignature, signature_at
from composer.core.transforms import slice_time
from composer.representations.continuation import MEASURES, continuation_measures, seam_for
from composer.representations.keys import find_key

try:  # benchmarks/ is on sys.path when run as a script; tests import this file by path
    from summary import report
except ImportError:  # pragma: no cover
    def report(*args, **kwargs) -> None:
        return None

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
PPQ = 480
PRIMER_BARS = 4
BARS = 8
VARIATIONS = 4
SETS = ("jsb", "nottingham", "jsfakes", "pop909", "drawn", "melody")
#: Primers per set: the full run (about 6 minutes for all 8 models on a 2-core CPU) and --quick.
COUNTS = {"jsb": 77, "nottingham": 110, "jsfakes": 123, "pop909": 20, "drawn": 144, "melody": 48}
QUICK_COUNTS = {"jsb": 8, "nottingham": 8, "jsfakes": 8, "pop909": 3, "drawn": 24, "melody": 24}
#: The melody set's first seed (the drawn set uses 0 and up).
MELODY_SEEDS = 1000
REFERENCE = "(real continuation)"
GOAL_IN_KEY = 0.88
GOAL_IN_KEY_GAP = 0.05
GOAL_ON_GRID = 0.95
GOAL_DENSITY = (0.5, 2.0)
JSB_QPM = 90.0
DRAWN_TEMPOS = (72.0, 110.0, 160.0)
DRAWN_METERS = ((4, 4), (3, 4))


# ----------------------------------------------------------------------------- primers


@dataclass
class Case:
    """One primer: ``primer`` (its pitched tracks, notes before ``seam``, its tempo and meter),
    where the continuation goes (``seam`` to ``end``, 8 bars in the meter at the seam), and the
    piece's real continuation ``real`` up to ``real_end`` (None when the piece stops at the seam)."""

    set: str
    name: str
    primer: Score
    seam: int
    end: int
    real: np.ndarray | None
    real_end: int

    @property
    def primer_notes(self) -> np.ndarray:
        return pitched_notes(self.primer)


def pitched_notes(score: Score) -> np.ndarray:
    """Every note of ``score``'s pitched tracks, sorted."""
    parts = [t.notes for t in score.tracks if not t.is_drum and len(t)]
    return sort_notes(np.concatenate(parts)) if parts else empty_notes()


def case_from_piece(piece: Score, set_name: str, name: str, primer_bars: int = PRIMER_BARS,
                    bars: int = BARS) -> Case | None:
    """The primer of ``piece`` (which starts on a bar line at tick 0): its first ``primer_bars``
    bars, and its real continuation over the next ``bars`` bars; None when the primer is silent."""
    far = piece.end_tick + (primer_bars + bars + 1) * 16 * piece.ppq
    lines = piece.bar_starts(far)
    seam = int(lines[primer_bars])
    tracks = []
    for track in piece.tracks:
        if track.is_drum:
            continue
        notes = track.notes[track.notes["start"] < seam].copy()
        if len(notes):
            notes["end"] = np.minimum(notes["end"], seam)
            tracks.append(Track(track.name, track.program, False, notes))
    if not tracks:
        return None
    tempos = [c for c in piece.tempos if c.tick < seam] or [TempoChange(0, 120.0)]
    meters = [s for s in piece.time_signatures if s.tick < seam] or [TimeSignature(0)]
    primer = Score(tracks, piece.ppq, tempos, meters, title=name)
    end = seam + bars * signature_at(meters, seam).bar_ticks(piece.ppq)
    after = pitched_notes(piece)
    after = after[(after["start"] >= seam) & (after["start"] < end)].copy()
    after["end"] = np.minimum(after["end"], end)
    real_end = min(end, int(lines[np.searchsorted(lines, piece.end_tick, side="left")]))
    return Case(set_name, name, primer, seam, end, after if len(after) else None, max(real_end, seam + 1))


def from_first_downbeat(piece: Score) -> Score | None:
    """``piece`` from the bar line at (or just before) its first pitched note's bar, a pickup
    left out, moved to tick 0; None when it has no pitched notes."""
    notes = pitched_notes(piece)
    if not len(notes):
        return None
    first = int(notes["start"].min())
    lines = piece.bar_starts(first + 1)
    tolerance = piece.ppq // 8  # a note a 32nd late still starts its bar
    start = int(lines[np.searchsorted(lines, first - tolerance, side="left")]) if first > tolerance else 0
    if start >= piece.end_tick:
        return None
    return slice_time(piece, start, piece.end_tick + 1)


def evenly(items: list, count: int) -> list:
    """``count`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if count >= len(items):
        return list(items)
    picks = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in picks]


def jsb_cases(path: Path, count: int) -> list[Case]:
    """JSB Chorales' test split from czhuang's ``Jsb16thSeparated.json`` (sixteenths, S/A/T/B)."""
    pieces = json.loads(Path(path).read_text())["test"]
    step = PPQ // 4
    cases = []
    for index in evenly(list(range(len(pieces))), count):
        frames = np.asarray(pieces[index], dtype=float)  # (steps, 4), -1 or NaN for a rest
        pickup = len(frames) % 16
        frames = np.nan_to_num(frames[pickup:], nan=-1).astype(int)
        tracks = [Track(voice, 0, False, _held_notes(frames[:, k], step))
                  for k, voice in enumerate(("S", "A", "T", "B"))]
        piece = Score(tracks, PPQ, [TempoChange(0, JSB_QPM)], [TimeSignature(0, 4, 4)])
        case = case_from_piece(piece, "jsb", f"test/{index}")
        if case is not None:
            cases.append(case)
    return cases


def _held_notes(pitches: np.ndarray, step: int) -> np.ndarray:
    """One voice's frames (a pitch or -1 each) as notes: a pitch held over frames is one note."""
    starts, ends, values = [], [], []
    for i, p in enumerate(pitches):
        if p < 0:
            continue
        if i == 0 or pitches[i - 1] != p:
            starts.append(i)
            values.append(p)
            ends.append(i + 1)
        else:
            ends[-1] = i + 1
    return make_notes(np.array(starts, dtype=np.int64) * step, np.array(ends, dtype=np.int64) * step,
                      values, 80)


def test_files(folder: Path, count: int) -> list[tuple[str, str]]:
    """The MIDI files of ``folder`` that ``split_of`` puts in "test" (as training splits them),
    ``count`` of them spread evenly; (relative name, path) pairs."""
    from composer.data.dataset import split_of
    from composer.data.scan import scan_midi_files

    return evenly([(rel, path) for rel, path in scan_midi_files(folder) if split_of(rel) == "test"], count)


def midi_cases(folder: Path, set_name: str, count: int) -> list[Case]:
    """Primers from the test files of a MIDI folder (Nottingham, JS Fake Chorales)."""
    from composer.io.midi import read_midi

    cases = []
    for rel, path in test_files(folder, count):
        piece = from_first_downbeat(read_midi(path))
        case = case_from_piece(piece, set_name, rel) if piece is not None else None
        if case is not None:
            cases.append(case)
    return cases


def pop909_cases(folder: Path, count: int) -> list[Case]:
    """POP909 openings: melody and piano of test songs in 4/4 at one tempo, from the first
    downbeat of the annotations (``beat_midi.txt``, whose third column marks 4/4 downbeats) at
    the melody's entry. The files' ticks are offset from their beats; this puts the bar on 0."""
    from composer.data.dataset import split_of
    from composer.data.scan import scan_midi_files
    from composer.io.midi import read_midi

    chosen = []
    for rel, path in scan_midi_files(folder):
        if split_of(rel) != "test":
            continue
        beats_file = Path(path).with_name("beat_midi.txt")
        if not beats_file.is_file():
            continue
        beats = np.loadtxt(beats_file, ndmin=2)
        downbeats = beats[beats[:, 2] == 1, 0] if beats.shape[1] >= 3 else np.array([])
        if len(downbeats) < 2 or np.median(np.diff(np.flatnonzero(beats[:, 2] == 1))) != 4:
            continue  # not 4/4
        chosen.append((rel, path, downbeats))
    cases = []
    for rel, path, downbeats in evenly(chosen, len(chosen)):
        if len(cases) >= count:
            break
        score = read_midi(path)
        if len(score.tempos) != 1:
            continue
        melody = [t for t in score.tracks if t.name.upper() == "MELODY" and len(t)]
        piano = [t for t in score.tracks if t.name.upper() == "PIANO"]
        if not melody:
            continue
        entry = int(melody[0].notes["start"].min()) - score.ppq // 8
        ticks = np.round(score.tempo_map.seconds_to_tick(downbeats)).astype(int)
        later = ticks[ticks >= entry]
        if not len(later):
            continue
        score.tracks = melody + piano
        score.time_signatures = [TimeSignature(0, 4, 4)]
        piece = slice_time(score, int(later[0]), score.end_tick + 1)
        case = case_from_piece(piece, "pop909", rel)
        if case is not None:
            cases.append(case)
    return cases


def drawn_combinations(count: int) -> list[tuple[int, str, float, tuple[int, int]]]:
    """(tonic, mode, tempo, meter) of ``count`` drawn primers: every 24 of them hold every key in
    both modes, with the six tempo-and-meter pairs spread over them; 144 are every combination."""
    combos = []
    for i in range(count):
        key, cycle = i % 24, i // 24
        pair = (key + cycle) % 6
        combos.append((key // 2, ("major", "minor")[key % 2], DRAWN_TEMPOS[pair % 3], DRAWN_METERS[pair // 3]))
    return combos


#: Chords per bar as scale degrees (0 = tonic) for 12 bars; the phrases end on the tonic.
PROGRESSIONS = {"major": (0, 3, 4, 0, 5, 3, 4, 0, 0, 1, 4, 0), "minor": (0, 3, 4, 0, 5, 3, 4, 0, 0, 3, 4, 0)}
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
#: Rhythms of a bar in eighths: plain bars (each with eighths, so a primer's grid is the eighth,
#: as a musician drawing on eighths and quarters means it) and phrase ends (a long last note).
RHYTHMS = {
    3: ([1, 1, 2, 2], [2, 1, 1, 2], [2, 2, 1, 1], [1, 1, 1, 1, 2]),
    4: ([1, 1, 2, 2, 2], [2, 1, 1, 2, 2], [2, 2, 1, 1, 2], [1, 1, 1, 1, 2, 2], [2, 1, 1, 4], [3, 1, 2, 2]),
}
ENDINGS = {3: ([2, 4], [6]), 4: ([2, 2, 4], [4, 4])}
#: The melody's moves in scale steps (mostly steps, some thirds and fourths).
MELODY_STEPS = (-3, -2, -1, -1, -1, 0, 1, 1, 1, 2, 3)
#: The bass's chord tone on each beat (0 root, 1 third, 2 fifth).
BASS_PATTERNS = {3: (0, 1, 2), 4: (0, 1, 2, 1)}


def drawn_piece(tonic: int, mode: str, qpm: float, meter: tuple[int, int], seed: int,
                bars: int = PRIMER_BARS + BARS) -> Score:
    """A drawn melody with a bass line: ``bars`` bars in ``tonic`` ``mode``, deterministic from
    ``seed``. The melody walks the scale by steps and small leaps on eighths and quarters, puts a
    chord tone on every beat and ends each 4-bar phrase on a long tonic; the bass plays the
    chord's root, third and fifth on the beats. Minor raises the seventh over V."""
    rng = np.random.default_rng(seed)
    beats = meter[0]
    scale = SCALES[mode]
    base = 60 + tonic if tonic <= 5 else 48 + tonic  # the melody's tonic: F#3..F4, melody above it
    eighth = PPQ // 2
    bar_ticks = beats * PPQ
    melody, bass = [], []
    degree = 7  # the tonic an octave up
    for bar in range(bars):
        chord = PROGRESSIONS[mode][bar % 12]
        phrase_end = bar % 4 == 3
        rhythms = (ENDINGS if phrase_end else RHYTHMS)[beats]
        pattern = rhythms[int(rng.integers(len(rhythms)))]
        tick = bar * bar_ticks
        for n, length in enumerate(pattern):
            if n > 0 or bar > 0:
                degree = int(np.clip(degree + rng.choice(MELODY_STEPS), 3, 13))
            if phrase_end and n == len(pattern) - 1:
                degree = _nearest(degree, {0})
            elif (tick - bar * bar_ticks) % PPQ == 0:
                degree = _nearest(degree, {(chord + k) % 7 for k in (0, 2, 4)})
            melody.append((tick, tick + length * eighth, _pitch(base, scale, degree, mode, chord)))
            tick += length * eighth
        tones = [_pitch(base - 24, scale, chord + k, mode, chord) for k in (0, 2, 4)]  # root, third, fifth
        if tones[0] < 36:
            tones = [t + 12 for t in tones]
        for beat, tone in enumerate(BASS_PATTERNS[beats]):
            start = bar * bar_ticks + beat * PPQ
            bass.append((start, start + PPQ - PPQ // 8, tones[tone]))
    tracks = [Track("Melody", 0, False, make_notes(*zip(*melody), 90)),
              Track("Bass", 32, False, make_notes(*zip(*bass), 70))]
    return Score(tracks, PPQ, [TempoChange(0, qpm)], [TimeSignature(0, *meter)])


def _nearest(degree: int, steps: set[int]) -> int:
    """The scale degree nearest ``degree`` (the lower on a tie) whose step is in ``steps``,
    within the melody's range (degrees 3 to 13)."""
    return min((d for d in range(3, 14) if d % 7 in steps), key=lambda d: (abs(d - degree), d))


def _pitch(base: int, scale: tuple, degree: int, mode: str, chord: int) -> int:
    """MIDI pitch of a scale degree (0 = the tonic at ``base``); in minor, the seventh is raised
    over the dominant chord (harmonic minor), as the key's leading tone."""
    octave, step = divmod(degree, 7)
    pitch = base + 12 * octave + scale[step]
    if mode == "minor" and step == 6 and chord == 4:
        pitch += 1
    return pitch


def drawn_cases(count: int) -> list[Case]:
    from composer.generation.request import KEY_NAMES

    cases = []
    for i, (tonic, mode, qpm, meter) in enumerate(drawn_combinations(count)):
        piece = drawn_piece(tonic, mode, qpm, meter, seed=i)
        name = f"{KEY_NAMES[tonic]} {mode}, {qpm:g}/min, {meter[0]}/{meter[1]}"
        cases.append(case_from_piece(piece, "drawn", name))
    return cases


def melody_cases(count: int) -> list[Case]:
    """Drawn melodies alone, no bass (a musician's first idea is often just a tune): every key
    in both modes, other seeds than the ``drawn`` set's."""
    from composer.generation.request import KEY_NAMES

    cases = []
    for i, (tonic, mode, qpm, meter) in enumerate(drawn_combinations(count)):
        piece = drawn_piece(tonic, mode, qpm, meter, seed=MELODY_SEEDS + i)
        piece.tracks = piece.tracks[:1]
        name = f"melody in {KEY_NAMES[tonic]} {mode}, {qpm:g}/min, {meter[0]}/{meter[1]}"
        cases.append(case_from_piece(piece, "melody", name))
    return cases


def build_cases(datasets: Path, counts: dict[str, int], sets: tuple[str, ...] = SETS) -> list[Case]:
    """The primers of every set in ``sets`` (a missing data folder: that set is left out with a
    message on stderr)."""
    builders = {
        "jsb": lambda n: jsb_cases(datasets / "pianoroll_benchmarks" / "jsb_czhuang" / "Jsb16thSeparated.json", n),
        "nottingham": lambda n: midi_cases(datasets / "nottingham", "nottingham", n),
        "jsfakes": lambda n: midi_cases(datasets / "js_fakes", "jsfakes", n),
        "pop909": lambda n: pop909_cases(datasets / "pop909", n),
        "drawn": drawn_cases,
        "melody": melody_cases,
    }
    cases = []
    for name in sets:
        try:
            cases += builders[name](counts[name])
        except (OSError, ValueError, KeyError) as exc:
            print(f"{name}: left out ({exc})", file=sys.stderr)
    return cases


# ----------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    """The measures of one set of continuations of one primer (one per variation; the
    reference has one); ``silent`` counts variations without notes."""

    case: Case
    values: list[dict[str, float]]
    silent: int = 0
    error: str = ""


def measure_continuations(case: Case, continuations: list[np.ndarray], end: int | None = None,
                          primer: np.ndarray | None = None) -> Measured:
    """The measures of each continuation of ``case`` against its primer (in the primer's key):
    every pitched track's notes, or ``primer``, the notes the model was given."""
    primer = case.primer_notes if primer is None else primer
    key = find_key(primer)
    seam = seam_for(case.primer, primer, case.seam, case.end if end is None else end)
    values = [continuation_measures(primer, notes, seam, key) for notes in continuations]
    return Measured(case, values, sum(1 for notes in continuations if not len(notes)))


def measure_reference(case: Case) -> Measured | None:
    """The measures of the piece's real continuation (None when the piece stops at the seam)."""
    if case.real is None:
        return None
    return measure_continuations(case, [case.real], case.real_end)


def generate_for(model, family: str, case: Case, seed: int, variations: int = VARIATIONS, bars: int = BARS):
    """``variations`` continuations of ``case`` by ``model`` with the family's app defaults, as
    ``composer generate`` asks for them: the GenerationResult."""
    from composer.generation.generate import generate
    from composer.generation.request import GenerateRequest, sampling_defaults
    from composer.models.registry import family_spec

    sampling = sampling_defaults(family_spec(family).sampling_defaults)
    request = GenerateRequest(primer=case.primer, start_tick=case.seam, bars=bars, variations=variations,
                              seed=seed, sampling=sampling["sampling"], threshold=sampling["threshold"],
                              noise=sampling["noise"])
    return generate(model, request)


def measure_model(model, family: str, case: Case, seed: int, variations: int = VARIATIONS) -> Measured:
    """Generate for ``case`` and measure against the notes the model continues (see
    :func:`continued_notes`); a primer the model refuses is an error, not a crash."""
    from composer.core.errors import ComposerError

    try:
        result = generate_for(model, family, case, seed, variations)
    except ComposerError as exc:
        return Measured(case, [], 0, str(exc))
    return measure_continuations(case, result.continuations, primer=continued_notes(model, case))


def continued_notes(model, case: Case) -> np.ndarray | None:
    """The notes of the one primer track a model continues when it was trained on tracks of a
    name the primer has (``composer.generation.generate.with_own_track``: the pop melody model
    continues a MELODY track alone), else None (every pitched track, as for other models). Its
    density is then notes per beat over that track's: a melody model after melody and piano is
    measured against the melody it continues, not against the piano too."""
    from composer.generation.generate import with_own_track
    from composer.generation.request import GenerateRequest, primer_notes

    track_id = with_own_track(model, GenerateRequest(primer=case.primer, start_tick=case.seam)).track_id
    return None if track_id is None else primer_notes(case.primer, track_id, case.seam)


# ----------------------------------------------------------------------------- summaries

COLUMNS = ("in_key", "on_grid", "density_ratio", "register_jump", "identical_bars", "silent")
HEADINGS = ("in key", "on grid", "density", "jump", "same bars", "silent")


def _nanmean(values) -> float:
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def _nanmedian(values) -> float:
    values = [v for v in values if not math.isnan(v)]
    return float(np.median(values)) if values else math.nan


def summarize(measured: list[Measured]) -> dict[str, float]:
    """One row: in-key share, on-grid share and identical-bar runs as means over primers (each
    primer the mean of its variations), density ratio and register jump as medians over every
    variation, silent as the share of silent variations; ``primers``, ``keyless`` (primers
    without a clear key) and ``failed`` (primers the model refused) as counts."""
    done = [m for m in measured if not m.error]
    per_primer = {name: [_nanmean(v[name] for v in m.values) for m in done] for name in MEASURES}
    every = {name: [v[name] for m in done for v in m.values] for name in MEASURES}
    variations = sum(len(m.values) for m in done)
    return {
        "in_key": _nanmean(per_primer["in_key"]),
        "on_grid": _nanmean(per_primer["on_grid"]),
        "density_ratio": _nanmedian(every["density_ratio"]),
        "register_jump": _nanmedian(every["register_jump"]),
        "identical_bars": _nanmean(per_primer["identical_bars"]),
        "silent": sum(m.silent for m in done) / variations if variations else math.nan,
        "primers": len(done),
        "keyless": sum(1 for m in done if find_key(m.case.primer_notes) is None),
        "failed": len(measured) - len(done),
    }


def overall(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    """The "all" row: the mean of the set rows (each set counting equally)."""
    out = {name: _nanmean(row[name] for row in rows.values()) for name in COLUMNS}
    for count in ("primers", "keyless", "failed"):
        out[count] = sum(row[count] for row in rows.values())
    return out


def goals_met(row: dict[str, float], reference: dict[str, float]) -> dict[str, bool]:
    """Which of issue 13's goals ``row`` meets against the ``reference`` row."""
    low, high = GOAL_DENSITY
    return {
        "in_key": row["in_key"] >= in_key_goal(reference),
        "on_grid": row["on_grid"] >= GOAL_ON_GRID,
        "density_ratio": low <= row["density_ratio"] <= high,
    }


def in_key_goal(reference: dict[str, float]) -> float:
    """The in-key share to reach: 0.88, and within 0.05 of the reference row."""
    ref = reference.get("in_key", math.nan)
    return max(GOAL_IN_KEY, ref - GOAL_IN_KEY_GAP) if not math.isnan(ref) else GOAL_IN_KEY


# ----------------------------------------------------------------------------- what the models saw


def exposure(meta: dict, set_name: str) -> str:
    """A note when the model's header says its training may have seen the ``set_name`` primers
    (empty when they are held out)."""
    data = meta.get("data") or {}
    source = str(data.get("source", ""))
    test = (data.get("split_pieces") or {}).get("test", 0)
    folders = {"jsb": "JSB_Chorales", "nottingham": "nottingham", "jsfakes": "js_fakes", "pop909": "pop909"}
    if set_name not in folders:
        return ""
    if source.lower() == "nottingham.mat" and set_name == "nottingham":
        return ("trained on Nottingham.mat's train split, another rendering of the same tunes whose "
                "split does not follow the file names: some test primers' tunes may be in its training data")
    if folders[set_name].lower() in source.lower() and not test:
        return f"its header says it trained on every file of {source} (no test split): these primers are not held out"
    return ""


# ----------------------------------------------------------------------------- the run


@dataclass
class Run:
    cases: list[Case]
    reference: dict[str, dict[str, float]] = field(default_factory=dict)
    models: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    examples: dict[str, list[np.ndarray]] = field(default_factory=dict)


def by_set(measured: list[Measured]) -> dict[str, dict[str, float]]:
    """Set rows (in SETS order) and the "all" row of a model's or the reference's measures."""
    rows = {}
    for name in SETS:
        mine = [m for m in measured if m is not None and m.case.set == name]
        if mine:
            rows[name] = summarize(mine)
    if rows:
        rows["all"] = overall(rows)
    return rows


def run(models: list[Path], cases: list[Case], variations: int = VARIATIONS, example: int | None = None,
        log=print) -> Run:
    """Measure the reference and every model on ``cases``; ``example``: keep every model's
    continuations of that case (for figures)."""
    import torch

    from composer.models.base import load_model

    torch.set_num_threads(1)
    out = Run(cases)
    out.reference = by_set([measure_reference(case) for case in cases])
    stems = [path.name.removesuffix(".safetensors") for path in models]
    for path in models:
        started = time.perf_counter()
        model, meta = load_model(path)
        name = path.name.removesuffix(".safetensors")
        if stems.count(name) > 1 and path.resolve().parent != (ROOT / "checkpoints").resolve():
            name += f" ({path.resolve().parent.name}/)"  # a retrained candidate beside the bundled one
        family = meta["family"]
        if all(model.adapter.codec.slot_is_drum(k) for k in range(len(meta["info"].get("slots") or []))) \
                and meta["info"].get("slots"):
            out.notes.append(f"{name}: left out (a drum model writes drums under a tune, not its "
                             f"continuation; benchmarks/bench_drums.py measures it)")
            continue
        measured = []
        for seed, case in enumerate(cases):
            if example is not None and seed == example:
                result = _example(model, family, case, seed, variations)
                out.examples[name] = result
            measured.append(measure_model(model, family, case, seed, variations))
        out.models[name] = by_set(measured)
        out.seconds[name] = time.perf_counter() - started
        failures = [m for m in measured if m.error]
        if failures:
            out.notes.append(f"{name}: {len(failures)} primer(s) refused, e.g. {failures[0].case.name}: "
                             f"{failures[0].error}")
        for set_name in out.models[name]:
            note = exposure(meta, set_name)
            if note:
                out.notes.append(f"{name} on {set_name}: {note}")
        log(f"  {name}: {out.seconds[name]:.0f} s")
    return out


def _example(model, family, case, seed, variations) -> list[np.ndarray]:
    from composer.core.errors import ComposerError

    try:
        return generate_for(model, family, case, seed, variations).continuations
    except ComposerError:
        return []


# ----------------------------------------------------------------------------- printing


def _cell(value: float, name: str) -> str:
    if math.isnan(value):
        return "-"
    if name in ("register_jump", "identical_bars"):
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(result: Run) -> str:
    """The figures as a text table: per set, the reference row first, then each model."""
    width = max([len(REFERENCE)] + [len(name) for name in result.models]) + 2
    head = f"{'set':<11}{'model':<{width}}{'primers':>8}" + "".join(f"{h:>10}" for h in HEADINGS) + "  goals"
    lines = [head, "-" * len(head)]
    for set_name in (*SETS, "all"):
        rows = [(REFERENCE, result.reference.get(set_name))] + [(m, r.get(set_name)) for m, r in result.models.items()]
        if all(row is None for _, row in rows):
            continue
        for model, row in rows:
            if row is None:
                continue
            cells = "".join(f"{_cell(row[c], c):>10}" for c in COLUMNS)
            goals = ""
            if set_name == "all" and model != REFERENCE:
                met = goals_met(row, result.reference.get("all", {}))
                missed = [name.replace("_ratio", "") .replace("_", "-") for name, ok in met.items() if not ok]
                goals = "met" if not missed else "missed: " + ", ".join(missed)
            count = f"{row['primers']}" + (f"-{row['failed']}" if row.get("failed") else "")
            lines.append(f"{set_name:<11}{model:<{width}}{count:>8}{cells}  {goals}".rstrip())
        lines.append("")
    return "\n".join(lines)


def report_summary(result: Run) -> None:
    """The run_all.py figures: the reference's in-key share, then per model the in-key share,
    onsets on the grid and the median density ratio of the "all" row against issue 13's goals."""
    reference = result.reference.get("all", {})
    report("real continuations: in-key share (mean of the sets)", reference.get("in_key", math.nan), "share",
           None, "higher", "the reference row; no goal")
    goal = in_key_goal(reference)
    low, high = GOAL_DENSITY
    for name, rows in result.models.items():
        row = rows.get("all")
        if row is None:
            continue
        report(f"{name}: in-key share of the primer's key", row["in_key"], "share", goal, "higher",
               f">= {GOAL_IN_KEY} and within {GOAL_IN_KEY_GAP} of the reference "
               f"({reference.get('in_key', math.nan):.2f})")
        report(f"{name}: onsets on the primer's grid", row["on_grid"], "share", GOAL_ON_GRID, "higher")
        ratio = row["density_ratio"]
        folded = min(ratio, 1 / ratio) if ratio > 0 else 0.0
        report(f"{name}: median density ratio, folded (min(r, 1/r))", folded, "ratio", low, "higher",
               f"r = {ratio:.2f}; goal {low:g} <= r <= {high:g}")


def as_json(result: Run) -> dict:
    def clean(row):
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}

    return {"reference": {s: clean(r) for s, r in result.reference.items()},
            "models": {m: {s: clean(r) for s, r in rows.items()} for m, rows in result.models.items()},
            "seconds": result.seconds, "notes": result.notes,
            "primers": {s: sum(1 for c in result.cases if c.set == s) for s in SETS}}


# ----------------------------------------------------------------------------- figures


def draw_figure(case: Case, continuation: np.ndarray, path: Path, title: str) -> None:
    """A piano roll of ``case``'s primer (grey), its real continuation (outlined) and
    ``continuation`` (blue in the primer's key, red out of it), bar lines and the seam, as PNG."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPen

    _app = QGuiApplication.instance() or QGuiApplication([])
    primer = case.primer_notes
    real = case.real if case.real is not None else empty_notes()
    key = find_key(primer)
    everything = np.concatenate([primer, real, continuation])
    lo, hi = int(everything["pitch"].min()) - 2, int(everything["pitch"].max()) + 2
    bar = signature_at(case.primer.time_signatures, case.seam).bar_ticks(case.primer.ppq)
    bar_px, row_px, left, top = 64, 5, 30, 36
    scale = bar_px / bar
    width = left + int(case.end * scale) + 8
    height = top + (hi - lo + 1) * row_px + 6
    image = QImage(width, height, QImage.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setFont(QFont("Sans", 8))
    painter.setPen(QColor("black"))
    key_text = key.name if key else "no clear key"
    painter.drawText(4, 13, title)
    painter.drawText(4, 27, f"grey: the primer, in {key_text}; blue: the continuation in key, red: out of key; "
                            "green outline: the real continuation")
    for pitch in range(lo, hi + 1):  # C rows shaded, labelled
        if pitch % 12 == 0:
            y = top + (hi - pitch) * row_px
            painter.fillRect(QRectF(left, y, width - left, row_px), QColor(235, 235, 235))
            painter.drawText(2, y + row_px + 2, f"C{pitch // 12 - 1}")
    lines = case.primer.bar_starts(case.end)
    for tick in lines:
        x = left + tick * scale
        seam = tick == case.seam
        painter.setPen(QPen(QColor("black") if seam else QColor(160, 160, 160), 2 if seam else 1))
        painter.drawLine(int(x), top, int(x), height - 4)
    in_key = key.pitch_classes() if key else frozenset(range(12))

    def rect(note):
        return QRectF(left + note["start"] * scale, top + (hi - note["pitch"]) * row_px,
                      max((note["end"] - note["start"]) * scale, 1.5), row_px)

    painter.setPen(Qt.NoPen)
    for note in primer:
        painter.fillRect(rect(note), QColor(110, 110, 110))
    for note in continuation:
        painter.fillRect(rect(note), QColor(40, 90, 220) if int(note["pitch"]) % 12 in in_key else QColor(220, 40, 40))
    painter.setPen(QPen(QColor(20, 150, 60), 1))
    painter.setBrush(Qt.NoBrush)
    for note in real:
        painter.drawRect(rect(note))
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(path))


# ----------------------------------------------------------------------------- main


def choose_models(names: str | None) -> list[Path]:
    """The bundled checkpoints, or those named (file stems, model names or paths)."""
    from composer.models.library import resolve_model

    bundled = sorted((ROOT / "checkpoints").glob("*.safetensors"))
    if not names:
        return bundled
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        match = [p for p in bundled if p.name.removesuffix(".safetensors") == name]
        chosen.append(match[0] if match else resolve_model(name))
    missing = [str(p) for p in chosen if not p.is_file()]
    if missing:
        raise SystemExit(f"no model file {', '.join(missing)}; bundled: "
                         f"{', '.join(p.name.removesuffix('.safetensors') for p in bundled)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    warnings.simplefilter("ignore")  # primer notes out of a model's range, tracks past its slots
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer primers: about 2 minutes")
    parser.add_argument("--models", help="comma-separated model names (default: every bundled model)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"primer sets (default: {','.join(SETS)})")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help=f"the data folder (default {DATASETS})")
    parser.add_argument("--variations", type=int, default=VARIATIONS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of the table")
    parser.add_argument("--figures", type=Path, metavar="DIR",
                        help="draw each model's continuation of one primer (--figure-primer) as PNG")
    parser.add_argument("--figure-primer", default="drawn:0", metavar="SET:N",
                        help="the primer drawn in --figures: the N-th of a set (default drawn:0)")
    args = parser.parse_args(argv)
    sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; sets: {', '.join(SETS)}")
    if not 1 <= args.variations <= 16:
        parser.error("--variations must be between 1 and 16")
    models = choose_models(args.models)
    log = (lambda *a, **k: print(*a, **k, file=sys.stderr)) if args.json else print
    started = time.perf_counter()
    cases = build_cases(args.datasets, QUICK_COUNTS if args.quick else COUNTS, sets)
    if not cases:
        raise SystemExit("no primers: is the data folder there? (--datasets)")
    example = _figure_case(cases, args.figure_primer) if args.figures else None
    counts = ", ".join(f"{s} {sum(1 for c in cases if c.set == s)}" for s in sets)
    log(f"primers: {counts} ({PRIMER_BARS} bars each); {BARS} bars x {args.variations} variations per "
        f"model; read in {time.perf_counter() - started:.0f} s")
    result = run(models, cases, args.variations, example, log)
    if args.json:
        print(json.dumps(as_json(result), indent=1))
    else:
        print()
        print(table(result))
        print("columns: in key = share of the continuation's duration in the primer's key (mean over primers "
              "with a key); on grid = share of onsets on the primer's grid (mean); density = notes per beat "
              "over the primer's (median); jump = semitones between the mean pitch of the primer's last bar "
              "and the continuation's first (median); same bars = longest run of identical bars (mean); "
              "silent = share of variations without a note. 'all' = the mean of the set rows. primers: "
              "N-F = N measured, F refused by the model.")
        for note in result.notes:
            print("note:", note)
    if args.figures and example is not None:
        case = cases[example]
        for name, continuations in result.examples.items():
            if continuations:
                out = args.figures / f"continuation-{name}-{case.set}-{args.figure_primer.partition(':')[2]}.png"
                first = measure_continuations(case, continuations[:1]).values[0]
                draw_figure(case, continuations[0], out, f"{name}: {case.set} {case.name}; variation 1: in key "
                            f"{_cell(first['in_key'], 'in_key')}, on grid {_cell(first['on_grid'], 'on_grid')}")
                log(f"drew {out}")
    report_summary(result)
    log(f"{(time.perf_counter() - started) / 60:.1f} minutes in all")
    return 0


def _figure_case(cases: list[Case], spec: str) -> int:
    set_name, _, number = spec.partition(":")
    mine = [i for i, c in enumerate(cases) if c.set == set_name]
    if not mine or not number.isdigit() or int(number) >= len(mine):
        raise SystemExit(f"--figure-primer {spec}: no such primer (the set's primers are 0..{len(mine) - 1})")
    return mine[int(number)]


if __name__ == "__main__":
    sys.exit(main())
