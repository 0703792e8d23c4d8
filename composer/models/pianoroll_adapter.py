"""The piano-roll families' adapter (torch-free): roll codec, primer rolls, frames, decoding.

Rolls arrive from the data layer as (T, 128) uint8 arrays; a model works on the ``P = hi - lo``
pitches of its ``pitch_range`` (cropped to what its training data uses, as paper 002 does).
Frames are sixteenth notes (or another division) tied to the beat, or real time (``fps``).
"""

from __future__ import annotations

import warnings

import numpy as np

from composer.core.errors import ComposerError, ComposerWarning
from composer.core.notes import empty_notes
from composer.core.score import Score
from composer.data.encoded import EncodedSet
from composer.representations.codecs import PianoRollCodec
from composer.representations.continuation import primer_grid
from composer.representations.pianoroll import crop_range, snap_to_grid

from .adapter import FamilyAdapter


class PianoRollAdapter(FamilyAdapter):
    """The codec comes from the config's time grid (``fps`` or ``steps_per_beat``), the pitch
    range from the data."""

    @classmethod
    def default_codec(cls, config) -> PianoRollCodec:
        if getattr(config, "fps", None):
            return PianoRollCodec(fps=config.fps)
        return PianoRollCodec(steps_per_beat=getattr(config, "steps_per_beat", None) or 4)

    @classmethod
    def data_info(cls, data: EncodedSet, config) -> dict:
        lo, hi = data_pitch_range(data)
        train = data.split_pieces("train") or data.pieces
        frames = sum(len(p) for p in train)
        rates = (sum(p[:, lo:hi].sum(axis=0, dtype=np.int64) for p in train) / max(frames, 1)).tolist()
        return {"codec": data.codec, "pitch_range": [lo, hi], "pitch_rates": [round(r, 6) for r in rates]}

    @property
    def pitch_range(self) -> tuple[int, int]:
        lo, hi = self.info["pitch_range"]
        return lo, hi

    def encode_primer(self, part: Score, primer: Score, start_tick: int) -> np.ndarray:
        """The primer as a roll over the model's pitches, shape (T0, P), T0 frames up to
        ``start_tick`` (silence-padded)."""
        lo, hi = self.pitch_range
        codec = self.codec
        if part.note_count == 0 or start_tick == 0:
            return np.zeros((0, hi - lo), dtype=np.uint8)
        full = codec.encode(part)
        end_frame = frame_of(codec, primer, start_tick)
        full = full[:end_frame] if len(full) >= end_frame else np.pad(full, ((0, end_frame - len(full)), (0, 0)))
        outside = int(full[:, :lo].sum() + full[:, hi:].sum())
        inside = int(full[:, lo:hi].sum())
        if outside and not inside:
            raise ComposerError(f"every primer note is outside this model's pitch range "
                                f"{lo}-{hi - 1}; transpose the primer or pick another model")
        if outside:
            warnings.warn(f"primer notes outside the model's pitch range {lo}-{hi - 1} were left out "
                          f"({outside} frames)", ComposerWarning, stacklevel=4)
        context = self.context_frames
        roll = full[:, lo:hi]
        if context and len(roll) > context:
            warnings.warn(f"the primer is longer than the model's context of {context} frames; "
                          f"it continues from the last {context}", ComposerWarning, stacklevel=4)
        return roll

    def steps_for(self, primer: Score, start_tick: int, end_tick: int) -> int:
        """Frames of [start_tick, end_tick): grid steps, or seconds through the tempo map."""
        codec = self.codec
        return max(frame_of(codec, primer, end_tick) - frame_of(codec, primer, start_tick), 1)

    def decode_continuation(self, roll: np.ndarray, primer: Score, start_tick: int) -> np.ndarray:
        """Generated frames (N, P) -> notes from ``start_tick`` in the primer's ticks.

        A beat-tied model's frames continue the primer's roll, which starts at tick 0: frame
        ``f`` of the whole roll is tick ``f * ppq / steps_per_beat``, so notes land on the beat
        grid at any tempo. A real-time model's frames (seconds) go through the primer's tempo
        map and then onto the primer's grid (:func:`decode_grid`), as a quantizer would.
        """
        codec = self.codec
        ppq = primer.ppq
        decoded = codec.decode(roll, pitch_range=self.pitch_range, ppq=ppq).tracks[0].notes.copy()
        first = frame_of(codec, primer, start_tick)
        if codec.fps:  # decoded at 120 BPM: a tick is 60 / (120 * ppq) seconds
            start_seconds = first / codec.fps
            for field in ("start", "end"):
                decoded[field] = primer.tempo_map.seconds_to_tick(start_seconds + decoded[field] / (2.0 * ppq))
        else:  # the frames of the whole roll: round(frame * ppq / spb), halves up
            spb = codec.steps_per_beat
            decoded["start"] += (2 * first * ppq + spb) // (2 * spb)
            decoded["end"] += (2 * first * ppq + spb) // (2 * spb)
        step = decode_grid(codec, primer, start_tick)
        if step:
            decoded = snap_to_grid(decoded, step)
        decoded["start"] = np.maximum(decoded["start"], start_tick)
        decoded = decoded[decoded["end"] > decoded["start"]]
        return decoded


class ContextWindowAdapter(PianoRollAdapter):
    """A piano roll read through a fixed window of ``config.seq_len`` frames (the
    encoder-decoder): a longer primer is cut, with a warning."""

    @property
    def context_frames(self) -> int:
        return int(self.config.seq_len)


class BarRollAdapter(PianoRollAdapter):
    """A piano roll of ``config.steps_per_bar`` frames a 4/4 bar (the bar-conditioned LSTM)."""

    @classmethod
    def default_codec(cls, config) -> PianoRollCodec:
        return PianoRollCodec(steps_per_beat=max(config.steps_per_bar // 4, 1))


def decode_grid(codec: PianoRollCodec, primer: Score, start_tick: int) -> int | None:
    """The grid (ticks) decoded notes are snapped to, or None where the model's own steps already
    lie on the primer's grid: for a real-time (fps) model, the primer's grid
    (:func:`~composer.representations.continuation.primer_grid`, sixteenths without primer notes);
    for a beat-tied model, the primer's grid only when the model's steps cannot hold it (a
    sixteenth-note model continuing a primer in triplets)."""
    notes = _pitched_before(primer, start_tick)
    grid = primer_grid(notes, primer.ppq) if len(notes) else max(primer.ppq // 4, 1)
    if codec.fps:
        return grid
    step = primer.ppq / codec.steps_per_beat
    return None if (grid / step).is_integer() or not len(notes) else grid


def _pitched_before(score: Score, tick: int) -> np.ndarray:
    """The pitched notes of ``score`` that start before ``tick``."""
    parts = [t.notes[t.notes["start"] < tick] for t in score.tracks if not t.is_drum]
    return np.concatenate(parts) if parts else empty_notes()


def frame_of(codec: PianoRollCodec, score: Score, tick: int) -> int:
    """The frame of ``codec`` at ``tick`` of ``score`` (through its tempo map for real time)."""
    if codec.fps:
        return int(round(float(score.tempo_map.tick_to_seconds(tick)) * codec.fps))
    return int(round(tick * codec.steps_per_beat / score.ppq))


def data_pitch_range(data: EncodedSet, margin_octaves: bool = True) -> tuple[int, int]:
    """The pitches the data uses, widened to whole octaves so transpositions and primers fit."""
    lo, hi = data.pitch_span()
    if hi <= lo:
        return (0, 128)
    return crop_range(lo, hi) if margin_octaves else (lo, hi)
