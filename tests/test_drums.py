"""Drums (issue 16 part 2): a one-slot drum multitrack VAE (preset ``groove``, ``tiny_drums`` here),
its codec (drum tracks into the drum slot as hits on GM keys), the data set's own split, the
drummers' timing, and the "Drums for this song" plan. Drum files are made here (no data set)."""

from __future__ import annotations

import numpy as np
import pytest

from composer.core import Score, TempoChange, Track, make_notes
from composer.core.timing import TimeSignature
from composer.data.dataset import encode_folder
from composer.generation.generate import generate
from composer.generation.plan import (MODE_CAPABILITY, MODES, EditorState, GenerationSettings, candidate_parts,
                                      model_capabilities, model_sampling_defaults, plan_generation)
from composer.generation.request import GenerateRequest
from composer.io.midi import write_midi
from composer.models.base import load_model
from composer.models.multitrack_adapter import DRUM_TIMING, codec_for
from composer.models.multitrack_vae import PRESETS
from composer.representations.drum_timing import MAX_OFFSET, humanize
from composer.training.trainer import TrainRequest, train

PPQ = 480
SIXTEENTH = PPQ // 4
GM_DRUMS = range(35, 82)


def beat(bars: int, rng, numerator: int = 4, late: int = 0) -> Track:
    """A rock beat: kick on 1 and 3 (and sometimes the "and" of 3), snare on 2 and 4, closed
    hi-hat on eighths (Roland's edge key 22 now and then), ``late`` ticks behind the grid."""
    starts, pitches = [], []
    for bar in range(bars):
        first = bar * numerator * PPQ
        for step in range(0, numerator * 4, 2):
            starts.append(first + step * SIXTEENTH)
            pitches.append(22 if rng.random() < 0.2 else 42)
        for step in (0, 8) + ((10,) if rng.random() < 0.5 else ()):
            if step < numerator * 4:
                starts.append(first + step * SIXTEENTH)
                pitches.append(36)
        for step in (4, 12):
            if step < numerator * 4:
                starts.append(first + step * SIXTEENTH)
                pitches.append(38)
    starts = np.array(starts) + late
    return Track("Drums", 0, True, make_notes(starts, starts + 60, pitches, velocity=90))


def song(tracks, numerator: int = 4, qpm: float = 100.0) -> Score:
    return Score(tracks, PPQ, [TempoChange(0, qpm)], [TimeSignature(0, numerator, 4)])


