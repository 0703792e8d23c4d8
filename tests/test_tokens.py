"""Token codecs and vocabularies (numpy side): exact encodings, round trips, the data layer with
token arrays, nearest-token mapping, and bad input."""

import numpy as np
import pytest

from composer.core import Score, TempoChange, Track, make_notes
from composer.data.dataset import encode_folder, load_cache
from composer.representations.codecs import (
    ChordTokenCodec,
    NoteSymbolCodec,
    SkipFile,
    codec_from_params,
)
from composer.representations.metrics import token_check
from composer.representations.tokens import NEXT, chord_name, parse_chord, parse_pitch, pitch_name, snap
from composer.representations.vocab import NEXT_TOKEN, ChordVocab, SymbolVocab
from engine_fixtures import write_training_folder

Q = 480  # ticks per quarter


def score_of(*notes, drums=False):
    """notes: (start beats, end beats, pitch)."""
    start, end, pitch = zip(*notes)
    track = Track("p", 0, drums, make_notes(np.array(start) * Q, np.array(end) * Q, pitch))
    return Score([track], Q, [TempoChange(0, 120.0)])


# A C major chord on beat 0 (half note), E4 on beat 2 (quarter), rest, G4 on beat 4 (eighth).
SONG = score_of((0, 2, 60), (0, 2, 64), (0, 1, 67), (2, 3, 64), (4, 4.5, 67))


def test_names_round_trip():
    assert pitch_name(60) == "C4" and pitch_name(61) == "C#4" and pitch_name(21) == "A0"
    assert all(parse_pitch(pitch_name(p)) == p for p in range(128))
    assert parse_pitch("Db4") == 61
    assert chord_name([67, 60, 64]) == "C4.E4.G4" and parse_chord("C4.E4.G4") == (60, 64, 67)
    with pytest.raises(ValueError):
        parse_pitch("H2")


def test_chord_tokens_untimed_keep_pitches_only():
    rows = ChordTokenCodec().encode(SONG)
    assert rows.shape == (3, 4) and rows.dtype == np.int64
    assert (rows[:, 2:] == 0).all()
    vocab = ChordVocab.build([rows], timed=False)
    assert sorted(vocab.tokens) == ["C4.E4.G4", "E4", "G4"]
    decoded = ChordTokenCodec().decode(rows).tracks[0].notes
    assert decoded["pitch"].tolist() == [60, 64, 67, 64, 67]
    assert decoded["start"].tolist() == [0, 0, 0, 240, 480]  # one group every half beat


def test_chord_tokens_timed_keep_the_rhythm():
    codec = ChordTokenCodec(timed=True)
    rows = codec.encode(SONG)
    # durations (longest note of the group) and shifts, in sixteenths
    assert rows[:, 2].tolist() == [8, 4, 2] and rows[:, 3].tolist() == [8, 8, 2]
    notes = codec.decode(rows).tracks[0].notes
    assert notes["start"].tolist() == [0, 0, 0, 960, 1920]
    assert notes["end"].tolist() == [960, 960, 960, 1440, 2160]
    vocab = ChordVocab.build([rows], timed=True)
    ids, unknown = vocab.encode(rows)
    assert unknown == 0 and len(ids) == 6
    assert [vocab.tokens[i] for i in ids] == ["C4.E4.G4", "t8:8", "E4", "t4:8", "G4", "t2:2"]
    assert np.array_equal(vocab.decode(ids), rows)
    # a primer end: the last shift reaches the start of the continuation
    assert codec.encode(SONG, end_tick=6 * Q)[-1, 3] == 8


def test_timing_is_snapped_to_the_ladder():
    assert snap(np.array([0, 1, 5, 7, 10, 13, 15, 40])).tolist() == [1, 1, 6, 8, 12, 12, 16, 16]


def test_note_symbols_paper_and_grid():
    paper = NoteSymbolCodec().encode(SONG)
    assert paper.tolist() == [60, 64, 67, NEXT, 64, NEXT, 67, NEXT]
    grid = NoteSymbolCodec(grid=True).encode(SONG)
    # 4 steps a beat: the chord, 7 empty steps, E4, 7 empty steps, G4
    assert grid.tolist() == [60, 64, 67, NEXT] + [NEXT] * 7 + [64, NEXT] + [NEXT] * 7 + [67, NEXT]
    notes = NoteSymbolCodec(grid=True).decode(grid).tracks[0].notes
    assert notes["start"].tolist() == [0, 0, 0, 960, 1920]
    assert notes["end"].tolist() == [960, 960, 960, 1920, 2400]  # held to the next onset, last one a beat
    # a primer's trailing rest reaches its end
    assert NoteSymbolCodec(grid=True).encode(SONG, end_tick=6 * Q)[-9:].tolist() == [67] + [NEXT] * 8
    vocab = SymbolVocab.build([grid])
    assert vocab.tokens == [NEXT_TOKEN, "C4", "E4", "G4"]
    ids, unknown = vocab.encode(grid)
    assert unknown == 0 and np.array_equal(vocab.decode(ids), grid)


