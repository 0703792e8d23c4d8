"""The multitrack VAE's adapter (torch-free): instrument slots, bars of the primer, bar lines
and decoding every slot into a track.

Pieces are :class:`~composer.representations.multitrack.MultitrackBarCodec` arrays of shape
(bars, slots, steps_per_bar, 128); a generated step is one bar of every slot.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer.core.errors import ComposerError, ComposerWarning
from composer.core.score import Score, Track
from composer.data.encoded import EncodedSet
from composer.representations.codecs import codec_from_params
from composer.representations.drum_timing import humanize, measure_timing
from composer.representations.multitrack import (N_PITCHES, MultitrackBarCodec, bar_window, lowest_line_mask,
                                                 note_grid)
from composer.representations.pianoroll import snap_to_grid

from .adapter import FamilyAdapter

#: Data-info entries: the training data's grid and shortest common note, in quarter notes
#: (:func:`~composer.representations.multitrack.note_grid`); decoded notes are snapped to them.
GRID_BEATS, MIN_NOTE_BEATS = "grid_beats", "min_note_beats"
#: Both, for a checkpoint trained before they were recorded: a sixteenth note.
DEFAULT_GRID_BEATS = 0.25


def codec_for(config) -> MultitrackBarCodec:
    """The codec of a multitrack config (its ``slots``, ``slot_names``, ``steps_per_bar``, ``lead``)."""
    names = tuple(n.strip() for n in config.slot_names.split(",") if n.strip()) \
        if config.slots != "lpd5" else ()
    drums = tuple(n.strip() for n in getattr(config, "drum_slots", "").split(",") if n.strip())
    lowest = tuple(n.strip() for n in getattr(config, "lowest_line", "").split(">") if n.strip())
    programs = tuple(int(p) for p in getattr(config, "programs", "").split(",") if p.strip())
    fill = tuple(n.strip() for n in getattr(config, "fill_silent", "").split("<") if n.strip())
    return MultitrackBarCodec(slots=config.slots, names=names, steps_per_bar=config.steps_per_bar,
                              lead=config.lead, register_voices=True, drums=drums, lowest_line=lowest,
                              programs=programs, fill_silent=fill)


#: Data-info entry of a model with drum slots (codec ``drums``): the training drummers' timing
#: and velocity by step of the bar (:func:`~composer.representations.drum_timing.measure_timing`),
#: which decoded hits are given (:func:`~composer.representations.drum_timing.humanize`).
DRUM_TIMING = "drum_timing"
#: Data-info entry of a model with drum slots: the drum keys its training data plays (decoded
#: drum slots play no others).
DRUM_KEYS = "drum_keys"
#: Data-info entry: (field, value) sampling settings of this model that replace its family's
#: defaults (composer.generation.plan.model_sampling_defaults). A drum model follows a drawn beat
#: better with less latent noise than the chorales' 0.2: hit F1 0.65 at 0.1 against 0.54, both
#: groove measures still within the Groove test split's; and with each bar's latent pulled a
#: quarter of the way back to the drawn bar's (``anchor``): 0.70 against 0.65, the variations
#: still apart (benchmarks/RESULTS.md, "Drums").
SAMPLING_DEFAULTS, DRUM_NOISE, DRUM_ANCHOR = "sampling_defaults", 0.1, 0.25


def drum_timing_info(data: EncodedSet, codec: MultitrackBarCodec) -> dict:
    """{DRUM_KEYS: the keys the training pieces' drum slots play, SAMPLING_DEFAULTS: the drum
    noise and anchor, DRUM_TIMING: the timing table of the training files of ``data`` (a
    folder)} when ``codec`` has drum slots of its own; {} otherwise."""
    if not codec.drums:
        return {}
    drums = [k for k in range(len(codec.slot_names)) if codec.slot_is_drum(k)]
    train = data.split_pieces("train") or data.pieces
    keys = np.zeros(N_PITCHES, bool)
    for piece in train:
        keys |= codec.pitches_used(np.asarray(piece)[:, drums])
    out = {DRUM_KEYS: [int(k) for k in np.flatnonzero(keys)],
           SAMPLING_DEFAULTS: [["noise", DRUM_NOISE], ["anchor", DRUM_ANCHOR]]}
    folder = Path(data.source or "")
    table = measure_timing([folder / name for name in data.split_names("train")], codec.steps_per_bar) \
        if folder.is_dir() else None
    return {**out, DRUM_TIMING: table} if table else out


class MultitrackAdapter(FamilyAdapter):
    """One bar of every instrument slot per step; each slot decodes into its own track."""

    @property
    def codec(self) -> MultitrackBarCodec:
        return codec_from_params(self.info["codec"]) if "codec" in self.info else codec_for(self.config)

    @classmethod
    def default_codec(cls, config) -> MultitrackBarCodec:
        return codec_for(config)

    @classmethod
    def data_info(cls, data: EncodedSet, config) -> dict:
        """Slots, how often each sounds, the data's note grid, and the epoch that ends the VAE
        stage (fixed here, so a resumed run with more epochs spends them on the predictors
        instead of moving the boundary)."""
        train = data.split_pieces("train") or data.pieces
        bars = sum(len(p) for p in train)
        filled = np.sum([p.reshape(len(p), p.shape[1], -1).any(axis=-1).sum(axis=0) for p in train], axis=0)
        if config.epochs < 2:
            raise ComposerError("multitrack_vae trains in two stages (the VAEs, then the latent "
                                "predictors): give at least 2 epochs")
        vae_epochs = min(max(int(round(config.epochs * config.vae_fraction)), 1), config.epochs - 1)
        codec = codec_for(config)
        drums = [k for k in range(len(codec.slot_names)) if codec.slot_is_drum(k)]
        grid, shortest = note_grid(train, config.steps_per_bar, drums)
        beats_per_step = 4 / config.steps_per_bar  # the bars read as 4/4, the meter of most data
        return {"codec": data.codec, "slots": list(codec.slot_names),
                "vae_epochs": vae_epochs,
                GRID_BEATS: round(grid * beats_per_step, 6), MIN_NOTE_BEATS: round(shortest * beats_per_step, 6),
                "slot_fill": [round(float(f) / max(bars, 1), 4) for f in np.atleast_1d(filled)],
                **drum_timing_info(data, codec)}

    @property
    def slot_names(self) -> list[str]:
        return list(self.codec.slot_names)

    # ----------------------------------------------------------------------- generation
    def encode_primer(self, part: Score, primer: Score, start_tick: int) -> np.ndarray:
        """The primer's last bar before ``start_tick`` of every slot, shape (1, slots, steps, 128),
        or (0, ...) without primer notes (generation from scratch). Slots no primer track fills
        are a silent bar (what happens to them is ``SamplingOptions.missing_slots``). Slots by
        name take the tracks no slot name matches by register (:meth:`primer_placement`, with a
        ComposerWarning saying where each went)."""
        codec = self.codec
        names = codec.slot_names
        if part.note_count == 0 or start_tick == 0:
            return np.zeros((0, len(names), codec.steps_per_bar, N_PITCHES), dtype=np.uint8)
        placed = self.primer_placement(primer)
        groups = codec.assign(part, placed)
        if codec.slots == "names":
            _say_placed(codec, primer, placed)
        if not any(groups) and all(codec.slot_is_drum(k) for k in range(len(names))):
            # a drum model after a song without drums: the drums start from scratch
            return np.zeros((0, len(names), codec.steps_per_bar, N_PITCHES), dtype=np.uint8)
        if not any(groups):
            raise ComposerError(f"no primer track fits this model's slots ({', '.join(names)})")
        pitched = [t for t in part.tracks if len(t) and not t.is_drum]
        pitched_slots = [k for k in range(len(names)) if not codec.slot_is_drum(k)]
        if codec.slots == "order" and pitched_slots and len(pitched) > len(pitched_slots):
            warnings.warn(f"the primer has {len(pitched)} tracks with notes but the model has "
                          f"{len(pitched_slots)} slots; the tracks after the first {len(pitched_slots)} were left out",
                          ComposerWarning, stacklevel=4)
        first, length = bar_before(primer, start_tick)
        return bar_window(codec, groups, first, length)[None]

    def steps_for(self, primer: Score, start_tick: int, end_tick: int) -> int:
        """The bars that start in [start_tick, end_tick) (the last one may be cut)."""
        shortest = min(primer.bar_lengths())
        most = -(-(end_tick - start_tick) // max(shortest, 1))
        lines = bar_lines(primer, start_tick, most)
        return max(int(np.searchsorted(lines, end_tick, side="left")), 1)

    def decode_slots(self, steps: np.ndarray, primer: Score, start_tick: int, primer_grid: int | None = None):
        """Generated bars (N, slots, steps, 128) -> one (Track, primer track id or None) per slot:
        the primer track that continues the slot (its first track in the slot), else a new
        track named after the slot with its GM program and drum flag.

        Pitched notes are snapped to the data's grid (:meth:`note_grid_ticks`), or, following
        the primer, to ``primer_grid`` ticks (the primer's grid) where the data's is finer: 32
        steps a bar meet no eighth of a 6/8 or 3/4 bar, so a model trained on such music has a
        32nd-note grid of its own and wrote off the primer's eighths (0.62 on its grid)."""
        codec = self.codec
        lines = bar_lines(primer, start_tick, len(steps))
        part = Score(list(primer.tracks), primer.ppq, primer.tempos, primer.time_signatures)
        targets = [group[0].id if group else None for group in codec.assign(part, self.primer_placement(primer))]
        grid, shortest = self.note_grid_ticks(primer.ppq)
        if primer_grid and primer_grid > grid:
            grid = int(primer_grid)
        out = []
        for k, notes in enumerate(codec.decode_notes(steps, lines)):
            if not codec.slot_is_drum(k):  # the data's rhythm: no slivers shorter than it has
                notes = snap_to_grid(notes, grid, origin=int(lines[0]), min_length=shortest)
            elif self.info.get(DRUM_TIMING) and len(notes):  # the drummers' feel, off the grid
                rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(steps[:, k]).tobytes()))
                notes = humanize(notes, lines, codec.steps_per_bar, self.info[DRUM_TIMING], rng)
            track = Track(codec.track_name(k), codec.slot_program(k), codec.slot_is_drum(k), notes)
            out.append((track, targets[k]))
        return out

    def primer_placement(self, primer: Score) -> dict[int, int]:
        """Track id -> slot for the primer's tracks that no slot name matches, by register
        (:meth:`~composer.representations.multitrack.MultitrackBarCodec.place_by_register`):
        from the whole primer, so the bars read and the tracks written agree."""
        return self.codec.place_by_register(primer)

    # ---------------------------------------------------------------------- accompaniment
    def accompany_groups(self, score: Score, lead_id: int) -> list[list[Track]]:
        """The tracks of each slot when track ``lead_id`` leads: the lead slot holds that track
        alone, every other slot the tracks the codec gives it (the lead left out). With slots
        by order, where the order (or the register, for S/A/T/B) does not give the lead track
        the lead slot, the other pitched tracks fill the other slots in their order."""
        codec = self.codec
        lead = codec.lead_index
        track = score.track(lead_id)
        groups = codec.assign(score)
        if codec.slots == "order" and all(t.id != lead_id for t in groups[lead]):
            others = [t for t in score.tracks if len(t) and not t.is_drum and t.id != lead_id]
            groups = [[] for _ in groups]
            for k, other in zip([k for k in range(len(groups)) if k != lead], others):
                groups[k].append(other)
        groups = [[t for t in group if t.id != lead_id] for group in groups]
        groups[lead] = [track]
        return groups

    def encode_accompaniment(self, part: Score, lead_id: int, start_tick: int, n_bars: int) -> "Accompaniment":
        """The network's input for accompanying track ``lead_id`` of ``part`` over ``n_bars``
        bars from ``start_tick`` (``part``'s bar lines, meter changes included: see
        :func:`bar_lines`): the lead's bars, the bar before them of every slot (None at the
        start of the piece) and the track each slot goes into (see :class:`Accompaniment`)."""
        codec = self.codec
        groups = self.accompany_groups(part, lead_id)
        lines = bar_lines(part, start_tick, n_bars)
        lead = codec.lead_index
        only_lead = [group if k == lead else [] for k, group in enumerate(groups)]
        lead_bars = codec.encode_bars(_cropped_groups(only_lead, int(lines[0]), int(lines[-1])), lines)[:, lead]
        first = None
        if start_tick > 0:
            first = bar_window(codec, groups, *bar_before(part, start_tick))
        targets = [group[0].id if group else None for group in groups]
        return Accompaniment(lead_bars, first, targets, lines)

    def note_grid_ticks(self, ppq: int) -> tuple[int, int]:
        """The grid decoded notes are snapped to and the shortest note kept, in ticks at ``ppq``:
        the training data's (``info["grid_beats"]``, ``info["min_note_beats"]``), else a
        sixteenth note for a model trained before they were recorded."""
        grid = float(self.info.get(GRID_BEATS) or DEFAULT_GRID_BEATS)
        shortest = float(self.info.get(MIN_NOTE_BEATS) or grid)
        return max(int(round(grid * ppq)), 1), max(int(round(shortest * ppq)), 1)


