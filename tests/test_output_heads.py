"""The piano-roll families' output heads: the NADE head's likelihood is exact and its sampling
draws from it; every family trains, evaluates and generates with it; a bad head is one error."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from composer.core.errors import ComposerError
from composer.models.base import SamplingOptions, build_model, preset_config
from composer.models.output_heads import IndependentHead, NadeHead
from composer.models.pianoroll_common import step_thresholds
from engine_fixtures import write_training_folder

INFO = {"codec": {"kind": "pianoroll", "steps_per_beat": 4, "fps": None, "include_drums": False},
        "pitch_range": [48, 72]}
PIANO_ROLL_FAMILIES = ["pianoroll_lstm", "pianoroll_seq2seq", "bar_lstm"]


def nade(pitches=6, features=8, hidden=5, seed=0) -> NadeHead:
    """A NADE head with weights large enough that the pitches depend on each other strongly."""
    torch.manual_seed(seed)
    head = NadeHead(nn.Sequential(), features, pitches, hidden)
    with torch.no_grad():
        head.W.normal_(0, 2)
        head.V.normal_(0, 2)
    return head.eval()


def every_frame(pitches: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=pitches)))


def log_probability(head, features, frames) -> torch.Tensor:
    logits = head.logits(features.expand(len(frames), -1), frames)
    return -nn.functional.binary_cross_entropy_with_logits(logits, frames, reduction="none").sum(-1)


@torch.no_grad()
def test_nade_probabilities_of_every_frame_sum_to_one():
    head, frames = nade(), every_frame(6)
    for features in torch.randn(4, 8):
        assert float(log_probability(head, features, frames).exp().sum()) == pytest.approx(1.0, abs=1e-5)


@torch.no_grad()
def test_nade_pitches_depend_on_each_other():
    """Unlike the independent head, the probability of a frame is not the product of its pitches'."""
    head, frames = nade(pitches=4), every_frame(4)
    features = torch.randn(8)
    p = log_probability(head, features, frames).exp()
    marginals = (p[:, None] * frames).sum(0)
    independent = torch.prod(torch.where(frames > 0, marginals, 1 - marginals), dim=1)
    assert float((p - independent).abs().max()) > 0.02


@torch.no_grad()
def test_nade_sampling_draws_from_its_probabilities():
    head, frames = nade(pitches=4), every_frame(4)
    features = torch.randn(1, 8)
    exact = log_probability(head, features[0], frames).exp()
    n = 20000
    thresholds = step_thresholds(SamplingOptions(), (n, 4), None, torch.Generator().manual_seed(0), "cpu")
    drawn, logits = head.draw(features.expand(n, -1), thresholds)
    codes = (drawn * torch.tensor([8.0, 4.0, 2.0, 1.0])).sum(1).long()
    counts = torch.bincount(codes, minlength=16).float() / n
    assert float((counts - exact).abs().max()) < 0.015, (counts, exact)
    # the logits returned for the pitches drawn are each one's given the pitches drawn below it
    forced = head.logits(features.expand(n, -1), drawn)
    assert torch.allclose(logits[drawn > 0], forced[drawn > 0], atol=1e-5)


@torch.no_grad()
def test_nade_with_hidden_layers_draws_what_it_scores():
    """With dense layers before the NADE (pianoroll_lstm's dense_layers), sampling's fast path
    and the training path compute the same logits."""
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Dropout(0.3), nn.Linear(8, 12), nn.ReLU(), nn.Dropout(0.3))
    head = NadeHead(trunk, 12, 10, 7).eval()
    with torch.no_grad():
        head.W.normal_(0, 1)
        head.V.normal_(0, 1)
    features = torch.randn(64, 8)
    drawn, logits = head.draw(features, torch.randn(64, 10))
    forced = head.logits(features, drawn)
    assert drawn.any() and torch.allclose(logits[drawn > 0], forced[drawn > 0], atol=1e-5)


