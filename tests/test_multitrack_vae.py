"""Multitrack bar codec and the multitrack_vae family (paper 004) on real data: JS Fake Chorales
as four voices S/A/T/B, and the Lakh sample (a test fixture only) for the LPD-5 slots. Tiny
models are trained here; nothing is mocked."""

import shutil
import warnings

import numpy as np
import pytest
import torch

from composer.core import ComposerError, ComposerWarning, Score, TempoChange, Track, make_notes
from composer.core.timing import TimeSignature
from composer.core.transforms import transpose
from composer.data.keynorm import shift_notes
from composer.generation.generate import generate, key_shift
from composer.generation.request import GenerateRequest
from composer.io.midi import read_midi, write_midi
from composer.models.base import SamplingOptions, load_model, preset_config
from composer.models.multitrack_adapter import codec_for
from composer.models.registry import FROM_SCRATCH, INTERPOLATE, MULTITRACK, family_spec, load_family
from composer.representations.codecs import CODECS, MultitrackBarCodec, SkipFile, codec_from_params
from composer.representations.instruments import LPD5
from composer.representations.pianoroll import snap_to_grid
from composer.training.progress import Progress
from composer.training.trainer import TrainRequest, train

SATB = MultitrackBarCodec(slots="order", names=("S", "A", "T", "B"), lead="S")
LPD = MultitrackBarCodec(slots="lpd5", lead="piano")


class Events(Progress):
    """Keeps every progress event."""

    def __init__(self):
        super().__init__("none")
        self.events = []

    def __call__(self, event, **fields):
        self.events.append((event, fields))


# ----------------------------------------------------------------------------- the codec

def test_codec_is_registered_and_params_are_json_safe():
    import json

    assert CODECS["multitrack_bars"] is MultitrackBarCodec
    for codec in (SATB, LPD, MultitrackBarCodec(slots="names", names=("MELODY", "BRIDGE", "PIANO"),
                                                steps_per_bar=16)):
        params = json.loads(json.dumps(codec.params()))
        assert codec_from_params(params) == codec
    assert LPD.slot_names == LPD5 and LPD.lead_index == LPD5.index("piano")
    assert MultitrackBarCodec().lead_index == LPD5.index("piano")  # first slot that is not drums


def test_codec_rejects_bad_settings():
    with pytest.raises(ComposerError, match="slot names"):
        MultitrackBarCodec(slots="order")
    with pytest.raises(ComposerError, match="lead slot"):
        MultitrackBarCodec(slots="order", names=("S", "A"), lead="B")
    with pytest.raises(ComposerError, match="slots must be"):
        MultitrackBarCodec(slots="channels")