def test_tracks_are_merged_and_duplicates_counted_once():
    two = Score([Track("a", notes=make_notes([0, 0], [Q, Q], [60, 60])),
                 Track("b", notes=make_notes([0], [2 * Q], [48]))], Q, [TempoChange(0, 120.0)])
    assert NoteSymbolCodec().encode(two).tolist() == [48, 60, NEXT]
    vocab = ChordVocab.build([ChordTokenCodec().encode(two)], timed=False)
    assert vocab.tokens == ["C3.C4"]


def test_drums_empty_and_tiny_input():
    drums = score_of((0, 1, 36), drums=True)
    for codec in (ChordTokenCodec(), NoteSymbolCodec(grid=True)):
        with pytest.raises(SkipFile, match="only drum tracks"):
            codec.encode(drums)
        with pytest.raises(SkipFile, match="no notes"):
            codec.encode(Score())
        # a note far shorter than a grid step is still one token
        blip = Score([Track("p", notes=make_notes([0], [5], [60]))], Q)
        assert len(codec.encode(blip)) >= 1
        assert codec.decode(codec.encode(blip)[:0]).note_count == 0  # empty sequences decode


def test_codec_params_round_trip():
    for codec in (ChordTokenCodec(timed=True), NoteSymbolCodec(grid=True)):
        assert codec_from_params(codec.params()) == codec


def test_unknown_chords_and_pitches_map_to_the_nearest():
    vocab = ChordVocab(["C4.E4.G4", "F4.A4.C5", "G4", "C4"])
    rows = ChordTokenCodec().encode(score_of((0, 1, 60), (0, 1, 64), (0, 1, 67), (0, 1, 71),  # Cmaj7
                                             (1, 2, 68)))  # G#4, never seen
    ids, unknown = vocab.encode(rows)
    assert unknown == 2 and [vocab.tokens[i] for i in ids] == ["C4.E4.G4", "G4"]
    symbols = SymbolVocab([NEXT_TOKEN, "C4", "E4", "G4"])
    ids, unknown = symbols.encode(np.array([72, NEXT, 65, NEXT]))  # C5 -> C4 (octave), F4 -> E4
    assert unknown == 2 and [symbols.tokens[i] for i in ids] == ["C4", NEXT_TOKEN, "E4", NEXT_TOKEN]


def test_a_vocabulary_of_one_symbol():
    vocab = ChordVocab.build([ChordTokenCodec().encode(score_of((0, 1, 60), (1, 2, 60)))], timed=False)
    assert vocab.tokens == ["C4"]
    ids, unknown = vocab.encode(ChordTokenCodec().encode(score_of((0, 1, 72))))
    assert ids.tolist() == [0] and unknown == 1
    only_next = SymbolVocab([NEXT_TOKEN])
    assert only_next.encode(np.array([NEXT, NEXT]))[0].tolist() == [0, 0]
    with pytest.raises(ValueError, match="no pitches"):
        only_next.encode(np.array([60]))
    with pytest.raises(ValueError):
        ChordVocab([])


def test_token_check_figures():
    assert token_check([]) == {"tokens": 0, "distinct": 0, "distinct_share": 0.0, "longest_run": 0}
    figures = token_check(np.array([1, 1, 1, 2, 3, 3]))
    assert figures == {"tokens": 6, "distinct": 3, "distinct_share": 0.5, "longest_run": 3}


@pytest.mark.parametrize("codec", [ChordTokenCodec(timed=True), NoteSymbolCodec(grid=True)])
def test_data_layer_caches_token_arrays_and_reports_pitches(codec, tmp_path):
    folder = write_training_folder(tmp_path / "songs", n_files=10)
    (folder / "broken.mid").write_bytes(b"not a MIDI file")
    first = encode_folder(folder, codec, cache_dir=tmp_path / "cache", workers=2)
    assert len(first) == 10 and first.skipped and not first.from_cache
    assert first.summary["pitch_min"] >= 36 and first.summary["pitch_max"] <= 96
    lo, hi = first.pitch_span()
    assert lo == first.summary["pitch_min"] and hi == first.summary["pitch_max"] + 1
    second = encode_folder(folder, codec, cache_dir=tmp_path / "cache", workers=1)
    assert second.from_cache
    assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(first.pieces, second.pieces))
    assert load_cache(second.cache_path).codec == codec.params()
    assert "Used files (10)" in second.report()


def test_pop909_tokenizes(datasets):
    import composer.io.midi as midi

    path = next((datasets / "pop909").rglob("001.mid"))
    score = midi.read_midi(path)
    rows = ChordTokenCodec(timed=True).encode(score)
    symbols = NoteSymbolCodec().encode(score)
    assert len(rows) > 300 and (symbols == NEXT).sum() == len(rows)
