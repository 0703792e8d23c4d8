"""One model-agnostic training loop for every family, on one device or many under torchrun.

Each epoch trains on random windows, then validates on fixed ones; the best model by validation
loss is written to ``out`` (a .safetensors checkpoint) and the resume state beside it after every
epoch, atomically. A stop request (SIGINT, SIGTERM or a stop file) ends the run at the next step
with everything saved; ``resume=True`` continues from the last resume state.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import shlex
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from composer.core.errors import ComposerError
from composer.data.dataset import EncodedSet, load_source
from composer.models.base import KEY_NORMALIZED, FamilyModel, build_model, preset_config, save_model
from composer.models.checkpoint import (
    CheckpointError,
    load_resume_state,
    read_metadata,
    resume_path,
    save_resume_state,
)
from composer.models.registry import family_spec, load_family

from .device import Distributed, choose_device, init_distributed
from .progress import Progress
from .schedule import AUTO, check_schedule, given_fields, plan_schedule


class TrainingError(ComposerError):
    """Training cannot start or go on; the message says why."""


@dataclass
class TrainRequest:
    family: str
    data: str
    out: Path
    preset: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    seq_len: int | None = None
    patience: int | None = None
    steps_per_epoch: int | None = None
    #: None: the preset's share (paper 002: 0.2; others 0.1).
    valid_fraction: float | None = None
    test_fraction: float = 0.1
    #: Random transposition of the training windows; only where the data is not key-normalised
    #: (the config's ``key_normalize``), since it would undo the normalisation.
    augment: bool = True
    device: str = "auto"
    seed: int = 0
    resume: bool = False
    workers: int | None = None
    #: Read the data folder's subfolders too.
    recursive: bool = True
    stop_file: Path | None = None
    #: Only time this many training steps (after one warm-up step), report them in a
    #: ``measure`` event and write nothing: the wizard's estimate of the time per epoch.
    measure_steps: int | None = None
    #: Stop after this many minutes of training (None: no limit): the epoch under way ends
    #: early, is validated and saved, and the run ends as done.
    minutes: float | None = None
    name: str = ""
    command: str = ""
    #: Config fields to override, as text (from ``--set FIELD=VALUE``); converted by field type.
    overrides: dict = field(default_factory=dict)


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


class _LossModule(nn.Module):
    """Lets DistributedDataParallel see the loss computation as ``forward``."""

    def __init__(self, model: FamilyModel):
        super().__init__()
        self.model = model

    def forward(self, batch):
        return self.model.loss(batch, metrics=False)


class _StopRequest:
    """Set by SIGINT/SIGTERM or a stop file; checked between steps."""

    def __init__(self, stop_file: Path | None):
        self.flag = False
        self.stop_file = stop_file
        self._previous = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. tests): rely on the stop file
                pass

    def _handle(self, signum, frame) -> None:
        self.flag = True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def requested(self) -> bool:
        if self.stop_file is not None and self.stop_file.exists():
            self.flag = True
        return self.flag


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``["dropout=0.5", ...]`` (``--set``) -> ``{"dropout": "0.5"}``."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ComposerError(f"--set takes FIELD=VALUE, not {pair!r}")
        overrides[key.strip().replace("-", "_")] = value.strip()
    return overrides


def family_config(family: str, preset: str | None, overrides: dict, **fields):
    """The family's module and the Config of ``preset`` with ``fields`` (None: the preset's)
    and the text ``overrides`` applied."""
    module = load_family(family)
    # A field given by its own option (--epochs) wins over the same field in --set.
    merged = config_overrides(module.Config, overrides) | {k: v for k, v in fields.items() if v is not None}
    config = preset_config(family, preset, **merged)
    check_schedule(config)
    if config.normalized_shifts and not module.Model.takes_normalized_shifts:
        raise TrainingError(f"normalized_shifts applies to the piano-roll families, not {family}")
    return module, config


def config_overrides(config_class, overrides: dict) -> dict:
    """Text overrides converted to the types of the config's fields; unknown fields are errors."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    converted = {}
    for key, text in overrides.items():
        if key not in fields:
            raise TrainingError(f"the configuration has no field {key!r}; fields: {', '.join(fields)}")
        default = getattr(config_class(), key)
        try:
            if isinstance(default, bool):
                value = str(text).lower() in ("1", "true", "yes", "on")
            elif isinstance(default, int):
                value = int(text)
            elif isinstance(default, float) or default is None:
                value = None if str(text).lower() == "none" else float(text)
            else:
                value = type(default)(text)
        except ValueError:
            raise TrainingError(f"--set {key}={text}: not a valid value") from None
        converted[key] = value
    return converted


