"""What every model family provides, so the trainer, the generator and the GUI stay family-agnostic.

A family module defines ``Config`` (a dataclass of model and training settings), ``PRESETS``
(name -> Config: the paper's exact settings plus a ``tiny`` preset for tests) and ``Model``, a
:class:`FamilyModel`. Everything the model learned about its data (codec parameters, pitch range)
lives in ``info``, a JSON-safe dict stored in the checkpoint next to the config.
"""

from __future__ import annotations

import dataclasses
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Iterator

import numpy as np
import torch
from torch import nn

from composer.core.errors import ComposerError

from .adapter import FamilyAdapter
from .checkpoint import CheckpointError, load_state_dict, read_metadata, save_checkpoint
from .registry import family_spec, load_family


@dataclass
class TrainConfig:
    """Settings every family has; family configs extend it."""

    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    seq_len: int = 32
    patience: int = 5
    #: Batches per epoch; 0 means one pass over the training windows.
    steps_per_epoch: int = 0
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    #: Share of files held out for validation (paper 002 uses an 80/20 split).
    valid_fraction: float = 0.1
    #: Transpose every training piece to C major / A minor (composer.data.keynorm), and at
    #: generation the primer too, and the result back: the model follows the primer's key.
    #: Excludes transposition augmentation (but see ``normalized_shifts``). What a trained model did is ``info["key_normalized"]``
    #: (old checkpoints have no such entry and were not normalised, whatever this default says).
    key_normalize: bool = True
    #: Read only the tracks of these names from each training file (comma-separated, case aside;
    #: e.g. "MELODY" for POP909's lead line); files without one are skipped. Empty: every track.
    track_names: str = ""
    #: "fixed": train exactly as configured (the papers' presets); "auto": the batch size, the
    #: steps an epoch and the epochs follow the size of the data (composer.training.schedule).
    schedule: str = "fixed"
    #: Halve the learning rate after this many epochs without a better validation loss (0: never),
    #: so a run near its best takes smaller steps before early stopping ends it.
    lr_halving_patience: int = 0
    #: With key normalisation, still transpose training windows at random by up to this many
    #: semitones either way (0: never): more variety from a small corpus while the model stays
    #: near C major / A minor. Families that support it: the piano rolls'.
    normalized_shifts: int = 0


@dataclass
class SamplingOptions:
    """How to turn a model's output into notes (each family uses what applies)."""

    temperature: float = 1.0
    #: "bernoulli" samples each pitch; "threshold" keeps pitches whose probability >= threshold.
    mode: str = "bernoulli"
    threshold: float = 0.5
    top_p: float = 1.0
    #: MIDI pitches the result may use (inclusive lo, exclusive hi), or None.
    pitch_range: tuple[int, int] | None = None
    #: Pitch classes (0 = C) allowed by a key/scale constraint, or None for all 12.
    pitch_classes: frozenset[int] | None = None
    #: Latent noise for families that have it.
    noise: float = 0.0
    #: Token families: the most times one token (a chord, or a pitch in consecutive steps) may
    #: repeat in a row before it is forbidden; None takes the model's own limit (from its data).
    max_repeat: int | None = None
    #: Token families starting without a primer: the start token (e.g. "C4" or "C4.E4.G4");
    #: None draws one from the training data's most frequent tokens.
    start_token: str | None = None
    #: Multitrack families: slots silent in the primer start from "silence" or the "prior".
    missing_slots: str = "silence"
    #: Multitrack VAE: how far each generated bar's latent is pulled toward the primer bar's,
    #: 0 (paper 004's free walk, which drifts from a drawn groove) to 1 (the primer's bar, with
    #: noise); None: the model's own default (``info.sampling_defaults``), else 0.
    anchor: float | None = None
    #: Follow the primer (piano-roll families): at most its most simultaneous notes a step,
    #: within an octave of its range (a fourth for a lone melody) unless ``pitch_range`` is
    #: set, and new notes only on its grid; False leaves the model's own texture, register and
    #: steps. Token families: onsets on its grid, the same register, chord tokens no larger
    #: than its largest. The VAE: silent voices stay silent, notes on its grid.
    follow_primer: bool = True
    #: The most notes the primer sounds at once (None: count them in the model's input). A
    #: model on quarter notes sees an eighth-note melody as two voices a frame; the notes say one.
    primer_voices: int | None = None
    #: Notes per beat to aim at (None: no steering). Sampling keeps a running count of the notes
    #: it started and leans toward starting notes while behind, away while ahead.
    density: float | None = None
    #: Beats one generated step lasts, for families whose steps are frames (set by the caller,
    #: which knows the tempo); token families know their tokens' lengths.
    beats_per_step: float | None = None
    #: The most notes sounding at once (None: no limit beyond following the primer).
    polyphony: int | None = None


