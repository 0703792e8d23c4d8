"""Reading only the tracks of given names (POP909's MELODY) for training (issue 16 part 3)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from composer.core import Score, Track, make_notes
from composer.data import encode_folder, load_source
from composer.data.dataset import keep_tracks, parse_track_names
from composer.data.errors import DataError
from composer.io.midi import write_midi
from composer.models.registry import FAMILIES
from composer.representations.codecs import PianoRollCodec, SkipFile
from composer.training import train_cli

Q = 480


def song(path: Path, parts: dict[str, list[int]]) -> Path:
    tracks = []
    for name, pitches in parts.items():
        n = len(pitches)
        tracks.append(Track(name, 0, False, make_notes(np.arange(n) * Q, np.arange(n) * Q + Q, pitches)))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_midi(Score(tracks, ppq=Q), path)
    return path


def test_keep_tracks_and_parse():
    assert parse_track_names(" MELODY, bridge ,") == ("MELODY", "bridge")
    assert parse_track_names("") == ()
    score = Score([Track("MELODY", 0, False, make_notes([0], [Q], [72])),
                   Track("PIANO", 0, False, make_notes([0], [Q], [48]))])
    kept = keep_tracks(score, ("melody",))
    assert [t.name for t in kept.tracks] == ["MELODY"]
    with pytest.raises(SkipFile, match="no track named BASS"):
        keep_tracks(Score([Track("PIANO", 0, False, make_notes([0], [Q], [48]))]), ("BASS",))


def test_encode_folder_reads_only_the_named_tracks(tmp_path):
    data = tmp_path / "songs"
    for i in range(4):
        song(data / f"{i:03d}" / f"{i:03d}.mid", {"MELODY": [72, 74, 76, 77], "PIANO": [48, 52, 55, 60]})
    song(data / "no_melody.mid", {"PIANO": [48, 50]})
    codec = PianoRollCodec(steps_per_beat=4)
    cache = tmp_path / "cache"
    every = encode_folder(data, codec, workers=1, cache_dir=cache)
    melody = encode_folder(data, codec, workers=1, cache_dir=cache, track_names="MELODY")
    assert every.summary["files_used"] == 5 and "track_names" not in every.summary
    assert melody.summary["files_used"] == 4 and melody.summary["track_names"] == ["MELODY"]
    assert melody.skipped == [("no_melody.mid", "no track named MELODY with notes")]
    assert (melody.summary["pitch_min"], melody.summary["pitch_max"]) == (72, 77)
    # A second read comes from its own cache entry, not the all-tracks one.
    again = encode_folder(data, codec, workers=1, cache_dir=cache, track_names=("MELODY",))
    assert again.summary["files_used"] == 4
    one = load_source(data / "000" / "000.mid", codec, track_names="melody")
    assert one.summary["pitch_min"] == 72
    mat = tmp_path / "b.mat"
    mat.write_bytes(b"")
    with pytest.raises(DataError, match="no named tracks"):
        load_source(mat, codec, track_names="MELODY")


def test_command_line_and_wizard_option():
    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    args = parser.parse_args(["--family", "note_symbol_lstm", "--data", "d", "--out", "m.safetensors",
                              "--track-name", "MELODY", "--track-name", "BRIDGE"])
    assert train_cli._overrides(args) == {"track_names": "MELODY,BRIDGE"}
    for spec in FAMILIES.values():
        assert spec.data_options[-1].field == "track_names" and spec.data_options[-1].default == ""
