"""A run's resume state: what is written beside the checkpoint after every epoch, and read back
by ``resume=True`` to go on where the run stood.

The state (composer.models.checkpoint.save_resume_state) holds the weights, the optimizer and
scheduler state, the torch RNG state, the run's :class:`RunState` after its last finished epoch
and its :class:`RunRecord` (config, data info, preset, checkpoint metadata).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from composer.models.checkpoint import CheckpointError, read_metadata, save_resume_state


@dataclass
class RunState:
    """Where a run stands after an epoch, besides its weights: kept in the resume state."""

    best_valid: float = math.inf
    best_epoch: int = 0
    #: Epochs since the validation loss last improved (early stopping, learning-rate halving).
    bad_epochs: int = 0
    #: One dict per finished epoch: its number, training loss and validation metrics.
    history: list = field(default_factory=list)
    #: Optimizer steps taken, every start of the run together (a time limit ends an epoch early).
    steps: int = 0

    @classmethod
    def from_resume(cls, saved: dict, steps_per_epoch: int) -> "RunState":
        """The state a resume file holds (one from before steps were counted: full epochs)."""
        steps = saved.get("steps", saved["epoch"] * steps_per_epoch)
        return cls(saved["best_valid"], saved["best_epoch"], saved["bad_epochs"], saved["history"], steps)


@dataclass(frozen=True)
class RunRecord:
    """What a run is, the same after every epoch: where it saves, its config, data info,
    preset and checkpoint metadata."""

    out: Path
    config: object
    info: dict
    preset: str
    metadata: dict


def save_resume(record: RunRecord, model, optimizer, scheduler, epoch: int, run: RunState) -> None:
    """The resume state after ``epoch``: weights, optimizer, where the run stands, and what it is."""
    save_resume_state(record.out, {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "config": dataclasses.asdict(record.config), "info": record.info, "preset": record.preset,
        "epoch": epoch, **dataclasses.asdict(run), "torch_rng": torch.get_rng_state(),
        "metadata": {"family": model.family, **record.metadata},
    })


def restore_resume(resume_state: dict, model, optimizer, scheduler, steps_per_epoch: int) -> tuple[int, RunState]:
    """Load a resume state into the model, optimizer and scheduler, and the torch RNG; returns
    the first epoch to run and where the run stood."""
    model.load_state_dict(resume_state["model"])
    optimizer.load_state_dict(resume_state["optimizer"])
    if scheduler is not None and resume_state.get("scheduler"):
        scheduler.load_state_dict(resume_state["scheduler"])
    run = RunState.from_resume(resume_state, steps_per_epoch)
    torch.set_rng_state(resume_state["torch_rng"])
    return resume_state["epoch"] + 1, run


def resumed_config(request, module, out: Path, resume_state: dict):
    """The config, data info and preset of the run a resume state holds. Continuing may change
    how long to go on and when to stop (the request's epochs, patience, steps an epoch), never
    the model or data; a resume state of another family is an error."""
    meta = read_metadata(out) if out.exists() else resume_state["metadata"]
    if meta["family"] != request.family:
        raise CheckpointError(f"{out.name} holds a {meta['family']!r} model, not {request.family!r}")
    more = {"epochs": request.epochs, "patience": request.patience, "steps_per_epoch": request.steps_per_epoch}
    config = dataclasses.replace(module.Config(**resume_state["config"]),
                                 **{k: v for k, v in more.items() if v is not None})
    return config, resume_state["info"], resume_state["preset"]
