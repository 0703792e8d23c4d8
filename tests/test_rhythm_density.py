"""Issue 13 items 3 and 4: continuations on the primer's beat grid, near its density and register.

Rhythm: beat-tied presets by default (16 frames a second stays the paper's preset), decoded notes
on the primer's grid at any tempo, the VAE's notes no shorter than its data's. Density and
register: a piano-roll continuation keeps the primer's voices and stays near its range.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from composer.core import Score, TempoChange, Track, make_notes
from composer.core.timing import TimeSignature
from composer.generation.generate import generate
from composer.generation.request import GenerateRequest
from composer.models.base import SamplingOptions, build_model, preset_config
from composer.models.multitrack_adapter import codec_for
from composer.models.pianoroll_common import fit_to_primer, keep_voices, primer_grid_steps
from composer.models.registry import family_spec, load_family
from composer.representations.codecs import PianoRollCodec
from composer.representations.continuation import continuation_measures, seam_for
from composer.representations.multitrack import note_grid
from composer.representations.pianoroll import snap_to_grid

PPQ = 480


def melody_score(qpm: float = 100.0, numerator: int = 4) -> Score:
    """Two bars of a C major melody in eighths and quarters, at ``qpm``."""
    e = PPQ // 2
    starts = [0, e, 2 * e, 3 * e, 4 * e, 6 * e, 8 * e, 9 * e, 10 * e, 12 * e, 14 * e]
    ends = starts[1:] + [16 * e]
    pitches = [60, 62, 64, 65, 67, 65, 64, 62, 64, 67, 72]
    keep = [i for i, s in enumerate(starts) if s < 2 * numerator * PPQ]
    notes = make_notes([starts[i] for i in keep], [min(ends[i], 2 * numerator * PPQ) for i in keep],
                       [pitches[i] for i in keep], 90)
    return Score([Track("Melody", 0, notes=notes)], PPQ, [TempoChange(0, qpm)],
                 [TimeSignature(0, numerator, 4)])


def eager_model(family: str, **config):
    """An untrained model of ``family`` whose every pitch is likely (output bias +2): left alone
    it writes thick chords all over its range."""
    module = load_family(family)
    base = dataclasses.replace(module.PRESETS["tiny"], **config)
    codec = module.Model.adapter_class.default_codec(base)
    torch.manual_seed(0)
    model = build_model(family, base, {"codec": codec.params(), "pitch_range": [36, 96]})
    with torch.no_grad():
        for module_ in model.modules():
            if isinstance(module_, torch.nn.Linear) and module_.out_features == 60:
                module_.bias.fill_(2.0)
    return model.eval()


# ----------------------------------------------------------------------------- snapping


def test_snap_to_grid_moves_notes_onto_the_grid_and_drops_slivers():
    notes = make_notes([0, 115, 250, 480, 500, 960], [110, 250, 260, 600, 720, 1000], [60, 62, 64, 67, 67, 69])
    snapped = snap_to_grid(notes, 120)
    assert snapped[["start", "end", "pitch"]].tolist() == [(0, 120, 60), (120, 240, 62), (480, 720, 67)]
    # 250-260 and 960-1000 are slivers (under half a sixteenth); the two 67s start at one grid
    # point, where the longer is kept; min_length drops what is still too short.
    assert len(snap_to_grid(notes, 120, min_length=360)) == 0
    assert snap_to_grid(make_notes([0, 130], [200, 400], [60, 60]), 120)[["start", "end"]].tolist() == \
        [(0, 120), (120, 360)]  # the earlier note of a pitch ends where the later starts


# ----------------------------------------------------------------------------- presets


@pytest.mark.parametrize("family, paper", [("pianoroll_lstm", "2x256"), ("pianoroll_seq2seq", "256")])
def test_default_presets_are_tied_to_the_beat_and_the_papers_keep_16_fps(family, paper):
    spec = family_spec(family)
    module = load_family(family)
    default = preset_config(family)
    assert spec.presets[0] == spec.default_preset and paper in spec.paper_presets
    assert default.fps is None and default.steps_per_beat == 4
    assert module.Model.adapter_class.default_codec(default) == PianoRollCodec(steps_per_beat=4)
    assert module.PRESETS[paper].fps == 16.0
    assert module.Model.adapter_class.default_codec(module.PRESETS[paper]).fps == 16.0


# ----------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("qpm", [40.0, 100.0, 137.0, 240.0])
def test_beat_tied_decoding_lands_on_the_beat_at_any_tempo(qpm):
    model = eager_model("pianoroll_lstm", fps=None, steps_per_beat=4)
    primer = melody_score(qpm)
    roll = np.zeros((16, 60), dtype=np.uint8)
    roll[0:3, 24] = roll[5:9, 28] = roll[9:16, 31] = 1  # C4, E4, G4 from the second bar on
    notes = model.adapter.decode_continuation(roll, primer, 8 * PPQ)
    assert notes[["start", "end", "pitch"]].tolist() == [
        (8 * PPQ, 8 * PPQ + 360, 60), (8 * PPQ + 600, 8 * PPQ + 1080, 64), (8 * PPQ + 1080, 12 * PPQ, 67)]
    # From a tick between two steps (the primer's last note ended early): the roll's own steps,
    # counted from tick 0, not steps counted from that tick.
    late = model.adapter.decode_continuation(roll, primer, 8 * PPQ + 70)
    assert late["start"].tolist() == [8 * PPQ + 120, 8 * PPQ + 720, 8 * PPQ + 1200]


def test_real_time_decoding_is_snapped_to_the_primers_grid():
    """A 16-frames-a-second model at 100 BPM: frames are 0.6 of a sixteenth, so its notes fell
    off the beat; decoded, they land on the primer's eighth-note grid."""
    model = eager_model("pianoroll_seq2seq", fps=16.0, steps_per_beat=None)
    primer = melody_score(100.0)
    roll = np.zeros((40, 60), dtype=np.uint8)
    for k in range(8):
        roll[5 * k:5 * k + 3, 24 + 2 * k] = 1  # a note every 5 frames (0.3125 s)
    notes = model.adapter.decode_continuation(roll, primer, 8 * PPQ)
    assert len(notes) >= 6
    assert ((notes["start"] % (PPQ // 2)) == 0).all() and ((notes["end"] % (PPQ // 2)) == 0).all()


# ----------------------------------------------------------------------------- following the primer


def test_fit_to_primer_keeps_voices_register_and_grid():
    roll = np.zeros((32, 60), dtype=np.uint8)
    for k, column in enumerate([24, 26, 28, 29, 31, 29, 28, 26]):
        roll[4 * k:4 * k + 2, column] = 1  # eighths on a sixteenth grid: onsets every 4 steps
    assert primer_grid_steps(roll, 4) == 4
    fit = fit_to_primer(roll, 8, SamplingOptions(), (36, 96), 4, "cpu")
    assert fit.voices == 1  # a lone melody: within a fourth of its range
    assert fit.mask.nonzero().flatten().tolist() == list(range(24 - 5, 31 + 6))
    chords = roll.copy()
    chords[:, 12] = 1  # a held bass under it: two voices, within an octave
    assert fit_to_primer(chords, 8, SamplingOptions(), (36, 96), 4, "cpu").mask.nonzero().flatten().tolist() \
        == list(range(0, 31 + 13))
    assert fit.hold == [False, True, True, True, False, True, True, True]
    user = fit_to_primer(roll, 8, SamplingOptions(pitch_range=(36, 48)), (36, 96), 4, "cpu")
    assert user.mask.nonzero().flatten().tolist() == list(range(12))  # the user's range wins
    off = fit_to_primer(roll, 8, SamplingOptions(follow_primer=False), (36, 96), 4, "cpu")
    assert off.voices is None and off.mask is None and off.hold is None
    silent = fit_to_primer(roll[:0], 8, SamplingOptions(), (36, 96), 4, "cpu")
    assert silent.voices is None and silent.mask is None and silent.hold is None


def test_keep_voices_keeps_the_outer_voices_then_the_likeliest():
    frame = torch.tensor([[1.0, 1, 1, 1, 0, 1]])
    logits = torch.tensor([[0.0, 5, 4, 3, 9, -1]])
    assert keep_voices(frame, logits, 1).tolist() == [[0, 0, 0, 0, 0, 1]]  # the top voice
    assert keep_voices(frame, logits, 3).tolist() == [[1, 1, 0, 0, 0, 1]]  # bass, top, likeliest
    assert keep_voices(frame, logits, 6).tolist() == frame.tolist()


def _continue(model, score, free: bool = False):
    """Four bars after ``score``'s melody; with ``free``, not following the primer."""
    request = GenerateRequest(primer=score, track_id=score.tracks[0].id, bars=4, variations=2, seed=0,
                              follow_primer=not free)
    return generate(model, request)


def _polyphony(notes) -> int:
    events = sorted([(int(s), 1) for s in notes["start"]] + [(int(e), -1) for e in notes["end"]])
    depth = most = 0
    for _, change in events:
        depth += change
        most = max(most, depth)
    return most


@pytest.mark.parametrize("family, config", [
    ("pianoroll_lstm", {"fps": None, "steps_per_beat": 4}),
    # On quarter notes (the JSB model's grid) the eighths of the melody share frames: the
    # primer's notes, not its frames, say it is one voice.
    ("pianoroll_lstm", {"fps": None, "steps_per_beat": 1}),
    ("pianoroll_seq2seq", {"fps": None, "steps_per_beat": 4}),
    ("bar_lstm", {"steps_per_bar": 16}),
])
@pytest.mark.parametrize("qpm, numerator", [(100.0, 4), (70.0, 3)])
def test_a_melody_goes_on_as_a_melody_in_its_register_and_grid(family, config, qpm, numerator):
    """An eager model (thick chords everywhere) continues a one-voice melody with one voice,
    within a fourth of its range, on its eighth-note grid, no denser than it; with
    follow_primer off it writes its chords (what every model did before)."""
    model = eager_model(family, **config)
    score = melody_score(qpm, numerator)
    primer = score.tracks[0].notes
    result = _continue(model, score)
    for notes in result.continuations:
        assert len(notes) and _polyphony(notes) == 1
        assert notes["pitch"].min() >= 60 - 5 and notes["pitch"].max() <= 72 + 5
        seam = seam_for(result.scores[0], primer, result.start_tick, result.start_tick + 4 * numerator * PPQ)
        measures = continuation_measures(primer, notes, seam)
        assert measures["on_grid"] == 1.0 and measures["density_ratio"] <= 2
    free = _continue(model, score, free=True)
    assert max(_polyphony(notes) for notes in free.continuations) > 3


# ----------------------------------------------------------------------------- the VAE's shortest note


def test_note_grid_follows_the_data():
    piece = np.zeros((4, 1, 32, 128), dtype=np.uint8)
    for bar in range(4):
        for k in range(4):
            piece[bar, 0, 8 * k:8 * k + 4, 60 + k] = 1  # eighths on quarter beats
    assert note_grid([piece], 32) == (8, 4)
    piece[0, 0, 2:4, 70] = 1  # one sixteenth off the beat: 1 onset in 17 leaves the quarter grid
    assert note_grid([piece], 32) == (2, 2)
    assert note_grid([np.zeros((2, 1, 32, 128), np.uint8)], 32) == (1, 1)


def test_vae_decoding_drops_slivers_and_snaps_to_the_data_grid():
    module = load_family("multitrack_vae")
    config = module.PRESETS["tiny"]
    codec = codec_for(config)
    info = {"codec": codec.params(), "slots": list(codec.slot_names)}
    model = build_model("multitrack_vae", config, info)
    bars = np.zeros((1, 4, 32, 128), dtype=np.uint8)
    bars[0, 0, 0:7, 72] = 1     # a quarter less a 32nd: becomes a quarter
    bars[0, 0, 7:8, 74] = 1     # a 32nd sliver: dropped
    bars[0, 0, 8:16, 76] = 1    # a quarter
    bars[0, 0, 17:18, 77] = 1   # a 32nd sliver off the beat: dropped
    primer = Score([Track("S", notes=make_notes([0], [4 * PPQ], [72]))], PPQ)
    soprano = model.adapter.decode_slots(bars, primer, 4 * PPQ)[0][0].notes
    assert soprano[["start", "end", "pitch"]].tolist() == [(4 * PPQ, 5 * PPQ, 72), (5 * PPQ, 6 * PPQ, 76)]
    model.info.update(grid_beats=0.125, min_note_beats=0.125)  # data with 32nd notes keeps them
    assert len(model.adapter.decode_slots(bars, primer, 4 * PPQ)[0][0].notes) == 4


def test_free_lets_the_model_write_its_own_texture_from_the_command_line(tmp_path):
    """`composer generate --free`: no voices limit, so a chorale model continues a one-voice
    melody in chords; by default it keeps to the melody's one voice."""
    from composer.cli import main
    from composer.io.midi import read_midi, write_midi
    from composer.models.library import BUNDLED

    q = 480
    pitches = [60, 62, 64, 65, 67, 65, 64, 62] * 2
    melody = Score([Track("Melody", 0, notes=make_notes(np.arange(16) * q, np.arange(1, 17) * q, pitches))])
    write_midi(melody, tmp_path / "melody.mid")
    most_voices = {}
    for flags in ([], ["--free"]):
        out = tmp_path / f"out{len(flags)}.mid"
        assert main(["generate", "--model", str(BUNDLED / "bar_lstm-jsfakes.safetensors"), "--primer",
                     str(tmp_path / "melody.mid"), "--bars", "4", "--seed", "3", "--out", str(out), *flags]) == 0
        score = read_midi(out)
        notes = np.concatenate([t.notes for t in score.tracks])
        notes = notes[notes["start"] >= 16 * q]
        starts, counts = np.unique(notes["start"], return_counts=True)
        most_voices[bool(flags)] = int(counts.max())
    assert most_voices[False] == 1 and most_voices[True] >= 3
