"""Accompany (issue 15, part 1): the bundled multitrack VAE keeps a lead track as it is and writes
its other voices under it, bar by bar, on real music: held-out JS Fake Chorales sopranos and
the self-made song fixture (3/4 then 4/4, a bass and drums). Nothing is mocked."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from composer.core import ComposerError, Score, Track, make_notes
from composer.core.edits import EditGroup
from composer.generation.accompany import find_track
from composer.generation.generate import generate
from composer.generation.plan import MODE_CAPABILITY, MODES, EditorState, GenerationSettings, accept_edit, \
    candidate_parts, plan_generation
from composer.generation.request import GenerateRequest, sampling_defaults
from composer.io.midi import read_midi, write_midi
from composer.models.base import SamplingOptions, load_model
from composer.models.library import BUNDLED
from composer.models.registry import ACCOMPANY, family_spec
from composer.representations.keys import find_key

VAE = BUNDLED / "multitrack_vae-jsfakes.safetensors"
ONE_PART = BUNDLED / "bar_lstm-jsfakes.safetensors"
#: A held-out chorale (split_of puts it in "test"; the bundled model never saw it).
HELD_OUT = "js_fakes/jsf-extended/612.mid"


@pytest.fixture(scope="module")
def model():
    return load_model(VAE)[0]


@pytest.fixture(scope="module")
def melody(datasets) -> Score:
    """The soprano of a held-out chorale, alone, named Melody."""
    song = read_midi(datasets / HELD_OUT)
    lead = song.tracks[0].copy()
    lead.name = "Melody"
    return Score([lead], song.ppq, song.tempos, song.time_signatures)


def request_for(score: Score, lead: int, **fields) -> GenerateRequest:
    defaults = sampling_defaults(family_spec("multitrack_vae").sampling_defaults)
    return GenerateRequest(primer=score, accompany=lead, **(defaults | fields))


def test_the_family_accompanies_and_the_app_offers_it():
    assert ACCOMPANY in family_spec("multitrack_vae").capabilities
    assert ACCOMPANY not in family_spec("bar_lstm").capabilities
    assert MODES["accompany"] == "Accompany the selected track" and MODE_CAPABILITY["accompany"] == ACCOMPANY


def test_the_network_keeps_the_lead_bars_and_writes_every_other_slot(model, melody):
    adapter = model.adapter
    bars = adapter.steps_for(melody, 0, melody.end_tick)
    encoded = adapter.encode_accompaniment(melody, melody.tracks[0].id, 0, bars)
    assert encoded.first_bars is None and encoded.lead_bars.shape == (bars, 32, 128)
    assert np.array_equal(encoded.bar_lines, melody.bar_starts(melody.end_tick)[:bars + 1])
    options = SamplingOptions(mode="threshold", threshold=0.3, noise=0.2)
    steps = list(model.accompany(encoded.lead_bars, None, 2, options, torch.Generator().manual_seed(0)))
    progress, result = steps[:-1], steps[-1]
    assert progress and all(0 < p <= 1 for p in progress) and progress[-1] == 1
    assert result.shape == (2, bars, 4, 32, 128) and result.dtype == np.uint8
    assert np.array_equal(result[:, :, 0], np.broadcast_to(encoded.lead_bars, (2,) + encoded.lead_bars.shape))
    sounding = result.reshape(2, bars, 4, -1).any(axis=-1).mean(axis=1)  # share of bars per slot
    assert (sounding[:, 1:] >= 0.8).all()
    assert (result[:, :, 1:].sum(axis=-1) <= 1).all()  # S/A/T/B are monophonic voices


def test_the_lead_is_untouched_and_every_voice_gets_notes_in_its_key(model, melody):
    before = melody.copy()
    lead = melody.tracks[0]
    result = generate(model, request_for(melody, lead.id, variations=2, seed=3))
    assert melody.same_content(before)  # the request's score is not changed
    assert len(result.scores) == 2 and result.slot_targets == [None, None, None]
    key = find_key(lead.notes)
    bar_end = int(melody.bar_starts(lead.end_tick)[-1])
    for score, parts in zip(result.scores, result.slot_tracks):
        assert score.tracks[0].notes.tobytes() == lead.notes.tobytes()  # byte for byte, ids too
        assert score.tracks[0].name == "Melody" and score.tracks[0].id == lead.id
        assert [t.name for t in score.tracks[1:]] == ["A", "T", "B"] == [p.name for p in parts]
        for track in score.tracks[1:]:
            notes = track.notes
            assert len(notes) >= 8 and notes["start"].min() >= 0 and notes["end"].max() <= bar_end
            assert notes["pitch"].mean() < lead.notes["pitch"].mean()  # under the melody
            durations = (notes["end"] - notes["start"]).astype(float)
            in_key = np.isin(notes["pitch"] % 12, list(key.pitch_classes()))
            assert durations[in_key].sum() / durations.sum() >= 0.8
    again = generate(model, request_for(melody, lead.id, variations=2, seed=3))
    assert all(a.same_content(b) for a, b in zip(again.scores, result.scores))


def consonant_share(melody: np.ndarray, part: np.ndarray) -> float:
    """Of the melody notes at whose onset ``part`` sounds, the share a unison, third, fifth,
    sixth or octave above it (benchmarks/bench_accompany.py's measure)."""
    heard = consonant = 0
    for onset, pitch in zip(melody["start"], melody["pitch"]):
        under = part["pitch"][(part["start"] <= onset) & (part["end"] > onset)]
        if len(under):
            heard += 1
            consonant += bool(np.isin(np.abs(int(pitch) - under.astype(int)) % 12, (0, 3, 4, 7, 8, 9)).all())
    return consonant / heard


def test_the_harmony_prior_puts_the_bass_at_consonant_intervals(model, melody):
    lead = melody.tracks[0]
    shares = {}
    for follow in (True, False):  # --free leaves the decoder's own choices
        result = generate(model, request_for(melody, lead.id, variations=4, follow_primer=follow))
        shares[follow] = np.mean([consonant_share(lead.notes, parts[2].notes) for parts in result.slot_tracks])
    assert shares[True] >= 0.75 and shares[True] > shares[False] + 0.15, shares


def test_bars_follow_meter_changes_and_the_other_tracks_stay(model, fixtures):
    song = read_midi(fixtures / "song.mid")  # 3/4 bar, then 4/4 bars; Melody, Bass, Drums
    melody, bass, drums = song.tracks
    encoded = model.adapter.encode_accompaniment(song, melody.id, 0, 3)
    assert encoded.bar_lines.tolist() == [0, 1440, 2880, 4800]  # the 3/4 bar, then 4/4
    assert encoded.targets == [melody.id, None, None, bass.id]  # the bass line is the B voice
    result = generate(model, request_for(song, melody.id, missing_slots="prior"))
    score = result.scores[0]
    assert [t.name for t in score.tracks] == ["Melody", "Bass", "Drums", "A", "T"]
    assert score.tracks[0].same_content(melody) and score.tracks[2].same_content(drums)
    assert score.tracks[1].id == bass.id and len(score.tracks[1]) and not score.tracks[1].same_content(bass)
    assert result.slot_targets == [None, None, bass.id]
    for track in score.tracks[1:2] + score.tracks[3:]:
        assert len(track) and track.notes["end"].max() <= 4800


def test_a_range_of_bars_after_the_first_starts_from_the_bar_before(model, datasets):
    song = read_midi(datasets / HELD_OUT)  # all four voices: the others are replaced in the range
    bar = 4 * song.ppq
    soprano = song.tracks[0]
    result = generate(model, request_for(song, soprano.id, start_tick=2 * bar, bars=3))
    assert result.slot_targets == [t.id for t in song.tracks[1:]]
    score = result.scores[0]
    assert score.tracks[0].same_content(soprano)
    for old, new in zip(song.tracks[1:], score.tracks[1:]):
        outside = (old.notes["start"] < 2 * bar) | (old.notes["start"] >= 5 * bar)
        kept = (new.notes["start"] < 2 * bar) | (new.notes["start"] >= 5 * bar)
        assert np.array_equal(new.notes[kept], old.notes[outside])  # outside the range: as it was
        inside = new.notes[~kept]
        assert len(inside) and inside["end"].max() <= 5 * bar


def test_bad_input_says_what_is_wrong(model, fixtures):
    song = read_midi(fixtures / "song.mid")
    melody, _, drums = song.tracks
    with pytest.raises(ComposerError, match=r"^Bar-conditioned LSTM models write one part and cannot accompany"):
        generate(load_model(ONE_PART)[0], request_for(song, melody.id))
    with pytest.raises(ComposerError, match=r"^track 3 \(Drums\) is a drum track; accompany a melody"):
        generate(model, request_for(song, drums.id))
    empty = song.copy()
    empty.tracks.append(Track("Empty", 0))
    with pytest.raises(ComposerError, match=r"^track 4 \(Empty\) has no notes to accompany"):
        generate(model, request_for(empty, empty.tracks[3].id))
    with pytest.raises(ComposerError, match=r"^there is no track 999 to accompany"):
        generate(model, request_for(song, 999))
    late = Score([Track("Melody", 0, False, make_notes([4 * 1920], [4 * 1920 + 480], [60]))], 480)
    with pytest.raises(ComposerError, match=r"^track 1 \(Melody\) has no notes in bars 1-2 to accompany"):
        generate(model, request_for(late, late.tracks[0].id, bars=2))
    with pytest.raises(ComposerError, match=r"no track 'Voice' to accompany; give a track number or name "
                                            r"\(its tracks: 1 \(Melody\), 2 \(Bass\), 3 \(Drums\)\)"):
        find_track(song, "Voice")
    assert find_track(song, "2") is song.tracks[1] and find_track(song, "bass") is song.tracks[1]
    with pytest.raises(ComposerError, match="accompaniment needs a primer"):
        GenerateRequest(accompany=1).validate()


def test_the_plan_accompanies_the_active_track_over_the_loop_and_accepts_as_one_undo_step(model, datasets):
    song = read_midi(datasets / HELD_OUT)
    bar = 4 * song.ppq
    melody = Score([song.tracks[0]], song.ppq, song.tempos, song.time_signatures)
    lead = melody.tracks[0]
    settings = GenerationSettings("accompany", None, request_for(melody, None, variations=2))
    with pytest.raises(ComposerError, match="Choose the track to accompany first"):
        plan_generation(melody, settings, EditorState())
    # The loop region from mid bar 2 to the end of bar 5: bars 3-5 (the first bar line in it).
    plan = plan_generation(melody, settings, EditorState(loop=(bar + 240, 5 * bar), active_track=lead.id))
    assert (plan.start, plan.end) == (2 * bar, 5 * bar) and plan.request.accompany == lead.id
    whole = plan_generation(melody, settings, EditorState(active_track=lead.id))
    assert (whole.start, whole.end) == (0, int(melody.bar_starts(lead.end_tick)[-1]))
    result = generate(model, plan.request)
    parts = candidate_parts(plan, result, 0)
    assert [p.name for p in parts] == ["A", "T", "B"] and all(p.track_id is None and len(p.notes) for p in parts)
    assert all(p.notes["start"].min() >= 2 * bar and p.notes["end"].max() <= 5 * bar for p in parts)
    score = melody.copy()
    edit = accept_edit(score, plan, parts)
    assert isinstance(edit, EditGroup)  # one undo step for every voice
    edit.apply(score)
    assert [t.name for t in score.tracks] == [lead.name, "A", "T", "B"]
    assert score.tracks[0].same_content(lead)
    edit.revert(score)
    assert score.same_content(melody)


def test_the_app_accompanies_the_active_track(qtbot, window, datasets):
    song = read_midi(datasets / HELD_OUT)
    melody = Score([song.tracks[0]], song.ppq, song.tempos, song.time_signatures)
    window._load(melody, None)
    lead = window.score.tracks[0]
    window.editor.set_active_track(lead.id)
    panel = window.generation_panel
    window.model_picker.add_model_file(str(VAE))
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=60000)
    row = panel.mode.findData("accompany")
    assert row >= 0 and panel.mode.model().item(row).isEnabled()
    panel.mode.setCurrentIndex(row)
    assert not panel.bars.isEnabled()  # the loop region or the whole piece sets the length
    with qtbot.waitSignal(window.generation.service.finished, timeout=60000):
        panel.generate_button.click()
    qtbot.waitUntil(lambda: panel.candidates.count() > 0)
    kept = lead.notes.copy()
    depth = window.undo_stack.count()
    assert window.generation.accept(0)
    assert window.undo_stack.count() == depth + 1
    assert [t.name for t in window.score.tracks][1:] == ["A", "T", "B"]
    assert window.score.tracks[0].notes.tobytes() == kept.tobytes()
    window.undo_stack.undo()
    assert len(window.score.tracks) == 1 and window.score.tracks[0].notes.tobytes() == kept.tobytes()


def composer(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "composer.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, OMP_NUM_THREADS="1"))


def test_the_command_accompanies_a_melody_file(melody, fixtures, tmp_path):
    primer = tmp_path / "melody.mid"
    write_midi(melody, primer)
    out = tmp_path / "accompanied.mid"
    done = composer("generate", "--model", str(VAE), "--primer", str(primer), "--accompany", "melody",
                    "--out", str(out))
    assert done.returncode == 0, done.stderr
    written, given = read_midi(out), read_midi(primer)
    assert [t.name for t in written.tracks] == ["Melody", "A", "T", "B"]
    assert written.tracks[0].notes.tobytes() == given.tracks[0].notes.tobytes()
    assert all(len(t) for t in written.tracks[1:])
    bad = composer("generate", "--model", str(VAE), "--primer", str(fixtures / "song.mid"), "--accompany", "7",
                   "--out", str(out))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == ("composer generate: error: the primer has no track '7' to accompany; give a "
                                  "track number or name (its tracks: 1 (Melody), 2 (Bass), 3 (Drums))")