def test_js_fakes_as_four_voices_round_trip(datasets):
    score = read_midi(datasets / "js_fakes" / "midi" / "0.mid")
    bars = SATB.encode(score)
    bar_ticks = score.ppq * 4
    assert bars.shape == (-(-score.end_tick // bar_ticks), 4, 32, 128) and bars.dtype == np.uint8
    for k, track in enumerate(score.tracks):  # every voice sounds in its own slot, at its pitches
        assert bars[:, k].any()
        used = np.flatnonzero(bars[:, k].any(axis=(0, 1)))
        assert set(used) == set(np.unique(track.notes["pitch"]).tolist())
    decoded = SATB.decode(bars, ppq=score.ppq)
    assert [t.name for t in decoded.tracks] == ["S", "A", "T", "B"]
    assert np.array_equal(SATB.encode(decoded), bars)  # the roll survives a round trip exactly


def test_lakh_sample_into_lpd5_slots(datasets):
    folder = datasets / "lakh_multitrack_sample"
    score = read_midi(folder / "Funkytown.mid")
    bars = LPD.encode(score)
    filled = bars.any(axis=(0, 2, 3))
    assert bars.shape[1:] == (5, 32, 128)
    # Funkytown has drums, guitar (27) and strings/other; no piano (0-7) and no bass program 32-39.
    assert filled[LPD5.index("drums")] and filled[LPD5.index("guitar")] and filled[LPD5.index("strings")]
    assert not filled[LPD5.index("piano")] and not filled[LPD5.index("bass")]  # missing: silent rows
    decoded = LPD.decode(bars, ppq=score.ppq)
    assert [(t.name, t.program, t.is_drum) for t in decoded.tracks] == [
        ("Drums", 0, True), ("Piano", 0, False), ("Guitar", 24, False), ("Bass", 32, False),
        ("Strings", 48, False)]
    again = LPD.encode(decoded)
    assert np.array_equal(again[:, 1:], bars[:, 1:])  # pitched slots survive exactly
    # Drum hits come back one step long: the re-encoded drum roll is the original's onsets.
    drums = bars[:, 0].reshape(-1, 128).astype(bool)
    onsets = drums & ~np.vstack([np.zeros((1, 128), bool), drums[:-1]])
    assert np.array_equal(again[:, 0].reshape(-1, 128).astype(bool), onsets)


def test_short_songs_and_songs_without_fitting_tracks_are_skipped():
    one_bar = Score([Track("S", notes=make_notes([0], [1920], [60]))], 480, [TempoChange(0, 120.0)])
    with pytest.raises(SkipFile, match="shorter than two bars"):
        SATB.encode(one_bar)
    drums_only = Score([Track("Kit", 0, True, make_notes([0, 2000], [100, 2100], [36, 38]))], 480)
    with pytest.raises(SkipFile, match="no track fits"):
        SATB.encode(drums_only)
    with pytest.raises(SkipFile, match="no notes"):
        SATB.encode(Score([Track("S")], 480))
    named = MultitrackBarCodec(slots="names", names=("MELODY", "PIANO"))
    other = Score([Track("Lead vocal", notes=make_notes([0, 2000], [100, 2100], [60, 62]))], 480)
    with pytest.raises(SkipFile, match="no track fits"):
        named.encode(other)


def test_names_and_odd_meters():
    notes = make_notes([0, 1440], [480, 1920], [60, 64])
    score = Score([Track("piano", notes=notes.copy()), Track("Melody", notes=notes.copy())], 480,
                  [TempoChange(0, 100.0)], [TimeSignature(0, 3, 4)])
    codec = MultitrackBarCodec(slots="names", names=("MELODY", "BRIDGE", "PIANO"), steps_per_bar=24)
    bars = codec.encode(score)  # 3/4: bars of 1440 ticks, 24 steps of 60 ticks
    assert bars.shape == (2, 3, 24, 128)
    assert bars[0, 0, :8, 60].all() and not bars[0, 0, 8:, 60].any() and bars[1, 0, :8, 64].all()
    assert not bars[:, 1].any() and np.array_equal(bars[:, 0], bars[:, 2])


def test_encoded_folder_skips_short_files(datasets, tmp_path):
    from composer.data.dataset import encode_folder

    folder = tmp_path / "songs"
    folder.mkdir()
    for i in range(3):
        shutil.copy(datasets / "js_fakes" / "midi" / f"{i}.mid", folder / f"{i}.mid")
    write_midi(Score([Track("S", notes=make_notes([0], [480], [60]))], 480, [TempoChange(0, 120.0)]),
               folder / "short.mid")
    data = encode_folder(folder, SATB, cache_dir=tmp_path / "cache", workers=1)
    assert len(data.pieces) == 3 and data.pieces[0].shape[1:] == (4, 32, 128)
    assert data.skipped == [("short.mid", "shorter than two bars")]
    assert data.pitch_span()[0] >= 36


# ----------------------------------------------------------------------------- the family

@pytest.fixture(scope="module")
def chorales(datasets, tmp_path_factory):
    folder = tmp_path_factory.mktemp("chorales")
    for i in range(24):
        shutil.copy(datasets / "js_fakes" / "midi" / f"{i}.mid", folder / f"{i}.mid")
    return folder


@pytest.fixture(scope="module")
def satb_model(chorales, tmp_path_factory):
    out = tmp_path_factory.mktemp("mvae") / "satb.safetensors"
    events = Events()
    meta = train(TrainRequest(family="multitrack_vae", data=str(chorales), out=out, preset="tiny",
                              epochs=8, steps_per_epoch=12, workers=1), events)
    return out, meta, events.events


def test_family_is_registered():
    spec = family_spec("multitrack_vae")
    assert {MULTITRACK, FROM_SCRATCH, INTERPOLATE} <= spec.capabilities
    assert set(spec.presets) == set(load_family("multitrack_vae").PRESETS)
    assert spec.controls == ("threshold", "noise", "missing_slots")


def test_vae_has_the_papers_shapes():
    module = load_family("multitrack_vae")
    vae = module.BarVAE(32, 16, (64, 128, 256))
    convs = [m for m in vae.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (1, 64, (4, 4), (4, 4)), (64, 128, (4, 4), (4, 4)), (128, 256, (2, 8), (2, 8))]
    bars = torch.zeros(3, 32, 128)
    mu, logvar = vae.encode(bars)
    assert mu.shape == logvar.shape == (3, 16)
    assert vae.decode(mu).shape == (3, 32, 128)
    model = module.Model(module.PRESETS["satb"], {"codec": SATB.params()})
    assert [m.out_features for m in model.melody.net if isinstance(m, torch.nn.Linear)] == [128, 128, 16]
    assert [m.p for m in model.melody.net if isinstance(m, torch.nn.Dropout)] == [0.2, 0.2]
    assert [(m.in_features, m.out_features) for m in model.conditional[1].net
            if isinstance(m, torch.nn.Linear)] == [(32, 128), (128, 16)]


def test_training_runs_both_stages_and_the_losses_fall(satb_model):
    out, meta, events = satb_model
    epochs = [f for e, f in events if e == "epoch"]
    stages = [f for e, f in events if e == "stage"]
    assert [f["stage"] for f in epochs] == ["vae"] * 4 + ["predictors"] * 4
    assert stages == [{"stage": "predictors", "epoch": 5, "epochs": 8}]
    assert all(f.get("stage") for e, f in events if e == "step")
    vae = [f["train_loss"] for f in epochs[:4]]
    predictors = [f["train_loss"] for f in epochs[4:]]
    assert vae[-1] < vae[0] and predictors[-1] < predictors[0]
    assert {"recon_S", "kl_S", "f1_B"} <= set(epochs[0]["metrics"])
    assert {"mse_S", "mse_A", "mse_T", "mse_B"} == set(epochs[-1]["metrics"])
    assert meta["metrics"]["epoch"] >= 5  # the checkpoint holds the trained predictors
    assert "test_mse_S" in meta["metrics"]
    model, _ = load_model(out)
    assert model.slot_names == ["S", "A", "T", "B"] and model.lead == 0


def test_generation_from_a_primer_continues_every_voice(satb_model, datasets):
    model, _ = load_model(satb_model[0])
    primer = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    request = GenerateRequest(primer=primer, bars=4, sampling="threshold", threshold=0.3, noise=0.3,
                              variations=2, seed=1)
    result = generate(model, request)
    bar = primer.ppq * 4
    assert len(result.scores) == 2 and len(result.slot_tracks) == 2
    for score, tracks in zip(result.scores, result.slot_tracks):
        assert len(score.tracks) == 4  # each voice continues in its own primer track
        assert [t.name for t in tracks] == ["S", "A", "T", "B"]
        assert sum(len(t) > 0 for t in tracks) >= 2
        for track in tracks:
            if len(track):
                assert track.notes["start"].min() >= primer.end_tick
                assert track.notes["end"].max() <= primer.end_tick + 4 * bar
        for original, generated in zip(score.tracks, tracks):
            assert len(original) >= len(generated)
    merged = sum(len(t) for t in result.slot_tracks[0] if not t.is_drum)
    assert len(result.continuations[0]) == merged
    again = generate(model, GenerateRequest(primer=primer, bars=4, sampling="threshold", threshold=0.3,
                                            noise=0.3, variations=2, seed=1))
    assert np.array_equal(again.continuations[1], result.continuations[1])


def test_generation_from_scratch_samples_the_prior(satb_model):
    model, _ = load_model(satb_model[0])
    result = generate(model, GenerateRequest(bars=3, sampling="bernoulli", variations=1, seed=0))
    score = result.scores[0]
    assert [t.name for t in score.tracks] == ["S", "A", "T", "B"]
    assert sum(len(t) > 0 for t in score.tracks) >= 2
    assert score.end_tick <= 3 * 4 * score.ppq


def test_a_primer_no_slot_fits_is_a_clear_error(satb_model):
    model, _ = load_model(satb_model[0])
    drums = Score([Track("Kit", 0, True, make_notes([0, 480, 1920], [120, 600, 2040], [36, 38, 36]))], 480)
    with pytest.raises(ComposerError, match=r"no primer track fits this model's slots \(S, A, T, B\)"):
        generate(model, GenerateRequest(primer=drums, bars=1))


def test_primer_with_more_tracks_than_slots_warns(satb_model, datasets):
    model, _ = load_model(satb_model[0])
    primer = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    extra = primer.tracks[0].copy()
    extra.name = "Extra"
    primer.tracks.append(Track("Extra", 0, False, extra.notes))
    with pytest.warns(ComposerWarning, match="4 slots"):
        result = generate(model, GenerateRequest(primer=primer, bars=1, sampling="threshold"))
    assert len(result.scores[0].tracks) == 5


def test_interpolation_fills_the_bars_between_two_bars(satb_model, datasets):
    model, _ = load_model(satb_model[0])
    song = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    bar = song.ppq * 4
    request = GenerateRequest(primer=song, start_tick=bar, bars=3, interpolate=True,
                              sampling="threshold", threshold=0.3)
    result = generate(model, request)
    tracks = result.slot_tracks[0]
    assert [t.name for t in tracks] == ["S", "A", "T", "B"]
    assert all(t.notes["start"].min() >= bar and t.notes["end"].max() <= 4 * bar for t in tracks if len(t))
    # Bar i of the gap decodes the point i/4 of the way from bar 0's latent to bar 4's (the
    # model is key-normalised: both bars are moved to its reference key, the result back).
    shift = key_shift(model, song, None, bar, request)
    ends = torch.as_tensor(SATB.encode(transpose(song, shift)[0])[[0, 4]], dtype=torch.float32)
    z = model.latents(ends)
    expected = model._bars_from((0.75 * z[0] + 0.25 * z[1])[None], SamplingOptions(mode="threshold", threshold=0.3),
                                None, None).numpy()[0]
    moved_back = [[Track(t.name, t.program, t.is_drum, shift_notes(t.notes, shift))] for t in tracks]
    first_gap_bar = SATB.encode_bars(moved_back, np.array([bar, 2 * bar]))[0]
    # Decoding snaps every voice's notes to the training data's grid.
    grid, shortest = model.adapter.note_grid_ticks(song.ppq)
    lines = np.array([bar, 2 * bar])
    snapped = [[Track("", 0, False, snap_to_grid(notes, grid, origin=bar, min_length=shortest))]
               for notes in SATB.decode_notes(expected[None], lines)]
    # (the tiny model's noise at the top of the range cannot be moved back into 0-127: compare
    # the pitches that survive the round trip)
    kept = (np.arange(128) - shift >= 0) & (np.arange(128) - shift <= 127)
    assert np.array_equal(first_gap_bar[..., kept], SATB.encode_bars(snapped, lines)[0][..., kept])
    silent_before = Score(song.tracks, song.ppq, song.tempos, song.time_signatures)
    silent_before.tracks = [Track(t.name, t.program, t.is_drum, t.notes[t.notes["start"] >= 4 * bar])
                            for t in song.tracks]
    with pytest.raises(ComposerError, match="bar before the gap"):
        generate(model, GenerateRequest(primer=silent_before, start_tick=bar, bars=3, interpolate=True))
    with pytest.raises(ComposerError, match="cannot interpolate"):
        from composer.models.base import FamilyModel
        FamilyModel.interpolate(model, None, None, 1, 1, SamplingOptions(), None)


def test_missing_voices_start_silent_or_from_the_prior(satb_model, datasets):
    model, _ = load_model(satb_model[0])
    model.info.update(grid_beats=0.125, min_note_beats=0.125)  # keep the tiny model's short notes
    song = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    soprano_only = Score([song.tracks[0]], song.ppq, song.tempos, song.time_signatures)
    start = 2 * song.ppq * 4
    silence, prior = (generate(model, GenerateRequest(primer=soprano_only, start_tick=start, bars=2,
                                                      sampling="threshold", missing_slots=choice, seed=5))
                      for choice in ("silence", "prior"))
    assert [t.name for t in silence.slot_tracks[0]] == ["S", "A", "T", "B"]
    assert silence.slot_targets == [song.tracks[0].id, None, None, None]
    # The soprano's latent is the same either way; following the primer, "silence" keeps the
    # melody a melody, while "prior" writes parts under it.
    assert np.array_equal(silence.slot_tracks[0][0].notes, prior.slot_tracks[0][0].notes)
    assert len(silence.slot_tracks[0][0].notes)
    assert all(len(t.notes) == 0 for t in silence.slot_tracks[0][1:])
    # The decoded bars of "prior" fill the other voices (the tiny model's notes are slivers that
    # snapping to the primer's grid drops, so this looks before the notes are made).
    primer_bar = model.adapter.encode_primer(soprano_only, soprano_only, start)
    options = SamplingOptions(mode="threshold", threshold=0.3, missing_slots="prior")
    bars = [item for item in model.generate(primer_bar, 2, 1, options, torch.Generator().manual_seed(5))][-1]
    assert bars[:, len(primer_bar):, 1:].any()
    with pytest.raises(ComposerError, match="missing_slots"):
        GenerateRequest(missing_slots="random").validate()


def test_bars_follow_meter_changes():
    """4/4, then 3/4 from bar 2, then 7/8: each bar is cut into 32 steps whatever its length."""
    ppq = 480
    signatures = [TimeSignature(0, 4, 4), TimeSignature(1920, 3, 4), TimeSignature(3360, 7, 8)]
    notes = make_notes([0, 1920, 3360 + 210], [1920, 1920 + 1440, 3360 + 420], [60, 62, 64])
    score = Score([Track("S", notes=notes)], ppq, [TempoChange(0, 120.0)], signatures)
    bars = SATB.encode(score)
    assert bars.shape == (3, 4, 32, 128)
    assert bars[0, 0, :, 60].all() and bars[1, 0, :, 62].all()
    assert bars[2, 0, 4:8, 64].all() and bars[2, 0, :, 64].sum() == 4  # 210-420 of 1680 ticks
    (soprano, *_rest) = SATB.decode_notes(bars, score.bar_starts(score.end_tick))
    assert soprano[["start", "end", "pitch"]].tolist() == [(0, 1920, 60), (1920, 3360, 62), (3570, 3780, 64)]


def test_generation_across_a_meter_change_follows_the_bar_lines(satb_model, datasets):
    model, _ = load_model(satb_model[0])
    song = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    four, three = 4 * song.ppq, 3 * song.ppq
    start = 2 * four
    song = Score(song.tracks, song.ppq, song.tempos, [TimeSignature(0, 4, 4), TimeSignature(start + four, 3, 4)])
    model.info.update(grid_beats=0.25, min_note_beats=0.25)
    result = generate(model, GenerateRequest(primer=song, start_tick=start, bars=3, sampling="bernoulli", seed=2))
    assert model.adapter.steps_for(song, start, start + 3 * four) == 4  # 4/4, then 3/4 bars starting before the end
    onsets = np.concatenate([t.notes["start"] for t in result.slot_tracks[0]])
    ends = np.concatenate([t.notes["end"] for t in result.slot_tracks[0]])
    assert onsets.min() >= start and ends.max() <= start + 3 * four
    # A generated 3/4 bar's 32 steps are 3/4 of a 4/4 bar's; its notes are snapped to the data's
    # grid in beats (here sixteenths), so they stay on the beat grid in 3/4 too.
    in_three = onsets[onsets >= start + four] - (start + four)
    assert len(in_three) and (in_three % (song.ppq // 4) == 0).all()


def test_five_slot_song_written_and_read_back(datasets, tmp_path):
    folder = tmp_path / "lakh"
    shutil.copytree(datasets / "lakh_multitrack_sample", folder)  # test fixture only: never shipped
    out = tmp_path / "lpd5.safetensors"
    train(TrainRequest(family="multitrack_vae", data=str(folder), out=out, preset="tiny", epochs=2,
                       steps_per_epoch=3, workers=1, valid_fraction=0.2,
                       overrides={"slots": "lpd5", "slot_names": "", "lead": "piano"}))
    model, _ = load_model(out)
    assert model.slot_names == list(LPD5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComposerWarning)
        result = generate(model, GenerateRequest(bars=4, sampling="threshold", threshold=0.45, seed=3))
    score = result.scores[0]
    path = tmp_path / "song.mid"
    write_midi(score, path)
    back = read_midi(path)
    expected = [("Drums", 0, True), ("Piano", 0, False), ("Guitar", 24, False), ("Bass", 32, False),
                ("Strings", 48, False)]
    written = [(t.name, t.program, t.is_drum) for t in score.tracks]
    assert written == expected
    kept = [(t.name, t.program, t.is_drum) for t in back.tracks]
    assert kept == [e for e, t in zip(expected, score.tracks) if len(t)]
    assert sum(len(t) > 0 for t in score.tracks) >= 3
    for original in (t for t in score.tracks if len(t)):
        copy = next(t for t in back.tracks if t.name == original.name)
        assert np.array_equal(np.sort(copy.notes["pitch"]), np.sort(original.notes["pitch"]))
        assert np.array_equal(np.sort(copy.notes["start"]), np.sort(original.notes["start"]))
        # The lead stands out, the accompaniment sits back, the drums hit hard.
        velocity = {"Piano": 96, "Drums": 100}.get(original.name, 80)
        assert set(copy.notes["velocity"].tolist()) == {velocity}
    assert back.tempos[0].qpm == 120 and (back.time_signatures[0].numerator, back.time_signatures[0].denominator) == (4, 4)


def test_resume_keeps_the_stage_boundary(chorales, tmp_path):
    out = tmp_path / "resumed.safetensors"
    first = Events()
    train(TrainRequest(family="multitrack_vae", data=str(chorales), out=out, preset="tiny", epochs=2,
                       steps_per_epoch=3, workers=1), first)
    assert [f["stage"] for e, f in first.events if e == "epoch"] == ["vae", "predictors"]
    more = Events()
    meta = train(TrainRequest(family="multitrack_vae", data=str(chorales), out=out, epochs=4,
                              steps_per_epoch=3, workers=1, resume=True), more)
    assert [(f["epoch"], f["stage"]) for e, f in more.events if e == "epoch"] == [
        (3, "predictors"), (4, "predictors")]
    assert not [e for e, _ in more.events if e == "stage"]
    assert meta["metrics"]["epoch"] >= 3


def test_one_epoch_is_refused(chorales, tmp_path):
    with pytest.raises(ComposerError, match="at least 2 epochs"):
        train(TrainRequest(family="multitrack_vae", data=str(chorales), out=tmp_path / "m.safetensors",
                           preset="tiny", epochs=1, workers=1))


def test_primer_without_tracks_for_the_slots_is_placed_by_register_or_a_clear_error(datasets):
    """Slots by name: a primer whose tracks have other names (a JS Fakes chorale's have none)
    fills them by register, highest first, with a warning; only drums is a clear error."""
    module = load_family("multitrack_vae")
    codec = MultitrackBarCodec(slots="names", names=("MELODY", "BRIDGE", "PIANO"), lead="MELODY")
    model = module.Model(module.PRESETS["tiny"], {"codec": codec.params(), "vae_epochs": 1}).eval()
    primer = read_midi(datasets / "js_fakes" / "midi" / "30.mid")  # tracks have no names
    with pytest.warns(ComposerWarning, match="no track is named after this model's slots .* placed by register: "
                      "an unnamed track as MELODY, an unnamed track as BRIDGE, an unnamed track left out"):
        result = generate(model, GenerateRequest(primer=primer, bars=2, sampling="threshold"))
    assert result.slot_targets == [primer.tracks[0].id, primer.tracks[1].id, primer.tracks[3].id]  # S, A, B
    assert [t.name for t in result.scores[0].tracks] == ["", "", "", ""]  # no new track
    primer.tracks[0].name = "Melody"  # named: its slot; the others by register
    with pytest.warns(ComposerWarning, match="not every track is named .* an unnamed track as BRIDGE"):
        result = generate(model, GenerateRequest(primer=primer, bars=2, sampling="threshold"))
    assert result.slot_targets == [primer.tracks[0].id, primer.tracks[1].id, primer.tracks[3].id]
    drums = Score([Track("Kit", 0, True, make_notes([0, 480], [60, 540], [36, 38]))], primer.ppq)
    with pytest.raises(ComposerError, match="no primer track fits"):
        generate(model, GenerateRequest(primer=drums, bars=2))


def _composer(*args, timeout=300):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "composer.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, OMP_NUM_THREADS="1"))


def test_generate_command_with_slot_programs_missing_voices_and_interpolation(satb_model, datasets, tmp_path,
                                                                              monkeypatch, capsys):
    from composer.cli import main

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it

    song = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    soprano = tmp_path / "soprano.mid"
    write_midi(Score([song.tracks[0]], song.ppq, song.tempos, song.time_signatures), soprano)
    out = tmp_path / "out.mid"
    # --free: on the primer's grid the tiny model's sliver notes would all be dropped.
    result = _composer("generate", "--free", "--model", str(satb_model[0]), "--primer", str(soprano), "--from-bar", "3",
                       "--bars", "2", "--missing-slots", "prior", "--program", "A=52", "--program", "b=42",
                       "--out", str(out))
    assert result.returncode == 0, result.stderr
    written = read_midi(out)
    assert [(t.name, t.program) for t in written.tracks][1:] == [("A", 52), ("T", 0), ("B", 42)]
    bar = 4 * written.ppq
    assert all(t.notes["start"].min() >= 2 * bar for t in written.tracks[1:] if len(t))

    full = tmp_path / "full.mid"
    write_midi(song, full)
    # The rest in this process: each child spends seconds importing torch.
    assert main(["generate", "--model", str(satb_model[0]), "--primer", str(full), "--from-bar", "2",
                 "--bars", "3", "--interpolate", "--out", str(out)]) == 0
    for bad, message in ((["--program", "guitar=27"], "no slot guitar"), (["--program", "A=300"], "0-127"),
                         (["--program", "A"], "SLOT=N"), (["--from-bar", "999"], "--from-bar must be")):
        capsys.readouterr()
        code = main(["generate", "--model", str(satb_model[0]), "--primer", str(full), "--bars", "1", *bad,
                     "--out", str(out)])
        assert code != 0 and message in capsys.readouterr().err


# ----------------------------------------------------------------------------- in the app
@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from composer.gui.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    return win


def _generate_in_app(qtbot, window, model_path, mode: str):
    panel = window.generation_panel
    window.model_picker.add_model_file(str(model_path))
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=60000)
    assert not panel.form.isRowVisible(panel.target) and panel.form.isRowVisible(panel.missing_slots)
    assert panel.mode.model().item(panel.mode.findData("interpolate")).isEnabled()
    panel.mode.setCurrentIndex(panel.mode.findData(mode))
    with qtbot.waitSignal(window.generation.service.finished, timeout=60000):
        panel.generate_button.click()
    qtbot.waitUntil(lambda: panel.candidates.count() > 0)


def test_app_accepts_every_voice_into_its_own_track_as_one_undo_step(qtbot, window, satb_model, datasets):
    song = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    bar = 4 * song.ppq
    window._load(song, None)
    window.editor.set_playhead(2 * bar)
    _generate_in_app(qtbot, window, satb_model[0], "playhead")
    parts = window.generation.candidates[0]
    assert [p.track_id for p in parts] == [t.id for t in window.score.tracks]
    assert len(window.editor.view.roll.candidate_items()) == sum(len(p.notes) for p in parts)
    before = window.score.copy()
    depth = window.undo_stack.count()
    assert window.generation.accept(0)
    assert window.undo_stack.count() == depth + 1 and len(window.score.tracks) == 4
    plan_end = 2 * bar + 4 * bar
    for track, part in zip(window.score.tracks, parts):
        inside = track.notes[(track.notes["start"] >= 2 * bar) & (track.notes["start"] < plan_end)]
        assert inside[["start", "end", "pitch"]].tolist() == part.notes[["start", "end", "pitch"]].tolist()
    window.undo_stack.undo()
    assert window.score.same_content(before)


def test_app_adds_a_track_per_missing_voice(qtbot, window, satb_model, datasets):
    song = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    bar = 4 * song.ppq
    window._load(Score([song.tracks[0]], song.ppq, song.tempos, song.time_signatures), None)
    window.editor.set_playhead(2 * bar)
    window.generation_panel.missing_slots.setCurrentIndex(1)  # from the prior: the voices sound
    assert window.generation_panel.settings().request.missing_slots == "prior"
    _generate_in_app(qtbot, window, satb_model[0], "playhead")
    new_parts = [p for p in window.generation.candidates[0] if p.track_id is None]
    assert new_parts and all(len(p.notes) for p in new_parts)
    assert window.generation.accept(0)
    assert [t.name for t in window.score.tracks] == [song.tracks[0].name] + [p.name for p in new_parts]
    window.undo_stack.undo()
    assert len(window.score.tracks) == 1


def test_app_interpolates_across_the_loop_region(qtbot, window, satb_model, datasets):
    song = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    bar = 4 * song.ppq
    window._load(song, None)
    window.editor.set_loop(0, 5 * bar)  # bars 1 and 5 are the ends; bars 2-4 are generated
    _generate_in_app(qtbot, window, satb_model[0], "interpolate")
    plan = window.generation.plan
    assert (plan.start, plan.end) == (bar, 4 * bar) and plan.request.interpolate
    kept = [t.notes[(t.notes["start"] < bar) | (t.notes["start"] >= 4 * bar)].copy() for t in window.score.tracks]
    assert window.generation.accept(0)
    for track, outside in zip(window.score.tracks, kept):
        now = track.notes[(track.notes["start"] < bar) | (track.notes["start"] >= 4 * bar)]
        assert np.array_equal(now, outside)  # the ends are untouched


def test_monophonic_slots_sound_one_pitch_a_step(satb_model, datasets):
    model, _ = load_model(satb_model[0])
    model._monophonic = [True, True, False, False]  # the satb preset's monophonic=S,A,T,B, for S and A
    primer = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    result = generate(model, GenerateRequest(primer=primer, bars=4, sampling="bernoulli", seed=4))
    bars = SATB.encode_bars([[t] for t in result.slot_tracks[0]],
                            primer.end_tick + np.arange(5) * 4 * primer.ppq)
    per_step = bars.sum(axis=-1)  # (bars, slots, steps)
    assert per_step[:, :2].max() <= 1 and per_step[:, 2:].max() > 1  # a tiny model is noisy elsewhere
    assert load_family("multitrack_vae").PRESETS["satb"].monophonic == "S,A,T,B"


def test_fewer_tracks_than_voices_go_to_the_voices_of_their_register():
    """A melody and its bass line are soprano and bass (in order, the bass would have been the
    alto, continued in the alto's range); four tracks, other slot names, or a model from before
    (its header's codec has no ``register_voices``), stay in order."""
    codec = MultitrackBarCodec(slots="order", names=("S", "A", "T", "B"), lead="S", register_voices=True)
    bass = Track("Bass", 32, False, make_notes([0, 480], [480, 960], [40, 43], 70))
    tune = Track("Tune", 0, False, make_notes([0, 480], [480, 960], [72, 74], 90))
    middle = Track("Middle", 0, False, make_notes([0], [960], [60], 70))
    groups = codec.assign(Score([bass, tune]))
    assert [g[0].name if g else None for g in groups] == ["Tune", None, None, "Bass"]
    groups = codec.assign(Score([bass, middle, tune]))
    assert [g[0].name if g else None for g in groups] == ["Tune", None, "Middle", "Bass"]
    other = MultitrackBarCodec(slots="order", names=("lead", "pad", "bass"), lead="lead", register_voices=True)
    assert [g[0].name if g else None for g in other.assign(Score([bass, tune]))] == ["Bass", "Tune", None]
    old = codec_from_params({"kind": "multitrack_bars", "slots": "order", "names": ["S", "A", "T", "B"],
                             "steps_per_bar": 32, "lead": "S"})
    assert [g[0].name if g else None for g in old.assign(Score([bass, tune]))] == ["Bass", "Tune", None, None]
    assert codec_for(preset_config("multitrack_vae", "satb")).register_voices


def test_following_the_primer_favours_the_key_softly(satb_model):
    """Off-scale pitches of the reference key (C major / A minor) lose a logit when following
    the primer with a key-normalised model: less likely, not forbidden."""
    model, _ = load_model(satb_model[0])
    assert model.key_normalized
    prior = model._key_prior(SamplingOptions(), "cpu")
    assert prior[60] == 0 and prior[61] == -1.0 and prior[66] == -1.0 and prior[71] == 0
    assert model._key_prior(SamplingOptions(follow_primer=False), "cpu") is None
    z = torch.zeros(1, len(model.slot_names), model.config.latent)
    for k, vae in enumerate(model.vaes):  # a chromatic cell the decoder is sure of still sounds
        vae.decode = lambda latent: torch.full((latent.shape[0], model.config.steps_per_bar, 128), 5.0)
    assert model._bars_from(z, SamplingOptions(mode="threshold", threshold=0.3), None, None)[..., 61].all()


def test_following_the_primer_snaps_to_its_grid_where_the_data_has_a_finer_one(satb_model):
    """A model whose data had a 32nd-note grid (jigs in 6/8 on 32 steps a bar) writes on a
    primer's eighths when following it."""
    model, _ = load_model(satb_model[0])
    model.info.update(grid_beats=0.125, min_note_beats=0.125)
    primer = Score([Track("S", 0, False, make_notes(np.arange(8) * 240, np.arange(1, 9) * 240, [72] * 8))])
    steps = np.zeros((2, len(model.slot_names), model.config.steps_per_bar, 128), dtype=np.uint8)
    steps[:, 0, 3:9, 74] = 1  # starts a 32nd after the bar's third sixteenth: off the eighths
    steps[:, 0, 12:20, 76] = 1
    own = [t.notes for t, _ in model.adapter.decode_slots(steps, primer, 1920)][0]
    assert (own["start"] % 240).any()  # the data's grid keeps the off-beat onset
    snapped = [t.notes for t, _ in model.adapter.decode_slots(steps, primer, 1920, primer_grid=240)][0]
    assert len(snapped) and not (snapped["start"] % 240).any() and not (snapped["end"] % 240).any()
