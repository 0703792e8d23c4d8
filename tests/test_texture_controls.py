"""Density (notes per beat) and polyphony (most notes at once) as sampling-time controls,
with the bundled models on real held-out tunes, from the API, the panel and the command line."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

from composer.core import ComposerError
from composer.core.notes import make_notes
from composer.data.dataset import split_of
from composer.data.scan import scan_midi_files
from composer.generation.generate import generate
from composer.generation.request import GenerateRequest
from composer.io.midi import read_midi
from composer.models.base import load_model
from composer.models.library import BUNDLED
from composer.representations.continuation import limit_voices, most_voices

STEERED = ("pianoroll_lstm-nottingham", "note_symbol_lstm-nottingham", "chord_token_lstm-jsfakes",
           "bar_lstm-jsfakes", "pianoroll_seq2seq-jsfakes")


@pytest.fixture(scope="module")
def tunes(datasets):
    out = []
    for rel, path in scan_midi_files(datasets / "nottingham"):
        if split_of(rel) == "test":
            out.append(read_midi(path))
        if len(out) == 2:
            return out
    pytest.skip("no held-out Nottingham tunes")


def generated(model, score, **kw):
    start = int(score.bar_starts(score.end_tick)[4])
    request = GenerateRequest(primer=score, start_tick=start, bars=8, variations=3, seed=2, **kw)
    beats = 8 * score.bar_ticks_at(start) / score.ppq
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return generate(model, request).continuations, beats


@pytest.mark.parametrize("name", STEERED)
def test_density_lands_within_a_fifth_of_the_request_and_polyphony_is_never_above_it(name, tunes):
    model = load_model(BUNDLED / f"{name}.safetensors")[0]
    for score in tunes:
        for density in (1.0, 2.0):
            notes, beats = generated(model, score, density=density, polyphony=2)
            achieved = np.mean([len(n) for n in notes]) / beats
            assert abs(achieved - density) <= 0.2 * density, (score.title, density, achieved)
            assert max(most_voices(n) for n in notes) <= 2
        alone, _ = generated(model, score, polyphony=1)
        assert max(most_voices(n) for n in alone) <= 1


def test_a_density_the_model_cannot_reach_says_so(tunes):
    """One voice on the primer's eighth-note grid holds at most two notes a beat: asking for
    six is answered, with a warning naming what was reached."""
    model = load_model(BUNDLED / "note_symbol_lstm-nottingham.safetensors")[0]
    start = int(tunes[0].bar_starts(tunes[0].end_tick)[4])
    with pytest.warns(UserWarning, match="asked for 6 notes a beat; the variations have"):
        generate(model, GenerateRequest(primer=tunes[0], start_tick=start, bars=4, density=6, polyphony=1))


def test_bad_values_and_families_without_the_controls_get_one_clear_message(tunes):
    for bad in ({"density": 0}, {"density": -1}, {"density": 100}, {"polyphony": 0}, {"polyphony": 40}):
        with pytest.raises(ComposerError, match=next(iter(bad))):
            GenerateRequest(**bad).validate()
    vae = load_model(BUNDLED / "multitrack_vae-jsfakes.safetensors")[0]
    with pytest.raises(ComposerError, match="cannot steer density"):
        generate(vae, GenerateRequest(primer=tunes[0], bars=2, density=2.0))
    done = subprocess.run([sys.executable, "-m", "composer.cli", "generate", "--model", "note_symbol_lstm-nottingham",
                           "--density", "0", "--out", "x.mid"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "density must be above 0" in done.stderr and "Traceback" not in done.stderr


def test_limit_voices_lets_the_held_note_give_way():
    notes = make_notes([0, 0, 0, 100, 100], [400, 400, 200, 300, 500], [60, 64, 67, 72, 48])
    kept = limit_voices(notes, 2)
    assert most_voices(kept) == 2 and len(kept) == 4
    assert most_voices(limit_voices(notes, 3)) == 3
    assert limit_voices(notes, 5) is notes  # within the limit: untouched


def test_the_panel_shows_the_controls_for_the_families_that_steer_them(qtbot):
    from composer.gui.generation_panel import GenerationPanel
    from composer.models.registry import family_spec

    panel = GenerationPanel()
    qtbot.addWidget(panel)
    spec = family_spec("pianoroll_lstm")
    panel.set_model("x", spec.capabilities, spec.controls)
    assert panel.form.isRowVisible(panel.density) and panel.form.isRowVisible(panel.polyphony)
    assert panel.settings().request.density is None and panel.density.text().startswith("as the primer")
    panel.density.setValue(1.5)
    panel.polyphony.setValue(2)
    request = panel.settings().request
    assert (request.density, request.polyphony) == (1.5, 2)
    vae = family_spec("multitrack_vae")
    panel.set_model("y", vae.capabilities, vae.controls)
    assert not panel.form.isRowVisible(panel.density)
    assert panel.settings().request.density is None and panel.settings().request.polyphony is None
