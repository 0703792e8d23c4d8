"""Piano-roll codec and GM / LPD-5 instrument tables."""

import numpy as np
import pytest

from composer.core import ComposerError, Score, TempoChange, Track, make_notes
from composer.representations import (
    GM_FAMILIES,
    GM_PROGRAM_NAMES,
    LPD5,
    LPD5_PROGRAMS,
    count_out_of_range,
    crop_range,
    drum_name,
    family_programs,
    from_lpd5_pianoroll,
    from_pianoroll,
    lpd5_instrument,
    lpd5_slot,
    pitch_span,
    program_family,
    program_name,
    to_lpd5_pianoroll,
    to_pianoroll,
)


def one_track(start, end, pitch, velocity=100, ppq=480, tempos=None, **track_kw):
    return Score([Track("t", notes=make_notes(start, end, pitch, velocity), **track_kw)], ppq, tempos)


def columns(score):
    """(start, end, pitch) of every note of the first track, in track order."""
    n = score.tracks[0].notes
    return list(zip(n["start"].tolist(), n["end"].tolist(), n["pitch"].tolist()))


# ppq 4, steps_per_beat 4: one frame per tick, so the expected rolls are easy to read.
THREE = dict(start=[0, 2, 2], end=[2, 5, 3], pitch=[1, 0, 2], ppq=4)
THREE_ROLL = np.array(
    [  # pitch 0, 1, 2
        [0, 1, 0],
        [0, 1, 0],
        [1, 0, 1],
        [1, 0, 0],
        [1, 0, 0],
    ],
    dtype=bool,
)


# --------------------------------------------------------------------------- encoding


def test_three_notes_exact_roll():
    score = one_track(**THREE)
    roll = to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 3))
    assert roll.dtype == bool and roll.shape == (5, 3)
    np.testing.assert_array_equal(roll, THREE_ROLL)


def test_three_notes_back_to_exact_notes():
    score = from_pianoroll(THREE_ROLL, steps_per_beat=4, pitch_range=(0, 3), ppq=4)
    assert columns(score) == [(0, 2, 1), (2, 5, 0), (2, 3, 2)]  # (start, pitch) order
    assert len(score.tracks) == 1 and score.ppq == 4
    assert score.tempos == [TempoChange(0, 120.0)]
    assert (score.tracks[0].notes["velocity"] == 100).all()


def test_pitch_offset_and_coarser_grid():
    # ppq 480, 2 steps per beat: a frame is 240 ticks; columns start at pitch 60.
    score = one_track([0, 240, 960], [480, 720, 1440], [60, 62, 61])
    roll = to_pianoroll(score, steps_per_beat=2, pitch_range=(60, 63))
    expected = np.array([[1, 0, 0], [1, 0, 1], [0, 0, 1], [0, 0, 0], [0, 1, 0], [0, 1, 0]], bool)
    np.testing.assert_array_equal(roll, expected)
    back = from_pianoroll(roll, steps_per_beat=2, pitch_range=(60, 63))
    assert columns(back) == [(0, 480, 60), (240, 720, 62), (960, 1440, 61)]


def test_rounding_and_minimum_length():
    # ppq 480, 4 steps per beat: 120 ticks a frame. 59 ticks rounds down, 60 (a half) rounds up.
    score = one_track([59, 60, 300], [100, 130, 301], [0, 1, 2])
    roll = to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 3))
    # note 0: frames [0, 1) ; note 1: [1, 1) -> one frame [1, 2) ; note 2: [3, 3) -> [3, 4)
    expected = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]], bool)
    np.testing.assert_array_equal(roll, expected)


def test_onsets_distinguish_repeated_notes():
    score = one_track([0, 2], [2, 4], [1, 1], ppq=4)
    roll, onsets = to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 2), onsets=True)
    np.testing.assert_array_equal(roll, np.array([[0, 1]] * 4, bool))
    np.testing.assert_array_equal(onsets, np.array([[0, 1], [0, 0], [0, 1], [0, 0]], bool))
    assert columns(from_pianoroll(roll, steps_per_beat=4, pitch_range=(0, 2), ppq=4)) == [(0, 4, 1)]
    back = from_pianoroll(roll, steps_per_beat=4, pitch_range=(0, 2), onsets=onsets, ppq=4)
    assert columns(back) == [(0, 2, 1), (2, 4, 1)]


