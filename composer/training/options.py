"""The training settings that are numbers, each described once.

A :class:`TrainOption` names the field that holds the setting in :class:`~composer.training.
trainer.TrainRequest` and in the wizard's :class:`~composer.training.runs.TrainSettings` (the
same name in both), its command-line flags, type and help. ``composer train`` and ``composer
preprocess`` make their options from it, and a run's settings become a command line through it,
so the three cannot drift apart (they had: ``valid_split`` in the wizard, ``valid_fraction`` in
the trainer, ``--valid-split`` for one command and ``--valid-fraction`` for the other; both
spellings are still accepted).
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
    """One setting: its field, its flags (the first one is written), its type, help, default."""

    field: str
    flags: tuple
    type: object
    help: str
    default: object = None
    metavar: str | None = None

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(*self.flags, dest=self.field, type=self.type, default=self.default,
                            metavar=self.metavar, help=self.help)

    def args(self, value) -> list[str]:
        """The command-line words for ``value`` ([] when unset: the preset decides)."""
        return [] if value is None else [self.flags[0], str(value)]


_VALID = TrainOption("valid_fraction", ("--valid-split", "--valid-fraction"), float,
                     "share of files for validation (default: the preset's)", metavar="X")
_TEST = TrainOption("test_fraction", ("--test-split", "--test-fraction"), float,
                    "share of files held out for testing (default 0.1)", default=0.1, metavar="X")

#: How the data is split: what ``composer preprocess`` must be told to read the data as training will.
DATA_OPTIONS = (_VALID, _TEST)

#: Every numeric setting of ``composer train``.
TRAIN_OPTIONS = (
    TrainOption("epochs", ("--epochs",), int,
                "how many epochs (default: the preset's; the default presets plan the epochs, steps "
                "an epoch and batch size from the size of the data)"),
    TrainOption("batch_size", ("--batch-size",), int, "examples a step (default: the preset's or the plan's)"),
    TrainOption("learning_rate", ("--lr", "--learning-rate"), float, "the learning rate (default: the preset's)"),
    TrainOption("seq_len", ("--seq-len",), int, "training window length in frames or tokens"),
    TrainOption("steps_per_epoch", ("--steps-per-epoch",), int,
                "batches an epoch (default: the preset's or the plan's; 0: one pass)"),
    *DATA_OPTIONS,
    TrainOption("patience", ("--patience",), int, "early stopping: epochs without improvement"),
    TrainOption("minutes", ("--minutes",), positive_minutes,
                "stop after M minutes of training, keeping the best model (default: no limit)", metavar="M"),
)
