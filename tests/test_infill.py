"""Infill that hears both sides (composer.generation.infill), with the bundled models on real
held-out tunes, from the API, the editor's plan and the command line."""

import subprocess
import sys

import numpy as np
import pytest

from composer.core import ComposerError
from composer.data.dataset import split_of
from composer.data.scan import scan_midi_files
from composer.generation.generate import generate
from composer.generation.infill import following_log_likelihood, gap_bounds, seam_pitch
from composer.generation.plan import EditorState, GenerationSettings, plan_generation
from composer.generation.request import GenerateRequest
from composer.io.midi import read_midi
from composer.models.base import load_model
from composer.models.library import BUNDLED

AR_MODELS = ("pianoroll_lstm-nottingham", "note_symbol_lstm-nottingham", "chord_token_lstm-jsfakes",
             "bar_lstm-jsfakes")


@pytest.fixture(scope="module")
def tunes(datasets):
    """Three held-out Nottingham tunes (the files training puts in "test") of 12 bars or more."""
    out = []
    for rel, path in scan_midi_files(datasets / "nottingham"):
        if split_of(rel) == "test":
            score = read_midi(path)
            if len(score.bar_starts(score.end_tick)) >= 12:
                out.append(score)
        if len(out) == 3:
            return out
    pytest.skip("no held-out Nottingham tunes")


def model_named(name):
    return load_model(BUNDLED / f"{name}.safetensors")[0]


def gap_request(score, **kw):
    start = int(score.bar_starts(score.end_tick)[4])
    return GenerateRequest(primer=score, start_tick=start, bars=kw.pop("bars", 4), seed=kw.pop("seed", 3),
                           variations=kw.pop("variations", 3), **kw)


def real_gap(score, start, end):
    return np.concatenate([t.notes[(t.notes["start"] >= start) & (t.notes["start"] < end)]
                           for t in score.tracks if not t.is_drum])


@pytest.mark.parametrize("name", AR_MODELS)
def test_infill_makes_the_bars_after_the_gap_more_likely_than_plain_continuation(name, tunes):
    """The chosen fillings lead into the music after the gap: the model finds the two bars after
    it more likely after them than after plain continuations (the same seed), on every tune."""
    model = model_named(name)
    for score in tunes:
        request = gap_request(score, infill=True)
        start, end, after_end = gap_bounds(score, request)
        filled = generate(model, request)
        plain = generate(model, gap_request(score))
        ours = np.mean(filled.log_likelihoods)
        theirs = np.mean(following_log_likelihood(model, request, plain.continuations, after_end))
        assert ours > theirs, (score.title, ours, theirs)
        # The fillings stay in the gap and the piece goes on after it, note for note.
        for continuation, result in zip(filled.continuations, filled.scores):
            assert len(continuation) and continuation["start"].min() >= start and continuation["end"].max() <= end
            kept = np.sort(real_gap(result, end, score.end_tick + 1)[["start", "pitch"]])
            assert np.array_equal(kept, np.sort(real_gap(score, end, score.end_tick + 1)[["start", "pitch"]]))


def test_the_pitch_jump_into_the_bar_after_the_gap_is_no_larger_than_the_real_music(tunes):
    """Over three tunes, the top voice moves into the bar after the gap by no more than it does
    in the tunes themselves (and less than after a plain continuation, what Fill did before)."""
    model = model_named("note_symbol_lstm-nottingham")

    def jump(notes, after, ppq):
        return abs(seam_pitch(notes, True, ppq) - seam_pitch(after, False, ppq))

    jumps = {"infill": [], "plain": [], "real": []}
    for score in tunes:
        request = gap_request(score, infill=True)
        start, end, after_end = gap_bounds(score, request)
        after = real_gap(score, end, after_end)
        jumps["real"].append(jump(real_gap(score, start, end), after, score.ppq))
        for kind, req in (("infill", request), ("plain", gap_request(score))):
            jumps[kind] += [jump(notes, after, score.ppq) for notes in generate(model, req).continuations]
    assert np.mean(jumps["infill"]) <= np.mean(jumps["real"])
    assert np.mean(jumps["infill"]) < np.mean(jumps["plain"])


def test_the_vae_fills_a_gap_between_its_latents_at_both_ends(tunes):
    model = model_named("multitrack_vae-jsfakes")
    score = tunes[0]
    request = gap_request(score, infill=True, bars=2)
    start, end, _ = gap_bounds(score, request)
    result = generate(model, request)
    assert result.log_likelihoods is None and result.slot_tracks is not None
    notes = np.concatenate([t.notes for t in result.slot_tracks[0]])
    assert len(notes) and notes["start"].min() >= start and notes["end"].max() <= end


