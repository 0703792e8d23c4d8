"""What a user asks for when pressing Generate, independent of any model family."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from composer.core.errors import ComposerError
from composer.core.notes import empty_notes
from composer.core.score import Score
from composer.representations.keys import MODE_STEPS, TONIC_NAMES, Key, find_key

from .controls import CONTROLS

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: Key names as musicians write them (Bb major, not A# major); any spelling is accepted.
KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "chromatic": tuple(range(12)),
}
#: The ``key`` that asks for the primer's own key (the panel's "Primer's key", ``composer
#: generate --key auto``): found with the key finder on the primer's pitched notes.
PRIMER_KEY = "auto"
#: The scale of a key as the key finder reads it, by mode: "D" with "minor key" is D natural
#: minor plus its raised seventh (C#), which minor melodies use; "major key" is the major scale.
KEY_SCALES = {f"{mode} key": steps for mode, steps in MODE_STEPS.items()}


def is_primer_key(key: str | None) -> bool:
    """Whether ``key`` asks for the primer's key ("auto", any case)."""
    return key is not None and key.strip().lower() == PRIMER_KEY


def key_fields(key: Key) -> tuple[str, str]:
    """A found key as a request's ``key`` and ``scale``: D minor -> ("D", "minor key")."""
    return TONIC_NAMES[key.tonic], f"{key.mode} key"


def scale_pitch_classes(key: str, scale: str) -> frozenset[int]:
    """Pitch classes (0 = C) of ``scale`` on ``key``, e.g. ("D", "minor")."""
    name = key.strip()
    name = name[:1].upper() + name[1:]
    name = _FLATS.get(name, name)
    if name not in NOTE_NAMES:
        raise ComposerError(f"unknown key {key!r}; use one of {', '.join(KEY_NAMES)}, or auto for "
                            f"the primer's key")
    steps = SCALES.get(scale, KEY_SCALES.get(scale))
    if steps is None:
        raise ComposerError(f"unknown scale {scale!r}; use one of {', '.join([*SCALES, *KEY_SCALES])}")
    root = NOTE_NAMES.index(name)
    return frozenset((root + step) % 12 for step in steps)


def primer_notes(primer: Score | None, track_id: int | None = None, start_tick: int | None = None) -> np.ndarray:
    """The pitched notes a continuation follows: the primer's notes that start before
    ``start_tick`` (default: the primer's end), only track ``track_id``'s when given, drums
    left out; sorted by onset (NOTE_DTYPE)."""
    if primer is None:
        return empty_notes()
    end = primer.end_tick if start_tick is None else int(start_tick)
    tracks = [t for t in primer.tracks if (track_id is None or t.id == track_id) and not t.is_drum]
    parts = [t.notes[t.notes["start"] < end] for t in tracks]
    if not parts:
        return empty_notes()
    notes = np.concatenate(parts)
    return notes[np.argsort(notes["start"], kind="stable")]



