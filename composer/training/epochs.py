"""The epoch loop of a training run: train on random batches, validate on fixed examples, save
the best model and the resume state, and stop when it is time (early stop, time limit, request).

A batch is a tensor of training examples stacked on a new first axis, (batch_size, ...), as
the family's example set makes them (composer.models.base.TrainingExamples).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from composer.models.base import FamilyModel, save_model

from .device import Distributed
from .progress import Progress
from .resume import RunRecord, RunState, save_resume


class LossModule(nn.Module):
    """Lets DistributedDataParallel see the loss computation as ``forward``."""

    def __init__(self, model: FamilyModel):
        super().__init__()
        self.model = model

    def forward(self, batch):
        return self.model.loss(batch, metrics=False)


def batches(dataset, batch_size: int, steps: int):
    """``steps`` batches of random training examples (composer.models.base.TrainingExamples)."""
    for _ in range(steps):
        yield dataset.sample_batch(batch_size)


def train_step(wrapped, model, optimizer, scheduler, batch, grad_clip) -> float:
    """One optimizer step on ``batch``; returns its loss."""
    loss, _ = wrapped(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss.item()


def evaluate(model: FamilyModel, dataset, batch_size: int, device) -> dict[str, float]:
    """Mean loss and metrics over fixed validation examples."""
    model.eval()
    totals: dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = torch.stack([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
            loss, metrics = model.loss(batch.to(device))
            n = len(batch)
            totals["loss"] = totals.get("loss", 0.0) + float(loss) * n
            for key, value in metrics.items():
                totals[key] = totals.get(key, 0.0) + value * n
            count += n
    model.train()
    return {k: v / max(count, 1) for k, v in totals.items()}


@dataclass
class Fit:
    """What the epochs train with: the model (``wrapped``: the same, as DDP sees it), the
    optimizer and scheduler of the stage under way, and the example sets."""

    model: FamilyModel
    wrapped: nn.Module
    optimizer: object
    scheduler: object
    train_set: object
    #: None when there are no validation pieces (the training loss stands in).
    valid_set: object
    config: object
    steps_per_epoch: int
    #: The stage under way (None: a family trained in one go).
    stage: str | None = None

    def step(self, batch) -> float:
        """One optimizer step on ``batch``; returns its loss."""
        return train_step(self.wrapped, self.model, self.optimizer, self.scheduler, batch, self.config.grad_clip)

    def enter_stage(self, stage: str) -> None:
        """Go on to ``stage``, with a fresh optimizer and scheduler."""
        self.stage = stage
        self.model.set_stage(stage)
        self.optimizer = self.model.make_optimizer(self.config.learning_rate)
        self.scheduler = self.model.make_scheduler(self.optimizer, self.steps_per_epoch)


@dataclass(frozen=True)
class Session:
    """This process's part in a run: the request (a TrainRequest), the torchrun group, where
    progress goes, what asks it to stop, its device, when its epochs began (monotonic seconds)
    and whether its training windows are transposed at random."""

    request: object
    dist: Distributed
    emit: Progress
    stop: object
    device: torch.device
    started: float
    augment: bool

    def training_meta(self, epoch: int, steps: int | None = None, valid_losses: list[float] = ()) -> dict:
        """The header's ``training`` record; ``steps`` and the last ``valid_losses`` let the model
        card tell an under-trained model (composer.models.readiness)."""
        request = self.request
        return {"epochs": epoch, "device": str(self.device), "world_size": self.dist.world_size,
                "seconds": round(time.monotonic() - self.started, 1), "seed": request.seed,
                "augment": self.augment, "command": request.command,
                "steps": steps, "valid_losses": [round(v, 6) for v in valid_losses]}

    def out_of_time(self, deadline: float) -> bool:
        """Whether a time limit is set and ``deadline`` has passed, on any process. (Asked only
        with a time limit: under torchrun each question is an all-reduce.)"""
        return bool(self.request.minutes) and self.dist.any(time.monotonic() >= deadline)


@dataclass
class Ending:
    """How the epochs ended: ``status`` (done, stopped), why, and the last epoch finished."""

    status: str
    reason: str
    epoch: int
    #: A stop request came in the middle of an epoch (its resume state is still to save).
    stopped_mid_epoch: bool = False


def run_epochs(fit: Fit, run: RunState, record: RunRecord, start_epoch: int, session: Session) -> Ending:
    """Epochs ``start_epoch`` to the config's last: each trained, validated and saved; ends early
    on patience, a time limit or a stop request."""
    model, config, emit = fit.model, fit.config, session.emit
    ending = Ending("done", "finished all epochs", start_epoch - 1)
    deadlines = stage_deadlines(model, config.epochs, session.started, session.request.minutes)
    last_stage = model.stage_for_epoch(config.epochs)
    out_of_time_stage = None  # a stage whose share of the time limit is spent: its epochs are skipped
    for epoch in range(start_epoch, config.epochs + 1):
        ending.epoch = epoch
        if out_of_time_stage is not None and model.stage_for_epoch(epoch) == out_of_time_stage:
            continue
        if fit.stage is not None and model.stage_for_epoch(epoch) != fit.stage:
            fit.enter_stage(model.stage_for_epoch(epoch))
            run.best_valid, run.bad_epochs = math.inf, 0
            emit("stage", stage=fit.stage, epoch=epoch, epochs=config.epochs)
        epoch_start, deadline = time.monotonic(), deadlines[fit.stage]
        train_loss, stopped = _train_epoch(fit, run, epoch, deadline, session)
        if stopped:
            ending.epoch -= 1  # this epoch did not finish: a resume repeats it
            ending.status, ending.reason, ending.stopped_mid_epoch = "stopped", "stopped on request", True
            return ending
        valid, improved = _validate_and_save(fit, run, record, epoch, train_loss, session)
        eta = (time.monotonic() - session.started) / max(epoch - start_epoch + 1, 1) * (config.epochs - epoch)
        emit("epoch", epoch=epoch, epochs=config.epochs, train_loss=train_loss, valid_loss=valid.get("loss"),
             metrics={k: v for k, v in valid.items() if k != "loss"}, best=improved, best_epoch=run.best_epoch,
             checkpoint=str(record.out), eta=eta, seconds=time.monotonic() - epoch_start, **_staged(fit))
        if run.bad_epochs >= config.patience and fit.stage == last_stage:
            ending.reason = f"early stop: no improvement for {config.patience} epochs"
            return ending
        if session.out_of_time(deadline):
            if fit.stage == last_stage:
                ending.reason = f"time limit: {session.request.minutes:g} minutes of training"
                return ending
            out_of_time_stage = fit.stage
        if session.dist.any(session.stop.requested()):
            ending.status, ending.reason = "stopped", "stopped on request"
            return ending
    return ending


def _staged(fit: Fit) -> dict:
    """The ``stage`` field of a staged family's step and epoch events ({} for the others)."""
    return {} if fit.stage is None else {"stage": fit.stage}