def _say_placed(codec: MultitrackBarCodec, primer: Score, placed: dict[int, int]) -> None:
    """A ComposerWarning naming the slot each track of ``placed`` went to (and the chords' lowest
    line, and tracks left out for want of a free slot), for the app's status line."""
    lowered = [n.lower() for n in codec.slot_names]
    loose = [t for t in primer.tracks if len(t) and not t.is_drum and t.name.strip().lower() not in lowered]
    if not loose:
        return
    named = len(loose) < sum(1 for t in primer.tracks if len(t) and not t.is_drum)
    used = {t.name.strip().lower() for t in primer.tracks if len(t)}
    bass_named = bool(codec.lowest_line) and codec.lowest_line[-1].lower() in used
    where = []
    for track in loose:
        slot = placed.get(track.id)
        if slot is None:
            where.append(f"{_quoted(track)} left out (no slot free)")
            continue
        where.append(f"{_quoted(track)} as {codec.slot_names[slot]}")
        if codec.lowest_line and codec.slot_names[slot] == codec.lowest_line[0] and not bass_named \
                and lowest_line_mask(track.notes).any():
            where[-1] += f" (its lowest line as {codec.lowest_line[1]})"
    head = "not every track is" if named else "no track is"
    warnings.warn(f"{head} named after this model's slots ({', '.join(codec.slot_names)}); placed by register: "
                  f"{', '.join(where)}", ComposerWarning, stacklevel=4)