@torch.no_grad()
def test_forbidden_pitches_never_sound_and_the_rest_are_drawn_given_them():
    head = nade(pitches=6)
    mask = torch.tensor([True, False, True, True, False, True])
    thresholds = step_thresholds(SamplingOptions(temperature=2.0), (500, 6), mask,
                                 torch.Generator().manual_seed(1), "cpu")
    drawn, _ = head.draw(torch.randn(500, 8), thresholds)
    assert not drawn[:, ~mask].any() and drawn[:, mask].any()


@torch.no_grad()
def test_independent_head_draw_matches_its_forward():
    torch.manual_seed(0)
    head = IndependentHead(nn.Dropout(0.2), nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 6)).eval()
    features = torch.randn(5, 8)
    frame, logits = head.draw(features, torch.zeros(5, 6))
    assert torch.allclose(logits, head.logits(features)) and torch.equal(frame, (logits > 0).float())


@pytest.mark.parametrize("family", PIANO_ROLL_FAMILIES)
def test_eval_likelihood_is_the_training_loss(family):
    """``frame_predictions`` (what ``composer eval`` and infill scoring read) gives the same
    NLL as the loss on the same frames: the NADE likelihood is exact in both."""
    torch.manual_seed(0)
    model = build_model(family, preset_config(family, "tiny", head="nade"), INFO).eval()
    roll = torch.zeros(1, 33, 24)
    for t in range(33):
        roll[0, t, [(t // 2) % 12, 12 + (t // 4) % 12]] = 1.0
    with torch.no_grad():
        logits, target = model.frame_predictions(roll)
        nll = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
        assert torch.isfinite(nll).all() and len(nll) > 0
        if family == "pianoroll_lstm":  # one window: the loss's per-frame NLL is the same figure
            _, metrics = model.loss(roll)
            assert metrics["nll_per_frame"] == pytest.approx(float(nll.mean()), rel=1e-4)


@pytest.mark.parametrize("family", PIANO_ROLL_FAMILIES)
def test_generation_with_the_nade_head_follows_the_primer_voices_and_key(family):
    torch.manual_seed(0)
    model = build_model(family, preset_config(family, "tiny", head="nade"), INFO).eval()
    primer = np.zeros((32, 24), np.uint8)
    for t in range(32):
        primer[t, [0, 4, 7][(t // 4) % 3]] = 1  # one voice: C, E, G
        primer[t, 12] = 1                       # and a held C an octave up: two voices
    options = SamplingOptions(temperature=2.0, pitch_classes=frozenset({0, 2, 4, 5, 7, 9, 11}))
    result = list(model.generate(primer, 48, 3, options, torch.Generator().manual_seed(0)))[-1]
    new = result[:, 32:]
    assert new.shape == (3, 48, 24) and new.sum(axis=2).max() <= 2
    pitches = np.nonzero(new.any(axis=(0, 1)))[0] + 48
    assert all(p % 12 in (0, 2, 4, 5, 7, 9, 11) for p in pitches)


def test_an_unknown_head_is_one_clear_error(tmp_path):
    with pytest.raises(ComposerError, match="head must be one of independent, nade"):
        build_model("pianoroll_lstm", preset_config("pianoroll_lstm", "tiny", head="choral"), INFO)
    with pytest.raises(ComposerError, match="head_hidden must be between 1 and 4096"):
        build_model("bar_lstm", preset_config("bar_lstm", "tiny", head="nade", head_hidden=-3), INFO)
    songs = write_training_folder(tmp_path / "songs", 4)
    out = tmp_path / "m.safetensors"
    result = subprocess.run([sys.executable, "-m", "composer.cli", "train", "--family", "bar_lstm",
                             "--preset", "tiny", "--data", str(songs), "--out", str(out),
                             "--set", "head=choral", "--workers", "1"],
                            capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 1 and "head must be one of" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
