"""Smoke test of benchmarks/bench_continuation.py: its primer builders and its measure loop on
tiny cases (no sweep of the bundled models), so the script does not rot."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from composer.core import Score, TempoChange, TimeSignature, Track, make_notes
from composer.representations.keys import find_key

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_continuation", ROOT / "benchmarks" / "bench_continuation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def test_drawn_primers_cover_keys_tempos_and_meters(bench):
    combos = bench.drawn_combinations(24)
    assert {(tonic, mode) for tonic, mode, _, _ in combos} == {(t, m) for t in range(12) for m in ("major", "minor")}
    assert {qpm for _, _, qpm, _ in combos} == {72.0, 110.0, 160.0}
    assert {meter for _, _, _, meter in combos} == {(4, 4), (3, 4)}
    assert len(set(bench.drawn_combinations(144))) == 144  # the full run: every combination


def test_a_drawn_primer_is_in_its_key_on_its_grid_and_goes_on(bench):
    cases = bench.drawn_cases(24)
    assert len(cases) == 24
    d_minor = next(c for c in cases if c.name.startswith("D minor"))
    bar = d_minor.primer.time_signatures[0].bar_ticks(bench.PPQ)
    assert d_minor.seam == 4 * bar and d_minor.end == 12 * bar
    assert [t.name for t in d_minor.primer.tracks] == ["Melody", "Bass"]
    assert d_minor.primer_notes["start"].max() < d_minor.seam  # the primer holds nothing past the seam
    key = find_key(d_minor.primer_notes)
    assert (key.tonic, key.mode) == (2, "minor")
    assert np.all(d_minor.primer_notes["start"] % (bench.PPQ // 2) == 0)  # eighths and quarters
    assert d_minor.real is not None and d_minor.real["start"].min() >= d_minor.seam
    again = bench.drawn_cases(24)[cases.index(d_minor)]
    assert np.array_equal(again.primer_notes, d_minor.primer_notes)  # deterministic


def test_the_reference_row_of_drawn_primers(bench):
    measured = [bench.measure_reference(case) for case in bench.drawn_cases(6)]
    row = bench.summarize(measured)
    assert row["primers"] == 6 and row["failed"] == 0 and row["silent"] == 0
    assert row["in_key"] > 0.95 and row["on_grid"] == 1.0
    assert 0.5 <= row["density_ratio"] <= 2


def _case(bench, continuation_pitches, start_offset=0):
    q = bench.PPQ
    primer = Score([Track("m", 0, False, make_notes(np.arange(16) * q, np.arange(16) * q + q,
                                                     [60, 62, 64, 65, 67, 69, 71, 72] * 2))],
                   q, [TempoChange(0, 120.0)], [TimeSignature(0, 4, 4)])
    case = bench.case_from_piece(primer, "drawn", "C major scale")
    starts = case.seam + np.arange(len(continuation_pitches)) * q + start_offset
    return case, make_notes(starts, starts + q // 2, continuation_pitches)


def test_the_measure_loop_judges_key_grid_and_silence(bench):
    case, faithful = _case(bench, [60, 64, 67, 72] * 8)
    _, wrong = _case(bench, [61, 63, 66, 68] * 8, start_offset=bench.PPQ // 3 + 7)
    measured = bench.measure_continuations(case, [faithful, wrong, faithful[:0]])
    assert measured.silent == 1
    faithful_m, wrong_m, silent_m = measured.values
    assert faithful_m["in_key"] == 1.0 and faithful_m["on_grid"] == 1.0
    assert wrong_m["in_key"] == 0.0 and wrong_m["on_grid"] == 0.0
    assert math.isnan(silent_m["in_key"])
    row = bench.summarize([measured])
    assert row["in_key"] == 0.5 and row["silent"] == pytest.approx(1 / 3)
    reference = {"in_key": 0.97}
    assert bench.goals_met(row, reference) == {"in_key": False, "on_grid": False, "density_ratio": True}
    assert bench.in_key_goal(reference) == pytest.approx(0.92)


def test_a_model_that_refuses_a_primer_is_a_counted_failure(bench, monkeypatch):
    from composer.core.errors import ComposerError

    def refuse(*args, **kwargs):
        raise ComposerError("no notes in this model's range")

    monkeypatch.setattr(bench, "generate_for", refuse)
    case, _ = _case(bench, [60])
    measured = bench.measure_model(None, "pianoroll_lstm", case, seed=0, variations=2)
    assert measured.error == "no notes in this model's range"
    assert bench.summarize([measured])["failed"] == 1


@pytest.mark.skipif(not (DATASETS / "js_fakes").is_dir(), reason="the shared datasets are not here")
def test_held_out_primers_from_each_data_set(bench):
    jsb = bench.jsb_cases(DATASETS / "pianoroll_benchmarks" / "jsb_czhuang" / "Jsb16thSeparated.json", 2)
    assert len(jsb) == 2 and [t.name for t in jsb[0].primer.tracks] == ["S", "A", "T", "B"]
    fakes = bench.midi_cases(DATASETS / "js_fakes", "jsfakes", 2)
    from composer.data.dataset import split_of
    assert len(fakes) == 2 and all(split_of(c.name) == "test" for c in fakes)
    pop = bench.pop909_cases(DATASETS / "pop909", 1)
    assert len(pop) == 1 and [t.name for t in pop[0].primer.tracks] == ["MELODY", "PIANO"]
    # its bar lines sit on the music's beats: most onsets on eighths
    assert np.mean(pop[0].primer_notes["start"] % (pop[0].primer.ppq // 2) < pop[0].primer.ppq // 16) > 0.8
    for case in jsb + fakes + pop:
        assert case.primer_notes["start"].max() < case.seam < case.end
        assert case.real is not None and case.real["start"].min() >= case.seam


def test_one_tiny_model_run_and_its_json(bench, tmp_path):
    """The whole loop on one untrained model and two drawn primers."""
    import torch

    from composer.models.base import build_model, preset_config, save_model

    torch.manual_seed(0)
    info = {"codec": {"kind": "pianoroll", "steps_per_beat": 4, "fps": None, "include_drums": False},
            "pitch_range": [36, 84]}
    path = tmp_path / "tiny.safetensors"
    save_model(path, build_model("pianoroll_lstm", preset_config("pianoroll_lstm", "tiny"), info), {"name": "tiny"})
    result = bench.run([path], bench.drawn_cases(2), variations=2, log=lambda *a: None)
    rows = result.models["tiny"]
    assert rows["drawn"]["primers"] == 2 and "all" in rows
    assert set(bench.COLUMNS) <= set(rows["all"])
    text = bench.table(result)
    assert "(real continuation)" in text and "tiny" in text
    json.dumps(bench.as_json(result))  # NaN-free JSON
