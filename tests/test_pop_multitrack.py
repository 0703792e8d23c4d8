"""The pop multitrack VAE (issue 16 part 1): POP909-like songs made here (no POP909 file is
copied), their slots (MELODY, BRIDGE, PIANO's chords, PIANO's lowest line as BASS), bar lines
from a ``beat_midi.txt`` where the MIDI meter is wrong, a tiny pop model trained and generating,
and the bundled pop model accompanying a melody. Nothing is mocked."""

import numpy as np
import pytest

from composer.core import Score, TempoChange, Track, make_notes
from composer.core.timing import TimeSignature
from composer.data.beats import read_training_midi
from composer.data.dataset import encode_folder
from composer.generation.generate import generate
from composer.generation.request import GenerateRequest, sampling_defaults
from composer.io.midi import read_midi, write_midi
from composer.models.base import load_model, preset_config
from composer.models.library import BUNDLED
from composer.models.multitrack_adapter import codec_for
from composer.models.registry import family_spec
from composer.representations.codecs import codec_from_params
from composer.representations.multitrack import lowest_line_mask
from composer.training.trainer import TrainRequest, train

POP = BUNDLED / "multitrack_vae-pop909.safetensors"
PPQ, OFFSET = 480, 40
BAR = 4 * PPQ
SLOTS = ["MELODY", "BRIDGE", "PIANO", "BASS"]


