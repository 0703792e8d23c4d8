"""Each generation control is described once (composer.generation.controls): the request's
defaults and validation, ``composer generate``'s options and the Generate panel's widgets agree."""

import argparse
import dataclasses
import re

import pytest

from composer.core.errors import ComposerError
from composer.generation import generate_cli
from composer.generation.controls import CONTROLS
from composer.generation.request import GenerateRequest


def test_the_request_takes_its_defaults_from_the_controls_and_they_pass_their_own_checks():
    request = GenerateRequest()
    for control in CONTROLS.values():
        if control.name in ("bars", "seconds"):  # the length: bars by default, or seconds
            continue
        assert getattr(request, control.name) == control.default, control.name
        control.check(control.default)
    assert request.length_bars() == CONTROLS["bars"].default
    assert GenerateRequest(seconds=5).length_bars() is None


def test_validation_changes_nothing_and_names_the_range():
    request = GenerateRequest()
    before = dataclasses.replace(request)
    request.validate()
    assert request == before and request.bars is None  # (it used to fill in 4 bars)
    for name, bad, words in (("variations", 17, "between 1 and 16"), ("temperature", 0.01, "between 0.05 and 5"),
                             ("threshold", 1.0, "in (0, 1)"), ("top_p", 0, "above 0 and at most 1"),
                             ("noise", -0.1, "between 0 and 2"), ("bars", 0, "above 0 and at most 600"),
                             ("sampling", "greedy", "bernoulli or threshold")):
        with pytest.raises(ComposerError, match=re.escape(f"{name} must be {words}")):
            GenerateRequest(**{name: bad}).validate()
    with pytest.raises(ComposerError, match="not both"):
        GenerateRequest(bars=2, seconds=3).validate()


def test_the_command_line_takes_defaults_ranges_and_help_from_the_controls():
    parser = argparse.ArgumentParser()
    generate_cli.add_arguments(parser)
    args = parser.parse_args(["--model", "m", "--out", "o.mid"])
    assert args.bars == 4 and args.variations == 1 and args.temperature == 1.0 and args.seed == 0
    assert args.threshold is None and args.noise is None and args.sampling is None  # the family's
    text = parser.format_help()
    for control in ("variations", "temperature", "top_p"):
        assert CONTROLS[control].range_text() in " ".join(text.split()), control


def test_the_panel_widgets_have_the_controls_ranges_and_defaults(qtbot):
    from composer.gui.generation_panel import GenerationPanel

    panel = GenerationPanel()
    qtbot.addWidget(panel)
    for name in ("temperature", "threshold", "top_p", "noise"):
        slider = getattr(panel, name)
        assert (slider.minimum(), slider.maximum()) == pytest.approx(CONTROLS[name].panel_range()), name
    assert (panel.variations.minimum(), panel.variations.maximum()) == (1, 16)
    assert panel.variations.value() == CONTROLS["variations"].panel_default
    assert panel.bars.value() == CONTROLS["bars"].default and panel.bars.minimum() == 0.5
    # Whatever the panel lets a user set, the request accepts.
    for name in ("temperature", "threshold", "top_p", "noise"):
        for end in CONTROLS[name].panel_range():
            CONTROLS[name].check(end)
