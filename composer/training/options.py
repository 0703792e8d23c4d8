"""The training settings that are numbers, each described once.

A :class:`TrainOption` names the field that holds the setting in :class:`~composer.training.
trainer.TrainRequest` and in the wizard's :class:`~composer.training.runs.TrainSettings` (the
same name in both), its command-line flags, type and help, and, for the settings the training
wizard shows, its row there: label, range, step, decimals, unit. ``composer train`` and ``composer
preprocess`` make their options from it, a run's settings become a command line through it, and
the wizard's settings page makes its spin boxes from it (composer.gui.training.option_widgets),
so none of them can drift apart (they had: ``valid_split`` in the wizard, ``valid_fraction`` in
the trainer, ``--valid-split`` for one command and ``--valid-fraction`` for the other; both
spellings are still accepted).

Adding a numeric setting: a field of that name in TrainRequest (the trainer uses it) and in
TrainSettings, and a TrainOption here; with a ``label`` it is in the wizard too.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


def positive_minutes(text: str) -> float:
    """``--minutes``: a positive number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"the time limit must be more than 0 minutes, not {text}")
    return value


@dataclass(frozen=True)
class TrainOption:
    """One setting: its field, its flags (the first one is written), its type, help, default.

    ``help`` says what the setting is (the command's help and the wizard's tooltip);
    ``default_text`` what the command does without it ("default: the preset's"). The wizard
    shows the settings that have a ``label``, in a spin box over [``lo``, ``hi``] by ``step``,
    with ``decimals`` (0: whole numbers) and the unit ``suffix``. An option that may be left
    unset in the wizard names the word for that (``none_text``), shown one step below ``lo``.
    The range is the wizard's: the command passes on what it is given, and the trainer judges it
    (a test's single epoch, a patience of 100000)."""

    field: str
    flags: tuple
    type: object
    help: str
    default: object = None
    metavar: str | None = None
    default_text: str = ""
    label: str = ""
    lo: float = 0
    hi: float = 0
    step: float = 1
    decimals: int = 0
    suffix: str = ""
    none_text: str = ""

    @property
    def in_wizard(self) -> bool:
        return bool(self.label)

    @property
    def tooltip(self) -> str:
        """The help as a sentence."""
        return self.help[0].upper() + self.help[1:] + "."

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        text = f"{self.help} ({self.default_text})" if self.default_text else self.help
        parser.add_argument(*self.flags, dest=self.field, type=self.type, default=self.default,
                            metavar=self.metavar, help=text)

    def args(self, value) -> list[str]:
        """The command-line words for ``value`` ([] when unset: the preset decides)."""
        return [] if value is None else [self.flags[0], str(value)]


_PRESET = "default: the preset's"
_VALID = TrainOption("valid_fraction", ("--valid-split", "--valid-fraction"), float,
                     "share of the files kept to validate the model: the best epoch and early stopping "
                     "go by its loss", default_text=_PRESET, metavar="X",
                     label="Validation share", lo=0.0, hi=0.5, step=0.05, decimals=2)
_TEST = TrainOption("test_fraction", ("--test-split", "--test-fraction"), float,
                    "share of files held out for testing", default=0.1, default_text="default 0.1", metavar="X")

#: How the data is split: what ``composer preprocess`` must be told to read the data as training will.
DATA_OPTIONS = (_VALID, _TEST)

#: Every numeric setting of ``composer train`` (in the wizard's order).
TRAIN_OPTIONS = (
    TrainOption("epochs", ("--epochs",), int,
                "how many epochs to train; early stopping or the time limit may end it sooner",
                default_text=f"{_PRESET}; the default presets plan the epochs, steps an epoch and batch "
                             "size from the size of the data",
                label="Epochs", lo=2, hi=10_000),
    TrainOption("batch_size", ("--batch-size",), int, "examples a training step learns from",
                default_text="default: the preset's or the plan's", label="Batch size", lo=1, hi=4096),
    TrainOption("learning_rate", ("--lr", "--learning-rate"), float,
                "the learning rate: how far each step moves the weights", default_text=_PRESET,
                label="Learning rate", lo=1e-5, hi=1.0, step=1e-4, decimals=5),
    TrainOption("seq_len", ("--seq-len",), int, "training window length in frames or tokens",
                default_text=_PRESET, label="Sequence length", lo=2, hi=100_000),
    TrainOption("steps_per_epoch", ("--steps-per-epoch",), int, "batches an epoch; 0: one pass over the training examples",
                default_text="default: the preset's or the plan's"),
    *DATA_OPTIONS,
    TrainOption("patience", ("--patience",), int,
                "early stopping: epochs without a better validation loss before training stops",
                default_text=_PRESET, label="Early stopping", lo=1, hi=1000, suffix=" epochs"),
    TrainOption("minutes", ("--minutes",), positive_minutes,
                "stop after this many minutes of training, keeping the best model; it can be "
                "continued later", default_text="default: no limit", metavar="M",
                label="Time limit", lo=1, hi=100_000, suffix=" minutes", none_text="none"),
    TrainOption("seed", ("--seed",), int,
                "the random seed: the model's first weights, the order of the examples, dropout "
                "and transpositions", default=0, default_text="default 0", label="Seed", lo=0, hi=2**31 - 1),
)
