"""Every MIDI file in ../shared/datasets: it reads, agrees with pretty_midi, and survives a round trip.

Skipped cleanly when the datasets are absent.
"""

import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from composer.io.midi import parse_midi, read_midi, score_to_midi_bytes

SETS = ["nottingham", "pop909", "js_fakes", "groove", "lakh_multitrack_sample"]
COUNTS = json.loads((Path(__file__).parent / "fixtures" / "pretty_midi_counts.json").read_text())


def midi_files(root: Path, name: str) -> list[Path]:
    files = sorted((root / name).rglob("*.mid"))
    if not files:
        pytest.skip(f"no MIDI files in {root / name}")
    return files


def track_key(track):
    return (track.program, track.is_drum, track.name, len(track), track.notes["start"][:1].tolist())


@pytest.mark.parametrize("name", SETS)
def test_every_file_reads_and_matches_pretty_midi_note_counts(datasets, name):
    mismatched, failed = [], []
    files = midi_files(datasets, name)
    for path in files:
        rel = str(path.relative_to(datasets))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                score = read_midi(path)
        except Exception as exc:  # collect every failure, not just the first
            failed.append(f"{rel}: {exc}")
            continue
        if sorted(len(t) for t in score.tracks) != COUNTS[rel]:
            mismatched.append(rel)
    assert not failed, failed[:5]
    assert not mismatched, f"{len(mismatched)} of {len(files)} differ from pretty_midi: {mismatched[:5]}"


@pytest.mark.parametrize("name", SETS)
def test_write_then_read_keeps_every_note_program_drum_flag_name_tempo_and_meter(datasets, name):
    broken = []
    for path in midi_files(datasets, name):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = read_midi(path)
            back = parse_midi(score_to_midi_bytes(score), path.name)
        same = (
            back.ppq == score.ppq
            and back.tempo_map == score.tempo_map
            and back.time_signatures == score.time_signatures
            and len(back.tracks) == len(score.tracks)
            and all(
                (a.name, a.program, a.is_drum) == (b.name, b.program, b.is_drum)
                and np.array_equal(a.notes[["start", "end", "pitch", "velocity"]],
                                   b.notes[["start", "end", "pitch", "velocity"]])
                for a, b in zip(sorted(score.tracks, key=track_key), sorted(back.tracks, key=track_key))
            )
        )
        if not same:
            broken.append(path.name)
    assert not broken, f"{len(broken)} files changed in the round trip: {broken[:5]}"


def test_recorded_pretty_midi_counts_are_true(datasets):
    """Re-run pretty_midi itself on a random sample, so the recorded counts cannot drift."""
    pretty_midi = pytest.importorskip("pretty_midi")
    rng = random.Random(20261123)
    sample = rng.sample(sorted(COUNTS), 40)
    for rel in sample:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            midi = pretty_midi.PrettyMIDI(str(datasets / rel))
        assert sorted(len(i.notes) for i in midi.instruments) == COUNTS[rel], rel
