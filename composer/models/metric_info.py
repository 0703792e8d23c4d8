"""What each training metric and objective measure means, and how it reads: one description,
used by the model card, the training wizard's curves and ``composer eval`` (no torch, no Qt).

Metrics are stored under raw keys, in checkpoint headers (``valid_accuracy``,
``test_nll_per_frame_88``, ``test_mse_S``) and in the trainer's progress events (``accuracy``).
:func:`describe_metric` turns any of them, old headers included, into a :class:`MetricInfo`:
a label in words, its range, whether higher or lower is better, and a number format.

One key means two things in older headers: piano-roll families stored paper 002's note score as
``accuracy`` (divided by the model's own pitch range, not by the 88 piano keys), token families
store next-token accuracy under the same key. The family tells them apart, and an old note score
is rescaled to the 88 keys when the model's pitch range is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from composer.representations.music_metrics import METRICS as MEASURE_LABELS

#: Paper 002's note score is counted over the 88 piano keys (MIDI 21-108), as the NLL is.
PIANO_KEYS = 88
#: Families whose "accuracy" key (before it was renamed) held paper 002's note score.
PIANO_ROLL_FAMILIES = ("pianoroll_lstm", "pianoroll_seq2seq", "bar_lstm")
_SPLITS = {"train": "training", "valid": "validation", "test": "test"}


@dataclass(frozen=True)
class MetricInfo:
    """How one metric reads.

    ``low``/``high``: its range (None: unbounded on that side); ``higher_is_better``: None for
    a metric with no better direction (a count); ``style``: "fixed" (``decimals`` places),
    "percent" (a 0..1 share shown as a percentage) or "count" (an integer)."""

    key: str
    label: str
    about: str = ""
    low: float | None = None
    high: float | None = None
    higher_is_better: bool | None = None
    style: str = "fixed"
    decimals: int = 3
    #: The split it was measured on ("training", "validation", "test"), or "".
    split: str = ""
    #: For a measure best near one value (a ratio to the primer's), that value; its direction
    #: then reads "best near 1" (higher_is_better stays None).
    target: float | None = None
    #: Written after a formatted value ("×" for a ratio), "" for none.
    unit: str = ""

    def range_text(self) -> str:
        """"0 to 1", "-1 to 1", "0 and up", "" when unknown."""
        if self.style == "percent":
            return "0 to 100%"
        if self.low is not None and self.high is not None:
            return f"{_plain(self.low)} to {_plain(self.high)}"
        if self.low is not None:
            return f"{_plain(self.low)} and up"
        return ""

    def direction_text(self) -> str:
        if self.target is not None:
            return f"best near {_plain(self.target)}"
        if self.higher_is_better is None:
            return ""
        return "higher is better" if self.higher_is_better else "lower is better"

    def hint(self) -> str:
        """"0 to 1, higher is better" (its range and direction, what is known of them)."""
        return ", ".join(part for part in (self.range_text(), self.direction_text()) if part)

    def format(self, value) -> str:
        """``value`` as this metric reads ("-" for a missing or non-finite value)."""
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            return "-"
        if self.style == "count":
            return f"{round(value):,}"
        if self.style == "percent":
            return f"{100 * value:.1f}%"
        return f"{value:.{self.decimals}f}{self.unit}"


def _plain(number: float) -> str:
    return f"{number:g}"


_LOSS_ABOUT = "what training minimises"
#: Base metric key -> its description (the key and split are filled in by describe_metric).
_BASE = {
    "loss": MetricInfo("loss", "loss", _LOSS_ABOUT, 0, None, False),
    "nll_per_frame": MetricInfo(
        "nll_per_frame", "negative log-likelihood per frame",
        "nats a frame, summed over the model's pitches: how surprised the model is by the real "
        "notes", 0, None, False, decimals=2),
    "nll_per_frame_88": MetricInfo(
        "nll_per_frame_88", "negative log-likelihood per frame (88 keys)",
        "nats a frame over the 88 piano keys, as published benchmarks count it", 0, None, False,
        decimals=2),
    "note_score": MetricInfo(
        "note_score", "note score (paper 002)",
        "Rajaraman's Hamming-style metric: right notes minus wrong notes a frame, over the 88 "
        "keys; 0 is what silence scores, below 0 more wrong notes than right ones, and the best "
        "possible is the share of keys that sound (about 0.05 for four voices)",
        -1, 1, True, decimals=3),
    "accuracy": MetricInfo(
        "accuracy", "next-token accuracy",
        "the share of tokens the model ranks first", 0, 1, True, style="percent"),
    "perplexity": MetricInfo(
        "perplexity", "perplexity",
        "about how many tokens the model hesitates between at each step", 1, None, False,
        decimals=2),
    "nll_per_token": MetricInfo(
        "nll_per_token", "negative log-likelihood per token",
        "nats a token: how surprised the model is by the real tokens", 0, None, False, decimals=3),
    "mse": MetricInfo(
        "mse", "latent prediction error",
        "mean squared error of the next bar's predicted latent", 0, None, False),
    "recon": MetricInfo(
        "recon", "reconstruction loss",
        "how far a bar decoded from its own latent is from the bar", 0, None, False, decimals=2),
    "kl": MetricInfo(
        "kl", "KL divergence",
        "how far the latents are from the prior the generator samples", 0, None, False, decimals=2),
    "f1": MetricInfo(
        "f1", "reconstruction F1",
        "notes of a bar decoded from its own latent that match the bar (F1 score)", 0, 1, True,
        decimals=2),
    "vae_loss": MetricInfo("vae_loss", "VAE loss", "reconstruction + KL, the first stage's loss",
                           0, None, False, decimals=2),
    "epoch": MetricInfo("epoch", "best epoch", "the epoch the saved model comes from", style="count"),
    "frames": MetricInfo("frames", "predicted frames", style="count"),
    "tokens": MetricInfo("tokens", "predicted tokens", style="count"),
}
_LOSS_ABOUT_BY_FAMILY = {
    **{family: "binary cross-entropy per pitch and frame (nats)" for family in PIANO_ROLL_FAMILIES},
    "chord_token_lstm": "cross-entropy per token (nats)",
    "note_symbol_lstm": "cross-entropy per symbol (nats)",
    "multitrack_vae": "the last stage's loss: the latent predictors' error",
}
#: Per-slot metrics of the multitrack VAE: "mse_S" is the latent prediction error of slot S.
_PER_SLOT = ("mse", "recon", "kl", "f1")


def split_key(key: str) -> tuple[str, str, str]:
    """``key`` -> (split, base key, slot): "test_mse_S" -> ("test", "mse", "S")."""
    split, base = "", key
    head, sep, rest = key.partition("_")
    if sep and head in _SPLITS and rest:
        split, base = head, rest
    for prefix in _PER_SLOT:
        if base.startswith(prefix + "_") and base not in _BASE:
            return split, prefix, base[len(prefix) + 1:]
    return split, base, ""


def describe_metric(key: str, family: str | None = None) -> MetricInfo:
    """The description of any stored metric key (see the module docstring); a key this version
    does not know reads as its own words ("new_metric" -> "new metric")."""
    split, base, slot = split_key(key)
    if base == "accuracy" and family in PIANO_ROLL_FAMILIES:
        base = "note_score"
    if base == "accuracy" and family is None:  # either family's: say no more than the key
        info = MetricInfo(base, "accuracy", higher_is_better=True)
    else:
        info = _BASE.get(base) or MetricInfo(base, base.replace("_", " "))
    if base == "loss":
        info = replace(info, about=_LOSS_ABOUT_BY_FAMILY.get(family or "", info.about),
                       label="training loss" if split == "train" else "loss")
    label = info.label + (f", {slot}" if slot else "")
    return replace(info, key=key, label=label, split=_SPLITS.get(split, ""))


def stored_value(key: str, value, family: str | None, pitch_range=None):
    """A stored metric's value on today's scale: an old header's note score (stored as
    "accuracy", over the model's pitch range) is rescaled to the 88 keys when the range is known."""
    _, base, _ = split_key(key)
    if base == "accuracy" and family in PIANO_ROLL_FAMILIES and isinstance(value, (int, float)):
        if pitch_range and len(pitch_range) == 2:
            return value * (pitch_range[1] - pitch_range[0]) / PIANO_KEYS
    return value


