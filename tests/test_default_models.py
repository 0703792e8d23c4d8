"""The models shipped in checkpoints/: they load, say how they were made, and do not fall silent
or get stuck on one chord over a 60-second continuation (the failures paper 000 reported)."""

from pathlib import Path

import pytest

from composer.generation.generate import generate
from composer.generation.plan import model_sampling_defaults
from composer.generation.request import GenerateRequest, sampling_defaults
from composer.models.base import load_model
from composer.models.library import BUNDLED, list_models
from composer.models.registry import family_spec
from composer.representations.metrics import generation_check
from engine_fixtures import arpeggio_song

CHECKPOINTS = sorted(BUNDLED.glob("*.safetensors"))
README = (BUNDLED / "README.md").read_text()


def test_there_are_bundled_models_and_they_stay_small():
    assert CHECKPOINTS, "checkpoints/ has no models"
    assert sum(p.stat().st_size for p in CHECKPOINTS) < 100 * 1024 * 1024  # issue 16's budget


@pytest.mark.parametrize("path", CHECKPOINTS, ids=lambda p: p.name)
def test_bundled_model_loads_and_documents_its_origin(path: Path):
    model, meta = load_model(path)
    assert meta["data"]["files_used"] > 0 and meta["metrics"]
    assert f"--out checkpoints/{path.name}" in README, "checkpoints/README.md must give the command"
    assert any(entry.path == path and entry.bundled for entry in list_models())


@pytest.mark.filterwarnings("ignore::composer.core.errors.ComposerWarning")
@pytest.mark.parametrize("path", CHECKPOINTS, ids=lambda p: p.name)
def test_sixty_second_continuation_is_neither_silent_nor_stuck(path: Path):
    model, meta = load_model(path)
    primer = arpeggio_song(62, bars=3)
    # as the app and CLI use: the family's, or the model's own where its header has them
    defaults = sampling_defaults(model_sampling_defaults(family_spec(meta["family"]).sampling_defaults, meta["info"]))
    result = generate(model, GenerateRequest(primer=primer, seconds=60, variations=2, seed=0, **defaults))
    for score in result.scores:
        # a drum model's part is its drums (hits off the grid: each mostly an onset of its own)
        figures = generation_check(score, result.start_tick, include_drums=bool((meta["info"].get("codec") or {}).get("drums")))
        # The primer is self-made and not in every model's style (a folk-tune model pauses
        # more after it: 13-28% empty beats, against 0% after a Nottingham tune; see
        # benchmarks/RESULTS.md). Silence, the papers' failure, is near 100%.
        assert figures["empty_beat_rate"] < 0.35, figures
        assert figures["distinct_onset_chords"] >= 8, figures
        assert figures["longest_chord_run"] <= 8, figures