class TrainingExamples(torch.utils.data.Dataset):
    """A family's training examples (:meth:`FamilyModel.make_dataset`): ``len()`` fixed
    examples, which validation walks, and random batches for training drawn with ``rng`` (the
    trainer seeds it per process, so each process of a torchrun run draws its own)."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def sample_batch(self, size: int) -> torch.Tensor:
        """``size`` random examples stacked, (size, ...). Families override it to draw windows
        at random positions of whole pieces at once."""
        index = self.rng.integers(0, max(len(self), 1), size)
        return torch.stack([self[int(i)] for i in index])


class FamilyModel(nn.Module, metaclass=ABCMeta):
    """The network of a family: what it learns (``loss``) and how it samples (``generate``).

    Subclasses set ``family`` and ``adapter_class`` (the family's torch-free
    :class:`~composer.models.adapter.FamilyAdapter`: codec, primer encoding, steps, decoding)
    and implement the abstract hooks; the optional hooks below have working defaults."""

    family: ClassVar[str]
    adapter_class: ClassVar[type[FamilyAdapter]]
    #: Its datasets honour ``config.normalized_shifts`` (small transpositions of key-normalised
    #: data); other families refuse the setting rather than transpose through every key.
    takes_normalized_shifts: ClassVar[bool] = False
    #: What ``composer eval`` measures: "frames" (NLL of each piano-roll frame, through
    #: :meth:`frame_predictions`) or "tokens" (accuracy and perplexity, through the token
    #: families' ``sequence_predictions``).
    evaluated_by: ClassVar[str] = "frames"

    def __init__(self, config, info: dict):
        super().__init__()
        self.config = config
        self.info = info
        self.adapter = self.adapter_class(config, info)

    @property
    def key_normalized(self) -> bool:
        """True when the model was trained on key-normalised data (see the adapter)."""
        return self.adapter.key_normalized

    # ----------------------------------------------------------------------------- training
    @abstractmethod
    def make_dataset(self, pieces: list[np.ndarray], augment: bool, training: bool) -> TrainingExamples:
        """The training (or, with ``training`` false, validation) examples of encoded pieces."""

    @abstractmethod
    def loss(self, batch, metrics: bool = True) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean loss of a batch, and metrics to report (floats; skipped when ``metrics`` is
        false, as in training steps, where they would only cost time)."""

    def frame_predictions(self, roll: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Families evaluated by "frames": (logits, targets), each (N, P), of the frames a
        whole piece ``roll`` (1, T, P) lets the model predict."""
        raise NotImplementedError(f"{self.family} is evaluated by {self.evaluated_by}")

    def stage_for_epoch(self, epoch: int) -> str | None:
        """Families trained in stages (e.g. VAEs, then predictors on their latents): the name of
        the stage that epoch ``epoch`` (1-based) trains; None (the default) for one stage.

        When the stage changes, the trainer calls :meth:`set_stage`, builds a fresh optimizer and
        scheduler (so they may cover only that stage's parameters), emits a ``stage`` event and
        starts the stage's own best-validation record (the checkpoint keeps the best epoch of the
        latest stage). Early stopping (patience) applies only in the last stage."""
        return None

    def set_stage(self, stage: str) -> None:
        """Switch to training ``stage`` (see :meth:`stage_for_epoch`); one-stage families have
        none to switch to."""
        raise ComposerError(f"{self.family} trains in one stage, not {stage!r}")

    def make_optimizer(self, learning_rate: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=learning_rate,
                                weight_decay=self.config.weight_decay)

    def make_scheduler(self, optimizer, steps_per_epoch: int):
        """A per-step learning-rate scheduler, or None."""
        return None

    # --------------------------------------------------------------------------- generation
    @abstractmethod
    def generate(self, primer: np.ndarray, n_steps: int, n_variations: int, options: SamplingOptions,
                 generator: torch.Generator) -> Iterator[float | np.ndarray]:
        """Continue ``primer`` (the adapter's encoding of the primer) by ``n_steps``.

        A generator: yields progress in [0, 1] every few steps (so Cancel takes effect
        quickly) and finally yields the result, an array of shape (n_variations, ...), which
        the adapter decodes.
        """

    def log_likelihood(self, inputs: list[np.ndarray], following: list[int]) -> np.ndarray:
        """Families that infill by resampling (autoregressive ones): for each of K inputs (the
        adapter's encoding of some music, (T_k, ...)), the log-probability the model gives its
        last ``following[k]`` steps given the steps before them. Returns float64 (K,)."""
        raise ComposerError(f"{self.family} models cannot score a continuation")

    def interpolate(self, before: np.ndarray, after: np.ndarray, n_steps: int, n_variations: int,
                    options: SamplingOptions, generator: torch.Generator) -> Iterator[float | np.ndarray]:
        """Families with the "interpolate" capability: ``n_steps`` steps on the way from
        ``before`` to ``after`` (each the adapter's encoding of one step). A generator like
        :meth:`generate`, whose last item is an array (n_variations, n_steps, ...) of the new
        steps only."""
        raise ComposerError(f"{self.family} models cannot interpolate")

    def accompany(self, lead_bars: np.ndarray, first_bars: np.ndarray | None, n_variations: int,
                  options: SamplingOptions, generator: torch.Generator) -> Iterator[float | np.ndarray]:
        """Families with the "accompany" capability: keep the lead's steps ``lead_bars`` (the
        adapter's ``encode_accompaniment``) and write every other slot under them, starting from
        ``first_bars`` (the step before, or None). A generator like :meth:`generate`, whose last
        item is an array (n_variations, N, ...) holding the lead as given."""
        raise ComposerError(f"{self.family} models cannot accompany a track")


def config_from_dict(family_module, values: dict):
    """Rebuild a family's Config, refusing unknown fields (a checkpoint from another version)."""
    fields = {f.name for f in dataclasses.fields(family_module.Config)}
    unknown = set(values) - fields
    if unknown:
        raise CheckpointError(f"the checkpoint's configuration has fields this Composer does not "
                              f"know: {sorted(unknown)}")
    return family_module.Config(**values)


def preset_config(family_id: str, preset: str | None = None, **overrides):
    """The Config of a preset with overrides applied (None values are ignored)."""
    module = load_family(family_id)
    spec = family_spec(family_id)
    name = preset or spec.default_preset
    if name not in module.PRESETS:
        raise ComposerError(f"family {family_id!r} has no preset {name!r}; presets: "
                            f"{', '.join(module.PRESETS)}")
    return dataclasses.replace(module.PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})


def build_model(family_id: str, config, info: dict) -> FamilyModel:
    return load_family(family_id).Model(config, info)


def save_model(path, model: FamilyModel, metadata: dict) -> None:
    meta = {"family": model.family, "config": dataclasses.asdict(model.config), "info": model.info,
            **metadata}
    save_checkpoint(path, model.state_dict(), meta)


def load_model(path, expected_family: str | None = None) -> tuple[FamilyModel, dict]:
    """Load a checkpoint into its family's model (eval mode, CPU). Never executes stored code."""
    meta = read_metadata(path)
    family_id = meta.get("family")
    if expected_family and family_id != expected_family:
        raise CheckpointError(f"{path} is a {family_id!r} model, not {expected_family!r}")
    module = load_family(family_id)
    model = module.Model(config_from_dict(module, meta.get("config", {})), meta.get("info", {}))
    state = load_state_dict(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{path}: the weights do not fit the model ({first})") from None
    model.eval()
    return model, meta
