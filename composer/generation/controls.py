"""The generation controls, each described once.

A :class:`Control` holds what everyone needs to know about one setting of a generation: its
default, its range or choices, its label and its help. :class:`~composer.generation.request.
GenerateRequest` takes its defaults from :data:`CONTROLS` and checks values against them,
``composer generate`` makes its options from them, and the Generate panel its widgets' ranges,
steps and tooltips. Which families show a control is the family's ``FamilySpec.controls``
(registry); a family's own default (the VAE's threshold 0.3) is its ``sampling_defaults``.

Adding a control: a field in GenerateRequest with ``CONTROLS[...].default``, a Control here, the
SamplingOptions field the families read (and generate.py passing it on), and the families that
use it listing it in their ``controls``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from composer.core.errors import ComposerError

#: What multitrack families do with slots the primer leaves silent.
MISSING_SLOTS = ("silence", "prior")
SAMPLING_MODES = ("bernoulli", "threshold")


@dataclass(frozen=True)
class Control:
    """One generation setting. A number lies in [``lo``, ``hi``] (an end marked open is
    excluded); a choice is one of ``choices``. ``step`` and ``decimals`` are the panel's; the
    panel starts at ``panel_default`` where it differs from the request's ``default`` (three
    variations to choose from, where a script asks for one)."""

    name: str
    label: str
    help: str
    default: object
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple = ()
    step: float = 0.05
    decimals: int = 2
    panel_default: object = None
    #: The family may bring its own default (FamilySpec.sampling_defaults): the command line
    #: then leaves the option unset unless given.
    family_default: bool = False
    #: A whole number (when the default, None, does not say so).
    integer: bool = False
    #: The panel's text for "not set" (None), shown at the bottom of its range.
    off_text: str = ""

    @property
    def is_int(self) -> bool:
        return self.integer or (isinstance(self.default, int) and not isinstance(self.default, bool))

    def check(self, value) -> None:
        """A ComposerError, in the user's words, for a value outside the control's range
        (None, "not set", passes)."""
        if value is None:
            return
        if self.choices:
            if value not in self.choices:
                raise ComposerError(f"{self.name} must be {' or '.join(self.choices)}, not {value!r}")
            return
        below = value <= self.lo if self.lo_open else value < self.lo
        above = value >= self.hi if self.hi_open else value > self.hi
        if below or above:
            raise ComposerError(f"{self.name} must be {self.range_text()}, not {value}")

    def range_text(self) -> str:
        """"between 1 and 16", "above 0 and at most 600", "in (0, 1)"."""
        if self.lo_open and self.hi_open:
            return f"in ({self.lo:g}, {self.hi:g})"
        if self.lo_open:
            return f"above {self.lo:g} and at most {self.hi:g}"
        if self.hi_open:
            return f"at least {self.lo:g} and below {self.hi:g}"
        return f"between {self.lo:g} and {self.hi:g}"

    def panel_range(self) -> tuple[float, float]:
        """The panel widget's range: the control's, one step inside an open end."""
        return (self.lo + self.step if self.lo_open else self.lo, self.hi - self.step if self.hi_open else self.hi)

    @property
    def tooltip(self) -> str:
        """The help as a sentence."""
        return self.help[0].upper() + self.help[1:] + "."

    def start_value(self):
        """What the panel shows first."""
        return self.default if self.panel_default is None else self.panel_default

    def add_option(self, parser, default=None, **extra) -> None:
        """``--name`` on ``parser`` (an ArgumentParser or a group) with the help and the type;
        its default is the control's unless the family brings one (then None)."""
        if default is None and not self.family_default:
            default = self.default
        kind = {"choices": list(self.choices)} if self.choices else {"type": int if self.is_int else float}
        facts = ["default: the family's" if self.family_default else
                 "" if self.default is None else f"default: {self.default}",
                 "" if self.choices else self.range_text()]
        parser.add_argument("--" + self.name.replace("_", "-"), default=default, **kind,
                            help=f"{self.help} ({'; '.join(f for f in facts if f)})", **extra)


CONTROLS: dict[str, Control] = {c.name: c for c in (
    Control("bars", "Length", "how many bars to generate, in the primer's meter", 4.0, 0, 600, lo_open=True,
            step=0.5, decimals=1),
    Control("seconds", "Length", "how many seconds to generate, at the primer's tempo", None, 0, 600,
            lo_open=True, step=1, decimals=1),
    Control("temperature", "Temperature", "higher is more adventurous, lower more predictable", 1.0, 0.05, 5),
    Control("sampling", "Sampling", "bernoulli draws each note at random by its probability; "
            "threshold plays every note more likely than the threshold", "bernoulli",
            choices=SAMPLING_MODES, family_default=True),
    Control("threshold", "Threshold", "with threshold sampling, the probability a note needs to sound",
            0.5, 0, 1, lo_open=True, hi_open=True, family_default=True),
    Control("top_p", "Top-p", "token families: leave out the least likely choices that together have "
            "1 - top-p", 1.0, 0, 1, lo_open=True),
    Control("noise", "Noise", "latent families (multitrack_vae): size of the Gaussian noise added to "
            "each bar's latent", 0.0, 0, 2, family_default=True),
    Control("variations", "Variations", "how many different continuations", 1, 1, 16, step=1, decimals=0,
            panel_default=3),
    Control("seed", "Seed", "the random seed: the same seed and settings give the same variations", 0, 0,
            2**31 - 1, step=1, decimals=0),
    Control("density", "Density", "notes per beat the new music aims at (none: as the model and the "
            "primer have it)", None, 0, 16, lo_open=True, step=0.25, decimals=2, off_text="as the primer"),
    Control("polyphony", "Polyphony", "the most notes sounding at once (none: as the primer has it)",
            None, 1, 16, step=1, decimals=0, integer=True, off_text="as the primer"),
    Control("missing_slots", "Missing voices", "multitrack_vae: instruments silent in the primer's last "
            "bar stay silent (with --free: until the lead brings them in) or start from a random "
            "latent", "silence", choices=MISSING_SLOTS),
)}


def add_control_options(parser: argparse.ArgumentParser, names) -> None:
    """The options of the controls ``names`` on ``parser`` (``composer generate``)."""
    for name in names:
        CONTROLS[name].add_option(parser)
