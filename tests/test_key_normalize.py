"""Key normalisation (issue 13, item 2): training pieces go to C major / A minor before they are
encoded, for every family; a key-normalised model gets its primer moved there too and its
continuation moved back; checkpoints from before keep their behaviour.

Real tiny models are trained here (a second or two each); the spies are subclasses of the real
models that record what the generation path hands them, never mocks.
"""

import argparse
import warnings

import numpy as np
import pytest
import scipy.io
import torch

from composer.core import ComposerWarning, Score, TempoChange, Track, make_notes
from composer.core.transforms import transpose
from composer.data.dataset import encode_folder, load_benchmark_mat, load_source
from composer.data.keynorm import key_toward, normalize_roll, roll_key, score_key, shift_notes
from composer.generation.generate import generate
from composer.generation.request import GenerateRequest, scale_pitch_classes
from composer.io.midi import write_midi
from composer.models.base import SamplingOptions, load_model
from composer.models.checkpoint import load_state_dict, read_metadata, save_checkpoint
from composer.models.registry import FAMILIES, KEY_NORMALIZE, load_family
from composer.representations.codecs import ChordTokenCodec, NoteSymbolCodec, PianoRollCodec
from composer.representations.keys import Key, find_key
from composer.training import train_cli
from composer.training.trainer import TrainRequest, train
from engine_fixtures import PPQ, arpeggio_song, write_training_folder

ALL_FAMILIES = ("pianoroll_lstm", "pianoroll_seq2seq", "bar_lstm", "chord_token_lstm",
                "note_symbol_lstm", "multitrack_vae")
REFERENCE = {Key(0, "major").pitch_classes(), Key(9, "minor").pitch_classes()}


