"""How long to train, and in what batches, from the size of the data: the "auto" schedule.

The papers fix epochs and batch sizes for their corpora (paper 001: batches of 1,024 for 10
epochs; paper 003: batches of 1 for 3 epochs). On a musician's folder of 100 tunes the same
numbers mean 10 optimizer steps in all, or 2,000 steps of one example each: a model that has
learned nothing. The default presets therefore set ``schedule="auto"``, and the trainer (and
``composer preprocess``, which shows the wizard the same numbers) plans before training:

- **Batch size**: the preset's, made smaller so that one pass over the training examples is
  at least :data:`STEPS_PER_PASS` steps (never below :data:`MIN_BATCH`).
- **Epoch**: one pass, kept between :data:`MIN_EPOCH_STEPS` and :data:`MAX_EPOCH_STEPS` steps
  so that validation, checkpoints and early stopping come neither every few steps nor once
  in an hour.
- **Length**: :data:`PASSES` passes over the data, at least :data:`MIN_STEPS` and at most
  :data:`MAX_STEPS` steps; early stopping (the preset's patience) ends it sooner once the
  validation loss stops improving, which on small folders it does.

What the user fixes (``--epochs``, ``--batch-size``, ``--steps-per-epoch`` or the same
``--set`` fields) is kept, and the rest planned around it. The paper presets keep
``schedule="fixed"``: their settings exactly. A resumed run keeps the plan it started with.
"""

from __future__ import annotations

import dataclasses
import math

AUTO = "auto"
FIXED = "fixed"
SCHEDULES = (AUTO, FIXED)

#: One pass over the data is at least this many batches (the batch shrinks to allow it).
STEPS_PER_PASS = 32
MIN_BATCH = 8
MIN_EPOCH_STEPS = 25
MAX_EPOCH_STEPS = 250
#: Passes over the data of an auto-scheduled run (early stopping usually ends it sooner).
PASSES = 60
MIN_STEPS = 2_000
MAX_STEPS = 30_000
#: The fields the plan sets; the ones a user gave are kept.
PLANNED_FIELDS = ("batch_size", "steps_per_epoch", "epochs")


def plan_schedule(config, train_examples: int, world_size: int = 1, given=frozenset()):
    """``config`` with its batch size, steps an epoch and epochs planned for ``train_examples``
    (the number of training windows, or sequences, one pass covers); unchanged unless its
    ``schedule`` is "auto". ``given``: the fields among :data:`PLANNED_FIELDS` the user set,
    which stay as they are. ``world_size`` processes each take a batch a step (torchrun)."""
    if check_schedule(config) != AUTO:
        return config
    n = max(int(train_examples), 1)
    batch = config.batch_size
    if "batch_size" not in given:
        largest = n // (STEPS_PER_PASS * world_size)
        batch = max(MIN_BATCH, min(config.batch_size, 2 ** int(math.log2(largest)) if largest >= 1 else 1))
    pass_steps = max(n // (batch * world_size), 1)
    if "steps_per_epoch" in given:
        steps_per_epoch = config.steps_per_epoch or pass_steps  # 0: one pass
    else:
        steps_per_epoch = min(max(pass_steps, MIN_EPOCH_STEPS), MAX_EPOCH_STEPS)
    epochs = config.epochs
    if "epochs" not in given:
        total = min(max(PASSES * pass_steps, MIN_STEPS), MAX_STEPS)
        epochs = max(math.ceil(total / steps_per_epoch), 2)
    return dataclasses.replace(config, batch_size=batch, steps_per_epoch=steps_per_epoch, epochs=epochs)


def check_schedule(config) -> str:
    """The config's schedule; a ComposerError for one that does not exist."""
    schedule = getattr(config, "schedule", FIXED)
    if schedule not in SCHEDULES:
        from composer.core.errors import ComposerError

        raise ComposerError(f"schedule must be one of {', '.join(SCHEDULES)}, not {schedule!r}")
    return schedule


def given_fields(epochs=None, batch_size=None, steps_per_epoch=None, overrides=()) -> frozenset:
    """The planned fields a user set, by option (not None) or by ``--set``."""
    named = {"epochs": epochs, "batch_size": batch_size, "steps_per_epoch": steps_per_epoch}
    return frozenset(k for k, v in named.items() if v is not None) | \
        frozenset(k for k in overrides if k in PLANNED_FIELDS)
