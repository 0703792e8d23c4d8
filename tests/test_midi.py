"""MIDI reading and writing on self-made fixtures: exact content, bad input, round trips."""

import io
import warnings

import mido
import numpy as np
import pretty_midi
import pytest

from composer.core import ComposerWarning, Score, TempoChange, TimeSignature, Track, make_notes
from composer.io.midi import (
    DRUM_CHANNEL,
    MidiReadError,
    MidiWriteError,
    allocate_channels,
    parse_midi,
    read_midi,
    score_to_midi_bytes,
    write_midi,
)

Q = 480


def notes_of(track):
    n = track.notes
    return list(zip(n["start"].tolist(), n["end"].tolist(), n["pitch"].tolist(), n["velocity"].tolist()))


def test_reads_the_fixture_song_exactly(fixtures):
    score = read_midi(fixtures / "song.mid")
    assert score.ppq == Q
    assert [(c.tick, round(c.qpm, 3)) for c in score.tempos] == [(0, 100.0), (6 * Q, 140.0)]
    assert score.time_signatures == [TimeSignature(0, 3, 4), TimeSignature(6 * Q, 4, 4)]
    by_name = {t.name: t for t in score.tracks}
    assert set(by_name) == {"Melody", "Bass", "Drums"}
    melody, bass, drums = by_name["Melody"], by_name["Bass"], by_name["Drums"]
    assert (melody.program, melody.is_drum) == (0, False)
    assert (bass.program, bass.is_drum) == (33, False)
    assert drums.is_drum
    assert notes_of(melody)[:2] == [(0, Q, 60, 90), (Q, 2 * Q, 62, 90)]
    assert notes_of(melody)[-2:] == [(8 * Q, 10 * Q, 76, 100), (8 * Q, 10 * Q, 79, 100)]
    assert len(bass) == 5 and len(drums) == 20
    assert drums.notes["pitch"][0] == 36


def test_reads_type_0_with_two_channels(fixtures):
    score = read_midi(fixtures / "type0.mid")
    assert score.ppq == 96
    programs = sorted(t.program for t in score.tracks)
    assert programs == [0, 40]
    assert score.note_count == 3


@pytest.mark.parametrize("name, message", [
    ("not_midi.mid", "not a MIDI file"),
    ("truncated.mid", "truncated"),
    ("type2.mid", "type 2"),
    ("too_long.mid", "hours"),
])
def test_bad_files_give_one_clear_error(fixtures, name, message):
    with pytest.raises(MidiReadError, match=message) as info:
        read_midi(fixtures / name)
    assert name in str(info.value)


def test_missing_empty_and_folder_paths(tmp_path):
    with pytest.raises(MidiReadError, match="not found"):
        read_midi(tmp_path / "nope.mid")
    (tmp_path / "empty.mid").write_bytes(b"")
    with pytest.raises(MidiReadError, match="empty"):
        read_midi(tmp_path / "empty.mid")
    with pytest.raises(MidiReadError, match="folder"):
        read_midi(tmp_path)


def test_every_truncation_of_a_file_is_an_error_or_a_score(fixtures):
    data = (fixtures / "song.mid").read_bytes()
    for cut in range(0, len(data) - 1, 7):
        try:
            score = parse_midi(data[:cut], "cut.mid")
        except MidiReadError:
            continue
        assert isinstance(score, Score)


def test_garbage_inside_a_track_is_a_clear_error():
    good = score_to_midi_bytes(Score([Track("x", notes=make_notes([0], [Q], [60]))]))
    broken = bytearray(good)
    start = broken.rfind(b"MTrk") + 8
    broken[start:start + 6] = b"\xf4\xf4\xf4\xf4\xf4\xf4"  # undefined status bytes
    try:
        parse_midi(bytes(broken), "broken.mid")
    except MidiReadError as exc:
        assert "broken.mid" in str(exc)


def test_file_without_notes_warns_and_gives_an_empty_score(fixtures):
    with pytest.warns(ComposerWarning, match="no notes"):
        score = read_midi(fixtures / "no_notes.mid")
    assert score.note_count == 0