def _quoted(track: Track) -> str:
    return f"'{track.name}'" if track.name.strip() else "an unnamed track"


@dataclass
class Accompaniment:
    """What :meth:`MultitrackAdapter.encode_accompaniment` gives the network and the caller.

    ``lead_bars`` (N, steps, 128): the lead track's notes in the N bars; ``first_bars`` (slots,
    steps, 128): every slot's bar before them (None at the start of the piece); ``targets``:
    per slot, the id of the track it goes into (the lead slot's is the lead's own, which is
    never written; None: a new track); ``bar_lines`` (N + 1,): where the bars start and end."""

    lead_bars: np.ndarray
    first_bars: np.ndarray | None
    targets: list[int | None]
    bar_lines: np.ndarray


def _cropped_groups(groups: list[list[Track]], start: int, end: int) -> list[list[Track]]:
    """``groups`` with only their notes in [start, end), cut to it."""
    out = []
    for group in groups:
        parts = []
        for track in group:
            notes = track.notes[(track.notes["end"] > start) & (track.notes["start"] < end)].copy()
            notes["start"] = np.maximum(notes["start"], start)
            notes["end"] = np.minimum(notes["end"], end)
            parts.append(Track(track.name, track.program, track.is_drum, notes))
        out.append(parts)
    return out


def bar_lines(score: Score, start_tick: int, n_bars: int) -> np.ndarray:
    """Where ``n_bars`` generated bars start (and the last ends), shape (n_bars + 1,): the
    score's bar lines, meter changes included, when ``start_tick`` is on one; else bars of
    the meter at ``start_tick`` (generation started mid-bar, e.g. at the playhead)."""
    lines = score.bar_starts(start_tick + (n_bars + 1) * max(score.bar_lengths()))
    if start_tick in lines:
        return lines[lines >= start_tick][:n_bars + 1]
    return start_tick + score.bar_ticks_at(start_tick) * np.arange(n_bars + 1, dtype=np.int64)


def bar_before(score: Score, start_tick: int) -> tuple[int, int]:
    """The primer bar: (its first tick, its length), the bar that ends at ``start_tick``."""
    lines = score.bar_starts(start_tick)
    if start_tick in lines and start_tick > 0:
        previous = int(lines[np.searchsorted(lines, start_tick) - 1])
        return previous, start_tick - previous
    bar = score.bar_ticks_at(start_tick)
    return max(start_tick - bar, 0), bar
