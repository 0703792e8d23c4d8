"""``composer generate --drums-for-song``: the app's "Drums for this song" from the command line,
run as a user runs it (the installed ``composer`` command in a child process) on a song written
here with pretty_midi, with the bundled drum model; the output file read back with mido."""

import os
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from composer.models.library import BUNDLED

DRUMS = BUNDLED / "multitrack_vae-groove.safetensors"
BARS, BEATS, QPM = 6, 3, 132.0  # six bars of 3/4: the part must follow the song's meter
pytestmark = pytest.mark.skipif(not DRUMS.is_file(), reason="the drum model is not bundled")


def composer(*args: str) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("composer")
    head = [str(command)] if command.is_file() else [sys.executable, "-m", "composer.cli"]
    return subprocess.run([*head, *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))


@pytest.fixture
def song(tmp_path) -> Path:
    """A tune over a bass in 3/4 at 132 quarters a minute, no drums."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=QPM)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(BEATS, 4, 0))
    beat = 60 / QPM
    tune, bass = pretty_midi.Instrument(0, name="Tune"), pretty_midi.Instrument(33, name="Bass")
    for i in range(BARS * BEATS):
        tune.notes.append(pretty_midi.Note(90, 67 + (i * 2) % 7, i * beat, (i + 0.9) * beat))
    for bar in range(BARS):
        bass.notes.append(pretty_midi.Note(80, 43, bar * BEATS * beat, (bar + 1) * BEATS * beat))
    midi.instruments += [tune, bass]
    path = tmp_path / "song.mid"
    midi.write(str(path))
    return path


def drum_hits(path: Path) -> tuple[list[int], int, int]:
    """(the ticks of the note-ons on MIDI channel 10, ticks per beat, pitched note-ons) of a file."""
    file = mido.MidiFile(str(path))
    drums, pitched = [], 0
    for track in file.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                if message.channel == 9:
                    drums.append(tick)
                else:
                    pitched += 1
    return sorted(drums), file.ticks_per_beat, pitched


def test_a_drum_track_on_channel_10_spans_the_song(song, tmp_path):
    out = tmp_path / "with drums.mid"
    done = composer("generate", "--model", "multitrack_vae-groove", "--primer", str(song), "--drums-for-song",
                    "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    hits, ppq, pitched = drum_hits(out)
    bar = BEATS * ppq
    assert pitched == BARS * BEATS + BARS  # the tune and the bass as they were
    bars_hit = {(tick + bar // 32) // bar for tick in hits}  # (a hit played a little early)
    assert bars_hit == set(range(BARS)), bars_hit  # every bar of the song, and nothing after it
    read = mido.MidiFile(str(out))
    names = [m.name for t in read.tracks for m in t if m.type == "track_name"]
    assert "Drums" in names


def test_a_region_of_the_song_gets_drums_from_its_bar(song, tmp_path):
    out = tmp_path / "region.mid"
    done = composer("generate", "--model", "multitrack_vae-groove", "--primer", str(song), "--drums-for-song",
                    "--from-bar", "3", "--bars", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    hits, ppq, _ = drum_hits(out)
    bar = BEATS * ppq
    assert {(tick + bar // 32) // bar for tick in hits} == {2, 3}  # bars 3 and 4


def test_one_clear_error_for_a_model_without_drums_or_a_song_without_notes(song, tmp_path):
    done = composer("generate", "--model", "note_symbol_lstm-nottingham", "--primer", str(song),
                    "--drums-for-song", "--out", str(tmp_path / "x.mid"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "--drums-for-song needs a drum model" in done.stderr and not (tmp_path / "x.mid").exists()
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    for primer in (["--primer", str(empty)], []):
        done = composer("generate", "--model", "multitrack_vae-groove", *primer, "--drums-for-song",
                        "--out", str(tmp_path / "x.mid"))
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert "give the song as --primer" in done.stderr
    assert np.all([not p.name.startswith("x") for p in tmp_path.iterdir()])
