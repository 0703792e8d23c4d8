"""The score model, timing, validation and repair, transforms and undoable edits."""

import numpy as np
import pytest

from composer.core import (
    Score,
    ScoreError,
    TempoChange,
    TimeSignature,
    Track,
    make_notes,
    repaired,
    score_problems,
)
from composer.core.edits import (
    AddNotes,
    AddTrack,
    EditGroup,
    MoveNotes,
    MoveTrack,
    RemoveNotes,
    RemoveTempo,
    RemoveTimeSignature,
    RemoveTrack,
    ReplaceRegion,
    ResizeNotes,
    SetTempo,
    SetTimeSignature,
    SetTrackProperties,
    SetVelocity,
)
from composer.core.transforms import merge, quantize, rescale_ppq, shift, slice_time, transpose

Q = 480  # one quarter note at the default PPQ


def build(*tracks_notes, drums=(), **kwargs) -> Score:
    """A score with one track per list of (start, end, pitch) tuples; the same builder makes
    inputs and expected outputs."""
    tracks = []
    for i, rows in enumerate(tracks_notes):
        rows = list(rows)
        notes = make_notes([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                           [r[3] if len(r) > 3 else 100 for r in rows])
        tracks.append(Track(f"t{i}", 0, i in drums, notes))
    return Score(tracks, **kwargs)


def rows(track: Track) -> list[tuple[int, int, int]]:
    return list(zip(track.notes["start"].tolist(), track.notes["end"].tolist(), track.notes["pitch"].tolist()))


# ------------------------------------------------------------------------ model and timing

def test_track_sorts_notes_and_assigns_unique_ids():
    score = build([(Q, 2 * Q, 64), (0, Q, 60), (0, Q, 55)])
    track = score.tracks[0]
    assert rows(track) == [(0, Q, 55), (0, Q, 60), (Q, 2 * Q, 64)]
    assert sorted(track.notes["id"].tolist()) == [0, 1, 2]
    assert track.new_note_ids(2).tolist() == [3, 4]
    assert track.end_tick == 2 * Q


def test_tracks_get_distinct_ids():
    a, b = Track("a"), Track("b")
    assert a.id != b.id


def test_tempo_map_converts_ticks_and_seconds_across_changes():
    score = Score(tempos=[TempoChange(0, 120.0), TempoChange(4 * Q, 60.0)])
    seconds = score.tempo_map.tick_to_seconds(np.array([0, Q, 4 * Q, 5 * Q]))
    np.testing.assert_allclose(seconds, [0.0, 0.5, 2.0, 3.0])
    np.testing.assert_array_equal(score.tempo_map.seconds_to_tick([0.5, 3.0]), [Q, 5 * Q])
    assert score.tempo_map.qpm_at(5 * Q) == 60.0


def test_bar_starts_follow_time_signature_changes():
    sigs = [TimeSignature(0, 3, 4), TimeSignature(6 * Q, 4, 4)]
    starts = Score(time_signatures=sigs).bar_starts(end_tick=14 * Q)
    np.testing.assert_array_equal(starts, [0, 3 * Q, 6 * Q, 10 * Q, 14 * Q])
    # A 6/8 bar is three quarter notes long.
    np.testing.assert_array_equal(Score(time_signatures=[TimeSignature(0, 6, 8)]).bar_starts(1), [0, 3 * Q])


def test_bar_starts_when_signature_changes_after_the_end():
    sigs = [TimeSignature(0, 4, 4), TimeSignature(20 * Q, 3, 4)]
    np.testing.assert_array_equal(Score(time_signatures=sigs).bar_starts(end_tick=5 * Q), [0, 4 * Q, 8 * Q])


def test_invalid_ppq_is_a_clear_error():
    with pytest.raises(ScoreError, match="PPQ"):
        Score(ppq=0)


def test_validation_names_each_problem():
    score = build([(Q, 0, 60), (0, Q, 130), (0, Q, 60, 0)], tempos=[TempoChange(0, 5000.0)])
    problems = " | ".join(score_problems(score))
    assert "end at or before they start" in problems
    assert "pitches outside 0-127" in problems
    assert "velocities outside 1-127" in problems
    assert "5000 BPM" in problems
    with pytest.raises(ScoreError):
        score.validate()
    build([(0, Q, 60)]).validate()  # a valid score passes


def test_repaired_fixes_what_can_be_fixed_and_says_so():
    score = build([(Q, 0, 60), (0, 0, 62), (0, Q, 130), (-Q, 0, 64), (0, Q, 65, 300)],
                  tempos=[TempoChange(0, 2.0)])
    fixed, report = repaired(score)
    assert score_problems(fixed) == []
    assert rows(fixed.tracks[0]) == [(0, Q, 60), (0, 1, 62), (0, Q, 65)]
    assert fixed.tracks[0].notes["velocity"].max() == 127
    assert fixed.tempos[0].qpm == 10.0
    assert len(report) == 5
    assert rows(score.tracks[0])[0] == (-Q, 0, 64)  # the input is untouched


def test_score_pickles_without_its_signals():
    import pickle

    score = build([(0, Q, 60)])
    score.events.notes_added.connect(lambda *a: None)
    clone = pickle.loads(pickle.dumps(score))
    assert clone.same_content(score)


# ------------------------------------------------------------------------------ transforms

def test_transpose_counts_dropped_notes_and_skips_drums():
    score = build([(0, Q, 60), (Q, 2 * Q, 120)], [(0, Q, 36)], drums=(1,))
    up, dropped = transpose(score, 10)
    assert dropped == 1
    assert rows(up.tracks[0]) == [(0, Q, 70)]
    assert rows(up.tracks[1]) == [(0, Q, 36)]
    assert rows(score.tracks[0]) == [(0, Q, 60), (Q, 2 * Q, 120)]


def test_quantize_snaps_starts_and_ends():
    score = build([(10, 470, 60), (500, 900, 62), (1000, 1010, 64)])
    snapped = quantize(score, grid=Q // 2)
    assert rows(snapped.tracks[0]) == [(0, 480, 60), (480, 960, 62), (960, 1200, 64)]
    half = quantize(score, grid=Q, strength=0.5, ends=False)
    assert rows(half.tracks[0])[0] == (5, 465, 60)
    with pytest.raises(ScoreError):
        quantize(score, grid=0)


def test_slice_time_keeps_notes_starting_inside_and_shifts_to_zero():
    score = build([(0, 2 * Q, 60), (Q, 3 * Q, 62), (2 * Q, 5 * Q, 64)],
                  tempos=[TempoChange(0, 100.0), TempoChange(2 * Q, 80.0)])
    part = slice_time(score, Q, 4 * Q)
    assert rows(part.tracks[0]) == [(0, 2 * Q, 62), (Q, 3 * Q, 64)]
    assert [(c.tick, c.qpm) for c in part.tempos] == [(0, 100.0), (Q, 80.0)]
    with pytest.raises(ScoreError):
        slice_time(score, 4 * Q, Q)


def test_shift_and_merge():
    score = build([(0, Q, 60)])
    later = shift(score, Q)
    assert rows(later.tracks[0]) == [(Q, 2 * Q, 60)]
    with pytest.raises(ScoreError):
        shift(score, -1)
    other = build([(0, 96, 67)], ppq=96)
    both = merge(score, other)
    assert len(both.tracks) == 2 and rows(both.tracks[1]) == [(0, Q, 67)]
    assert len({t.id for t in both.tracks}) == 2


def test_rescale_ppq_keeps_musical_time():
    score = build([(0, Q, 60), (Q, 2 * Q, 62)])
    assert rows(rescale_ppq(score, 96).tracks[0]) == [(0, 96, 60), (96, 192, 62)]


# ----------------------------------------------------------------------------------- edits

@pytest.fixture
def score_and_log():
    score = build([(0, Q, 60), (Q, 2 * Q, 62), (2 * Q, 3 * Q, 64)])
    log = []
    for name in ("notes_added", "notes_removed", "notes_changed", "tracks_changed", "timing_changed"):
        getattr(score.events, name).connect(lambda *args, n=name: log.append((n, args)))
    return score, log


def _round_trip(score, edit):
    before = score.copy()
    edit.apply(score)
    after = score.copy()
    assert not after.same_content(before)
    edit.revert(score)
    assert score.same_content(before)
    edit.apply(score)  # redo gives the exact same score, ids included
    assert score.same_content(after)
    return after


def test_add_and_remove_notes_round_trip(score_and_log):
    score, log = score_and_log
    track = score.tracks[0]
    new = make_notes([3 * Q], [4 * Q], [67], ids=track.new_note_ids(1))
    after = _round_trip(score, AddNotes(track.id, new))
    assert rows(after.tracks[0])[-1] == (3 * Q, 4 * Q, 67)
    assert log[0][0] == "notes_added" and log[0][1][1].tolist() == new["id"].tolist()
    ids = track.notes["id"][:2]
    _round_trip(score, RemoveNotes(track.id, ids))
    assert len(track) == 2


def test_move_resize_and_velocity_round_trip(score_and_log):
    score, log = score_and_log
    track = score.tracks[0]
    first = track.notes["id"][:1]
    after = _round_trip(score, MoveNotes(track.id, first, d_ticks=Q // 2, d_pitch=-2))
    assert (Q // 2, Q + Q // 2, 58) in rows(after.tracks[0])
    after = _round_trip(score, ResizeNotes(track.id, first, new_ends=4 * Q))
    assert track.get(first)["end"][0] == 4 * Q
    _round_trip(score, SetVelocity(track.id, first, velocity=200))
    assert track.get(first)["velocity"][0] == 127
    assert {entry[0] for entry in log} == {"notes_changed"}


def test_move_outside_the_pitch_range_is_refused(score_and_log):
    score, _ = score_and_log
    track = score.tracks[0]
    with pytest.raises(ScoreError):
        MoveNotes(track.id, track.notes["id"][:1], d_pitch=100).apply(score)
    with pytest.raises(ScoreError):
        RemoveNotes(track.id, [999]).apply(score)


def test_replace_region_is_one_undoable_step(score_and_log):
    score, _ = score_and_log
    track = score.tracks[0]
    generated = make_notes([Q, Q + Q // 2], [Q + Q // 2, 2 * Q], [72, 74])
    after = _round_trip(score, ReplaceRegion(track.id, Q, 3 * Q, generated))
    assert rows(after.tracks[0]) == [(0, Q, 60), (Q, Q + Q // 2, 72), (Q + Q // 2, 2 * Q, 74)]


def test_track_edits_round_trip(score_and_log):
    score, log = score_and_log
    _round_trip(score, AddTrack(Track("bass", 33)))
    assert [t.name for t in score.tracks] == ["t0", "bass"]
    _round_trip(score, MoveTrack(score.tracks[1].id, 0))
    _round_trip(score, SetTrackProperties(score.tracks[0].id, {"name": "Lead", "program": 81}))
    _round_trip(score, RemoveTrack(score.tracks[0].id))
    assert any(entry[0] == "tracks_changed" for entry in log)
    with pytest.raises(ScoreError):
        SetTrackProperties(score.tracks[0].id, {"tempo": 1})


def test_edit_group_reverts_in_reverse_order(score_and_log):
    score, _ = score_and_log
    track = score.tracks[0]
    ids = track.notes["id"][:1]
    group = EditGroup([MoveNotes(track.id, ids, d_ticks=Q), SetVelocity(track.id, ids, velocity=10)])
    _round_trip(score, group)


# ------------------------------------------------------ the score's change methods and signals

def _signals(log) -> list:
    """The log as (signal, track id, note ids as a list) for note signals, (signal,) otherwise."""
    return [(name, args[0], args[1].tolist()) if args else (name,) for name, args in log]


def test_add_notes_stores_copies_and_says_which_ids_once(score_and_log):
    score, log = score_and_log
    track = score.tracks[0]
    new = make_notes([3 * Q, 4 * Q], [4 * Q, 5 * Q], [67, 69], ids=track.new_note_ids(2))
    assert score.add_notes(track.id, new) is None
    assert _signals(log) == [("notes_added", track.id, new["id"].tolist())]
    assert log[0][1][1].dtype == np.int64
    new["pitch"] = 0  # the track holds copies
    assert rows(track)[-2:] == [(3 * Q, 4 * Q, 67), (4 * Q, 5 * Q, 69)]
    log.clear()
    with pytest.raises(ScoreError):  # notes need ids, and ids already in the track are refused
        score.add_notes(track.id, make_notes([0], [Q], [60]))
    with pytest.raises(ScoreError):
        score.add_notes(track.id, track.notes[:1])
    assert log == [] and len(track) == 5


def test_delete_notes_returns_what_it_removed_and_says_so_once(score_and_log):
    score, log = score_and_log
    track = score.tracks[0]
    ids = track.notes["id"][[2, 0]]
    removed = score.delete_notes(track.id, ids)
    assert removed.dtype == track.notes.dtype and removed["id"].tolist() == ids.tolist()
    assert rows(track) == [(Q, 2 * Q, 62)]
    assert _signals(log) == [("notes_removed", track.id, ids.tolist())]
    score.add_notes(track.id, removed)  # what it returns puts the notes back, same ids
    assert rows(track) == [(0, Q, 60), (Q, 2 * Q, 62), (2 * Q, 3 * Q, 64)]
    log.clear()
    with pytest.raises(ScoreError):
        score.delete_notes(track.id, [999])
    assert log == []


def test_replace_notes_overwrites_by_id_and_says_so_once(score_and_log):
    score, log = score_and_log
    track = score.tracks[0]
    changed = track.get(track.notes["id"][:1])
    changed["start"], changed["end"], changed["pitch"] = 4 * Q, 5 * Q, 72
    score.replace_notes(track.id, changed)
    assert rows(track) == [(Q, 2 * Q, 62), (2 * Q, 3 * Q, 64), (4 * Q, 5 * Q, 72)]  # kept sorted
    assert _signals(log) == [("notes_changed", track.id, changed["id"].tolist())]


def test_track_changes_return_what_undoes_them_and_say_so_once(score_and_log):
    score, log = score_and_log
    lead = score.tracks[0]
    bass, drums = Track("bass", 33), Track("drums", 0, True)
    assert score.insert_track(bass) == 1 and score.insert_track(drums, 0) == 0
    assert [t.name for t in score.tracks] == ["drums", "t0", "bass"]
    assert _signals(log) == [("tracks_changed",)] * 2
    log.clear()
    assert score.move_track(bass.id, 0) == 2
    assert [t.name for t in score.tracks] == ["bass", "drums", "t0"]
    assert score.set_track_properties(lead.id, name="Lead", muted=True) == {"name": "t0", "muted": False}
    assert (lead.name, lead.muted) == ("Lead", True)
    assert score.remove_track(drums.id) == (1, drums)
    assert [t.name for t in score.tracks] == ["bass", "Lead"]
    assert _signals(log) == [("tracks_changed",)] * 3
    log.clear()
    with pytest.raises(ScoreError):  # a track is in a score once
        score.insert_track(bass)
    with pytest.raises(ScoreError):
        score.set_track_properties(lead.id, tempo=1)
    with pytest.raises(ScoreError):
        score.remove_track(drums.id)
    assert log == [] and [t.name for t in score.tracks] == ["bass", "Lead"]


def test_set_timing_says_so_once(score_and_log):
    score, log = score_and_log
    score.set_timing(tempos=[TempoChange(0, 90.0)], time_signatures=[TimeSignature(0, 3, 4)])
    assert score.tempo_map.qpm_at(0) == 90.0 and score.bar_ticks_at(0) == 3 * Q
    assert _signals(log) == [("timing_changed",)]


def _edit_cases(score):
    """(edit, the signals its apply emits, those its revert emits) for every kind of edit."""
    track = score.tracks[0]
    tid, ids = track.id, track.notes["id"]
    new = make_notes([3 * Q], [4 * Q], [67], ids=track.new_note_ids(1))
    added, removed, changed = [("notes_added", tid)], [("notes_removed", tid)], [("notes_changed", tid)]
    tracks, timing = [("tracks_changed",)], [("timing_changed",)]
    return [
        (AddNotes(tid, new), added, removed),
        (RemoveNotes(tid, ids[:2]), removed, added),
        (MoveNotes(tid, ids[:1], d_ticks=Q), changed, changed),
        (ResizeNotes(tid, ids[:1], new_ends=2 * Q), changed, changed),
        (SetVelocity(tid, ids[:1], velocity=10), changed, changed),
        (ReplaceRegion(tid, Q, 3 * Q, make_notes([Q], [2 * Q], [72])), removed + added, removed + added),
        (AddTrack(Track("bass", 33), 0), tracks, tracks),
        (RemoveTrack(tid), tracks, tracks),
        (MoveTrack(tid, 1), tracks, tracks),
        (SetTrackProperties(tid, {"muted": True, "program": 5}), tracks, tracks),
        (SetTempo(2 * Q, 90), timing, timing),
        (RemoveTempo(4 * Q), timing, timing),
        (SetTimeSignature(4 * Q, 3, 4), timing, timing),
        (RemoveTimeSignature(8 * Q), timing, timing),
    ]


@pytest.mark.parametrize("case", range(14))
def test_each_edit_undoes_and_redoes_through_the_score_and_its_signals(case):
    score = build([(0, Q, 60), (Q, 2 * Q, 62), (2 * Q, 3 * Q, 64)], [(0, Q, 36)], drums=(1,),
                  tempos=[TempoChange(0, 120.0), TempoChange(4 * Q, 100.0)],
                  time_signatures=[TimeSignature(0), TimeSignature(8 * Q, 6, 8)])
    cases = _edit_cases(score)
    assert len(cases) == 14
    edit, on_apply, on_revert = cases[case]
    log = []
    for name in ("notes_added", "notes_removed", "notes_changed", "tracks_changed", "timing_changed"):
        getattr(score.events, name).connect(lambda *args, n=name: log.append((n, args[:1])))
    before = score.copy()
    edit.apply(score)
    after = score.copy()
    assert not after.same_content(before)
    assert [(n, *a) for n, a in log] == on_apply
    log.clear()
    edit.revert(score)  # undo
    assert score.same_content(before) and [(n, *a) for n, a in log] == on_revert
    if isinstance(edit, SetTrackProperties):  # mixer state is not "content": check it here
        assert score.tracks[0].muted is False
    log.clear()
    edit.apply(score)  # redo: the same score again, ids included, and the same signals
    assert score.same_content(after) and [(n, *a) for n, a in log] == on_apply


def test_the_score_says_how_long_bars_and_beats_are_at_any_tick():
    """One place for the meter at a tick: 4/4 before the first signature (as MIDI defines)."""
    score = Score(ppq=480, time_signatures=[TimeSignature(1920, 7, 8), TimeSignature(1920 + 2 * 1680, 3, 4)])
    assert score.bar_ticks_at(0) == 1920 and score.beat_ticks_at(0) == 480  # 4/4 before 7/8
    assert score.bar_ticks_at(1920) == 1680 and score.beat_ticks_at(2000) == 240
    assert score.bar_ticks_at(1920 + 2 * 1680) == 1440 and score.beat_ticks_at(10**9) == 480
    assert score.bar_lengths() == [1920, 1680, 1440]
    assert Score(ppq=96).bar_lengths() == [384]


def test_a_track_being_built_takes_notes_under_new_ids():
    track = Track("Built", 0)
    first = track.add_new_notes(make_notes([480, 0], [960, 480], [62, 60]))
    again = track.add_new_notes(make_notes([0], [480], [64]))
    assert len(track) == 3 and set(first["id"]).isdisjoint(again["id"])
    assert track.notes["start"].tolist() == [0, 0, 480]  # kept in (start, pitch) order
