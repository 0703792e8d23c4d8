"""Codecs: how a model family turns a Score into arrays and back.

A codec is a small frozen dataclass of plain parameters, so it pickles into worker processes, its
``params()`` go into a checkpoint's JSON metadata and into the data cache key, and
:func:`codec_from_params` rebuilds it from there without executing anything.

``encode`` raises :class:`SkipFile` with a short reason when a score has nothing the codec can use
(the data layer reports it as a skipped file); every other failure is a bug.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

from ..core.errors import ComposerError
from ..core.score import Score
from ..core.timing import DEFAULT_PPQ
from .errors import SkipFile
from .pianoroll import from_pianoroll, to_pianoroll
from .multitrack import MultitrackBarCodec
from .tokens import ChordTokenCodec, NoteSymbolCodec

__all__ = ["SkipFile", "PianoRollCodec", "ChordTokenCodec", "NoteSymbolCodec", "MultitrackBarCodec", "CODECS",
           "codec_from_params", "N_PITCHES"]

N_PITCHES = 128


@dataclass(frozen=True)
class PianoRollCodec:
    """Binary piano roll of all pitched tracks merged, shape (T, 128), dtype uint8.

    Exactly one of ``steps_per_beat`` (symbolic grid: papers 002 and the benchmarks) or ``fps``
    (real time: paper 000 samples at 16 Hz) is set. Models crop the 128 pitches to the range
    their data uses; the cache keeps all 128 so one cache serves any range.
    """

    kind: ClassVar[str] = "pianoroll"
    steps_per_beat: int | None = None
    fps: float | None = None
    include_drums: bool = False

    def __post_init__(self) -> None:
        if (self.steps_per_beat is None) == (self.fps is None):
            raise ComposerError("a piano-roll codec needs exactly one of steps_per_beat or fps")

    def params(self) -> dict:
        return {"kind": self.kind, **asdict(self)}

    def encode(self, score: Score) -> np.ndarray:
        """Roll of shape (T, 128), uint8 0/1; raises SkipFile when no usable notes."""
        tracks = [t for t in score.tracks if len(t) and (self.include_drums or not t.is_drum)]
        if not tracks:
            raise SkipFile("only drum tracks" if score.note_count else "no notes")
        roll = to_pianoroll(score, steps_per_beat=self.steps_per_beat, fps=self.fps,
                            tracks=[t.id for t in tracks], include_drums=self.include_drums)
        return roll.astype(np.uint8)

    def decode(self, roll: np.ndarray, *, pitch_range=(0, N_PITCHES), ppq: int = DEFAULT_PPQ,
               qpm: float = 120.0, program: int = 0, name: str = "") -> Score:
        """Score at ``ppq`` from a roll of shape (T, hi - lo) over ``pitch_range``."""
        return from_pianoroll(np.asarray(roll) > 0, steps_per_beat=self.steps_per_beat, fps=self.fps,
                              pitch_range=tuple(pitch_range), ppq=ppq, qpm=qpm, program=program, name=name)


    def pitches_used(self, roll: np.ndarray) -> np.ndarray:
        """Bool (128,): the pitches that sound anywhere in ``roll`` (T, 128)."""
        return np.asarray(roll).any(axis=0) if len(roll) else np.zeros(N_PITCHES, bool)


CODECS: dict[str, type] = {codec.kind: codec for codec in (PianoRollCodec, ChordTokenCodec, NoteSymbolCodec,
                                                        MultitrackBarCodec)}


def codec_from_params(params: dict):
    """Rebuild a codec from :meth:`params` output (e.g. from checkpoint metadata)."""
    params = dict(params)
    kind = params.pop("kind", None)
    if kind not in CODECS:
        raise ComposerError(f"unknown codec kind {kind!r}; this Composer knows {sorted(CODECS)}")
    try:
        return CODECS[kind](**params)
    except TypeError as exc:
        raise ComposerError(f"codec parameters do not fit {kind!r}: {exc}") from None