def with_key_flag(info: dict, data: EncodedSet) -> dict:
    """A family's data info with the key-normalisation flag of the data it was made from: the
    header's record that generation must move primers to C major / A minor and back."""
    return {**info, KEY_NORMALIZED: True} if data.key_normalized else dict(info)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _split_for_validation(data: EncodedSet, valid_fraction: float) -> tuple[list, list, list]:
    """Train, valid and test pieces; when the split left validation empty, make one sensibly."""
    train, valid, test = (data.split_pieces(s) for s in ("train", "valid", "test"))
    if valid or valid_fraction <= 0:
        return train, valid, test
    if len(train) >= 2:  # move the last training piece to validation
        return train[:-1], train[-1:], test
    if len(train) == 1 and len(train[0]) >= 20:  # one piece: its last part validates
        piece = train[0]
        cut = int(len(piece) * (1 - valid_fraction))
        return [piece[:cut]], [piece[cut:]], test
    raise TrainingError("too little data for a validation split: add files, or train with "
                        "--valid-split 0")


#: Fewer training examples than this many batches' worth is worth a warning: the model will
#: see the same few examples over and over and learn them by heart.
MIN_BATCHES_OF_DATA = 10


def _example_sets(family: str, config, data: EncodedSet, train_pieces, valid_pieces=()):
    """The training and validation example sets ``config`` makes of the pieces (valid: [] when
    there are no validation pieces)."""
    model = build_model(family, config, load_family(family).Model.data_info(data, config))
    try:
        train_set = model.make_dataset(train_pieces, augment=False, training=True)
        valid_set = model.make_dataset(valid_pieces, augment=False, training=False) if valid_pieces else []
    except ValueError as exc:
        raise TrainingError(f"the data is too small for this preset: {exc}") from None
    return train_set, valid_set


def check_data_size(family: str, config, data: EncodedSet, valid_fraction: float, given=frozenset()) -> dict:
    """What ``config`` would train on: ``train_examples``, ``valid_examples``, a ``warning``
    (None when the data is big enough for the preset) and the ``config`` that training would
    use (an auto schedule planned for the data, keeping the ``given`` fields).

    Raises
    ------
    TrainingError
        When training would refuse the data: too little for a validation split, or for the
        preset's examples (e.g. every piece shorter than its window).
    """
    train_pieces, valid_pieces, _ = _split_for_validation(data, valid_fraction)
    train_set, valid_set = _example_sets(family, config, data, train_pieces, valid_pieces)
    n = len(train_set)
    config = plan_schedule(config, n, given=given)
    warning = None
    if n < MIN_BATCHES_OF_DATA * config.batch_size:
        warning = (f"only {n:,} training examples for batches of {config.batch_size}: the model will "
                   f"learn them by heart. Add files, or pick a smaller preset")
    return {"train_examples": n, "valid_examples": len(valid_set), "warning": warning, "config": config}


def _batches(dataset, batch_size: int, steps: int):
    """``steps`` batches of random training examples (composer.models.base.TrainingExamples)."""
    for _ in range(steps):
        yield dataset.sample_batch(batch_size)


def _evaluate(model: FamilyModel, dataset, batch_size: int, device) -> dict[str, float]:
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


def train(request: TrainRequest, progress: Progress | None = None) -> dict:
    """Run a training; returns the final metadata written into the checkpoint.

    Raises
    ------
    TrainingError, ComposerError
        Bad data, an unusable checkpoint to resume, an unknown family or preset.
    """
    progress = progress or Progress("none")
    spec = family_spec(request.family)
    module = load_family(request.family)
    dist = init_distributed(request.device)
    emit = progress if dist.is_main else Progress("none")
    stop = _StopRequest(request.stop_file)
    stop.install()
    try:
        return _train(request, spec, module, dist, emit, stop)
    finally:
        stop.restore()
        dist.close()