def metric_line(key: str, value, family: str | None = None) -> str:
    """"note score (paper 002): 0.031 (-1 to 1, higher is better)" for a terminal."""
    info = describe_metric(key, family)
    hint = info.hint()
    return f"{info.label}: {info.format(value)}" + (f" ({hint})" if hint else "")


# ----------------------------------------------------------------------------- model cards
@dataclass(frozen=True)
class MetricRow:
    """One metric of a model: its description and its value on each split it was measured on."""

    info: MetricInfo
    #: split ("training", "validation", "test") -> value, slot by slot for per-slot metrics.
    values: dict[str, list[tuple[str, float]]]


def metric_rows(metrics: dict, family: str | None, pitch_range=None) -> list[MetricRow]:
    """A header's ``metrics`` grouped for reading: one row per metric (validation and test side
    by side, a multitrack model's slots together), in the order they were stored."""
    rows: dict[str, MetricRow] = {}
    for key, value in metrics.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        split, base, slot = split_key(key)
        info = describe_metric(key, family)
        group = base if base != "loss" or split != "train" else "train_loss"
        if group not in rows:
            rows[group] = MetricRow(replace(info, label=info.label.split(", ")[0] if slot else info.label,
                                            split=""), {})
        shown_split = "" if group == "train_loss" else info.split  # (its label says it)
        rows[group].values.setdefault(shown_split, []).append(
            (slot, stored_value(key, value, family, pitch_range)))
    return list(rows.values())