def test_bad_gaps_get_one_clear_message_each(tunes):
    score = tunes[0]
    model = model_named("pianoroll_lstm-nottingham")
    lines = score.bar_starts(score.end_tick)
    with pytest.raises(ComposerError, match="no music before the gap"):
        generate(model, GenerateRequest(primer=score, start_tick=0, bars=2, infill=True))
    with pytest.raises(ComposerError, match="no music after the gap"):
        generate(model, GenerateRequest(primer=score, start_tick=int(lines[-2]), bars=4, infill=True))
    with pytest.raises(ComposerError, match="longer than this model's context"):
        generate(model_named("pianoroll_seq2seq-jsfakes"), gap_request(score, infill=True, bars=4))
    with pytest.raises(ComposerError, match="ask for one"):
        generate(model, gap_request(score, infill=True, interpolate=True))
    with pytest.raises(ComposerError, match="the bar where the gap starts"):
        generate(model, GenerateRequest(primer=score, bars=2, infill=True))


def test_the_editor_fills_the_loop_region_and_regenerates_the_selected_bars(tunes):
    score = tunes[0]
    lines = score.bar_starts(score.end_tick)
    track = next(t for t in score.tracks if len(t))
    fill = plan_generation(score, GenerationSettings(mode="fill", target_track=track.id),
                           EditorState(loop=(int(lines[4]), int(lines[6]))))
    assert fill.request.infill and (fill.start, fill.end) == (int(lines[4]), int(lines[6]))
    inside = track.notes[(track.notes["start"] >= lines[5]) & (track.notes["start"] < lines[6])]
    regenerate = plan_generation(score, GenerationSettings(mode="regenerate"),
                                 EditorState(selection=(track.id, inside[:2])))
    assert regenerate.request.infill and regenerate.track_id == track.id
    assert (regenerate.start, regenerate.end) == (int(lines[5]), int(lines[6]))
    with pytest.raises(ComposerError, match="Select notes"):
        plan_generation(score, GenerationSettings(mode="regenerate"), EditorState())


def test_the_command_fills_bars_of_a_file(tunes, tmp_path):
    from composer.io.midi import write_midi

    source = tmp_path / "tune.mid"
    write_midi(tunes[0], source)
    out = tmp_path / "filled.mid"
    args = [sys.executable, "-m", "composer.cli", "generate", "--model", "note_symbol_lstm-nottingham",
            "--primer", str(source), "--from-bar", "5", "--bars", "2", "--infill", "--out", str(out)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    filled = read_midi(out)
    lines = filled.bar_starts(filled.end_tick)
    assert filled.end_tick >= read_midi(source).end_tick - filled.ppq  # the whole piece, not cut at the gap
    assert len(real_gap(filled, int(lines[4]), int(lines[6])))
    missing = subprocess.run(args[:-7] + ["--bars", "2", "--infill", "--out", str(out)],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "--from-bar" in missing.stderr and "Traceback" not in missing.stderr


def test_the_vae_regenerates_the_selected_bars_of_one_voice_and_keeps_the_others(datasets):
    """Regenerating one voice of a four-voice chorale (its selected bars): the accepted edit
    rewrites that voice's bars only; the other three voices are the same notes as before."""
    from composer.generation.plan import accept_edit, candidate_parts

    score = read_midi(datasets / "js_fakes" / "midi" / "30.mid")
    lines = score.bar_starts(score.end_tick)
    alto = score.tracks[1]
    selected = alto.notes[(alto.notes["start"] >= lines[3]) & (alto.notes["start"] < lines[4])]
    plan = plan_generation(score, GenerationSettings(mode="regenerate"), EditorState(selection=(alto.id, selected)))
    result = generate(model_named("multitrack_vae-jsfakes"), plan.request)
    parts = candidate_parts(plan, result, 0)
    assert [p.track_id for p in parts] == [alto.id]
    before = {t.id: t.notes.copy() for t in score.tracks}
    accept_edit(score, plan, parts).apply(score)
    for track in score.tracks:
        if track.id != alto.id:
            assert np.array_equal(track.notes[["start", "end", "pitch"]], before[track.id][["start", "end", "pitch"]])
    changed = score.track(alto.id).notes
    outside = (changed["start"] < lines[3]) | (changed["start"] >= lines[4])
    assert np.array_equal(changed[outside][["start", "pitch"]],
                          before[alto.id][(before[alto.id]["start"] < lines[3]) |
                                          (before[alto.id]["start"] >= lines[4])][["start", "pitch"]])
