"""The model families Composer knows, described without importing torch.

The model picker, the training wizard and ``composer models`` list families, presets and
capabilities from here; the family's module (which imports torch) is only imported by
:func:`load_family` when a model is built, trained or run.
"""

from __future__ import annotations

import importlib
import string
from dataclasses import dataclass, replace

from composer.core.errors import ComposerError

#: What a family can do; the GUI enables its controls from these.
CONTINUE, FROM_SCRATCH, MULTITRACK, INTERPOLATE, INFILL = (
    "continue", "from_scratch", "multitrack", "interpolate", "infill")
#: Writes the other instrument slots under a given lead part (paper 004's ConditionalNNs).
ACCOMPANY = "accompany"


class UnknownFamily(ComposerError):
    """A family id this version of Composer does not know."""


@dataclass(frozen=True)
class DataOption:
    """A choice about the data a family needs (a Config field), asked by the training wizard."""

    field: str
    label: str
    default: str
    #: (value, label) pairs for a choice; empty for free text.
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    #: Asked only when another option has one of these values: (field, (value, ...)).
    only_when: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class FamilySpec:
    id: str
    name: str
    paper: str
    description: str
    capabilities: frozenset[str]
    presets: tuple[str, ...]
    default_preset: str
    #: Module that defines ``Config``, ``PRESETS`` and ``Model``; imported only when needed.
    module: str
    #: Sampling controls the generation panel shows: any of temperature, threshold, top_p,
    #: noise, missing_slots, density, polyphony (composer.generation.controls).
    controls: tuple[str, ...] = ("temperature",)
    #: The family's own sampling defaults (GenerateRequest fields), where the shared ones do not
    #: fit, e.g. paper 004 thresholds its decoded bars at 0.3.
    sampling_defaults: tuple[tuple[str, object], ...] = ()
    #: What the family needs to know about the data, beyond its preset (the wizard asks).
    data_options: tuple[DataOption, ...] = ()
    #: Trains under torchrun on several GPUs (staged families run on one device).
    multi_gpu: bool = True
    #: The presets with the paper's own settings (the wizard marks them); empty: the default.
    paper_presets: tuple[str, ...] = ()
    #: The network's size in words, from a model's config: parts like "{layers} LSTM layer{layers_s}
    #: of {hidden} units"; a part is left out when a field it names is missing, zero or empty
    #: ("{f_s}" is "s" unless field f is 1). The description stays free of sizes: presets differ.
    size: tuple[str, ...] = ()

    def size_text(self, config: dict) -> str:
        """The size of a model with ``config`` (a header's config), e.g. "3 LSTM layers of 256
        units, a dense layer of 256"; "" when the family describes none."""
        values = dict(config)
        # (derived: the piano-roll families' NADE head has a size, the independent one none)
        values["nade_units"] = config.get("head_hidden", 0) if config.get("head") == "nade" else 0
        values.update({f"{k}_s": "" if v == 1 else "s" for k, v in config.items() if isinstance(v, int)})
        parts = []
        for part in self.size:
            try:
                text = part.format(**values)
            except (KeyError, IndexError, ValueError):
                continue
            if all(values.get(name) for name in _fields_of(part) if not name.endswith("_s")):
                parts.append(text)
        return ", ".join(parts)