def test_onset_marks_outside_active_frames_are_ignored():
    roll = np.array([[1], [1], [0], [0]], bool)
    onsets = np.array([[1], [1], [1], [0]], bool)
    back = from_pianoroll(roll, steps_per_beat=4, pitch_range=(60, 61), onsets=onsets, ppq=4)
    assert columns(back) == [(0, 1, 60), (1, 2, 60)]


def test_velocity_roll_takes_loudest_overlap():
    score = one_track([0, 1, 4], [3, 2, 5], [0, 0, 1], velocity=[50, 90, 7], ppq=4)
    roll = to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 2), binary=False)
    assert roll.dtype == np.uint8
    np.testing.assert_array_equal(roll, np.array([[50, 0], [90, 0], [50, 0], [0, 0], [0, 7]]))


def test_velocity_roll_round_trip():
    score = one_track([0, 2, 2], [2, 4, 3], [0, 0, 2], velocity=[10, 127, 64], ppq=4)
    roll, onsets = to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 3), binary=False, onsets=True)
    back = from_pianoroll(roll, steps_per_beat=4, pitch_range=(0, 3), onsets=onsets, ppq=4)
    assert columns(back) == [(0, 2, 0), (2, 4, 0), (2, 3, 2)]
    assert back.tracks[0].notes["velocity"].tolist() == [10, 127, 64]


def test_pitch_range_drops_out_of_range_notes():
    score = one_track([0, 0, 0, 1], [1, 1, 1, 2], [59, 60, 72, 71], ppq=4)
    roll = to_pianoroll(score, steps_per_beat=4, pitch_range=(60, 72))
    assert roll.shape == (2, 12)
    expected = np.zeros((2, 12), bool)
    expected[0, 0] = expected[1, 11] = True
    np.testing.assert_array_equal(roll, expected)
    assert count_out_of_range(score, (60, 72)) == 2
    assert count_out_of_range(score, pitch_span(score)) == 0
    assert pitch_span(score) == (59, 73)
    assert crop_range(*pitch_span(score)) == (48, 84)


def test_time_axis_not_shortened_by_dropped_pitches():
    score = one_track([0, 0], [1, 8], [60, 100], ppq=4)
    assert to_pianoroll(score, steps_per_beat=4, pitch_range=(60, 61)).shape == (8, 1)


def test_crop_range():
    assert crop_range(40, 85) == (36, 96)
    assert crop_range(0, 128) == (0, 128)
    assert crop_range(121, 125) == (120, 128)
    assert crop_range(60, 61, multiple=1) == (60, 61)
    assert crop_range(0, 0) == (0, 0)
    assert pitch_span(Score([Track()])) == (0, 0)


def test_length_pads_and_crops():
    score = one_track([0, 3], [2, 6], [0, 1], ppq=4)
    padded = to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 2), length=8)
    assert padded.shape == (8, 2) and not padded[6:].any()
    cropped, onsets = to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 2), length=4, onsets=True)
    np.testing.assert_array_equal(cropped, np.array([[1, 0], [1, 0], [0, 0], [0, 1]], bool))
    np.testing.assert_array_equal(onsets, np.array([[1, 0], [0, 0], [0, 0], [0, 1]], bool))
    short = to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 2), length=3)
    np.testing.assert_array_equal(short, np.array([[1, 0], [1, 0], [0, 0]], bool))
    assert to_pianoroll(score, steps_per_beat=4, length=0).shape == (0, 128)


def test_empty_score():
    assert to_pianoroll(Score(), steps_per_beat=4).shape == (0, 128)
    roll, onsets = to_pianoroll(Score([Track()]), fps=16, pitch_range=(24, 108), onsets=True)
    assert roll.shape == onsets.shape == (0, 84)
    assert from_pianoroll(np.zeros((5, 128), bool), steps_per_beat=4).note_count == 0


def test_fps_uses_tempo_map():
    # 60 BPM for the first 2 beats (1 s each), then 120 BPM (0.5 s a beat); ppq 4, 4 frames/s.
    tempos = [TempoChange(0, 60.0), TempoChange(8, 120.0)]
    score = one_track([0, 8, 16], [4, 12, 18], [0, 1, 2], ppq=4, tempos=tempos)
    roll = to_pianoroll(score, fps=4, pitch_range=(0, 3))
    # seconds: [0, 1), [2, 2.5), [3, 3.25) -> frames [0, 4), [8, 10), [12, 13)
    expected = np.zeros((13, 3), bool)
    expected[0:4, 0] = expected[8:10, 1] = expected[12:13, 2] = True
    np.testing.assert_array_equal(roll, expected)
    back = from_pianoroll(roll, fps=4, pitch_range=(0, 3), ppq=4, qpm=60.0)
    assert columns(back) == [(0, 4, 0), (8, 10, 1), (12, 13, 2)]  # a tick = 1/4 s at 60 BPM


