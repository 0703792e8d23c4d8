"""Multitrack bar codec: every bar of a song as one binary roll per instrument slot. numpy only.

A piece is an array of shape ``(bars, slots, steps_per_bar, 128)`` (uint8 0/1), the layout of
paper 004's multitrack VAE: each slot's bar is a ``steps_per_bar x 128`` image. Tracks go to slots

* by the LPD-5 grouping (``slots="lpd5"``: drums, piano, guitar, bass, strings from the GM program
  and the drum flag, see :mod:`composer.representations.instruments`), or
* by track order (``slots="order"``, e.g. ``names=("S", "A", "T", "B")`` for JS Fake Chorales,
  whose tracks have no names: the k-th pitched track with notes fills slot k), or
* by track name (``slots="names"``, e.g. ``names=("MELODY", "BRIDGE", "PIANO")`` for POP909;
  matched case-insensitively; tracks with other names are left out of training data, and at
  generation time fill the empty slots by register: :meth:`MultitrackBarCodec.place_by_register`).

``lowest_line=("PIANO", "BASS")`` moves the lowest line of the tracks in slot PIANO (the notes
below middle C that no other note of the track sounds under at their onset) into slot BASS
where no track has that name: POP909's PIANO becomes chords over a bass. ``programs`` gives
each slot's General MIDI program for decoded tracks (which the user can change).
``fill_silent=("BRIDGE", "PIANO")``: in the training bars where BRIDGE is silent, it plays the
PIANO's top line (the highest note at each step), so the second line rarely drops out.

A slot no track fills is a silent row. Bars follow the song's time signatures, meter changes
included: every bar, whatever its length (a 3/4 bar, a 7/8 bar), is cut into ``steps_per_bar``
equal steps. Songs shorter than two bars, or whose slots hold no notes, are skipped (SkipFile).
``lead`` names the slot the others follow (paper 004's lead instrument). With "order" or
"names" slots, ``drums`` names the slots that hold drum tracks (e.g. a one-slot drum model:
``names=("Drums",), drums=("Drums",)``): every drum track goes to the first of them, as
onsets (a hit is one step, whatever its length), with the Roland kits' keys that General MIDI
lacks read as GM drums (:data:`NON_GM_DRUM_KEYS`); they decode as drum tracks on GM keys
(:data:`GM_DRUM_KEYS_OUT`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..core.errors import ComposerError
from ..core.notes import NOTE_DTYPE
from ..core.score import Score, Track
from ..core.timing import TempoChange, TimeSignature
from .errors import SkipFile
from .instruments import LPD5, LPD5_IS_DRUM, LPD5_PROGRAMS, lpd5_slot
from .roll_arrays import render_roll, roll_to_notes

__all__ = ["MultitrackBarCodec", "SLOT_MODES", "N_PITCHES", "bar_window", "note_grid"]

N_PITCHES = 128
LEAD_VELOCITY, ACCOMPANIMENT_VELOCITY, DRUM_VELOCITY = 96, 80, 100
SLOT_MODES = ("lpd5", "order", "names")
#: Drum keys of Roland kits (as in the Groove MIDI Dataset) outside General MIDI -> the GM key
#: of the same drum, as drum slots read them: the closed and open hi-hat edges.
NON_GM_DRUM_KEYS = {22: 42, 26: 46}
#: Keys a drum slot learnt from Roland kits that a GM synth plays as another instrument -> the
#: GM key it writes instead: the floor tom's rim (GM: a vibraslap) as the floor tom.
GM_DRUM_KEYS_OUT = {58: 43}
#: Four voices from the highest down: "order" slots so named take fewer tracks by register.
SATB = ("S", "A", "T", "B")


@dataclass(frozen=True)
class MultitrackBarCodec:
    """Bars x slots x steps x 128 binary rolls; see the module docstring."""

    kind: ClassVar[str] = "multitrack_bars"
    slots: str = "lpd5"
    #: Slot names for "order" and "names" (ignored for "lpd5", whose slots are LPD5).
    names: tuple = ()
    steps_per_bar: int = 32
    #: The lead slot; "" means the first slot that is not drums.
    lead: str = ""
    #: "order" slots named S, A, T, B take fewer tracks than voices by register (a melody and
    #: its bass become S and B). False in headers from before it: those models learnt their
    #: slots in plain order and must read primers the same way.
    register_voices: bool = False
    #: Slots ("order" or "names") that hold drum tracks; see the module docstring.
    drums: tuple = ()
    #: (source slot, target slot): the source's lowest line goes to the target; () for none.
    lowest_line: tuple = ()
    #: GM program of each slot's decoded track ("order" and "names"; () gives 0, a piano).
    programs: tuple = ()
    #: (target slot, source slot): in the bars where the target is silent, the training data's
    #: target plays the source's top line (the highest note at each step); () for none.
    fill_silent: tuple = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "lowest_line", tuple(str(n) for n in self.lowest_line))
        object.__setattr__(self, "programs", tuple(int(p) for p in self.programs))
        object.__setattr__(self, "fill_silent", tuple(str(n) for n in self.fill_silent))
        if self.fill_silent and (len(self.fill_silent) != 2 or any(n not in self.names for n in self.fill_silent)):
            raise ComposerError(f"fill_silent must name two slots of {list(self.names)}, not {list(self.fill_silent)}")
        if self.lowest_line and (len(self.lowest_line) != 2 or self.slots == "lpd5"
                                 or any(n not in self.names for n in self.lowest_line)):
            raise ComposerError(f"lowest_line must name two slots of {list(self.names)}, "
                                f"not {list(self.lowest_line)}")
        if self.programs and (len(self.programs) != len(self.names)
                              or any(not 0 <= p < 128 for p in self.programs)):
            raise ComposerError(f"programs must give one GM program (0-127) per slot of "
                                f"{list(self.names)}, not {list(self.programs)}")
        object.__setattr__(self, "drums", tuple(str(n) for n in self.drums))
        if self.drums and (self.slots == "lpd5" or not set(self.drums) <= set(self.names)):
            raise ComposerError(f"drum slots {list(self.drums)} must be among the slot names {list(self.names)} "
                                "(LPD-5 slots have their own drum slot)")
        if self.slots not in SLOT_MODES:
            raise ComposerError(f"slots must be one of {', '.join(SLOT_MODES)}, not {self.slots!r}")
        if self.slots != "lpd5" and not self.names:
            raise ComposerError(f"slots={self.slots!r} needs the slot names (e.g. S,A,T,B)")
        if len(set(n.lower() for n in self.slot_names)) != len(self.slot_names):
            raise ComposerError(f"slot names must differ: {list(self.slot_names)}")
        if isinstance(self.steps_per_bar, bool) or not isinstance(self.steps_per_bar, int) \
                or self.steps_per_bar <= 0:
            raise ComposerError(f"steps_per_bar must be a positive integer, not {self.steps_per_bar!r}")
        if self.lead and self.lead not in self.slot_names:
            raise ComposerError(f"lead slot {self.lead!r} is not one of {list(self.slot_names)}")

    # ------------------------------------------------------------------ slots
    @property
    def slot_names(self) -> tuple[str, ...]:
        return LPD5 if self.slots == "lpd5" else self.names

    @property
    def lead_index(self) -> int:
        if self.lead:
            return self.slot_names.index(self.lead)
        return next(i for i, name in enumerate(self.slot_names) if not self.slot_is_drum(i))

    def _order_slots(self, tracks: list[Track]) -> list[int]:
        """The slot of each of ``tracks`` (pitched, at most one per slot) in "order" slots: in
        order; but for voices S, A, T, B and fewer tracks than voices, by register, highest
        first, spread from soprano to bass, so a melody and its bass line become S and B
        (in order, the bass would be an alto, continued in the alto's range)."""
        n, slots = len(tracks), len(self.slot_names)
        if not self.register_voices or tuple(name.upper() for name in self.slot_names) != SATB \
                or not 1 < n < slots:
            return list(range(n))
        by_height = sorted(range(n), key=lambda i: -float(np.mean(tracks[i].notes["pitch"])))
        spread = [round(rank * (slots - 1) / (n - 1)) for rank in range(n)]
        slot_of = [0] * n
        for rank, i in enumerate(by_height):
            slot_of[i] = spread[rank]
        return slot_of

    def slot_is_drum(self, index: int) -> bool:
        if self.slots == "lpd5":
            return LPD5_IS_DRUM[self.slot_names[index]]
        return self.slot_names[index] in self.drums

    def slot_program(self, index: int) -> int:
        if self.slots == "lpd5":
            return LPD5_PROGRAMS[self.slot_names[index]]
        return self.programs[index] if self.programs else 0

    def slot_velocity(self, index: int) -> int:
        """The velocity of decoded notes: the lead stands out, the accompaniment sits back."""
        if self.slot_is_drum(index):
            return DRUM_VELOCITY
        return LEAD_VELOCITY if index == self.lead_index else ACCOMPANIMENT_VELOCITY

    def params(self) -> dict:
        out = {"kind": self.kind, "slots": self.slots, "names": list(self.names),
               "steps_per_bar": self.steps_per_bar, "lead": self.lead, "register_voices": self.register_voices}
        if self.drums:  # (absent without drum slots, so older caches and headers stay valid)
            out["drums"] = list(self.drums)
        if self.lowest_line:
            out["lowest_line"] = list(self.lowest_line)
        if self.programs:
            out["programs"] = list(self.programs)
        if self.fill_silent:
            out["fill_silent"] = list(self.fill_silent)
        return out

    def assign(self, score: Score, placed: dict[int, int] | None = None) -> list[list[Track]]:
        """The tracks of each slot (empty tracks are left out). ``placed`` (slots by name):
        track id -> slot for tracks no slot name matches (:meth:`place_by_register`), given
        at generation time only, so training data is still read by name alone."""
        groups: list[list[Track]] = [[] for _ in self.slot_names]
        tracks = [t for t in score.tracks if len(t)]
        if self.slots == "lpd5":
            for t in tracks:
                groups[LPD5.index(lpd5_slot(t.program, t.is_drum))].append(t)
            return groups
        drum_slots = [k for k in range(len(groups)) if self.slot_is_drum(k)]
        if drum_slots:
            groups[drum_slots[0]].extend(t for t in tracks if t.is_drum)
        pitched_slots = [k for k in range(len(groups)) if k not in drum_slots]
        if self.slots == "order":
            pitched = [t for t in tracks if not t.is_drum][:len(pitched_slots)]
            for k, t in zip(self._order_slots(pitched), pitched):
                groups[pitched_slots[k]].append(t)
        else:
            lowered = [n.lower() for n in self.names]
            for t in tracks:
                name = t.name.strip().lower()
                if name in lowered and not t.is_drum and lowered.index(name) in pitched_slots:
                    groups[lowered.index(name)].append(t)
                elif placed and t.id in placed and not t.is_drum and name not in lowered:
                    groups[placed[t.id]].append(t)
            if self.lowest_line:
                groups = self._split_lowest_line(groups)
        return groups

    def place_by_register(self, score: Score) -> dict[int, int]:
        """Slots for the pitched tracks of ``score`` that no slot name matches (a drawn "Track 1"),
        by register, so a primer need not be named after the slots: track id -> slot index
        ({} unless slots are by name). Only empty pitched slots are filled: first the
        ``lowest_line`` source with the most chordal track (2+ notes at once in
        :data:`CHORDAL_SHARE` of its onsets; its lowest line then fills the target, which is
        kept for it), then the lead with the highest of the rest (mean pitch), then the other
        empty slots, taken as ordered from high to low, with the rest spread over them by
        register (:func:`_spread`; one line left: the lowest empty slot when it lies mostly below
        middle C, a bass, else the highest). Tracks beyond the empty slots are left out."""
        if self.slots != "names":
            return {}
        lowered = [n.lower() for n in self.names]
        tracks = [t for t in score.tracks if len(t) and not t.is_drum]
        named = {lowered.index(t.name.strip().lower()) for t in tracks if t.name.strip().lower() in lowered}
        pitched = [k for k in range(len(self.names)) if not self.slot_is_drum(k)]
        free = [k for k in pitched if k not in named]
        loose = sorted((t for t in tracks if t.name.strip().lower() not in lowered),
                       key=lambda t: -float(np.mean(t.notes["pitch"])))  # highest first
        placed: dict[int, int] = {}

        def take(track: Track, slot: int) -> None:
            placed[track.id] = slot
            free.remove(slot)
            loose.remove(track)

        if self.lowest_line and loose:
            source, target = (self.names.index(n) for n in self.lowest_line)
            chordal = [t for t in loose if chord_share(t.notes, score.ppq) >= CHORDAL_SHARE]
            if source in free and chordal:
                take(max(chordal, key=lambda t: chord_share(t.notes, score.ppq)), source)
            sources = [t for t in tracks if t.id in placed or t.name.strip().lower() == lowered[source]]
            if source not in free and target in free and any(lowest_line_mask(t.notes).any() for t in sources):
                free.remove(target)  # the chords' lowest line goes there
        if self.lead_index in free and loose:
            take(loose[0], self.lead_index)
        if len(loose) == 1 and free:  # one line: a bass (mostly below middle C) takes the lowest slot
            take(loose[0], free[-1] if np.mean(loose[0].notes["pitch"]) < LOWEST_LINE_BELOW else free[0])
        for track, slot in _spread(loose, free, bool(free) and free[-1] == pitched[-1]):
            placed[track.id] = slot
        return placed

    def _split_lowest_line(self, groups: list[list[Track]]) -> list[list[Track]]:
        """Move the lowest line of the source slot's tracks to the target slot (if that is empty)."""
        source, target = (self.names.index(n) for n in self.lowest_line)
        if groups[target] or not groups[source]:
            return groups
        upper, lower = [], []
        for t in groups[source]:
            low = lowest_line_mask(t.notes)
            if low.any():
                lower.append(Track(self.names[target], t.program, t.is_drum, t.notes[low]))
            if not low.all():
                upper.append(Track(t.name, t.program, t.is_drum, t.notes[~low], id=t.id))
        groups = list(groups)
        groups[source], groups[target] = upper, lower
        return groups

    # ------------------------------------------------------------------ encoding
    def encode(self, score: Score) -> np.ndarray:
        """(bars, slots, steps_per_bar, 128) uint8; raises SkipFile for unusable songs."""
        groups = self.assign(score)
        if not any(groups):
            raise SkipFile("no notes" if score.note_count == 0 else
                           f"no track fits the slots {', '.join(self.slot_names)}")
        end = max(max(t.end_tick for t in g) for g in groups if g)
        lines = score.bar_starts(end)
        if lines[-1] < end:  # bar_starts ends at the first bar line at or after ``end``
            lines = np.append(lines, end)
        if len(lines) - 1 < 2:
            raise SkipFile("shorter than two bars")
        piece = self.encode_bars(groups, lines)
        if self.fill_silent:
            target, source = (self.names.index(n) for n in self.fill_silent)
            piece = fill_silent_bars(piece, target, source)
        return piece

    def encode_bars(self, groups: list[list[Track]], bar_lines: np.ndarray) -> np.ndarray:
        """Render the slots' tracks into the bars between ``bar_lines`` (N + 1 ticks, rising):
        shape (N, slots, steps_per_bar, 128)."""
        steps = self.steps_per_bar
        lines = np.asarray(bar_lines, dtype=np.int64)
        n_bars = len(lines) - 1
        length = n_bars * steps
        lengths = np.maximum(np.diff(lines), 1)

        def frame_of(ticks):
            ticks = np.asarray(ticks, dtype=np.int64)
            bar = np.clip(np.searchsorted(lines, ticks, side="right") - 1, 0, n_bars - 1)
            return bar * steps + (2 * (ticks - lines[bar]) * steps + lengths[bar]) // (2 * lengths[bar])

        out = np.zeros((n_bars, len(groups), steps, N_PITCHES), dtype=np.uint8)
        for k, group in enumerate(groups):
            if not group:
                continue
            notes = np.concatenate([t.notes for t in group])
            if self.drums and self.slot_is_drum(k):  # hits: onsets on GM keys
                notes = notes.copy()
                notes["end"] = notes["start"]
                for key, gm in NON_GM_DRUM_KEYS.items():
                    notes["pitch"][notes["pitch"] == key] = gm
            roll = render_roll(notes, frame_of, 0, 0, N_PITCHES, True, False, length)
            out[:, k] = roll.reshape(n_bars, steps, N_PITCHES)
        return out

    def pitches_used(self, piece: np.ndarray) -> np.ndarray:
        """Bool (128,): the pitches sounding anywhere in ``piece`` (drum keys included)."""
        piece = np.asarray(piece)
        if piece.size == 0:
            return np.zeros(N_PITCHES, bool)
        return piece.reshape(-1, piece.shape[-1]).any(axis=0)

    # ------------------------------------------------------------------ decoding
    def decode_notes(self, bars: np.ndarray, bar_lines) -> list[np.ndarray]:
        """(N, slots, steps, 128) binary -> one note array per slot.

        ``bar_lines``: the N + 1 ticks where the bars start and the last ends (rising), or an
        int bar length in ticks for N equal bars from tick 0. Runs of active steps become notes
        (a note held over a bar line stays one note), at the slot's velocity."""
        bars = np.asarray(bars)
        if bars.ndim != 4 or bars.shape[1] != len(self.slot_names) or bars.shape[2] != self.steps_per_bar \
                or bars.shape[3] != N_PITCHES:
            raise ComposerError(f"expected bars of shape (N, {len(self.slot_names)}, {self.steps_per_bar}, "
                                f"{N_PITCHES}), not {bars.shape}")
        steps = self.steps_per_bar
        lines = np.asarray(bar_lines, dtype=np.int64)
        if lines.ndim == 0:
            lines = np.arange(len(bars) + 1, dtype=np.int64) * int(lines)
        if len(lines) != len(bars) + 1:
            raise ComposerError(f"{len(bars)} bars need {len(bars) + 1} bar lines, not {len(lines)}")
        lengths = np.append(np.diff(lines), 0)

        def to_ticks(frames):
            frames = np.asarray(frames, dtype=np.int64)
            bar, step = np.divmod(frames, steps)
            return lines[bar] + (2 * step * lengths[bar] + steps) // (2 * steps)

        out = []
        for k in range(bars.shape[1]):
            roll = bars[:, k].reshape(-1, N_PITCHES) > 0
            onsets = roll if self.drums and self.slot_is_drum(k) else None  # every step a hit
            notes = roll_to_notes(roll, onsets, 0, N_PITCHES, self.slot_velocity(k), to_ticks)
            if onsets is not None:
                for key, gm in GM_DRUM_KEYS_OUT.items():
                    notes["pitch"][notes["pitch"] == key] = gm
            if self.slot_is_drum(k) and len(notes):  # drum hits: one step long
                step_ticks = np.maximum(lengths[np.minimum(np.searchsorted(lines, notes["start"], side="right") - 1,
                                                           len(bars) - 1)] // steps, 1)
                notes["end"] = np.minimum(notes["end"], notes["start"] + step_ticks)
            out.append(notes)
        return out

    def decode(self, bars: np.ndarray, *, ppq: int = 480, qpm: float = 120.0,
               numerator: int = 4, denominator: int = 4) -> Score:
        """A Score with one named track per slot (its GM program and drum flag)."""
        bar_ticks = TimeSignature(0, numerator, denominator).bar_ticks(ppq)
        tracks = []
        for k, notes in enumerate(self.decode_notes(bars, bar_ticks)):
            tracks.append(Track(self.track_name(k), self.slot_program(k), self.slot_is_drum(k),
                                notes if len(notes) else np.zeros(0, NOTE_DTYPE)))
        return Score(tracks, ppq, [TempoChange(0, qpm)], [TimeSignature(0, numerator, denominator)])

    def track_name(self, index: int) -> str:
        name = self.slot_names[index]
        return name.capitalize() if self.slots == "lpd5" else name



#: The lowest line stays below this pitch (middle C): a left hand's bass, not a low tune.
LOWEST_LINE_BELOW = 60


def lowest_line_mask(notes: np.ndarray, tolerance: int = 30) -> np.ndarray:
    """Bool per note: the lowest line of one track, its notes below :data:`LOWEST_LINE_BELOW`
    that no other of its notes sounds under at their onset (notes starting up to ``tolerance``
    ticks later count as struck with them: a chord played by hand)."""
    start, end, pitch = (np.asarray(notes[f], dtype=np.int64) for f in ("start", "end", "pitch"))
    low = pitch < LOWEST_LINE_BELOW
    for i in range(0, len(notes), 512):  # (chunk, notes) comparisons
        s, p = start[i:i + 512, None], pitch[i:i + 512, None]
        under = (start[None] <= s + tolerance) & (end[None] > s) & (pitch[None] < p)
        low[i:i + 512] &= ~under.any(axis=1)
    return low


def _spread(tracks: list, slots: list[int], lowest_free: bool) -> list[tuple]:
    """(track, slot) pairs spreading ``tracks`` (highest first) over ``slots`` (high to low)
    evenly, both ends kept: with more tracks than slots, those between are left out (one slot:
    the lowest track when it is the lowest slot of all, ``lowest_free``, else the highest)."""
    n, m = len(tracks), len(slots)
    if not n or not m:
        return []
    if n <= m:
        return [(t, slots[round(rank * (m - 1) / max(n - 1, 1))]) for rank, t in enumerate(tracks)]
    if m == 1:
        return [(tracks[-1] if lowest_free else tracks[0], slots[0])]
    return [(tracks[round(rank * (n - 1) / (m - 1))], slot) for rank, slot in enumerate(slots)]


#: Share of a track's notes with another of its notes sounding at their onset (:func:`chord_share`)
#: that makes it the chords when a primer's tracks are placed by register.
CHORDAL_SHARE = 0.3


def chord_share(notes: np.ndarray, ppq: int = 480) -> float:
    """The share of ``notes`` (one track) during whose onset another of them sounds, a 64th note
    (``ppq // 16`` ticks) after it: notes struck together or under a held note, not a legato
    tune whose notes overlap a little."""
    if len(notes) < 2:
        return 0.0
    at = np.asarray(notes["start"], dtype=np.int64) + max(ppq // 16, 1)
    end = np.asarray(notes["end"], dtype=np.int64)
    started = np.searchsorted(np.sort(notes["start"]), at, side="right")
    others = started - np.searchsorted(np.sort(end), at, side="right") - (end > at)  # sounding, less itself
    return float(np.mean(others > 0))


def fill_silent_bars(piece: np.ndarray, target: int, source: int) -> np.ndarray:
    """``piece`` (bars, slots, steps, 128) with slot ``target``, in the bars where it is silent,
    playing slot ``source``'s top line (its highest pitch at each step)."""
    piece = piece.copy()
    silent = np.flatnonzero(~piece[:, target].any(axis=(1, 2)))
    src = piece[silent, source] > 0  # (n, steps, 128)
    top = N_PITCHES - 1 - np.argmax(src[..., ::-1], axis=-1)
    bar, step = np.nonzero(src.any(axis=-1))
    piece[silent[bar], target, step, top[bar, step]] = 1
    return piece


def bar_window(codec: MultitrackBarCodec, groups: list[list[Track]], start_tick: int,
               bar_ticks: int) -> np.ndarray:
    """One bar of every slot, ticks [start_tick, start_tick + bar_ticks), shape (slots, steps, 128).

    Notes sounding into the window from before it start at its beginning."""
    shifted = []
    for group in groups:
        parts = []
        for track in group:
            notes = track.notes
            notes = notes[(notes["end"] > start_tick) & (notes["start"] < start_tick + bar_ticks)].copy()
            notes["start"] = np.maximum(notes["start"] - start_tick, 0)
            notes["end"] = notes["end"] - start_tick
            parts.append(Track(track.name, track.program, track.is_drum, notes))
        shifted.append(parts)
    return codec.encode_bars(shifted, np.array([0, bar_ticks]))[0]


#: Share of the training onsets the data's grid must hold (:func:`note_grid`).
NOTE_GRID_COVER = 0.99
#: Share of the training notes shorter than the data's shortest common note (:func:`note_grid`).
SHORT_NOTE_SHARE = 0.01


def note_grid(pieces: list[np.ndarray], steps_per_bar: int, drum_slots=()) -> tuple[int, int]:
    """The data's grid and shortest common note, in steps of a bar.

    ``pieces``: (bars, slots, steps_per_bar, 128) arrays (:meth:`MultitrackBarCodec.encode`);
    slots listed in ``drum_slots`` are left out. The grid is the coarsest step count dividing
    the bar (no coarser than a quarter of it: a beat of 4/4) at which :data:`NOTE_GRID_COVER`
    of the onsets lie; the shortest common note is the length that only
    :data:`SHORT_NOTE_SHARE` of the notes are shorter than, at least one step. A binary roll
    joins repeated notes of one pitch, so this counts runs of active steps. Returns (1, 1)
    without notes.
    """
    positions = np.zeros(steps_per_bar, dtype=np.int64)
    lengths = np.zeros(steps_per_bar * 4 + 1, dtype=np.int64)
    for piece in pieces:
        piece = np.asarray(piece)
        for k in range(piece.shape[1]):
            if k in drum_slots:
                continue
            roll = piece[:, k].reshape(-1, piece.shape[-1]) > 0
            if not roll.any():
                continue
            edges = np.diff(np.pad(roll, ((1, 1), (0, 0))).astype(np.int8), axis=0)
            _, start_t = np.nonzero(edges.T == 1)  # by pitch, then time: starts and ends pair up
            _, end_t = np.nonzero(edges.T == -1)
            positions += np.bincount(start_t % steps_per_bar, minlength=steps_per_bar)
            lengths += np.bincount(np.minimum(end_t - start_t, len(lengths) - 1), minlength=len(lengths))
    if not positions.sum():
        return 1, 1
    grid = 1
    for step in range(steps_per_bar // 4, 0, -1):
        if steps_per_bar % step == 0 and positions[::step].sum() >= NOTE_GRID_COVER * positions.sum():
            grid = step
            break
    shortest = int(np.searchsorted(np.cumsum(lengths), SHORT_NOTE_SHARE * lengths.sum(), side="right"))
    return grid, max(shortest, 1)