@dataclass
class GenerateRequest:
    """Continue (or start) a piece.

    ``primer`` is the score to continue; notes from ``start_tick`` on are ignored (default: the
    end of the primer). ``track_id`` picks the primer track to continue and receive the result
    (default: every pitched track merged, result in a new track). Length is ``bars`` (in the
    primer's meter) or ``seconds``; :meth:`length_bars` when neither is given. The settings'
    defaults and ranges are :data:`~composer.generation.controls.CONTROLS`.
    """

    primer: Score | None = None
    track_id: int | None = None
    start_tick: int | None = None
    bars: float | None = None
    seconds: float | None = None
    temperature: float = CONTROLS["temperature"].default
    #: "bernoulli" or "threshold" for piano-roll families.
    sampling: str = CONTROLS["sampling"].default
    threshold: float = CONTROLS["threshold"].default
    top_p: float = CONTROLS["top_p"].default
    noise: float = CONTROLS["noise"].default
    variations: int = CONTROLS["variations"].default
    seed: int = CONTROLS["seed"].default
    key: str | None = None
    scale: str | None = None
    pitch_min: int | None = None
    pitch_max: int | None = None
    #: Token families without a primer: the first token ("C4", "C4.E4.G4"); None picks one.
    start_token: str | None = None
    #: Families that interpolate (multitrack_vae): instead of continuing, fill [start_tick,
    #: start_tick + length) with bars on the line between the bar before it and the bar after it.
    interpolate: bool = False
    #: Rewrite [start_tick, start_tick + length) so that it leads into the music after it
    #: (composer.generation.infill): the autoregressive families resample candidates by how
    #: likely they make the bars after the gap; the VAE interpolates between its latents at
    #: both ends.
    infill: bool = False
    #: Multitrack families: instrument slots silent in the primer's last bar start from
    #: "silence" or from a draw of the "prior".
    missing_slots: str = CONTROLS["missing_slots"].default
    #: Multitrack VAE: pull of each bar's latent toward the primer bar's, 0 to 1
    #: (SamplingOptions.anchor); None: the model's own default (its header's), else 0.
    anchor: float | None = None
    #: Multitrack families: GM programs for the instrument slots' new tracks, by slot name
    #: (e.g. {"guitar": 27}); the others get their slot's default (piano 0, guitar 24, ...).
    slot_programs: dict[str, int] | None = None
    #: Keep to the primer's grid, register and texture (SamplingOptions.follow_primer); False
    #: lets the model write in its own.
    follow_primer: bool = True
    #: Notes per beat the new music aims at (None: the model's and the primer's own).
    density: float | None = CONTROLS["density"].default
    #: The most notes sounding at once in the new music (None: the primer's texture).
    polyphony: int | None = CONTROLS["polyphony"].default
    #: Families that accompany (multitrack_vae): the id of the primer track to accompany. The
    #: lead stays as it is; the other instrument slots are written under it from ``start_tick``
    #: (default: the start of the piece) for ``bars`` or ``seconds``, or to the end of the
    #: lead when neither is given. Each slot goes into the track it was assigned, else a new one.
    accompany: int | None = None

    def length_bars(self) -> float | None:
        """The length in bars: ``bars``, the default length when neither bars nor seconds is
        given, None when the length is in seconds."""
        if self.seconds is not None:
            return None
        return CONTROLS["bars"].default if self.bars is None else self.bars

    def end_tick(self, score: Score, start_tick: int) -> int:
        """The tick of ``score`` where the requested length ends when it starts at
        ``start_tick``: bars in the meter at the start, or seconds at the tempo there."""
        if self.seconds is not None:
            beats = self.seconds * score.tempo_map.qpm_at(start_tick) / 60
            return start_tick + max(int(round(beats * score.ppq)), 1)
        return start_tick + max(int(round(self.length_bars() * score.bar_ticks_at(start_tick))), 1)

    def validate(self) -> None:
        """A ComposerError for the first setting out of its range or in conflict; changes nothing."""
        if self.bars is not None and self.seconds is not None:
            raise ComposerError("give the length in bars or in seconds, not both")
        for control in CONTROLS.values():
            value = getattr(self, control.name)
            if value is not None:
                control.check(value)
        for slot, program in (self.slot_programs or {}).items():
            if isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127:
                raise ComposerError(f"the program for {slot} must be a General MIDI program 0-127, not {program!r}")
        if self.anchor is not None and not 0 <= self.anchor <= 1:
            raise ComposerError(f"the pull toward the primer (anchor) must be 0 to 1, not {self.anchor!r}")
        if self.interpolate and self.primer is None:
            raise ComposerError("interpolation needs a score with a bar before and a bar after the gap")
        if self.accompany is not None and (self.primer is None or self.interpolate or self.infill):
            raise ComposerError("accompaniment needs a primer with the track to accompany" if self.primer is None
                                else "accompany, or fill a gap, not both")
        if self.infill and (self.primer is None or self.start_tick is None):
            raise ComposerError("infill needs a score and the bar where the gap starts")
        if self.infill and self.interpolate:
            raise ComposerError("infill and interpolation are two ways to fill a gap: ask for one")
        if is_primer_key(self.key):
            if self.primer is None:
                raise ComposerError("the primer's key needs a primer to find it in")
            if self.scale is not None:
                raise ComposerError("the primer's key brings its own scale (its major or minor); "
                                    "give no scale with it")
        elif (self.key is None) != (self.scale is None):
            raise ComposerError("give both a key and a scale, or neither")
        lo, hi = self.pitch_min, self.pitch_max
        if lo is not None and hi is not None and lo > hi:
            raise ComposerError(f"pitch range {lo}-{hi} is empty")

    def pitch_classes(self) -> frozenset[int] | None:
        """The pitch classes generation is locked to (None: no lock). For the primer's key,
        its key's scale, or None when the primer has no clear key."""
        if is_primer_key(self.key):
            found = self.primer_key()
            return None if found is None else found.pitch_classes()
        return None if self.key is None else scale_pitch_classes(self.key, self.scale)

    def primer_notes(self) -> np.ndarray:
        """The pitched notes this request continues (see :func:`primer_notes`)."""
        return primer_notes(self.primer, self.track_id, self.start_tick)

    def primer_key(self) -> Key | None:
        """The key of the notes this request continues (None: no clear key, or no notes)."""
        return find_key(self.primer_notes())

    def with_primer_key(self) -> tuple["GenerateRequest", Key | None]:
        """This request with "auto" replaced by the primer's key and its scale ("D", "minor
        key"), or by no lock (key and scale None) when the primer has no clear key; and the key
        found. A request that does not ask for the primer's key comes back as it is, with None."""
        if not is_primer_key(self.key):
            return self, None
        found = self.primer_key()
        key, scale = key_fields(found) if found is not None else (None, None)
        return replace(self, key=key, scale=scale), found

    def pitch_range(self) -> tuple[int, int] | None:
        if self.pitch_min is None and self.pitch_max is None:
            return None
        return (self.pitch_min or 0, (self.pitch_max if self.pitch_max is not None else 127) + 1)


def sampling_defaults(family_defaults=()) -> dict:
    """``sampling``, ``threshold`` and ``noise`` for a family: GenerateRequest's defaults,
    overridden by the family's own ``FamilySpec.sampling_defaults`` ((field, value) pairs)."""
    fields = GenerateRequest.__dataclass_fields__
    return {name: fields[name].default for name in ("sampling", "threshold", "noise")} | dict(family_defaults)