def _random_score(seed, tempos=None, overlaps=True, ppq=480):
    """300 random notes. Without ``overlaps``, notes of one pitch are at least 240 ticks apart."""
    rng = np.random.default_rng(seed)
    if overlaps:
        start = rng.integers(0, ppq * 64, 300)
        end = start + rng.integers(1, ppq * 3, 300)
        pitch = rng.integers(20, 110, 300)
    else:
        dur = rng.integers(240, 1440, (30, 10))
        gap = rng.integers(240, 960, (30, 10))
        end = np.cumsum(dur + gap, axis=1)
        start = (end - dur).ravel()
        end = end.ravel()
        pitch = np.repeat(np.arange(40, 100, 2), 10)
    notes = make_notes(start, end, pitch, rng.integers(1, 128, 300))
    return Score([Track("a", notes=notes)], ppq, tempos)


GRIDS = [dict(steps_per_beat=4), dict(steps_per_beat=24), dict(fps=16), dict(fps=100)]
TEMPOS = [TempoChange(0, 100.0), TempoChange(480 * 10, 140.0)]


@pytest.mark.parametrize("grid", GRIDS)
def test_round_trip_binary(grid):
    """score -> roll -> score -> roll gives the same roll, even with overlapping repeated notes."""
    score = _random_score(1, tempos=TEMPOS)
    roll, onsets = to_pianoroll(score, **grid, onsets=True)
    back = from_pianoroll(roll, **grid, onsets=onsets)
    again, again_onsets = to_pianoroll(back, **grid, onsets=True)
    np.testing.assert_array_equal(again, roll)
    np.testing.assert_array_equal(again_onsets, onsets)
    # and once more through a score: the notes are now a fixed point
    third = from_pianoroll(again, **grid, onsets=again_onsets)
    np.testing.assert_array_equal(third.tracks[0].notes, back.tracks[0].notes)


@pytest.mark.parametrize("grid", GRIDS)
def test_round_trip_velocity(grid):
    """The same with velocity rolls, for notes that do not overlap others of their pitch."""
    score = _random_score(2, tempos=TEMPOS, overlaps=False)
    roll, onsets = to_pianoroll(score, **grid, onsets=True, binary=False)
    back = from_pianoroll(roll, **grid, onsets=onsets)
    def velocities_by_pitch(notes):  # rounding may reorder starts across pitches, not within
        return notes["velocity"][np.lexsort((notes["start"], notes["pitch"]))]

    np.testing.assert_array_equal(velocities_by_pitch(back.tracks[0].notes),
                                  velocities_by_pitch(score.tracks[0].notes))
    again, again_onsets = to_pianoroll(back, **grid, onsets=True, binary=False)
    np.testing.assert_array_equal(again, roll)
    np.testing.assert_array_equal(again_onsets, onsets)


def test_overlapping_repeated_notes_are_split_at_onsets():
    # A loud note overlapped by a later quiet one of the same pitch: the roll keeps the loudest
    # velocity per frame, and decoding cuts the first note where the second begins.
    score = one_track([0, 2], [4, 6], [0, 0], velocity=[100, 20], ppq=4)
    roll, onsets = to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 1), onsets=True, binary=False)
    np.testing.assert_array_equal(roll[:, 0], [100, 100, 100, 100, 20, 20])
    back = from_pianoroll(roll, steps_per_beat=4, pitch_range=(0, 1), onsets=onsets, ppq=4)
    assert columns(back) == [(0, 2, 0), (2, 6, 0)]
    assert back.tracks[0].notes["velocity"].tolist() == [100, 100]  # value at each note's start


def test_score_roll_score_on_grid_is_exact():
    # Notes on the 16th-note grid with no same-pitch overlaps come back exactly.
    starts = [0, 120, 240, 240, 960]
    score = one_track(starts, [120, 240, 480, 1200, 1080], [60, 60, 60, 64, 67],
                      velocity=[1, 2, 3, 4, 5])
    roll, onsets = to_pianoroll(score, steps_per_beat=4, onsets=True, binary=False)
    back = from_pianoroll(roll, steps_per_beat=4, onsets=onsets)
    np.testing.assert_array_equal(back.tracks[0].notes, score.tracks[0].notes)