def _fields_of(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


FAMILIES: dict[str, FamilySpec] = {}

#: Every family's first data option: key normalisation (TrainConfig.key_normalize), on by default.
KEY_NORMALIZE = DataOption(
    "key_normalize", "Keys", "true", (
        ("true", "Bring every piece to C major / A minor (the model follows the primer's key)"),
        ("false", "Keep each piece in its own key (random transposition instead)")),
    "Transposes each piece (and, when generating, the primer and back) so the model learns one "
    "key well; without it, it learns each key from fewer examples.")


#: Every family's last data option: which tracks to read (TrainConfig.track_names), all by default.
TRACK_NAMES = DataOption(
    "track_names", "Tracks named", "",
    help="Only the tracks of these names, e.g. MELODY (comma-separated); empty: every track")


def register(spec: FamilySpec) -> FamilySpec:
    """Add ``spec`` to :data:`FAMILIES`, with the key-normalisation and track options every
    family has."""
    if not any(option.field == KEY_NORMALIZE.field for option in spec.data_options):
        spec = replace(spec, data_options=(KEY_NORMALIZE, *spec.data_options))
    if not any(option.field == TRACK_NAMES.field for option in spec.data_options):
        spec = replace(spec, data_options=(*spec.data_options, TRACK_NAMES))
    FAMILIES[spec.id] = spec
    return spec


#: The size of a piano-roll model's NADE output head (composer.models.output_heads); none shown
#: for the papers' independent head.
NADE_SIZE = "a NADE output head of {nade_units} units"

register(FamilySpec(
    id="pianoroll_lstm",
    name="Piano-roll LSTM",
    paper="Docevski et al., Towards Music Generation With Deep Learning Algorithms (000)",
    description="Stacked LSTM over a multi-hot piano roll (sixteenth notes tied to the beat; 16 "
                "frames a second in the paper's presets); predicts the next frame's notes.",
    capabilities=frozenset({CONTINUE, FROM_SCRATCH}),
    presets=("2x256-beat", "2x256-beat-nade", "2x256", "3x1024", "3x1024-dense", "tiny"),
    default_preset="2x256-beat",
    paper_presets=("2x256", "3x1024", "3x1024-dense"),
    module="composer.models.pianoroll_lstm",
    controls=("temperature", "threshold", "density", "polyphony"),
    size=("{layers} LSTM layer{layers_s} of {hidden} units",
          "{dense_layers} dense layer{dense_layers_s} of {dense_size}", NADE_SIZE),
))

register(FamilySpec(
    id="pianoroll_seq2seq",
    name="Piano-roll encoder-decoder",
    paper="Docevski et al., Towards Music Generation With Deep Learning Algorithms (000)",
    description="An LSTM encoder reads the last frames, an LSTM decoder predicts the next frame "
                "(sixteenth notes tied to the beat; 16 frames a second in the paper's preset).",
    capabilities=frozenset({CONTINUE}),
    presets=("256-beat", "256-beat-nade", "256", "tiny"),
    default_preset="256-beat",
    paper_presets=("256",),
    module="composer.models.pianoroll_seq2seq",
    controls=("temperature", "threshold", "density", "polyphony"),
    size=("an encoder of {encoder_hidden} units", "a decoder of {decoder_hidden} units",
          "{seq_len} frames of context", NADE_SIZE),
))

register(FamilySpec(
    id="bar_lstm",
    name="Bar-conditioned LSTM",
    paper="Rajaraman, Music Generation using LSTM networks (002)",
    description="Generates each bar of a piano roll conditioned on the bar before it.",
    capabilities=frozenset({CONTINUE}),
    presets=("2x256-auto", "2x256-auto-nade", "2x256", "tiny"),
    default_preset="2x256-auto",
    paper_presets=("2x256",),
    module="composer.models.bar_lstm",
    controls=("temperature", "threshold", "density", "polyphony"),
    size=("{layers} LSTM layer{layers_s} of {hidden} units", "bars of {steps_per_bar} steps", NADE_SIZE),
))

register(FamilySpec(
    id="chord_token_lstm",
    name="Chord-token LSTM",
    paper="Banić et al., Generating music using an LSTM network (001)",
    description="Each onset is one token, a note (\"C4\") or a chord (\"C4.E4.G4\"); stacked LSTM "
                "layers predict the next token (three of 512 in the paper). The timed preset adds a "
                "duration and rest token after each chord so the rhythm carries on.",
    capabilities=frozenset({CONTINUE, FROM_SCRATCH}),
    presets=("paper", "timed", "tiny"),
    default_preset="timed",
    paper_presets=("paper",),
    module="composer.models.chord_token_lstm",
    controls=("temperature", "top_p", "density", "polyphony"),
    size=("{layers} LSTM layer{layers_s} of {hidden} units", "a dense layer of {dense}",
          "embeddings of {embedding}"),
))

register(FamilySpec(
    id="note_symbol_lstm",
    name="Note-symbol LSTM",
    paper="Lundkvist and Clemendsson, A recurrent neural network for classical music generation (003)",
    description="Pitch symbols with a <next> symbol closing each time step; a small LSTM "
                "predicts the next symbol. Can start from a single note.",
    capabilities=frozenset({CONTINUE, FROM_SCRATCH}),
    presets=("paper", "grid", "tiny"),
    default_preset="grid",
    paper_presets=("paper",),
    module="composer.models.note_symbol_lstm",
    controls=("temperature", "top_p", "density", "polyphony"),
    size=("{layers} LSTM layer{layers_s} of {hidden} units",),
))

register(FamilySpec(
    id="multitrack_vae",
    name="Multitrack VAE",
    paper="Multitrack music generation with variational autoencoders (004)",
    description="One convolutional VAE per instrument slot (LPD-5, or voices such as S/A/T/B); "
                "an MLP steps the lead instrument's latent from bar to bar and one network per "
                "other slot follows it.",
    capabilities=frozenset({CONTINUE, FROM_SCRATCH, MULTITRACK, INTERPOLATE, ACCOMPANY}),
    presets=("satb", "lpd5", "pop", "groove", "tiny", "tiny_pop", "tiny_drums"),
    default_preset="satb",
    module="composer.models.multitrack_vae",
    controls=("threshold", "noise", "missing_slots"),
    size=("latents of {latent}", "convolutions of {channels} channels",
          "predictors of {hidden} units"),
    # Threshold 0.3 as in the paper; without noise the latents settle on one bar repeated, and
    # noise 0.2 matches the chorales' pitch-class entropy best (benchmarks/RESULTS.md).
    sampling_defaults=(("sampling", "threshold"), ("threshold", 0.3), ("noise", 0.2)),
    data_options=(
        DataOption("slots", "Instrument slots", "lpd5", (
            ("lpd5", "LPD-5: drums, piano, guitar, bass, strings (from each track's instrument)"),
            ("order", "By track order (the first track fills the first slot, ...)"),
            ("names", "By track name")),
            "How tracks become the model's instruments."),
        DataOption("slot_names", "Slot names", "S,A,T,B",
                   help="For track order or names: the slots, comma-separated (e.g. MELODY,BRIDGE,PIANO).",
                   only_when=("slots", ("order", "names"))),
        DataOption("lead", "Lead slot", "",
                   help="The slot the others follow; empty: the first slot that is not drums."),
    ),
    multi_gpu=False,
))


def family_spec(family_id: str) -> FamilySpec:
    try:
        return FAMILIES[family_id]
    except KeyError:
        raise UnknownFamily(f"unknown model family {family_id!r}; known families: "
                            f"{', '.join(sorted(FAMILIES))}") from None


def load_family(family_id: str):
    """Import and return the family's module (this imports torch)."""
    return importlib.import_module(family_spec(family_id).module)