@pytest.fixture(scope="module")
def drum_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drums")
    rng = np.random.default_rng(0)
    lines = ["midi_filename,split"]
    for i in range(10):
        write_midi(song([beat(8, rng, late=12)]), folder / f"beat{i}.mid")
        lines.append(f"beat{i}.mid,{'test' if i == 9 else 'validation' if i == 8 else 'train'}")
    (folder / "info.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def drum_model(drum_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("drum_model") / "drums.safetensors"
    meta = train(TrainRequest(family="multitrack_vae", data=str(drum_folder), out=out, preset="tiny_drums",
                              epochs=8, steps_per_epoch=25, workers=1))
    return out, meta


def test_drum_tracks_go_to_the_drum_slot_as_hits_on_gm_keys():
    codec = codec_for(PRESETS["groove"])
    assert codec.slot_is_drum(0) and codec.lead_index == 0 and codec.params()["drums"] == ["Drums"]
    score = song([Track("Piano", 0, False, make_notes([0], [4 * PPQ], [60])), beat(2, np.random.default_rng(1))])
    piece = codec.encode(score)
    assert piece.shape == (2, 1, 16, 128)
    assert set(np.nonzero(piece.any(axis=(0, 1, 2)))[0]) == {36, 38, 42}  # 22 read as 42, the piano left out
    assert piece[0, 0, :, 42].sum() == 8  # eighths: one step each, though each hit lasts 60 ticks
    decoded = codec.decode(piece)
    assert [(t.name, t.is_drum) for t in decoded.tracks] == [("Drums", True)]
    assert len(decoded.tracks[0]) == piece.sum()
    piece[0, 0, 3, 58] = 1  # Roland's floor-tom rim: a vibraslap in GM, written as the floor tom
    assert 58 not in codec.decode(piece).tracks[0].notes["pitch"]


def test_pitched_models_keep_their_codec_params():
    assert "drums" not in codec_for(PRESETS["satb"]).params()


def test_the_data_sets_own_split_is_used(drum_folder, tmp_path):
    data = encode_folder(drum_folder, codec_for(PRESETS["tiny_drums"]), workers=1, cache_dir=tmp_path)
    split = dict(zip(data.names, data.split))
    assert split["beat9.mid"] == "test" and split["beat8.mid"] == "valid"
    assert sum(s == "train" for s in data.split) == 8


def test_humanize_moves_hits_off_the_grid_within_bounds():
    table = {"offset_mean": [0.1] * 16, "offset_std": [0.2] * 16, "velocity_mean": [80] * 16,
             "velocity_std": [10] * 16}
    starts = np.arange(64) * SIXTEENTH + 4 * PPQ
    notes = make_notes(starts, starts + SIXTEENTH, [36] * 64)
    lines = np.arange(5) * 4 * PPQ + 4 * PPQ
    moved = humanize(notes, lines, 16, table, np.random.default_rng(0))
    offset = (moved["start"] - notes["start"]) / SIXTEENTH
    assert np.abs(offset).max() <= MAX_OFFSET + 0.01 and 0 < offset.mean() < 0.2 and offset.std() > 0.1
    assert moved["start"].min() >= lines[0] and 40 < moved["velocity"].mean() < 120


def test_a_trained_drum_model_writes_drum_parts_with_a_hit_in_every_bar(drum_model):
    model, meta = load_model(drum_model[0])
    assert "drums" in model_capabilities(meta["capabilities"], meta["info"])
    assert model.adapter.info[DRUM_TIMING]["offset_mean"][0] > 0  # the files' drummer plays late
    assert dict(model_sampling_defaults((("noise", 0.2), ("threshold", 0.3)), meta["info"])) == \
        {"noise": 0.1, "threshold": 0.3, "anchor": 0.25}  # a drum model's own noise replaces the family's
    for primer in (None, song([beat(2, np.random.default_rng(5))], numerator=3, qpm=140)):
        result = generate(model, GenerateRequest(primer=primer, bars=8, variations=2, seed=3))
        first = 0 if primer is None else primer.end_tick
        bar = (4 if primer is None else 3) * PPQ
        for tracks in result.slot_tracks:
            (drums,) = tracks
            assert drums.is_drum and len(drums)
            assert set(drums.notes["pitch"]) <= set(GM_DRUMS)
            hit_bars = set((drums.notes["start"] - first + bar // 32) // bar)  # half a step: hits played early
            assert hit_bars == set(range(8)), hit_bars
        if primer is not None:  # the drawn beat goes on in its own track, in its meter
            assert len(result.scores[0].tracks) == 1 and result.slot_targets == [primer.tracks[0].id]


def _song_with_melody(bars: int = 6, drums: Track | None = None) -> Score:
    starts = np.arange(bars * 4) * PPQ
    melody = Track("Melody", 0, False, make_notes(starts, starts + PPQ, 60 + (np.arange(bars * 4) % 5)))
    return song([melody] + ([drums] if drums is not None else []), numerator=4, qpm=90)


def test_drums_for_this_song_plans_the_whole_piece_the_loop_or_the_rest():
    assert MODES["drums"] == "Drums for this song" and MODE_CAPABILITY["drums"] == "drums"
    assert "drums" not in model_capabilities({"continue"}, {"codec": {"names": ["S"]}})
    settings = GenerationSettings(mode="drums")
    score = _song_with_melody()
    plan = plan_generation(score, settings, EditorState())
    assert (plan.start, plan.end, plan.track_id, plan.drums_only) == (0, 6 * 4 * PPQ, None, True)
    assert plan.request.primer.tracks == [] and plan.request.bars == 6
    plan = plan_generation(score, settings, EditorState(loop=(PPQ, 3 * 4 * PPQ)))
    assert (plan.start, plan.end) == (4 * PPQ, 12 * PPQ) and plan.request.bars == 2
    drawn = _song_with_melody(drums=beat(2, np.random.default_rng(2)))
    plan = plan_generation(drawn, settings, EditorState())
    assert (plan.start, plan.end) == (8 * PPQ, 24 * PPQ)  # after the drawn beat, which is the primer
    assert [t.is_drum for t in plan.request.primer.tracks] == [True]
    with pytest.raises(Exception, match="no song"):
        plan_generation(song([]), settings, EditorState())


def test_drums_for_this_song_continue_the_drawn_beat_into_its_track(drum_model):
    model, _ = load_model(drum_model[0])
    drawn = _song_with_melody(drums=beat(2, np.random.default_rng(2)))
    plan = plan_generation(drawn, GenerationSettings(mode="drums", request=GenerateRequest(variations=1)),
                           EditorState())
    result = generate(model, plan.request)
    (part,) = candidate_parts(plan, result, 0)
    assert part.is_drum and part.track_id == drawn.tracks[1].id
    assert part.notes["start"].min() >= plan.start and part.notes["start"].max() < plan.end
    assert set((part.notes["start"] - plan.start + 4 * PPQ // 32) // (4 * PPQ)) == {0, 1, 2, 3}


def test_a_drum_bar_left_silent_by_sampling_gets_its_likeliest_hit():
    import torch

    from composer.models.multitrack_vae import _never_silent

    probs = torch.full((2, 16, 128), 0.01)
    probs[1, 4, 38] = 0.2
    chosen = torch.zeros((2, 16, 128), dtype=torch.bool)
    chosen[0, 0, 36] = True
    out = _never_silent(chosen, probs)
    assert torch.equal(out[0], chosen[0])  # a bar with hits stays as it is
    assert out[1].sum() == 1 and out[1, 4, 38]


def test_a_drum_models_bars_are_pulled_toward_the_drawn_bar(drum_model):
    """``anchor`` moves each bar's predicted latent that share of the way back to the primer
    bar's: at 1 without noise every bar is the drawn bar as the model hears it (a loop); from
    scratch there is no drawn bar and it changes nothing. A drum model trained now carries
    0.25 in its header, as the bundled one does; the chorale and pop models carry none."""
    import torch

    from composer.models.base import SamplingOptions
    from composer.models.checkpoint import read_metadata
    from composer.models.library import BUNDLED

    model, _ = load_model(drum_model[0])
    assert model.anchor(SamplingOptions()) == 0.25 and model.anchor(SamplingOptions(anchor=0.0)) == 0.0
    primer = song([beat(4, np.random.default_rng(7))])
    first = model.adapter.encode_primer(primer, primer, primer.end_tick)
    options = SamplingOptions(mode="threshold", threshold=0.3, noise=0.0, anchor=1.0)
    *_, bars = model.generate(first, 6, 2, options, torch.Generator().manual_seed(0))
    heard = model._bars_from(model.latents(torch.as_tensor(first, dtype=torch.float32)), options, None, None)
    assert all(np.array_equal(bar, heard[0].numpy()) for bar in bars[:, 1:].reshape(-1, *bars.shape[2:]))
    scratch = [generate(model, GenerateRequest(bars=4, seed=2, anchor=a)).slot_tracks[0][0].notes for a in (0.0, 1.0)]
    assert np.array_equal(*scratch)
    with pytest.raises(Exception, match="anchor"):
        GenerateRequest(anchor=1.5).validate()
    for name, anchor in (("multitrack_vae-groove", 0.25), ("multitrack_vae-pop909", None),
                         ("multitrack_vae-jsfakes", None)):
        path = BUNDLED / f"{name}.safetensors"
        if path.is_file():
            assert dict(read_metadata(path)["info"].get("sampling_defaults") or ()).get("anchor") == anchor


def test_a_headers_sampling_defaults_change_and_its_weights_do_not(drum_model, tmp_path):
    """checkpoints/sampling_defaults.py, as the bundled drum model's anchor was set."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from composer.models.checkpoint import load_state_dict, read_metadata

    copy = tmp_path / "drums.safetensors"
    shutil.copy(drum_model[0], copy)
    script = Path(__file__).resolve().parents[1] / "checkpoints" / "sampling_defaults.py"
    done = subprocess.run([sys.executable, str(script), str(copy), "anchor=0.5", "threshold=0.4"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert read_metadata(copy)["info"]["sampling_defaults"] == [["noise", 0.1], ["anchor", 0.5], ["threshold", 0.4]]
    before, after = load_state_dict(drum_model[0]), load_state_dict(copy)
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    assert {k: v for k, v in read_metadata(copy).items() if k != "info"} == \
        {k: v for k, v in read_metadata(drum_model[0]).items() if k != "info"}