# ----------------------------------------------------------------------------- objective measures
#: Measures that count something (shown as integers everywhere); the others are rates,
#: averages or entropies, shown with two decimals.
COUNT_MEASURES = ("pitches_used",)


#: A continuation against its primer (composer.representations.continuation), the four the
#: generation panel shows under "Against the primer", in its order.
PRIMER_MEASURES = {
    "in_key": MetricInfo(
        "in_key", "in the primer's key",
        "the share of the variation's duration on the scale of the primer's key (found with the "
        "Krumhansl-Schmuckler key finder); real continuations score about 0.93 to 0.97",
        0, 1, True, decimals=2),
    "density_ratio": MetricInfo(
        "density_ratio", "density against the primer",
        "the variation's notes per beat over the primer's: 1 is as many as the primer has, 2 "
        "twice as many, 0.5 half as many",
        0, None, None, decimals=2, target=1, unit="\u00d7"),
    "register_jump": MetricInfo(
        "register_jump", "jump at the seam (semitones)",
        "semitones between the mean pitch of the primer's last bar and that of the variation's "
        "first bar", 0, None, False, decimals=1),
    "on_grid": MetricInfo(
        "on_grid", "on the primer's grid",
        "the share of the variation's onsets on the primer's rhythmic grid (quarters, eighths, "
        "sixteenths or triplets, the coarsest that holds the primer's onsets)",
        0, 1, True, decimals=2),
}


def measure_label(name: str) -> str:
    if name in PRIMER_MEASURES:
        return PRIMER_MEASURES[name].label
    return MEASURE_LABELS.get(name, name.replace("_", " "))


def format_measure(name: str, value) -> str:
    """An objective measure (composer.representations.music_metrics) as it reads everywhere:
    a count as an integer ("27"), the others with two decimals ("0.83"); a measure against the
    primer as :data:`PRIMER_MEASURES` formats it ("1.25×", "3.5"); "-" when missing."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "-"
    if name in PRIMER_MEASURES:
        return PRIMER_MEASURES[name].format(value)
    if name in COUNT_MEASURES:
        return f"{round(value):,}"
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text  # (an entropy of -1e-16 is 0)


def format_reference(name: str, summary: dict | None) -> str:
    """The training data's "mean ± sd" of a measure ("" when not recorded). A count (pitches
    used) is taken over each whole training piece, so it reads "27 ± 6 a piece": it is not the
    same quantity as a few generated bars' count, which is naturally smaller."""
    summary = summary or {}
    mean = format_measure(name, summary.get("mean"))
    if mean == "-":
        return ""
    return f"{mean} \u00b1 {format_measure(name, summary.get('std'))}" + (" a piece" if name in COUNT_MEASURES else "")
