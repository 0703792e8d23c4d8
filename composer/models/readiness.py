"""Is a trained model likely to be under-trained? One rule, for the model card and the wizard.

A model that has barely trained generates noise (a piano-roll model turns on a third of the
keys at once), and a musician who presses Try it deserves to be told why. The rule looks only
at what a checkpoint header records (no torch):

1. **Few training steps.** Fewer than :data:`MIN_STEPS` optimizer steps (batches) before the
   saved epoch. No family here learns music in so few updates: the tiny presets' 2 epochs of
   4 steps give noise, while every bundled model took at least 180 steps.
2. **Still learning fast.** The validation loss fell by :data:`FAST_FALL` (3%) or more in the
   epoch the model was saved at. Late in a good training the loss falls by well under 1% an
   epoch; a 3% fall means the model was still early on its curve when training ended. A run
   that stopped by early stopping (the loss stopped improving for several epochs) is past
   that point, so the wizard, which knows how a run ended, leaves this rule out for it.

The steps come from the header's ``training.steps`` (recorded since this module exists), or for
older headers from ``config.steps_per_epoch`` x the saved epoch when the run fixed its steps per
epoch; the losses from ``training.valid_losses``. A header that records neither gets no warning:
the rule says nothing it cannot know.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_STEPS = 100
FAST_FALL = 0.03


def undertrained_reason(steps: int | None, epochs: int | None, valid_losses: Sequence[float] = (),
                        stopped_by_patience: bool = False) -> str:
    """Why a model is probably under-trained, as a sentence; "" when the rule sees no sign.

    ``steps``: optimizer steps before the saved epoch (None: unknown); ``epochs``: the saved
    epoch; ``valid_losses``: validation losses of the last epochs up to the saved one, oldest
    first; ``stopped_by_patience``: the run ended by early stopping.
    """
    if steps is not None and steps < MIN_STEPS:
        if not epochs:
            return "it stopped before finishing its first epoch"
        return (f"it learned from only {steps:,} batches ({epochs} epoch{'s' if epochs != 1 else ''}); "
                f"models need at least {MIN_STEPS} before they play more than noise")
    losses = [float(v) for v in valid_losses if isinstance(v, (int, float))]
    if not stopped_by_patience and len(losses) >= 2 and losses[-2] > 0:
        fall = (losses[-2] - losses[-1]) / losses[-2]
        if fall >= FAST_FALL:
            return (f"its validation loss was still falling fast ({fall:.0%} in its last epoch), "
                    f"so more epochs would likely make it better")
    return ""


def header_steps(meta: dict) -> int | None:
    """Optimizer steps before the saved epoch, from a checkpoint header (None: unknown)."""
    training = meta.get("training") or {}
    if isinstance(training.get("steps"), int):
        return training["steps"]
    per_epoch = (meta.get("config") or {}).get("steps_per_epoch")
    epochs = training.get("epochs")
    if isinstance(per_epoch, int) and per_epoch > 0 and isinstance(epochs, int):
        return per_epoch * epochs
    return None


def header_warning(meta: dict, stopped_by_patience: bool = False) -> str:
    """"Probably under-trained: ..." for a checkpoint header, or "" (see the module docstring)."""
    training = meta.get("training") or {}
    reason = undertrained_reason(header_steps(meta), training.get("epochs"),
                                 training.get("valid_losses") or (), stopped_by_patience)
    if not reason:
        return ""
    return f"Probably under-trained: {reason}. Expect noisy, random-sounding results; train it longer."
