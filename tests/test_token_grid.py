"""The token families follow the primer (issue 13): onsets on the primer's beat grid, chords no
larger than the primer's, notes near its register, and never nothing left to sample. Real tiny
models trained here on music with sixteenth runs, eighths, triplets and block chords, so that
left alone they write onsets off an eighth-note primer's grid."""

import numpy as np
import pytest
import torch

from composer.core import Score, TempoChange, TimeSignature, Track, make_notes
from composer.generation.generate import generate
from composer.generation.request import GenerateRequest
from composer.io.midi import write_midi
from composer.models.base import SamplingOptions, load_model
from composer.models.chord_token_lstm import ChordGuard
from composer.models.note_symbol_lstm import StepGuard
from composer.models.token_common import TokenFit, grid_steps, token_fit, with_fallback
from composer.representations.codecs import ChordTokenCodec, NoteSymbolCodec
from composer.representations.continuation import primer_grid
from composer.representations.vocab import ChordVocab
from composer.training.trainer import TrainRequest, train

PPQ = 480
EIGHTH = PPQ // 2
TRIPLET = PPQ // 3
FAMILIES = ("chord_token_lstm", "note_symbol_lstm")


# ----------------------------------------------------------------------------- music


def varied_song(root: int, seed: int, bars: int = 8) -> Score:
    """A bar each of sixteenth runs, eighth arpeggios, eighth triplets and quarter-note block
    chords of three notes, in turn, in the key of ``root``: rhythms off any one grid."""
    rng = np.random.default_rng(seed)
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    starts, ends, pitches = [], [], []

    def add(start, length, pitch):
        starts.append(start)
        ends.append(start + length)
        pitches.append(int(pitch))

    for bar in range(bars):
        t0 = bar * 4 * PPQ
        kind = (bar + seed) % 4
        if kind == 0:
            for i in range(16):
                add(t0 + i * PPQ // 4, PPQ // 4, root + 12 + scale[(i + int(rng.integers(0, 3))) % 8])
        elif kind == 1:
            for i in range(8):
                add(t0 + i * EIGHTH, EIGHTH, root + 12 + (0, 4, 7, 12)[i % 4])
        elif kind == 2:
            for i in range(12):
                add(t0 + i * TRIPLET, TRIPLET, root + 12 + scale[(i * 2 + int(rng.integers(0, 2))) % 8])
        else:
            for beat in range(4):
                for step in (0, 4, 7):
                    add(t0 + beat * PPQ, PPQ, root + step + (5 if beat % 2 else 0))
    track = Track("Piano", 0, notes=make_notes(starts, ends, pitches, 90))
    return Score([track], PPQ, [TempoChange(0, 120.0)])


def melody(onsets_ticks, pitches, length: int) -> Score:
    """One voice: a note of ``length`` ticks at each onset."""
    starts = np.asarray(onsets_ticks, dtype=np.int64)
    notes = make_notes(starts, starts + length, pitches, 90)
    return Score([Track("Melody", 0, notes=notes)], PPQ, [TempoChange(0, 120.0)])


def eighth_primer() -> Score:
    """Two bars of eighths (a C major line, C5-C6, where the songs' melodies lie, so the tiny
    vocabularies know its single notes): its grid is the eighth."""
    line = [72, 74, 76, 77, 79, 77, 76, 74, 72, 76, 79, 84, 79, 76, 74, 72]
    return melody(np.arange(16) * EIGHTH, line, EIGHTH)


def triplet_primer() -> Score:
    """Two bars of eighth triplets: its grid is the triplet."""
    line = [72, 76, 79] * 8
    return melody(np.arange(24) * TRIPLET, line, TRIPLET)


# ----------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("varied")
    for i in range(12):
        write_midi(varied_song(55 + (i * 5) % 12, seed=i), folder / f"song{i:02d}.mid")
    return folder


@pytest.fixture(scope="module")
def models(songs, tmp_path_factory):
    """Tiny timed models (chord tokens; note symbols on the grid) at 4 steps a beat (the bundled
    models' sixteenths) and at 12 (which also holds triplets), trained a few seconds each."""
    root = tmp_path_factory.mktemp("grid_models")
    paths = {}
    for family in FAMILIES:
        for steps in (4, 12):
            overrides = {"key_normalize": "false", "steps_per_beat": str(steps)}
            if family == "note_symbol_lstm":
                overrides["grid"] = "true"
            out = root / f"{family}-{steps}.safetensors"
            train(TrainRequest(family=family, data=str(songs), out=out, preset="tiny", epochs=4,
                               steps_per_epoch=15, learning_rate=1e-2, workers=1, overrides=overrides))
            paths[(family, steps)] = out
    return paths


def load(models, family, steps=4):
    return load_model(models[(family, steps)])[0]


def continuations(model, primer: Score, options: SamplingOptions, variations: int = 6,
                  tokens: int = 200, seed: int = 0) -> list[np.ndarray]:
    """The model's continuations of ``primer`` (its end is the seam), straight from its hooks,
    so ``options`` (follow_primer included) reach sampling as given."""
    ids = model.adapter.encode_primer(primer, primer, primer.end_tick)
    out = list(model.generate(ids, tokens, variations, options, torch.Generator().manual_seed(seed)))[-1]
    return [model.adapter.decode_continuation(row[len(ids):], primer, primer.end_tick) for row in out]


def offsets(notes: np.ndarray, seam: int) -> np.ndarray:
    return notes["start"].astype(np.int64) - seam


# ----------------------------------------------------------------------------- the grid


@pytest.mark.parametrize("family", FAMILIES)
def test_an_eighth_note_primer_is_continued_on_eighths(models, family):
    model = load(models, family)
    primer = eighth_primer()
    result = generate(model, GenerateRequest(primer=primer, bars=4, variations=4, seed=3, top_p=0.95))
    onsets = np.concatenate([offsets(notes, result.start_tick) for notes in result.continuations])
    assert len(onsets) > 8
    assert np.all(onsets % EIGHTH == 0)
    # Left alone (follow_primer off) the same model writes sixteenths here: the test means it.
    free = continuations(model, primer, SamplingOptions(top_p=0.95, follow_primer=False))
    assert np.any(np.concatenate([offsets(n, primer.end_tick) for n in free]) % EIGHTH != 0)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_triplet_primer_is_continued_on_triplets_where_the_codec_holds_them(models, family):
    primer = triplet_primer()
    fine = load(models, family, steps=12)  # 12 steps a beat: a triplet eighth is 4 steps
    notes = continuations(fine, primer, SamplingOptions(top_p=0.95))
    onsets = np.concatenate([offsets(n, primer.end_tick) for n in notes])
    assert len(onsets) > 8 and np.all(onsets % TRIPLET == 0)
    free = continuations(fine, primer, SamplingOptions(top_p=0.95, follow_primer=False))
    assert np.any(np.concatenate([offsets(n, primer.end_tick) for n in free]) % TRIPLET != 0)
    # On sixteenths (4 steps a beat, the bundled models) triplets cannot be written: the primer
    # is rounded to sixteenths and its grid is every step, so nothing is constrained.
    coarse = load(models, family, steps=4)
    ids = coarse.adapter.encode_primer(primer, primer, primer.end_tick)
    assert coarse.primer_fit(ids, SamplingOptions()).grid == 1


@pytest.mark.parametrize("family", FAMILIES)
def test_a_seam_off_the_primers_grid_keeps_the_primers_grid(models, family):
    """Generation from a playhead a sixteenth past an eighth: the continuation's onsets lie on
    the primer's eighths, not on eighths counted from the seam (chord tokens: after the first
    chord, which starts at the seam)."""
    model = load(models, family)
    primer = eighth_primer()
    seam = primer.end_tick + PPQ // 4
    result = generate(model, GenerateRequest(primer=primer, start_tick=seam, bars=4, variations=4,
                                             seed=5, top_p=0.95))
    first_chord = 1 if family == "chord_token_lstm" else 0
    onsets = np.concatenate([np.unique(notes["start"])[first_chord:] for notes in result.continuations])
    assert len(onsets) > 8 and np.all(onsets % EIGHTH == 0)


def test_a_longer_grid_a_phase_and_the_rest_limit():
    """Quarter notes make a grid of 4 steps; the step count starts at the seam; off the grid only
    ``<next>`` may come, even where the rest limit would forbid it."""
    assert grid_steps(np.arange(-16, 0, 4), 4) == (4, 0)
    assert grid_steps(np.arange(-18, 0, 4), 4) == (4, 2)  # the seam two steps past a beat
    guard = StepGuard(5, True, limit=4, max_chord=3, max_rest=1, allowed=None, batch=2,
                      device=torch.device("cpu"), every=4)
    guard.update(torch.tensor([0, 0]))  # a primer's empty step: the rest limit is reached
    guard.at_seam()
    assert not guard.banned()[:, 1:].any(dim=1).any()  # step 0 is on the grid: pitches allowed
    guard.update(torch.tensor([2, 0]))  # row 0 plays, row 1 rests; both close step 0 next
    guard.update(torch.tensor([0, 0]))
    ban = guard.banned()
    assert ban[:, 1:].all() and not ban[:, 0].any()  # step 1: only <next>, rest limit or not


def test_grid_of_the_primer_matches_the_continuation_measure():
    """The grid in steps is the measure's own (primer_grid) where it is whole steps."""
    for onsets_ticks, steps, expected in (((np.arange(16) * EIGHTH), 4, 2),
                                          ((np.arange(16) * PPQ // 4), 4, 1),
                                          ((np.arange(24) * TRIPLET), 12, 4),
                                          ((np.arange(24) * TRIPLET), 4, 1)):
        notes = melody(onsets_ticks, 60, 10).tracks[0].notes
        step_ticks = PPQ // steps
        in_steps = np.round(onsets_ticks / step_ticks).astype(np.int64) - 64
        assert grid_steps(in_steps, steps) == (expected, 0)
        if expected > 1:
            assert primer_grid(notes, PPQ) == expected * step_ticks
    assert grid_steps(np.array([-8, -4, -2]), 4) == (1, 0)  # three onsets show no grid


def test_codecs_place_primer_notes_from_the_end():
    primer = melody([0, 240, 480, 1200], [60, 62, 64, 65], 240)
    symbols = NoteSymbolCodec(grid=True).encode(primer, end_tick=1920)
    group, steps, pitches = NoteSymbolCodec(grid=True).notes_before_end(symbols)
    assert steps.tolist() == [-16, -14, -12, -6] and pitches.tolist() == [60, 62, 64, 65]
    assert NoteSymbolCodec().notes_before_end(NoteSymbolCodec().encode(primer))[1] is None
    rows = ChordTokenCodec(timed=True).encode(primer, end_tick=1920)
    group, steps, pitches = ChordTokenCodec(timed=True).notes_before_end(rows)
    assert steps.tolist() == [-16, -14, -12, -6] and group.tolist() == [0, 1, 2, 3]
    assert ChordTokenCodec().notes_before_end(ChordTokenCodec().encode(primer))[1] is None


def test_an_unknown_timing_token_keeps_its_shift_before_its_duration():
    """A primer's timing pair the vocabulary lacks maps to a known one with the nearest shift:
    the shift places every earlier onset counted back from the seam (a sixteenth a beat before
    the seam, t1:4, went to t1:1, moving the whole primer three sixteenths off its grid)."""
    vocab = ChordVocab(["C4", "t1:1", "t4:4", "t2:8", "t16:16"])
    known = {name: vocab.tokens.index(name) for name in ("t1:1", "t4:4", "t16:16")}
    assert vocab.timing_ids(np.array([[1, 4], [16, 3], [3, 12]])).tolist() == \
        [known["t4:4"], known["t4:4"], known["t16:16"]]
    # Sixteenth notes on the beats: every pair is t1:4, which this vocabulary lacks.
    rows = ChordTokenCodec(timed=True).encode(melody([0, 480, 960, 1440], 60, 120), end_tick=1920)
    ids, _ = vocab.encode(rows)
    _, steps, _ = ChordTokenCodec(timed=True).notes_before_end(vocab.decode(ids))
    assert steps.tolist() == [-16, -12, -8, -4]


def test_a_note_just_before_the_seam_belongs_to_the_continuation():
    """A note a few ticks before the seam rounds onto the seam's step: encoded, it would end the
    primer a step late and put every onset of it one step off its grid, counted from the end."""
    primer = melody([0, 240, 480, 720, 960, 1200, 1440, 1919], 72, 200)
    for codec in (NoteSymbolCodec(grid=True), ChordTokenCodec(timed=True)):
        _, steps, _ = codec.notes_before_end(codec.encode(primer, end_tick=1920))
        assert np.all(steps % 2 == 0) and steps.max() == -4


def test_the_primers_own_chords_count_not_their_nearest_known(models):
    """A melody the vocabulary lacks single notes for is read (ids) as its nearest chords; the
    fit takes the primer's own notes, so its continuation stays a melody."""
    model = load(models, "chord_token_lstm")
    primer = melody(np.arange(8) * EIGHTH, [48, 50, 52, 53, 55, 53, 52, 50], EIGHTH)
    ids = model.adapter.encode_primer(primer, primer, primer.end_tick)
    assert max(len(model.vocab.chord_pitches[i]) for i in ids[0::2]) > 1  # mapped to chords
    assert model.primer_fit(ids, SamplingOptions()).voices == 1
    assert model.primer_fit(ids[2:], SamplingOptions()).voices > 1  # other ids: read as mapped


def test_paper_presets_keep_their_timing(models):
    """Untimed codecs have no grid to keep: the fit of a primer has none."""
    fit = token_fit(np.arange(4), None, np.array([60, 62, 64, 65]), 4, SamplingOptions())
    assert fit.grid == 1 and fit.voices == 1 and fit.register == (55, 70)  # a melody: a fourth
    chords = token_fit(np.array([0, 0, 1, 1]), None, np.array([48, 60, 62, 64]), 4, SamplingOptions())
    assert chords.voices == 2 and chords.register == (36, 76)  # voices: an octave
    assert token_fit(np.arange(4), np.arange(4) * 2 - 8, np.arange(60, 64), 4,
                     SamplingOptions(follow_primer=False)) == TokenFit()


# ----------------------------------------------------------------------------- density, register


def test_chords_are_no_larger_than_the_primers(models):
    model = load(models, "chord_token_lstm")
    primer = eighth_primer()  # one voice
    sizes = [np.bincount(n["start"] - n["start"].min()).max()
             for n in continuations(model, primer, SamplingOptions(top_p=0.95))]
    assert max(sizes) == 1
    free = continuations(model, primer, SamplingOptions(top_p=0.95, follow_primer=False))
    assert max(np.unique(n["start"], return_counts=True)[1].max() for n in free) > 1


@pytest.mark.parametrize("family", FAMILIES)
def test_notes_stay_near_the_primers_register(models, family):
    model = load(models, family)
    primer = eighth_primer()  # a melody in 72-84: within a fourth of it is 67-89
    notes = np.concatenate(continuations(model, primer, SamplingOptions(top_p=0.95)))
    assert len(notes) and notes["pitch"].min() >= 67 and notes["pitch"].max() <= 89


# ----------------------------------------------------------------------------- never nothing left


def test_following_the_primer_never_leaves_nothing_to_sample():
    hard = torch.tensor([[True, False, False], [True, False, True]])
    soft = torch.tensor([[False, True, False], [False, True, False]])
    # Row 0 keeps one token with both; row 1 would keep none, so it keeps the hard bans only.
    assert with_fallback(hard, soft).tolist() == [[True, True, False], [True, False, True]]
    assert with_fallback(hard, None) is hard


def test_a_chord_guard_whose_primer_masks_every_chord_falls_back():
    is_chord = torch.tensor([True, True, False, False])
    guard = ChordGuard(is_chord, timed=True, limit=4, allowed=None, primer_ids=np.array([0, 2]), batch=1)
    guard.follow(torch.tensor([True, True, False, False]), None, None)
    assert guard.banned().tolist() == [[False, False, True, True]]  # the grammar alone
    # Off the grid only timing tokens that come back to it: t?:1 from one step past it on an
    # eighth grid, not t?:2; with the step count at the seam (0) the other way round.
    shifts = torch.tensor([0, 0, 1, 2])
    bans = ((torch.arange(2)[:, None] + shifts[None, :]) % 2 != 0) & ~is_chord[None, :]
    guard.follow(None, bans, shifts)
    guard.update(torch.tensor([1]))
    assert guard.banned().tolist() == [[True, True, True, False]]
    guard.update(torch.tensor([3]))  # two steps: back on the grid, a chord next
    guard.update(torch.tensor([0]))
    assert guard.banned().tolist() == [[True, True, True, False]]


def test_a_user_range_outside_the_primers_register_still_generates(models):
    """The user's pitch range wins over the primer's register: a range reaching below it (the
    primer's 72-84 allows 60-96) gives notes in that range, some outside the register."""
    for family in FAMILIES:
        model = load(models, family)
        primer = eighth_primer()
        result = generate(model, GenerateRequest(primer=primer, bars=2, variations=2, seed=1,
                                                 pitch_min=48, pitch_max=67))
        notes = np.concatenate(result.continuations)
        assert len(notes) and notes["pitch"].min() >= 48 and notes["pitch"].max() <= 67
        assert notes["pitch"].min() < 60


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("family", FAMILIES)
def test_odd_meters_tempos_and_tiny_primers_still_follow_or_go_free(models, family):
    """7/8 at 240 a minute and 4/4 at 40 (the grid is in beats: tempo changes nothing) keep the
    eighths; a one-note primer shows no grid and generates freely; none of them fails."""
    model = load(models, family)
    for meter, qpm in (((7, 8), 240.0), ((4, 4), 40.0)):
        line = eighth_primer()
        primer = Score(line.tracks, PPQ, [TempoChange(0, qpm)], [TimeSignature(0, *meter)])
        start = int(primer.bar_starts(primer.end_tick + 1)[-1])  # the first bar line at or after its end
        result = generate(model, GenerateRequest(primer=primer, start_tick=start, bars=3, variations=2,
                                                 seed=2, top_p=0.95))
        onsets = np.concatenate([offsets(n, start) for n in result.continuations])
        assert len(onsets) and np.all(onsets % EIGHTH == 0)
    one = melody([0], [76], PPQ)
    ids = model.adapter.encode_primer(one, one, one.end_tick)
    fit = model.primer_fit(ids, SamplingOptions())
    assert fit.grid == 1 and fit.voices == 1
    result = generate(model, GenerateRequest(primer=one, bars=2, variations=2, seed=2))
    assert all(len(n) for n in result.continuations)