def test_drums_excluded_by_default():
    score = Score([
        Track("keys", notes=make_notes([0], [4], [60])),
        Track("kit", is_drum=True, notes=make_notes([0, 4], [1, 8], [36, 38])),
    ], ppq=4)
    kit = score.tracks[1]
    roll = to_pianoroll(score, steps_per_beat=4)
    assert roll.shape == (8, 128)  # the time axis still spans the whole score
    assert roll[:, 60].sum() == 4 and not roll[:, [36, 38]].any()
    with_drums = to_pianoroll(score, steps_per_beat=4, include_drums=True)
    assert with_drums[:, 36].sum() == 1 and with_drums[:, 38].sum() == 4
    assert not to_pianoroll(score, steps_per_beat=4, tracks=[kit.id]).any()
    only_kit = to_pianoroll(score, steps_per_beat=4, tracks=[kit.id], include_drums=True)
    assert only_kit[:, 60].sum() == 0 and only_kit[:, 36].sum() == 1
    assert pitch_span(score) == (60, 61)
    assert pitch_span(score, include_drums=True) == (36, 61)
    with pytest.raises(ComposerError, match="drum"):
        to_pianoroll(kit, steps_per_beat=4, ppq=4)


def test_select_tracks_and_merge():
    a = Track("a", notes=make_notes([0], [1], [1]))
    b = Track("b", notes=make_notes([1], [2], [2]))
    score = Score([a, b], ppq=4)
    np.testing.assert_array_equal(
        to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 3)),
        np.array([[0, 1, 0], [0, 0, 1]], bool),
    )
    np.testing.assert_array_equal(
        to_pianoroll(score, steps_per_beat=4, pitch_range=(0, 3), tracks=[b.id]),
        np.array([[0, 0, 0], [0, 0, 1]], bool),
    )
    with pytest.raises(ComposerError):
        to_pianoroll(score, steps_per_beat=4, tracks=[12345678])


def test_bare_track_needs_ppq():
    score = one_track(**THREE)
    track = score.tracks[0]
    with pytest.raises(ComposerError, match="ppq"):
        to_pianoroll(track, steps_per_beat=4)
    np.testing.assert_array_equal(
        to_pianoroll(track, steps_per_beat=4, ppq=4, pitch_range=(0, 3)), THREE_ROLL
    )
    with pytest.raises(ComposerError):
        to_pianoroll(score, steps_per_beat=4, ppq=96)


@pytest.mark.parametrize("kw", [{}, dict(steps_per_beat=4, fps=16), dict(steps_per_beat=0),
                                dict(steps_per_beat=2.5), dict(fps=-1.0), dict(fps=float("nan"))])
def test_grid_arguments_checked(kw):
    score = one_track(**THREE)
    with pytest.raises(ComposerError):
        to_pianoroll(score, **kw)
    with pytest.raises(ComposerError):
        from_pianoroll(THREE_ROLL, pitch_range=(0, 3), **kw)


def test_neither_grid_message():
    with pytest.raises(ComposerError, match="exactly one of steps_per_beat"):
        to_pianoroll(Score(), steps_per_beat=None, fps=None)


@pytest.mark.parametrize("bad", [(0, 0), (10, 5), (-1, 10), (0, 129), (60,)])
def test_bad_pitch_range(bad):
    with pytest.raises(ComposerError):
        to_pianoroll(Score(), steps_per_beat=4, pitch_range=bad)


def test_from_pianoroll_checks_shape():
    with pytest.raises(ComposerError, match="pitch columns"):
        from_pianoroll(np.zeros((4, 10), bool), steps_per_beat=4)
    with pytest.raises(ComposerError, match=r"shape \(T, P\)"):
        from_pianoroll(np.zeros(4, bool), steps_per_beat=4)
    with pytest.raises(ComposerError, match="onsets"):
        from_pianoroll(np.zeros((4, 128), bool), steps_per_beat=4, onsets=np.zeros((3, 128), bool))


def test_from_pianoroll_track_fields():
    roll = np.zeros((2, 128), bool)
    roll[0, 38] = True
    score = from_pianoroll(roll, steps_per_beat=4, program=0, is_drum=True, name="Kit",
                           velocity=77, qpm=90.0)
    track = score.tracks[0]
    assert (track.name, track.program, track.is_drum) == ("Kit", 0, True)
    assert track.notes["velocity"].tolist() == [77]
    assert score.tempos == [TempoChange(0, 90.0)]