def pop_song(bars: int = 8, offset: int = OFFSET, numerator: int = 4, pickup: int = 0,
             signature: tuple = (1, 4), seed: int = 0) -> Score:
    """A POP909-like song: MELODY, BRIDGE and PIANO (left-hand roots held under right-hand
    chords), every note ``offset`` ticks after the beat grid, a ``pickup`` of beats before the
    first downbeat, bars of ``numerator`` beats, a time signature event that is wrong."""
    rng = np.random.default_rng(seed)
    bar = numerator * PPQ
    first = offset + pickup * PPQ
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    beats = first + np.arange(bars * numerator) * PPQ
    melody = make_notes(beats, beats + PPQ // 2, rng.choice(scale, len(beats)) + 12, 90)
    bridge = make_notes(beats[::2] + PPQ // 2, beats[::2] + PPQ, rng.choice(scale, len(beats[::2])), 70)
    roots = np.tile([48, 53, 55, 48], bars)[:bars] - 12 * (seed % 2)
    downs = first + np.arange(bars) * bar
    chord_starts = np.repeat(downs, 3)
    chords = np.stack([roots + 16, roots + 19, roots + 24], 1).ravel()
    left = make_notes(downs, downs + bar, roots, 80)
    right = make_notes(chord_starts + 10, chord_starts + bar // 2, chords, 70)  # struck 10 ticks late
    piano = np.sort(np.concatenate([left, right]), order=["start", "pitch"])
    tracks = [Track("MELODY", 0, notes=melody), Track("BRIDGE", 0, notes=bridge), Track("PIANO", 0, notes=piano)]
    return Score(tracks, PPQ, [TempoChange(0, 100.0)], [TimeSignature(0, *signature)])


def write_song(folder, name: str, score: Score, numerator: int = 4, pickup: int = 0) -> None:
    """The song as ``folder/name/name.mid`` with its ``beat_midi.txt`` (seconds, beat, downbeat)."""
    (folder / name).mkdir(parents=True)
    write_midi(score, folder / name / f"{name}.mid")
    ticks = OFFSET + np.arange(pickup + numerator * (score.end_tick // (numerator * PPQ) + 1)) * PPQ
    seconds = score.tempo_map.tick_to_seconds(ticks)
    down = (np.arange(len(ticks)) - pickup) % numerator == 0
    rows = np.stack([seconds, np.arange(len(ticks)) % 2 == 0, down], 1)
    np.savetxt(folder / name / "beat_midi.txt", rows, fmt=["%.6f", "%d", "%d"])


def test_slots_of_a_pop909_like_song():
    codec = codec_for(preset_config("multitrack_vae", "pop"))
    assert list(codec.slot_names) == SLOTS and codec.lead == "MELODY"
    assert [codec.slot_program(k) for k in range(4)] == [80, 27, 4, 33]
    song = pop_song()
    groups = codec.assign(song)
    assert [len(g) for g in groups] == [1, 1, 1, 1]
    piano = song.tracks[2]
    bass = groups[3][0]
    assert bass.name == "BASS" and list(bass.notes["pitch"]) == list(np.tile([48, 53, 55, 48], 2))
    assert groups[2][0].id == piano.id and len(groups[2][0]) + len(bass) == len(piano)
    assert groups[2][0].notes["pitch"].min() >= 64  # the chords, above the bass
    # A primer's melody and bass, named so: the bass is not split again.
    drawn = Score([Track("Melody", 0, notes=song.tracks[0].notes), Track("Bass", 33, notes=bass.notes)], PPQ)
    assert [len(g) for g in codec.assign(drawn)] == [1, 0, 0, 1]
    # The split and the programs travel in the codec's parameters (a checkpoint's header).
    assert codec_from_params(codec.params()) == codec
    # The lowest line: a held root is the bass under notes struck with it; a tune's low notes are not.
    notes = make_notes([0, 5, 480, 960], [960, 480, 960, 1200], [40, 52, 62, 45], 80)
    assert list(lowest_line_mask(notes)) == [True, False, False, True]


@pytest.mark.parametrize("numerator, pickup", [(4, 0), (4, 1), (3, 2)])
def test_meter_from_beat_annotations(tmp_path, numerator, pickup):
    song = pop_song(bars=6, numerator=numerator, pickup=pickup)
    write_song(tmp_path, "001", song, numerator, pickup)
    assert read_midi(tmp_path / "001" / "001.mid").time_signatures[0].numerator == 1  # declared 1/4
    repaired = read_training_midi(tmp_path / "001" / "001.mid")
    assert [(s.numerator, s.denominator) for s in repaired.time_signatures] == [(numerator, 4)]
    bar = numerator * PPQ
    roots = repaired.tracks[2].notes[repaired.tracks[2].notes["pitch"] < 60]
    assert set(roots["start"] % bar) == {0}  # the left hand's roots on the downbeats
    melody = repaired.tracks[0].notes
    assert set(melody["start"] % PPQ) == {0}  # every note on the beat again
    # Bars of the training data are the song's bars: the bass starts every bar's first step.
    codec = codec_for(preset_config("multitrack_vae", "pop"))
    data = encode_folder(tmp_path, codec, workers=1, use_cache=False, write_cache=False)
    piece = data.pieces[0]
    assert piece[:, 3, 0].any(axis=-1).sum() >= 6
    # Without annotations the file reads as it is.
    plain = tmp_path / "plain.mid"
    write_midi(song, plain)
    assert read_training_midi(plain).time_signatures[0].numerator == 1


def test_tiny_pop_model_trains_generates_and_accompanies(tmp_path):
    folder = tmp_path / "songs"
    for i in range(6):
        write_song(folder, f"{i:03d}", pop_song(bars=8, seed=i))
    out = tmp_path / "pop.safetensors"
    train(TrainRequest(family="multitrack_vae", data=str(folder), out=out, preset="tiny_pop", epochs=2,
                       workers=1))
    model = load_model(out)[0]
    assert model.slot_names == SLOTS
    defaults = sampling_defaults(family_spec("multitrack_vae").sampling_defaults)
    primer = pop_song(bars=2, offset=0, signature=(4, 4))
    result = generate(model, GenerateRequest(primer=primer, start_tick=primer.end_tick, bars=4, seed=0,
                                             slot_programs={"BRIDGE": 48}, **defaults))
    names = [(t.name, t.program) for t in result.slot_tracks[0]]
    assert names == [("MELODY", 80), ("BRIDGE", 48), ("PIANO", 4), ("BASS", 33)]
    # The bass goes into a track of its own, the chords into the primer's PIANO.
    score = result.scores[0]
    assert [t.name for t in score.tracks][:3] == ["MELODY", "BRIDGE", "PIANO"]
    melody = Score([primer.tracks[0]], PPQ, primer.tempos, primer.time_signatures)
    result = generate(model, GenerateRequest(primer=melody, accompany=melody.tracks[0].id, seed=0, **defaults))
    assert [t.name for t in result.slot_tracks[0]] == SLOTS[1:]
    assert np.array_equal(result.scores[0].tracks[0].notes, melody.tracks[0].notes)


@pytest.mark.skipif(not POP.is_file(), reason="the pop model is not bundled")
def test_bundled_pop_model_accompanies_a_melody():
    model = load_model(POP)[0]
    song = pop_song(bars=16, offset=0, signature=(4, 4))
    melody = Score([song.tracks[0]], PPQ, song.tempos, song.time_signatures)
    defaults = sampling_defaults(family_spec("multitrack_vae").sampling_defaults)
    result = generate(model, GenerateRequest(primer=melody, accompany=melody.tracks[0].id, seed=0, **defaults))
    parts = {t.name: t for t in result.slot_tracks[0]}
    assert set(parts) == {"BRIDGE", "PIANO", "BASS"}
    lines = song.bar_starts(16 * BAR)
    for name in ("PIANO", "BASS"):
        notes = parts[name].notes
        sounding = [bool(((notes["start"] < b) & (notes["end"] > a)).any()) for a, b in zip(lines[:-1], lines[1:])]
        assert sum(sounding) >= 10, (name, sounding)  # it sounds in most of the 16 bars
    assert parts["BASS"].notes["pitch"].mean() < parts["PIANO"].notes["pitch"].mean()
    assert np.isin(parts["PIANO"].notes["pitch"] % 12, [0, 2, 4, 5, 7, 9, 11]).mean() >= 0.85  # C major


def test_a_voice_sounds_where_its_pitches_together_are_likely():
    """``voice_sounds="sum"``: a monophonic slot sounds where the decoder spreads a likely note
    over several pitches (each below the threshold), at its most likely pitch."""
    import dataclasses

    import torch

    from composer.models.base import SamplingOptions
    from composer.models.registry import load_family

    module = load_family("multitrack_vae")
    config = preset_config("multitrack_vae", "tiny_pop")
    info = {"codec": codec_for(config).params(), "vae_epochs": 1}
    options = SamplingOptions(mode="threshold", threshold=0.3)
    z = torch.zeros(1, 4, config.latent)
    mask = torch.full((128,), 0.9)
    mask[64] = 1.0
    out = {}
    for rule in ("max", "sum"):
        torch.manual_seed(0)
        model = module.Model(dataclasses.replace(config, voice_sounds=rule), info).eval()
        for vae in model.vaes:  # every cell 0.1 likely (the mask below puts pitch 64 a little above)
            last = vae.decoder[-1]
            torch.nn.init.zeros_(last.weight)
            last.bias.data.fill_(float(np.log(0.1 / 0.9)))
            vae.from_latent[0].bias.data.zero_()
        with torch.no_grad():
            out[rule] = model._bars_from(z, options, mask, None).numpy()
    assert not out["max"].any()
    bars = out["sum"][0]
    assert bars[0].sum(axis=-1).tolist() == [1] * 16 and bars[0, :, 64].all()  # one pitch a step
    assert bars[2].sum() == 0  # the chords (not monophonic) stay under the threshold


def test_a_silent_second_line_plays_the_chords_top_line_in_training_bars():
    import dataclasses

    config = preset_config("multitrack_vae", "pop")
    assert config.fill_silent == "BRIDGE<PIANO"
    codec = codec_for(config)
    assert codec_from_params(codec.params()) == codec
    song = pop_song(bars=4, offset=0, signature=(4, 4))
    bridge = song.tracks[1]
    bridge.notes = bridge.notes[bridge.notes["start"] < BAR]  # the BRIDGE plays in the first bar only
    piece = codec.encode(song)
    plain = codec_for(dataclasses.replace(config, fill_silent="")).encode(song)
    assert np.array_equal(piece[0], plain[0])  # a bar where BRIDGE plays is as it was
    assert not plain[1:, 1].any() and piece[1:, 1].any(axis=(1, 2)).all()
    for bar in range(1, 4):  # elsewhere BRIDGE plays the top note of the chords, one a step
        chords = plain[bar, 2]
        steps = np.flatnonzero(chords.any(axis=-1))
        assert list(piece[bar, 1].sum(axis=-1)[steps]) == [1] * len(steps)
        assert all(piece[bar, 1, s].argmax() == np.flatnonzero(chords[s]).max() for s in steps)


@pytest.mark.skipif(not POP.is_file(), reason="the pop model is not bundled")
def test_bundled_pop_model_continues_and_interpolates_a_band():
    model = load_model(POP)[0]
    song = pop_song(bars=8, offset=0, signature=(4, 4))
    defaults = sampling_defaults(family_spec("multitrack_vae").sampling_defaults)
    result = generate(model, GenerateRequest(primer=song, start_tick=8 * BAR, bars=8, seed=0, **defaults))
    parts = {t.name: t for t in result.slot_tracks[0]}
    assert all(len(parts[name]) for name in ("MELODY", "BRIDGE", "PIANO", "BASS"))
    assert [t.name for t in result.scores[0].tracks] == SLOTS  # PIANO's chords and a new BASS track
    result = generate(model, GenerateRequest(primer=song, start_tick=2 * BAR, bars=4, interpolate=True, seed=0,
                                             **defaults))
    tracks = result.slot_tracks[0]
    assert [t.name for t in tracks] == SLOTS and sum(len(t) for t in tracks) > 0
    assert all(t.notes["start"].min() >= 2 * BAR and t.notes["end"].max() <= 6 * BAR for t in tracks if len(t))
