"""Issue 13's bad input for every bundled model: a primer in 7/8 that changes to 3/4, at 40 and
at 240 quarters a minute. Each model continues it with notes on the primer's grid (eighths),
in its key, with no error."""

from pathlib import Path

import numpy as np
import pytest

from composer.core import Score, TempoChange, TimeSignature, Track, make_notes
from composer.generation.generate import generate
from composer.generation.request import GenerateRequest
from composer.models.base import load_model
from composer.models.library import BUNDLED
from composer.representations.continuation import continuation_measures, seam_for

PPQ = 480
EIGHTH = PPQ // 2
BUNDLED_MODELS = sorted(BUNDLED.glob("*.safetensors"))
#: D major, walking on eighths: two bars of 7/8, then two of 3/4.
TUNE = [62, 64, 66, 67, 69, 67, 66, 64, 62, 64, 66, 69, 71, 69, 67, 66, 64, 62, 61, 62, 64, 66, 64, 62, 62, 66]


def odd_meter_primer(qpm: float) -> Score:
    starts = np.arange(len(TUNE)) * EIGHTH
    melody = Track("Melody", 0, False, make_notes(starts, starts + EIGHTH, TUNE, 90))
    change = 2 * 7 * EIGHTH  # after two bars of 7/8
    return Score([melody], PPQ, [TempoChange(0, qpm)], [TimeSignature(0, 7, 8), TimeSignature(change, 3, 4)])


@pytest.fixture(scope="module", params=BUNDLED_MODELS, ids=lambda p: Path(p).stem)
def model(request):
    return load_model(request.param)[0]


@pytest.mark.filterwarnings("ignore::composer.core.errors.ComposerWarning")
@pytest.mark.parametrize("qpm", [40.0, 240.0])
def test_a_primer_in_seven_eight_then_three_four_at_any_tempo(model, qpm):
    score = odd_meter_primer(qpm)
    primer = score.tracks[0].notes
    result = generate(model, GenerateRequest(primer=score, track_id=score.tracks[0].id, bars=2,
                                             variations=2, seed=3))
    assert result.start_tick == score.end_tick
    if result.slot_tracks and all(t.is_drum for t in result.slot_tracks[0]):
        # a drum model writes drums under the tune (from scratch: the tune has none)
        assert all(len(t.notes) for tracks in result.slot_tracks for t in tracks), "silent drums"
        return
    for notes in result.continuations:
        assert len(notes), "a silent continuation"
        seam = seam_for(result.scores[0], primer, result.start_tick, int(notes["end"].max()))
        measures = continuation_measures(primer, notes, seam)
        assert measures["on_grid"] >= 0.9 and measures["in_key"] >= 0.75, measures