def test_lpd5_round_trip():
    score = Score([
        Track("kit", 0, True, make_notes([0], [4], [36])),
        Track("ep", 4, False, make_notes([0], [2], [60])),
        Track("gtr", 25, False, make_notes([2], [4], [64])),
        Track("bass", 33, False, make_notes([0], [4], [40])),
        Track("choir", 52, False, make_notes([1], [3], [72])),
        Track("organ", 16, False, make_notes([3], [4], [74])),
    ], ppq=4)
    rolls = to_lpd5_pianoroll(score, steps_per_beat=4, pitch_range=(24, 108))
    assert rolls.shape == (4, 84, 5)
    per_slot = [np.flatnonzero(rolls[:, :, k].any(axis=0)) + 24 for k in range(5)]
    assert [p.tolist() for p in per_slot] == [[36], [60], [64], [40], [72, 74]]
    back = from_lpd5_pianoroll(rolls, steps_per_beat=4, pitch_range=(24, 108), ppq=4)
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [
        ("Drums", 0, True), ("Piano", 0, False), ("Guitar", 24, False), ("Bass", 32, False),
        ("Strings", 48, False)]
    np.testing.assert_array_equal(
        to_lpd5_pianoroll(back, steps_per_beat=4, pitch_range=(24, 108)), rolls)
    strict = to_lpd5_pianoroll(Score([Track("fx", 122, False, make_notes([0], [4], [60]))], ppq=4),
                               steps_per_beat=4, strict=True)
    assert strict.shape == (4, 128, 5) and not strict.any()


# --------------------------------------------------------------------------- instruments


def test_gm_tables():
    assert len(GM_PROGRAM_NAMES) == 128 and len(set(GM_PROGRAM_NAMES)) == 128
    assert len(GM_FAMILIES) == 16
    assert program_name(0) == "Acoustic Grand Piano"
    assert program_name(127) == "Gunshot"
    assert program_name(33) == "Electric Bass (finger)"
    assert program_family(0) == "Piano" and program_family(7) == "Piano"
    assert program_family(8) == "Chromatic Percussion"
    assert program_family(25) == "Guitar" and program_family(33) == "Bass"
    assert program_family(40) == "Strings" and program_family(48) == "Ensemble"
    assert program_family(127) == "Sound Effects"
    assert family_programs("bass") == range(32, 40)
    assert drum_name(36) == "Bass Drum 1" and drum_name(38) == "Acoustic Snare"
    assert drum_name(35) == "Acoustic Bass Drum" and drum_name(81) == "Open Triangle"
    assert drum_name(20) == "Drum key 20"


def test_every_program_has_a_family_and_one_lpd5_slot():
    for program in range(128):
        assert program_family(program) in GM_FAMILIES
        assert lpd5_slot(program, False) in LPD5[1:]
        assert lpd5_slot(program, True) == "drums"
    slots = [lpd5_slot(p) for p in range(128)]
    assert slots[:8] == ["piano"] * 8
    assert slots[24:32] == ["guitar"] * 8
    assert slots[32:40] == ["bass"] * 8
    assert slots.count("strings") == 128 - 24


def test_lpd5_known_examples():
    assert lpd5_slot(33, False) == "bass"
    assert lpd5_slot(25, False) == "guitar"
    assert lpd5_slot(48, False) == "strings"
    assert lpd5_slot(0, False) == "piano"
    assert lpd5_slot(0, True) == "drums" and lpd5_slot(33, True) == "drums"
    assert lpd5_slot(16) == "strings"  # organ has no slot of its own
    assert lpd5_slot(100, strict=True) is None and lpd5_slot(100) == "strings"
    assert lpd5_slot(110, strict=True) == "strings"  # Ethnic is kept by MuseGAN
    assert LPD5_PROGRAMS == {"drums": 0, "piano": 0, "guitar": 24, "bass": 32, "strings": 48}
    assert lpd5_instrument("drums") == (0, True) and lpd5_instrument("bass") == (32, False)


@pytest.mark.parametrize("bad", [-1, 128, 3.5, "piano", None])
def test_bad_program(bad):
    with pytest.raises(ComposerError):
        program_name(bad)
    with pytest.raises(ComposerError):
        lpd5_slot(bad)
