"""One model-agnostic training run for every family, on one device or many under torchrun.

:func:`train` goes through labelled stages: (1) what to train (the preset and options, or the
run being resumed), (2) the data, read once and split, (3) the plan, the model and its example
sets, (4) the optimizer and a resumed run's state, (5) the epochs (composer.training.epochs:
the best model by validation loss is written to ``out``, a .safetensors checkpoint, and the
resume state beside it after every epoch, atomically; composer.training.resume), (6) the end:
test metrics and what to do next. A stop request (SIGINT, SIGTERM or a stop file) ends the run
at the next step with everything saved; ``resume=True`` continues from the last resume state.
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
from composer.models.adapter import KEY_NORMALIZED
from composer.models.base import FamilyModel, build_model, preset_config, save_model
from composer.models.checkpoint import load_resume_state, read_metadata, resume_path
from composer.models.registry import family_spec, load_family

from .device import Distributed, choose_device, init_distributed
from .epochs import Ending, Fit, LossModule, Session, evaluate, measure, run_epochs
from .progress import Progress
from .resume import RunRecord, RunState, restore_resume, resumed_config, save_resume
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
    model = build_model(family, config, load_family(family).Model.adapter_class.data_info(data, config))
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
    """The run in this process, stage by stage; returns what :func:`train` does."""
    out = Path(request.out)
    if not out.parent.exists():
        raise TrainingError(f"the folder for {out} does not exist")
    device = choose_device(request.device, dist.local_rank)
    _seed_everything(request.seed)

    # 1. What to train: the preset and options, or the run being resumed.
    resume_state, config, info, preset = _what_to_train(request, spec, module, out)

    # 2. The data, read once (the main process fills the cache, the others read it) and split.
    valid_fraction = config.valid_fraction if request.valid_fraction is None else request.valid_fraction
    # A resumed run reads its data as it first did (a run from before the setting: as it was).
    key_normalize = bool(info.get(KEY_NORMALIZED)) if resume_state is not None else config.key_normalize
    data = _load_data(request, module.Model.adapter_class.default_codec(config), dist, valid_fraction, key_normalize,
                      getattr(config, "track_names", ""))
    train_pieces, valid_pieces, test_pieces = _split_for_validation(data, valid_fraction)

    # 3. The plan (auto schedule), the model and its example sets.
    if resume_state is None and config.schedule == AUTO:
        # The plan comes before the model's data info, which may depend on the epochs (the
        # VAE's stage boundary); a resumed run keeps the plan it started with.
        given = given_fields(request.epochs, request.batch_size, request.steps_per_epoch, request.overrides)
        config = plan_schedule(config, len(_example_sets(request.family, config, data, train_pieces)[0]),
                               dist.world_size, given)
    if resume_state is None:
        info = with_key_flag(module.Model.adapter_class.data_info(data, config), data)
    # Random transposition would undo key normalisation, except the few semitones a config allows.
    augment = request.augment and (not data.key_normalized or config.normalized_shifts > 0)
    model = build_model(request.family, config, info).to(device)
    train_set, valid_set = _model_sets(model, train_pieces, valid_pieces, augment,
                                       seed=request.seed + 1000 * dist.rank)

    # 4. The optimizer, on the stage to run, and a resumed run's weights and state.
    fit = _fit(request.family, model, config, train_set, valid_set, dist, device, resume_state)
    start_epoch, run = 1, RunState()
    if resume_state is not None:
        start_epoch, run = restore_resume(resume_state, model, fit.optimizer, fit.scheduler, fit.steps_per_epoch)
    emit("start", family=request.family, preset=preset, device=str(device), world_size=dist.world_size,
         epochs=config.epochs, steps_per_epoch=fit.steps_per_epoch,
         parameters=sum(p.numel() for p in model.parameters()),
         train_examples=len(train_set), valid_examples=len(valid_set) if valid_set else 0,
         key_normalized=data.key_normalized, augment=augment,
         resumed_from_epoch=start_epoch - 1 if resume_state else None,
         data=data.summary, skipped=len(data.skipped))
    if request.measure_steps:
        return measure(request.measure_steps, fit, device, emit)
    record = RunRecord(out, config, info, preset, _metadata(request, spec, preset, data, resume_state))

    # 5. The epochs: train, validate, save the best and the resume state, stop when it is time.
    session = Session(request, dist, emit, stop, device, started=time.monotonic(), augment=augment)
    ending = run_epochs(fit, run, record, start_epoch, session)

    # 6. The end: the model saved in any case, its test metrics, and what to do next.
    return _finish(fit, run, record, ending, test_pieces, session)


def _what_to_train(request: TrainRequest, spec, module, out: Path):
    """The resume state (None for a new run), config, data info (None until the data is read)
    and preset: of the preset and options, or of the run being resumed."""
    resume_state = load_resume_state(out) if request.resume else None
    if request.resume and resume_state is None:
        raise TrainingError(f"nothing to resume: {resume_path(out).name} not found")
    if resume_state is not None:
        return (resume_state, *resumed_config(request, module, out, resume_state))
    preset = request.preset or spec.default_preset
    _, config = family_config(request.family, preset, request.overrides, epochs=request.epochs,
                              batch_size=request.batch_size, learning_rate=request.learning_rate,
                              seq_len=request.seq_len, patience=request.patience,
                              steps_per_epoch=request.steps_per_epoch)
    return None, config, None, preset


def _model_sets(model: FamilyModel, train_pieces, valid_pieces, augment: bool, seed: int):
    """The model's training examples (drawn with their own generator of ``seed``: each process
    its own) and validation examples (None when there are no validation pieces)."""
    try:
        train_set = model.make_dataset(train_pieces, augment=augment, training=True)
        valid_set = model.make_dataset(valid_pieces, augment=False, training=False) if valid_pieces else None
    except ValueError as exc:
        raise TrainingError(f"the data is too small for this preset: {exc}") from None
    train_set.rng = np.random.default_rng(seed)
    return train_set, valid_set


def _fit(family: str, model: FamilyModel, config, train_set, valid_set, dist: Distributed, device,
         resume_state: dict | None) -> Fit:
    """The optimizer and scheduler on the stage to run, and the model as DDP sees it. Staged
    families: the stage of the first epoch to run (or of the epoch a resume ends on, whose
    optimizer state is restored next)."""
    stage = model.stage_for_epoch(max(resume_state["epoch"], 1) if resume_state is not None else 1)
    if stage is not None:
        if dist.enabled:
            raise TrainingError(f"{family} trains in stages, which run on one device; "
                                "start it without torchrun")
        model.set_stage(stage)
    optimizer = model.make_optimizer(config.learning_rate)
    steps_per_epoch = config.steps_per_epoch or max(len(train_set) // (config.batch_size * dist.world_size), 1)
    scheduler = model.make_scheduler(optimizer, steps_per_epoch)
    wrapped = LossModule(model)
    if dist.enabled:
        wrapped = nn.parallel.DistributedDataParallel(
            wrapped, device_ids=[device.index] if device.type == "cuda" else None)
    return Fit(model, wrapped, optimizer, scheduler, train_set, valid_set, config, steps_per_epoch, stage)


def _metadata(request: TrainRequest, spec, preset: str, data: EncodedSet, resume_state: dict | None) -> dict:
    """The checkpoint metadata every save of the run shares: its name, preset, data and
    capabilities."""
    previous_name = (resume_state or {}).get("metadata", {}).get("name")
    return {
        "name": request.name or previous_name or Path(request.out).name.removesuffix(".safetensors"),
        "preset": preset,
        "data": {**data.summary, "source": Path(request.data).name, "codec": data.codec,
                 "key_normalized": data.key_normalized},
        "capabilities": sorted(spec.capabilities),
    }


def _finish(fit: Fit, run: RunState, record: RunRecord, ending: Ending, test_pieces, session: Session) -> dict:
    """The end: the model saved in any case, its test metrics, and what to do next (the last
    event); returns the checkpoint's metadata (on the main process; {} on the others)."""
    dist, out = session.dist, record.out
    if dist.is_main:
        if not out.exists():  # stopped before the first epoch ended: keep what was learned
            save_model(out, fit.model, {**record.metadata, "metrics": {},
                                        "training": session.training_meta(ending.epoch, run.steps)})
        if ending.stopped_mid_epoch:
            save_resume(record, fit.model, fit.optimizer, fit.scheduler, ending.epoch, run)
        final = read_metadata(out)
        if ending.status == "done" and test_pieces:
            final = _add_test_metrics(out, test_pieces, session.device, final)
    else:
        final = {}
    done = ending.status == "done" and dist.is_main
    offer = _continue_offer(session.request, final, ending.reason, ending.epoch) if done else {}
    # Leave together: a rank that exits while its peer still works can make gloo on the peer
    # abort with "connection closed by peer" (SIGABRT) before the peer reaches its own teardown.
    dist.barrier()
    session.emit(ending.status, reason=ending.reason, checkpoint=str(out), best_epoch=run.best_epoch,
                 best_valid_loss=run.best_valid if math.isfinite(run.best_valid) else None,
                 epochs_run=ending.epoch, **offer)
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


def _load_data(request: TrainRequest, codec, dist: Distributed, valid_fraction: float,
               key_normalize: bool, track_names: str = "") -> EncodedSet:
    """The training data: read and cached by the main process, then read from the cache by the
    others (torchrun), so files are parsed once."""
    load = dict(valid_fraction=valid_fraction, test_fraction=request.test_fraction, workers=request.workers,
                recursive=request.recursive, key_normalize=key_normalize)
    if track_names:  # (only then: a benchmark .mat refuses the keyword)
        load["track_names"] = track_names
    data = load_source(request.data, codec, **load) if dist.is_main else None
    dist.barrier()
    return data if data is not None else load_source(request.data, codec, **load)


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
        for key, value in evaluate(model, test_set, model.config.batch_size, device).items():
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