def _train(request, spec, module, dist: Distributed, emit: Progress, stop: _StopRequest) -> dict:
    out = Path(request.out)
    if not out.parent.exists():
        raise TrainingError(f"the folder for {out} does not exist")
    device = choose_device(request.device, dist.local_rank)
    _seed_everything(request.seed)

    # 1. What to train: the preset and options, or the run being resumed.
    resume_state = load_resume_state(out) if request.resume else None
    if request.resume and resume_state is None:
        raise TrainingError(f"nothing to resume: {resume_path(out).name} not found")
    if resume_state is not None:
        config, info, preset = _resumed_config(request, module, out, resume_state)
    else:
        preset = request.preset or spec.default_preset
        _, config = family_config(request.family, preset, request.overrides, epochs=request.epochs,
                                  batch_size=request.batch_size, learning_rate=request.learning_rate,
                                  seq_len=request.seq_len, patience=request.patience,
                                  steps_per_epoch=request.steps_per_epoch)

    # 2. The data, read once (the main process fills the cache, the others read it) and split.
    valid_fraction = config.valid_fraction if request.valid_fraction is None else request.valid_fraction
    # A resumed run reads its data as it first did (a run from before the setting: as it was).
    key_normalize = bool(info.get(KEY_NORMALIZED)) if resume_state is not None else config.key_normalize
    data = _load_data(request, module.Model.default_codec(config), dist, valid_fraction, key_normalize)
    train_pieces, valid_pieces, test_pieces = _split_for_validation(data, valid_fraction)
    # 3. The plan (auto schedule), the model and its example sets.
    if resume_state is None and config.schedule == AUTO:
        # The plan comes before the model's data info, which may depend on the epochs (the
        # VAE's stage boundary); a resumed run keeps the plan it started with.
        given = given_fields(request.epochs, request.batch_size, request.steps_per_epoch, request.overrides)
        config = plan_schedule(config, len(_example_sets(request.family, config, data, train_pieces)[0]),
                               dist.world_size, given)
    if resume_state is None:
        info = with_key_flag(module.Model.data_info(data, config), data)
    # Random transposition would undo key normalisation, except the few semitones a config allows.
    augment = request.augment and (not data.key_normalized or config.normalized_shifts > 0)

    model = build_model(request.family, config, info).to(device)
    try:
        train_set = model.make_dataset(train_pieces, augment=augment, training=True)
        valid_set = model.make_dataset(valid_pieces, augment=False, training=False) if valid_pieces else None
    except ValueError as exc:
        raise TrainingError(f"the data is too small for this preset: {exc}") from None
    train_set.rng = np.random.default_rng(request.seed + 1000 * dist.rank)  # each process its own

    # 4. The optimizer, on the stage to run, and a resumed run's weights and state.
    # Staged families: the stage of the first epoch to run (or of the epoch a resume ends on,
    # whose optimizer state is restored below).
    stage = model.stage_for_epoch(max(resume_state["epoch"], 1) if resume_state is not None else 1)
    if stage is not None:
        if dist.enabled:
            raise TrainingError(f"{request.family} trains in stages, which run on one device; "
                                "start it without torchrun")
        model.set_stage(stage)
    last_stage = model.stage_for_epoch(config.epochs)
    optimizer = model.make_optimizer(config.learning_rate)
    steps_per_epoch = config.steps_per_epoch or max(len(train_set) // (config.batch_size * dist.world_size), 1)
    scheduler = model.make_scheduler(optimizer, steps_per_epoch)
    wrapped = _LossModule(model)
    if dist.enabled:
        wrapped = nn.parallel.DistributedDataParallel(
            wrapped, device_ids=[device.index] if device.type == "cuda" else None)

    start_epoch, run = 1, RunState()
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        optimizer.load_state_dict(resume_state["optimizer"])
        if scheduler is not None and resume_state.get("scheduler"):
            scheduler.load_state_dict(resume_state["scheduler"])
        start_epoch = resume_state["epoch"] + 1
        run = RunState.from_resume(resume_state, steps_per_epoch)
        torch.set_rng_state(resume_state["torch_rng"])

    n_params = sum(p.numel() for p in model.parameters())
    emit("start", family=request.family, preset=preset, device=str(device), world_size=dist.world_size,
         epochs=config.epochs, steps_per_epoch=steps_per_epoch, parameters=n_params,
         train_examples=len(train_set), valid_examples=len(valid_set) if valid_set else 0,
         key_normalized=data.key_normalized, augment=augment,
         resumed_from_epoch=start_epoch - 1 if resume_state else None,
         data=data.summary, skipped=len(data.skipped))

    if request.measure_steps:
        return _measure(request.measure_steps, wrapped, model, optimizer, scheduler, train_set, config,
                        device, steps_per_epoch, emit)

    previous_name = (resume_state or {}).get("metadata", {}).get("name")
    metadata_base = {
        "name": request.name or previous_name or out.name.removesuffix(".safetensors"),
        "preset": preset,
        "data": {**data.summary, "source": Path(request.data).name, "codec": data.codec,
                 "key_normalized": data.key_normalized},
        "capabilities": sorted(spec.capabilities),
    }
    record = RunRecord(out, config, info, preset, metadata_base)
    # 5. The epochs: train, validate, save the best and the resume state, stop when it is time.
    started = time.monotonic()
    status, reason = "done", "finished all epochs"
    epoch = start_epoch - 1
    stopped_mid_epoch = False
    deadlines = _stage_deadlines(model, config.epochs, started, request.minutes)
    out_of_time_stage = None  # a stage whose share of the time limit is spent: its epochs are skipped
    for epoch in range(start_epoch, config.epochs + 1):
        if out_of_time_stage is not None and model.stage_for_epoch(epoch) == out_of_time_stage:
            continue
        if stage is not None and model.stage_for_epoch(epoch) != stage:
            stage = model.stage_for_epoch(epoch)
            model.set_stage(stage)
            optimizer = model.make_optimizer(config.learning_rate)
            scheduler = model.make_scheduler(optimizer, steps_per_epoch)
            run.best_valid, run.bad_epochs = math.inf, 0
            emit("stage", stage=stage, epoch=epoch, epochs=config.epochs)
        staged = {} if stage is None else {"stage": stage}
        model.train()
        total, count, epoch_start = 0.0, 0, time.monotonic()
        deadline = deadlines[stage]
        for step, batch in enumerate(_batches(train_set, config.batch_size, steps_per_epoch), 1):
            total += _train_step(wrapped, model, optimizer, scheduler, batch.to(device, non_blocking=True),
                                 config.grad_clip)
            count += 1
            run.steps += 1
            if step % max(steps_per_epoch // 20, 1) == 0 or step == steps_per_epoch:
                elapsed = time.monotonic() - epoch_start
                per_step = elapsed / step
                remaining = (steps_per_epoch - step) + (config.epochs - epoch) * steps_per_epoch
                emit("step", epoch=epoch, step=step, steps=steps_per_epoch, loss=total / count,
                     lr=optimizer.param_groups[0]["lr"], eta=per_step * remaining,
                     examples_per_second=config.batch_size * dist.world_size / per_step, **staged)
            if dist.any(stop.requested()):
                stopped_mid_epoch = True
                break
            # (Asked only with a time limit: under torchrun each question is an all-reduce.)
            if request.minutes and dist.any(time.monotonic() >= deadline):  # a short last epoch
                break
        train_loss = dist.all_mean(total / max(count, 1))
        if stopped_mid_epoch:
            epoch -= 1  # this epoch did not finish: a resume repeats it
            status, reason = "stopped", "stopped on request"
            break
        valid = _evaluate(model, valid_set, config.batch_size, device) if valid_set else {}
        valid_loss = valid.get("loss", train_loss)
        improved = valid_loss < run.best_valid - 1e-6
        if improved:
            run.best_valid, run.best_epoch, run.bad_epochs = valid_loss, epoch, 0
        else:
            run.bad_epochs += 1
            if config.lr_halving_patience and run.bad_epochs % config.lr_halving_patience == 0:
                _halve_learning_rate(optimizer, scheduler)
        run.history.append({"epoch": epoch, "train_loss": train_loss, **{f"valid_{k}": v for k, v in valid.items()}})
        if dist.is_main:
            if improved:
                save_model(out, model, {**metadata_base, "metrics": {"epoch": epoch, "train_loss": train_loss,
                                                                     **{f"valid_{k}": v for k, v in valid.items()}},
                                        "training": _training_meta(request, device, dist, epoch, started,
                                                                   run.steps,
                                                                   _stage_losses(model, run.history, stage),
                                                                   augment)})
            _save_resume(record, model, optimizer, scheduler, epoch, run)
        eta = (time.monotonic() - started) / max(epoch - start_epoch + 1, 1) * (config.epochs - epoch)
        emit("epoch", epoch=epoch, epochs=config.epochs, train_loss=train_loss, valid_loss=valid.get("loss"),
             metrics={k: v for k, v in valid.items() if k != "loss"}, best=improved, best_epoch=run.best_epoch,
             checkpoint=str(out), eta=eta, seconds=time.monotonic() - epoch_start, **staged)
        if run.bad_epochs >= config.patience and stage == last_stage:
            status, reason = "done", f"early stop: no improvement for {config.patience} epochs"
            break
        if request.minutes and dist.any(time.monotonic() >= deadline):
            if stage == last_stage:
                status, reason = "done", f"time limit: {request.minutes:g} minutes of training"
                break
            out_of_time_stage = stage
        if dist.any(stop.requested()):
            status, reason = "stopped", "stopped on request"
            break

    # 6. The end: the model saved in any case, its test metrics, and what to do next.
    if dist.is_main:
        if not out.exists():  # stopped before the first epoch ended: keep what was learned
            save_model(out, model, {**metadata_base, "metrics": {},
                                    "training": _training_meta(request, device, dist, epoch, started,
                                                               run.steps, augment=augment)})
        if stopped_mid_epoch:
            _save_resume(record, model, optimizer, scheduler, epoch, run)
        final = read_metadata(out)
        if status == "done" and test_pieces:
            final = _add_test_metrics(out, test_pieces, device, final)
    else:
        final = {}
    offer = _continue_offer(request, final, reason, epoch) if status == "done" and dist.is_main else {}
    # Leave together: a rank that exits while its peer still works can make gloo on the peer
    # abort with "connection closed by peer" (SIGABRT) before the peer reaches its own teardown.
    dist.barrier()
    emit(status, reason=reason, checkpoint=str(out), best_epoch=run.best_epoch,
         best_valid_loss=run.best_valid if math.isfinite(run.best_valid) else None, epochs_run=epoch, **offer)
    return final


def _continue_offer(request: TrainRequest, meta: dict, reason: str, epochs_run: int) -> dict:
    """For a run that ended probably under-trained (composer.models.readiness): the warning,
    how many epochs to continue to (as many again), and the command that does it; {} otherwise."""
    from composer.models.readiness import header_warning

    warning = header_warning(meta, stopped_by_patience=reason.startswith("early stop"))
    if not warning:
        return {}
    more = epochs_run + max(epochs_run, 2)
    command = request.command or "composer train ..."
    return {"undertrained": warning, "continue_epochs": more,
            "continue_command": f"{command} --resume --epochs {more}"}


def _halve_learning_rate(optimizer, scheduler) -> None:
    """Halve every parameter group's learning rate (a per-step scheduler's base rate too)."""
    for group in optimizer.param_groups:
        group["lr"] *= 0.5
    if scheduler is not None and hasattr(scheduler, "base_lrs"):
        scheduler.base_lrs = [lr * 0.5 for lr in scheduler.base_lrs]


def _stage_deadlines(model: FamilyModel, epochs: int, started: float, minutes: float | None) -> dict:
    """When each stage's share of a time limit of ``minutes`` runs out (monotonic seconds), by
    stage (None for a family without stages). A staged family's stages share the time as they
    share the epochs, so a limit never leaves a later stage (the VAE's predictors) untrained."""
    stages = [model.stage_for_epoch(e) for e in range(1, epochs + 1)]
    if not minutes:
        return {s: math.inf for s in stages}
    return {s: started + minutes * 60 * (max(i for i, t in enumerate(stages) if t == s) + 1) / epochs
            for s in set(stages)}


def _resumed_config(request: TrainRequest, module, out: Path, resume_state: dict):
    """The config, data info and preset of the run a resume state holds. Continuing may change
    how long to go on and when to stop (epochs, patience, steps an epoch), never the model or
    data; a resume state of another family is an error."""
    meta = read_metadata(out) if out.exists() else resume_state["metadata"]
    if meta["family"] != request.family:
        raise CheckpointError(f"{out.name} holds a {meta['family']!r} model, not {request.family!r}")
    more = {"epochs": request.epochs, "patience": request.patience, "steps_per_epoch": request.steps_per_epoch}
    config = dataclasses.replace(module.Config(**resume_state["config"]),
                                 **{k: v for k, v in more.items() if v is not None})
    return config, resume_state["info"], resume_state["preset"]


def _load_data(request: TrainRequest, codec, dist: Distributed, valid_fraction: float,
               key_normalize: bool) -> EncodedSet:
    """The training data: read and cached by the main process, then read from the cache by the
    others (torchrun), so files are parsed once."""
    load = dict(valid_fraction=valid_fraction, test_fraction=request.test_fraction, workers=request.workers,
                recursive=request.recursive, key_normalize=key_normalize)
    data = load_source(request.data, codec, **load) if dist.is_main else None
    dist.barrier()
    return data if data is not None else load_source(request.data, codec, **load)


def _train_step(wrapped, model, optimizer, scheduler, batch, grad_clip) -> float:
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


def _measure(steps: int, wrapped, model, optimizer, scheduler, train_set, config, device,
             steps_per_epoch: int, emit) -> dict:
    """Time ``steps`` training steps after a warm-up step; emit and return the ``measure`` figures."""
    model.train()
    batches = _batches(train_set, config.batch_size, steps + 1)
    _train_step(wrapped, model, optimizer, scheduler, next(batches).to(device), config.grad_clip)
    started = time.monotonic()
    for batch in batches:
        _train_step(wrapped, model, optimizer, scheduler, batch.to(device), config.grad_clip)
    per_step = (time.monotonic() - started) / steps
    figures = {"seconds_per_step": per_step, "steps_per_epoch": steps_per_epoch,
               "seconds_per_epoch": per_step * steps_per_epoch, "epochs": config.epochs}
    emit("measure", **figures)
    return figures


def _training_meta(request: TrainRequest, device, dist: Distributed, epoch: int, started: float,
                   steps: int | None = None, valid_losses: list[float] = (),
                   augment: bool | None = None) -> dict:
    """The header's ``training`` record; ``steps`` and the last ``valid_losses`` let the model
    card tell an under-trained model (composer.models.readiness). ``augment``: whether the
    training windows were transposed at random (off on key-normalised data)."""
    return {"epochs": epoch, "device": str(device), "world_size": dist.world_size,
            "seconds": round(time.monotonic() - started, 1), "seed": request.seed,
            "augment": request.augment if augment is None else augment, "command": request.command,
            "steps": steps, "valid_losses": [round(v, 6) for v in valid_losses]}


def _stage_losses(model: FamilyModel, history: list[dict], stage) -> list[float]:
    """The last validation losses of ``stage`` (a staged family's losses differ between stages)."""
    return [h["valid_loss"] for h in history
            if "valid_loss" in h and model.stage_for_epoch(h["epoch"]) == stage][-10:]


def _save_resume(record: "RunRecord", model, optimizer, scheduler, epoch: int, run: "RunState") -> None:
    """The resume state after ``epoch``: weights, optimizer, where the run stands, and what it is."""
    save_resume_state(record.out, {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "config": dataclasses.asdict(record.config), "info": record.info, "preset": record.preset,
        "epoch": epoch, **dataclasses.asdict(run), "torch_rng": torch.get_rng_state(),
        "metadata": {"family": model.family, **record.metadata},
    })


def _add_test_metrics(out: Path, test_pieces, device, meta: dict) -> dict:
    """Evaluate the best checkpoint on the held-out test split and record it in the metadata."""
    from composer.models.base import load_model
    from composer.models.checkpoint import load_state_dict, save_checkpoint

    model, _ = load_model(out)
    model.to(device)
    test_set = model.make_dataset(test_pieces, augment=False, training=False)
    stages = list(dict.fromkeys(model.stage_for_epoch(e) for e in range(1, model.config.epochs + 1)))
    metrics = {}
    # The test loss is that of the last stage, like the validation loss; staged families also
    # get every earlier stage's metrics (e.g. the VAEs' reconstruction), prefixed on a clash.
    for stage in reversed(stages):
        if stage is not None:
            model.set_stage(stage)
        for key, value in _evaluate(model, test_set, model.config.batch_size, device).items():
            metrics[key if key not in metrics else f"{stage}_{key}"] = value
    meta = dict(meta)
    meta["metrics"] = {**meta.get("metrics", {}), **{f"test_{k}": v for k, v in metrics.items()}}
    for key in ("format", "format_version"):
        meta.pop(key, None)
    save_checkpoint(out, load_state_dict(out), meta)
    return read_metadata(out)


def command_line() -> str:
    """The command that started this process, for the checkpoint's record, quoted so it can be
    pasted into a shell (``python -m composer.cli`` is recorded as ``composer``)."""
    args = list(sys.argv)
    program = os.path.basename(args[0]) if args else "composer"
    if program in ("cli.py", "__main__.py"):
        program = "composer"
    return shlex.join([program, *args[1:]])