def minor_song(tonic: int, bars: int = 4) -> Score:
    """A melody in ``tonic`` harmonic minor over i-iv-V-i, with a bass line."""
    starts, ends, pitches = [], [], []
    for bar in range(bars):
        chord = tonic + (0, 5, 7, 0)[bar % 4]
        third = 4 if bar % 4 == 2 else 3  # the dominant is major (the raised seventh)
        for i, step in enumerate((0, third, 7, 12, 7, third, 0, third)):
            t = bar * 4 * PPQ + i * PPQ // 2
            starts.append(t)
            ends.append(t + PPQ // 2)
            pitches.append(chord + step)
        starts.append(bar * 4 * PPQ)
        ends.append((bar + 1) * 4 * PPQ)
        pitches.append(chord - 12)
    return Score([Track("Piano", 0, notes=make_notes(starts, ends, pitches, 90))], PPQ,
                 [TempoChange(0, 120.0)])


def is_reference_key(notes) -> bool:
    key = find_key(notes)
    return key is not None and key.pitch_classes() in REFERENCE


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    return write_training_folder(tmp_path_factory.mktemp("songs"))


@pytest.fixture(scope="module")
def models(songs, tmp_path_factory):
    """A tiny key-normalised model of every family (the default), a few steps each."""
    root = tmp_path_factory.mktemp("kn_models")
    paths = {}
    for family in ALL_FAMILIES:
        out = root / f"{family}.safetensors"
        train(TrainRequest(family=family, data=str(songs), out=out, preset="tiny", epochs=2,
                           steps_per_epoch=4, learning_rate=1e-2, workers=1))
        paths[family] = out
    return paths


class Spy:
    """Turns a real model's adapter into a recording one: the part ``encode_primer`` receives
    and the notes ``decode_continuation`` / ``decode_slots`` give, around the real methods (the
    lists are also the model's ``parts`` and ``decoded``)."""

    @staticmethod
    def attach(model):
        base = type(model.adapter)

        class Recording(base):
            def encode_primer(self, part, primer, start_tick):
                self.parts.append(part)
                return super().encode_primer(part, primer, start_tick)

            def decode_continuation(self, steps, primer, start_tick):
                notes = super().decode_continuation(steps, primer, start_tick)
                self.decoded.append(notes.copy())
                return notes

            def decode_slots(self, steps, primer, start_tick, primer_grid=None):
                slots = super().decode_slots(steps, primer, start_tick, primer_grid)
                if slots is not None:
                    self.decoded.append([(t.is_drum, t.notes.copy()) for t, _ in slots])
                return slots

        model.adapter.__class__ = Recording
        model.parts, model.decoded = [], []
        model.adapter.parts, model.adapter.decoded = model.parts, model.decoded
        return model


def cropped(notes, end_tick):
    kept = notes[notes["start"] < end_tick]
    return np.sort(kept[["start", "pitch"]])


# ----------------------------------------------------------------------------- data


@pytest.mark.parametrize("codec", [PianoRollCodec(steps_per_beat=4), ChordTokenCodec(timed=True),
                                   NoteSymbolCodec(grid=True)], ids=["pianoroll", "chords", "symbols"])
def test_one_tune_in_several_keys_encodes_to_identical_arrays(codec, tmp_path):
    folder = tmp_path / "keys"
    folder.mkdir()
    roots = (55, 58, 60, 61, 63, 66)  # G, Bb, C, C#, Eb, F#: all within -6..+5 of C
    for root in roots:
        write_midi(arpeggio_song(root, seed=3), folder / f"tune_{root}.mid")
    kw = dict(workers=1, valid_fraction=0.0, test_fraction=0.0, cache_dir=tmp_path / "cache")
    normalised = encode_folder(folder, codec, key_normalize=True, **kw)
    assert normalised.key_normalized and normalised.summary["no_clear_key"] == 0
    first = normalised.pieces[0]
    assert all(np.array_equal(first, p) for p in normalised.pieces[1:])
    kept = encode_folder(folder, codec, key_normalize=False, **kw)  # a cache of its own
    assert not kept.key_normalized and not kept.from_cache
    assert not all(np.array_equal(kept.pieces[0], p) for p in kept.pieces[1:])
    again = encode_folder(folder, codec, key_normalize=True, **kw)
    assert again.from_cache and again.key_normalized
    assert again.cache_path != kept.cache_path
    assert all(np.array_equal(a, b) for a, b in zip(again.pieces, normalised.pieces))


def test_minor_pieces_go_to_a_minor_and_keyless_ones_stay():
    from composer.data.keynorm import normalize_score

    moved, shift = normalize_score(minor_song(63))  # Eb minor -> A minor (relative of Gb: -6)
    assert shift == -6 and score_key(moved) == Key(9, "minor", score_key(moved).strength)
    cluster = Score([Track("x", notes=make_notes(np.zeros(12), np.full(12, 480), np.arange(60, 72)))])
    same, shift = normalize_score(cluster)
    assert shift is None and same is cluster
    drums = Score([Track("kit", 0, True, make_notes([0, 240], [240, 480], [36, 38]))])
    assert normalize_score(drums) == (drums, None)


def test_benchmark_mat_rolls_are_normalised(tmp_path):
    def roll(root):  # the minor tune as an 88-key roll, one frame per eighth note
        song = minor_song(root)
        frames = np.zeros((song.end_tick // (PPQ // 2), 88), dtype=np.uint8)
        for n in song.tracks[0].notes:
            frames[n["start"] // (PPQ // 2):n["end"] // (PPQ // 2), n["pitch"] - 21] = 1
        return frames

    cells = np.empty((1, 3), dtype=object)
    for i, root in enumerate((57, 62, 63)):  # A, D, Eb minor
        cells[0, i] = roll(root)
    path = tmp_path / "Tunes.mat"
    scipy.io.savemat(path, {"traindata": cells, "validdata": cells[:, :1], "testdata": cells[:, 1:2]})
    data = load_source(path, key_normalize=True)
    train_rolls = data.split_pieces("train")
    assert data.key_normalized and data.summary["key_normalized"]
    assert all(np.array_equal(train_rolls[0], r) for r in train_rolls[1:])
    assert roll_key(train_rolls[0]).pitch_classes() == Key(9, "minor").pitch_classes()
    plain = load_benchmark_mat(path)
    assert not plain.key_normalized
    assert not np.array_equal(plain.split_pieces("train")[1], train_rolls[1])
    assert normalize_roll(np.zeros((4, 128), np.uint8))[1] is None  # silence: no key, untouched


def test_token_vocabularies_shrink_not_grow(songs, tmp_path):
    module = load_family("chord_token_lstm")
    config = module.PRESETS["tiny"]
    codec = module.Model.adapter_class.default_codec(config)
    sizes = {}
    for flag in (False, True):
        data = encode_folder(songs, codec, workers=1, key_normalize=flag, cache_dir=tmp_path)
        sizes[flag] = len(module.Model.adapter_class.data_info(data, config)["vocab"])
    assert sizes[True] < sizes[False]


def test_key_toward_lands_the_reference_key_on_the_requested_scale():
    assert key_toward(scale_pitch_classes("D", "major"), 2) == -2
    assert key_toward(scale_pitch_classes("D", "minor"), 2) == -5  # A minor -> D minor
    assert key_toward(scale_pitch_classes("D", "dorian"), 2) == 0  # C major's own notes
    assert key_toward(scale_pitch_classes("F#", "major pentatonic"), 6) == -6


# ----------------------------------------------------------------------------- training flags


def test_the_setting_and_its_flag_reach_the_header(songs, tmp_path, models):
    meta = read_metadata(models["pianoroll_lstm"])
    assert meta["info"]["key_normalized"] is True and meta["data"]["key_normalized"] is True
    assert meta["training"]["augment"] is False  # exclusive: transposition would undo it
    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    args = parser.parse_args(["--family", "pianoroll_lstm", "--data", "x", "--out", "y.safetensors",
                              "--no-key-normalize"])
    assert train_cli._overrides(args) == {"key_normalize": "false"}
    out = tmp_path / "plain.safetensors"
    train(TrainRequest(family="pianoroll_lstm", data=str(songs), out=out, preset="tiny", epochs=1,
                       steps_per_epoch=2, workers=1, overrides=train_cli._overrides(args)))
    plain = read_metadata(out)
    assert "key_normalized" not in plain["info"] and plain["data"]["key_normalized"] is False
    assert plain["training"]["augment"] is True


def test_every_family_offers_the_setting_in_the_wizard():
    for spec in FAMILIES.values():
        assert spec.data_options[0] == KEY_NORMALIZE
    assert KEY_NORMALIZE.default == "true" and dict(KEY_NORMALIZE.choices).keys() == {"true", "false"}


# ----------------------------------------------------------------------------- generation


PRIMERS = {"C major": (arpeggio_song(60, bars=4), 0), "F# major": (arpeggio_song(66, bars=4), -6),
           "Eb minor": (minor_song(63), -6), "D minor": (minor_song(62), -5)}


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_primers_go_to_the_reference_key_and_continuations_come_back(models, family):
    for name, (primer, shift) in PRIMERS.items():
        model = Spy.attach(load_model(models[family])[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ComposerWarning)  # e.g. unseen tokens of a tiny model
            result = generate(model, GenerateRequest(primer=primer, bars=2, variations=2, seed=1))
        part = model.parts[0]
        moved = np.concatenate([t.notes for t in part.tracks])
        original = np.concatenate([t.notes for t in primer.tracks])
        assert is_reference_key(moved), (family, name)
        # The key's shift, or an octave beside it where that keeps the primer in the model's range.
        moved_by = int(moved["pitch"].min()) - int(original["pitch"].min())
        assert moved_by in (shift - 12, shift, shift + 12), (family, name)
        assert np.array_equal(np.sort(moved["pitch"]) - moved_by, np.sort(original["pitch"])), (family, name)
        end = primer.end_tick + 8 * PPQ
        for decoded, continuation in zip(model.decoded, result.continuations):
            if family == "multitrack_vae":
                pitched = [n for is_drum, n in decoded if not is_drum]
                decoded = np.concatenate(pitched) if pitched else decoded[0][1][:0]
            assert np.array_equal(cropped(shift_notes(decoded, -moved_by), end), cropped(continuation, end))


def test_the_continuation_follows_the_primers_key(models):
    """Through the whole path the continuation of a tiny model, which only ever saw C major,
    lies in each primer's key (the notes it learnt, moved back)."""
    model = load_model(models["pianoroll_lstm"])[0]
    for root in (61, 66, 63):
        primer = arpeggio_song(root, bars=4)
        result = generate(model, GenerateRequest(primer=primer, bars=2, variations=4, seed=3,
                                                 temperature=0.5))
        key = score_key(primer)
        notes = np.concatenate(result.continuations)
        inside = np.isin(notes["pitch"] % 12, sorted(key.pitch_classes()))
        assert len(notes) and inside.mean() > 7 / 12 + 0.2, root


def test_an_old_header_without_the_flag_generates_as_before(models, tmp_path):
    """A checkpoint from before key normalisation (no flag in its info, no field in its config)
    runs the primer untransposed: the same notes as the hooks give when called directly."""
    old = tmp_path / "old.safetensors"
    meta = read_metadata(models["pianoroll_lstm"])
    meta["info"].pop("key_normalized")
    meta["config"].pop("key_normalize")
    for key in ("format", "format_version"):
        meta.pop(key, None)
    save_checkpoint(old, load_state_dict(models["pianoroll_lstm"]), meta)
    model = Spy.attach(load_model(old)[0])
    assert not model.key_normalized and model.config.key_normalize  # the default does not matter
    primer = arpeggio_song(66, bars=4)
    request = GenerateRequest(primer=primer, bars=2, variations=2, seed=5)
    result = generate(model, request)
    assert model.parts[0].tracks[0].same_content(primer.tracks[0])  # not moved

    plain = load_model(old)[0]
    start = primer.end_tick
    steps = plain.adapter.steps_for(primer, start, start + 8 * PPQ)
    inputs = plain.adapter.encode_primer(primer, primer, start)
    generator = torch.Generator().manual_seed(5)
    options = SamplingOptions()
    with torch.inference_mode():
        frames = [x for x in plain.generate(inputs, steps, 2, options, generator) if isinstance(x, np.ndarray)][-1]
    for row, continuation in zip(frames[:, len(inputs):], result.continuations):
        direct = plain.adapter.decode_continuation(row, primer, start)
        assert np.array_equal(cropped(direct, start + 8 * PPQ), cropped(continuation, start + 8 * PPQ))


# ----------------------------------------------------------------------------- bad input


def test_primers_without_a_clear_key(models):
    model = Spy.attach(load_model(models["note_symbol_lstm"])[0])
    cluster = Score([Track("x", notes=make_notes(np.arange(12) * 240, np.arange(12) * 240 + 240,
                                                 np.arange(60, 72)))], tempos=[TempoChange(0, 120.0)])
    one_note = Score([Track("x", notes=make_notes([0], [960], [62]))], tempos=[TempoChange(0, 120.0)])
    for primer in (cluster, one_note):
        with pytest.warns(ComposerWarning, match="no clear key"):
            result = generate(model, GenerateRequest(primer=primer, bars=2, seed=2))
        assert len(result.continuations[0])  # something sensible, in the model's own key
        assert model.parts[-1].tracks[0].same_content(primer.tracks[0])  # left where it was
    # With a key/scale lock the model is moved toward it, and the lock holds on top.
    result = generate(model, GenerateRequest(primer=one_note, bars=2, seed=2, key="D", scale="major"))
    assert model.parts[-1].tracks[0].notes["pitch"].tolist() == [60]  # D major -> C major: -2
    allowed = scale_pitch_classes("D", "major")
    assert len(result.continuations[0]) and all(p % 12 in allowed for p in result.continuations[0]["pitch"])


def test_a_drums_only_primer_and_no_primer(models):
    model = Spy.attach(load_model(models["chord_token_lstm"])[0])
    drums = Score([Track("kit", 0, True, make_notes([0, 480, 960], [240, 720, 1200], [36, 38, 42]))],
                  tempos=[TempoChange(0, 120.0)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = generate(model, GenerateRequest(primer=drums, bars=2, seed=1))
        scratch = generate(model, GenerateRequest(bars=2, seed=1))
    assert len(result.continuations[0]) and len(scratch.continuations[0])
    # No key to follow, so no word about one (the family says it starts from a start token).
    assert not [w for w in caught if "key" in str(w.message)]
    # From scratch with a lock: generated in C major, moved to the lock's key (E minor: +7 / -5).
    locked = generate(model, GenerateRequest(bars=2, seed=1, key="E", scale="minor"))
    decoded = model.decoded[-1]
    shift = key_toward(scale_pitch_classes("E", "minor"), 4)
    end = 8 * PPQ
    assert np.array_equal(cropped(shift_notes(decoded, -shift), end), cropped(locked.continuations[0], end))
    assert all(p % 12 in scale_pitch_classes("E", "minor") for p in locked.continuations[0]["pitch"])


def test_a_primer_moved_out_of_the_models_range_is_a_clear_error(models):
    model = load_model(models["pianoroll_lstm"])[0]
    lo, hi = model.info["pitch_range"]
    far = Score([Track("far", notes=make_notes(np.arange(8) * 480, np.arange(8) * 480 + 480,
                                               [hi + 14 + p for p in (0, 2, 4, 5, 7, 9, 11, 12)]))],
                tempos=[TempoChange(0, 120.0)])
    if far.tracks[0].notes["pitch"].max() > 127:
        pytest.skip("the model's range reaches too high for this check")
    with pytest.raises(Exception, match="outside this model's pitch range"):
        generate(model, GenerateRequest(primer=far, bars=1))
    # A tune in F# whose lowest note (its fifth, C#) is just above the model's lowest pitch: moved
    # up (+6) instead of down (-6), which would leave it below the range.
    low = lo + (1 - lo) % 12  # the lowest C# in the range
    tune = [0, 5, 9, 12, 17, 12, 9, 5, 4, 2, 5, 9, 5, 10, 9, 7, 5]  # from C#: F# major
    edge = Score([Track("edge", notes=make_notes(np.arange(len(tune)) * 480, np.arange(len(tune)) * 480 + 480,
                                                 [low + p for p in tune]))], tempos=[TempoChange(0, 120.0)])
    assert score_key(edge).tonic == 6 and low - 6 < lo and low + 17 + 6 < hi
    spy = Spy.attach(load_model(models["pianoroll_lstm"])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ComposerWarning)  # no note left out
        generate(spy, GenerateRequest(primer=edge, bars=1))
    moved = spy.parts[0].tracks[0].notes["pitch"]
    assert moved.min() == low + 6 and is_reference_key(spy.parts[0].tracks[0].notes)