def _train_epoch(fit: Fit, run: RunState, epoch: int, deadline: float, session: Session) -> tuple[float, bool]:
    """Train one epoch (cut short by the time limit's ``deadline``); returns its mean training
    loss over every process, and whether a stop request ended it half-way."""
    config, dist, steps_per_epoch = fit.config, session.dist, fit.steps_per_epoch
    fit.model.train()
    total, count, epoch_start, stopped = 0.0, 0, time.monotonic(), False
    for step, batch in enumerate(batches(fit.train_set, config.batch_size, steps_per_epoch), 1):
        total += fit.step(batch.to(session.device, non_blocking=True))
        count += 1
        run.steps += 1
        if step % max(steps_per_epoch // 20, 1) == 0 or step == steps_per_epoch:
            per_step = (time.monotonic() - epoch_start) / step
            remaining = (steps_per_epoch - step) + (config.epochs - epoch) * steps_per_epoch
            session.emit("step", epoch=epoch, step=step, steps=steps_per_epoch, loss=total / count,
                         lr=fit.optimizer.param_groups[0]["lr"], eta=per_step * remaining,
                         examples_per_second=config.batch_size * dist.world_size / per_step, **_staged(fit))
        if dist.any(session.stop.requested()):
            stopped = True
            break
        if session.out_of_time(deadline):  # a short last epoch
            break
    return dist.all_mean(total / max(count, 1)), stopped


def _validate_and_save(fit: Fit, run: RunState, record: RunRecord, epoch: int, train_loss: float,
                       session: Session) -> tuple[dict, bool]:
    """Validate the epoch, update where the run stands (halving the learning rate after
    ``lr_halving_patience`` epochs without improvement), save the model when it is the best so
    far and the resume state in any case; returns the validation metrics and whether it was best."""
    model, config = fit.model, fit.config
    valid = evaluate(model, fit.valid_set, config.batch_size, session.device) if fit.valid_set else {}
    valid_loss = valid.get("loss", train_loss)
    improved = valid_loss < run.best_valid - 1e-6
    if improved:
        run.best_valid, run.best_epoch, run.bad_epochs = valid_loss, epoch, 0
    else:
        run.bad_epochs += 1
        if config.lr_halving_patience and run.bad_epochs % config.lr_halving_patience == 0:
            halve_learning_rate(fit.optimizer, fit.scheduler)
    metrics = {"epoch": epoch, "train_loss": train_loss, **{f"valid_{k}": v for k, v in valid.items()}}
    run.history.append(metrics)
    if session.dist.is_main:
        if improved:
            training = session.training_meta(epoch, run.steps, stage_losses(model, run.history, fit.stage))
            save_model(record.out, model, {**record.metadata, "metrics": dict(metrics), "training": training})
        save_resume(record, model, fit.optimizer, fit.scheduler, epoch, run)
    return valid, improved


def halve_learning_rate(optimizer, scheduler) -> None:
    """Halve every parameter group's learning rate (a per-step scheduler's base rate too)."""
    for group in optimizer.param_groups:
        group["lr"] *= 0.5
    if scheduler is not None and hasattr(scheduler, "base_lrs"):
        scheduler.base_lrs = [lr * 0.5 for lr in scheduler.base_lrs]


def stage_deadlines(model: FamilyModel, epochs: int, started: float, minutes: float | None) -> dict:
    """When each stage's share of a time limit of ``minutes`` runs out (monotonic seconds), by
    stage (None for a family without stages). A staged family's stages share the time as they
    share the epochs, so a limit never leaves a later stage (the VAE's predictors) untrained."""
    stages = [model.stage_for_epoch(e) for e in range(1, epochs + 1)]
    if not minutes:
        return {s: math.inf for s in stages}
    return {s: started + minutes * 60 * (max(i for i, t in enumerate(stages) if t == s) + 1) / epochs
            for s in set(stages)}


def stage_losses(model: FamilyModel, history: list[dict], stage) -> list[float]:
    """The last validation losses of ``stage`` (a staged family's losses differ between stages)."""
    return [h["valid_loss"] for h in history
            if "valid_loss" in h and model.stage_for_epoch(h["epoch"]) == stage][-10:]


def measure(steps: int, fit: Fit, device, emit) -> dict:
    """Time ``steps`` training steps after a warm-up step; emit and return the ``measure`` figures."""
    fit.model.train()
    timed = batches(fit.train_set, fit.config.batch_size, steps + 1)
    fit.step(next(timed).to(device))
    started = time.monotonic()
    for batch in timed:
        fit.step(batch.to(device))
    per_step = (time.monotonic() - started) / steps
    figures = {"seconds_per_step": per_step, "steps_per_epoch": fit.steps_per_epoch,
               "seconds_per_epoch": per_step * fit.steps_per_epoch, "epochs": fit.config.epochs}
    emit("measure", **figures)
    return figures