@pytest.mark.parametrize("name, qpm", [("tempo_too_slow.mid", 10.0), ("tempo_too_fast.mid", 1000.0)])
def test_absurd_tempos_are_clamped_with_a_warning(fixtures, name, qpm):
    with pytest.warns(ComposerWarning, match="clamped tempos"):
        score = read_midi(fixtures / name)
    assert score.tempos[0].qpm == qpm
    assert score.note_count == 1


def _rich_score() -> Score:
    lead = Track("Lead", 73, notes=make_notes([0, Q, 2 * Q, 2 * Q], [Q, 2 * Q, 4 * Q, 3 * Q],
                                              [72, 74, 76, 79], [90, 80, 70, 60]))
    bass = Track("Bass", 33, notes=make_notes([0, 2 * Q], [2 * Q, 4 * Q], [36, 43], 100))
    drums = Track("Kit", 0, True, notes=make_notes(np.arange(8) * Q // 2, np.arange(8) * Q // 2 + 30,
                                                    [36, 42] * 4, 110))
    return Score([lead, bass, drums], Q, [TempoChange(0, 96.0), TempoChange(4 * Q, 132.5)],
                 [TimeSignature(0, 4, 4), TimeSignature(4 * Q, 7, 8)], "Round trip")


def test_write_then_read_keeps_everything(tmp_path):
    score = _rich_score()
    path = tmp_path / "song.mid"
    write_midi(score, path)
    back = read_midi(path)
    assert back.ppq == score.ppq
    assert [(c.tick, round(c.qpm, 2)) for c in back.tempos] == [(0, 96.0), (4 * Q, 132.5)]
    assert back.time_signatures == score.time_signatures
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == \
        [(t.name, t.program, t.is_drum) for t in score.tracks]
    for a, b in zip(score.tracks, back.tracks):
        assert notes_of(a) == notes_of(b)


def test_written_file_reads_the_same_in_pretty_midi(tmp_path):
    """An independent reader (what many DAW importers resemble) sees the same tracks."""
    score = _rich_score()
    path = tmp_path / "song.mid"
    write_midi(score, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = pretty_midi.PrettyMIDI(str(path))
    assert [(i.name, i.program, i.is_drum, len(i.notes)) for i in pm.instruments] == \
        [(t.name, t.program, t.is_drum, len(t)) for t in score.tracks]
    midi = mido.MidiFile(file=io.BytesIO(path.read_bytes()))
    assert midi.type == 1 and len(midi.tracks) == 4
    channels = {m.channel for m in midi.tracks[3] if m.type == "note_on"}
    assert channels == {DRUM_CHANNEL}


def test_overlapping_same_pitch_notes_are_written_playably():
    """MIDI cannot hold two sounding notes of one pitch: the earlier one ends where the next starts."""
    track = Track("p", notes=make_notes([0, Q // 2], [Q, 2 * Q], [60, 60]))
    back = parse_midi(score_to_midi_bytes(Score([track])))
    assert notes_of(back.tracks[0]) == [(0, Q // 2, 60, 100), (Q // 2, 2 * Q, 60, 100)]


def test_channel_allocation():
    melodic = [Track(f"m{i}", i) for i in range(15)]
    drums = Track("d", 0, True)
    channels = allocate_channels(melodic + [drums])
    assert channels[-1] == DRUM_CHANNEL
    assert sorted(channels[:-1]) == [c for c in range(16) if c != DRUM_CHANNEL]
    # 20 tracks but only 3 instruments: they share channels by program
    shared = allocate_channels([Track(f"s{i}", i % 3) for i in range(20)])
    assert len(set(shared)) == 3
    with pytest.raises(MidiWriteError, match="16 different instruments"):
        allocate_channels([Track(f"x{i}", i) for i in range(16)])


def test_invalid_scores_and_bad_destinations_are_refused(tmp_path):
    bad = Score([Track("x", notes=make_notes([Q], [0], [60]))])
    with pytest.raises(MidiWriteError, match="end at or before"):
        score_to_midi_bytes(bad)
    from composer.io.files import FileWriteError

    with pytest.raises(FileWriteError):
        write_midi(_rich_score(), tmp_path / "no_such_folder" / "x.mid")


def test_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.mid"
    write_midi(_rich_score(), path)
    before = path.read_bytes()

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    from composer.io.files import FileWriteError

    with pytest.raises(FileWriteError, match="No space left"):
        write_midi(Score([Track("other", notes=make_notes([0], [Q], [50]))]), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mid"]
