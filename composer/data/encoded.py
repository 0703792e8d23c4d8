"""An encoded data source: the arrays a family trains on, their split, and what was left out.

:class:`EncodedSet` is what every loader returns (a folder, one MIDI file, a benchmark ``.mat``,
a cache); :func:`split_of` puts a file in train, valid or test by a hash of its name.
numpy only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from composer.core.errors import ComposerError
from composer.representations.codecs import PianoRollCodec, codec_from_params

from .errors import DataError

SPLITS = ("train", "valid", "test")
#: At most this many files of a folder are measured (composer.representations.music_metrics).
MEASURED_FILES = 100



@dataclass
class EncodedSet:
    """Encoded pieces of one data source, their split and what was left out.

    Attributes
    ----------
    pieces : list of np.ndarray
        One array per usable file, shape (T_i, F...): (T_i, 128) binary uint8 rolls for the
        piano-roll codec (bit-packed in the cache), (N_i, 4) int64 chord rows or (N_i,) int16
        pitch symbols for the token codecs (stored flat). The first axis is time steps, tokens or
        symbols; the summary's ``total_frames`` and ``split_frames`` count it. Pieces may be
        views into one shared buffer.
    names : list of str
        Per piece, the file's path relative to the folder ("/"-separated), or a name such as
        "JSB_Chorales/train/0" for benchmark data.
    split : list of str
        Per piece, "train", "valid" or "test".
    codec : dict
        The codec's ``params()`` (JSON-safe); :func:`~composer.representations.codecs.codec_from_params`
        rebuilds the codec.
    skipped : list of (str, str)
        (file, reason) of every file that could not be used.
    summary : dict
        files_found, files_used, files_skipped, total_frames, total_notes, duration_seconds (of the
        used files; None when unknown), pitch_min, pitch_max (from the arrays: the lowest and
        highest column with any 1; None without notes), instruments ({GM program name or "Drums":
        number of tracks with notes in the used files}), split_pieces and split_frames (per split).
    source : str
        The folder or file the set came from.
    warnings : list of (str, str)
        (file, message) of repairs made while reading (absurd tempos, out-of-range notes...).
    cache_path : str or None
        The cache file written or loaded, if any.
    from_cache : bool
        True when the set was loaded from the cache instead of reading the files.
    key_normalized : bool
        True when every piece with a clear key was transposed to C major / A minor before
        encoding (:mod:`composer.data.keynorm`); the summary's ``no_clear_key`` counts the
        pieces left as they were.
    """

    pieces: list[np.ndarray]
    names: list[str]
    split: list[str]
    codec: dict
    skipped: list[tuple[str, str]] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    source: str = ""
    warnings: list[tuple[str, str]] = field(default_factory=list)
    cache_path: str | None = None
    from_cache: bool = False
    key_normalized: bool = False

    def __len__(self) -> int:
        return len(self.pieces)

    def split_pieces(self, name: str) -> list[np.ndarray]:
        """The pieces of split ``name`` ("train", "valid" or "test"), in file order."""
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return [p for p, s in zip(self.pieces, self.split) if s == name]

    def split_names(self, name: str) -> list[str]:
        """The names of the pieces of split ``name``, in the order of :meth:`split_pieces`."""
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return [n for n, s in zip(self.names, self.split) if s == name]

    def pitch_span(self) -> tuple[int, int]:
        """(lo, hi) with hi exclusive: the MIDI pitches any piece uses (the columns of rolls; for
        token codecs, the pitches their values hold, through the codec's ``pitches_used``).

        Raises DataError when no piece has a note.
        """
        used = pitches_used_by(self.codec, self.pieces)
        cols = np.flatnonzero(used) if used is not None else np.zeros(0, np.int64)
        if len(cols) == 0:
            raise DataError(f"{self.source or 'the data'}: no piece has any note")
        return int(cols[0]), int(cols[-1]) + 1

    def report(self) -> str:
        """Multi-line text for people: what was used, and every skipped file with its reason."""
        s = self.summary
        lines = [f"Data source: {self.source}"]
        found = s.get("files_found", len(self.pieces) + len(self.skipped))
        lines.append(f"Files: {found} found, {s.get('files_used', len(self.pieces))} used, "
                     f"{s.get('files_skipped', len(self.skipped))} skipped")
        counts = Counter(self.split)
        lines.append("Split: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in SPLITS))
        lines.append(f"Codec: {json.dumps(self.codec, sort_keys=True)}")
        if self.key_normalized:
            lines.append(f"Keys: normalised to C major / A minor "
                         f"({self.summary.get('no_clear_key', 0)} pieces without a clear key left as they were)")
        if self.cache_path:
            lines.append(f"Cache: {self.cache_path}" + (" (loaded)" if self.from_cache else ""))
        if self.skipped:
            lines.append("")
            lines.append(f"Skipped files ({len(self.skipped)}):")
            lines.extend(f"  {name}: {reason}" for name, reason in self.skipped)
            lines.append("")
            lines.append("Reasons:")
            lines.extend(f"  {n:>6}  {reason}" for reason, n in
                         Counter(r for _, r in self.skipped).most_common())
        if self.warnings:
            lines.append("")
            lines.append(f"Repaired while reading ({len(self.warnings)} warnings):")
            lines.extend(f"  {name}: {message}" for name, message in self.warnings)
        lines.append("")
        lines.append(f"Used files ({len(self.names)}):")
        lines.extend(f"  {name}  [{split}]" for name, split in zip(self.names, self.split))
        return "\n".join(lines) + "\n"


def pitches_used_by(codec_params: dict, pieces: list[np.ndarray]) -> np.ndarray | None:
    """Bool (128,) of pitches used, asking the codec when it reads pitches from values."""
    try:
        codec = codec_from_params(codec_params)
    except ComposerError:
        codec = None
    if codec is None or not hasattr(codec, "pitches_used") or isinstance(codec, PianoRollCodec):
        return columns_used(pieces)
    used = np.zeros(128, dtype=bool)
    for piece in pieces:
        if len(piece):
            used |= codec.pitches_used(piece)
    return used


def columns_used(pieces: list[np.ndarray]) -> np.ndarray | None:
    """Bool per column (axis 1) with any nonzero value in any piece; None without 2-D pieces."""
    used = None
    for piece in pieces:
        if piece.ndim < 2 or piece.shape[0] == 0:
            continue
        axes = (0,) + tuple(range(2, piece.ndim))
        cols = piece.any(axis=axes)
        used = cols if used is None or len(used) != len(cols) else used | cols
    return used


def split_of(name: str, valid_fraction: float = 0.1, test_fraction: float = 0.1) -> str:
    """The split of a file from a hash of its relative path: stable when other files change.

    sha1 of the UTF-8 name gives a number u in [0, 1); u < test_fraction is "test",
    u < test_fraction + valid_fraction is "valid", anything else "train".
    """
    u = int.from_bytes(hashlib.sha1(name.encode("utf-8")).digest()[:8], "big") / 2.0 ** 64
    if u < test_fraction:
        return "test"
    if u < test_fraction + valid_fraction:
        return "valid"
    return "train"


#: A data set's own split: a CSV in its folder naming each file (relative path) and its split;
#: the Groove MIDI Dataset's info.csv (midi_filename; split: train, validation, test).
SPLIT_FILE, SPLIT_NAMES = "info.csv", {"train": "train", "validation": "valid", "valid": "valid", "test": "test"}


def official_split(folder) -> dict[str, str]:
    """The split ``folder``'s :data:`SPLIT_FILE` gives its files (relative path with "/" ->
    "train", "valid" or "test"); {} without a readable one. Files it does not name are split by
    :func:`split_of`."""
    path = os.path.join(str(folder), SPLIT_FILE)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    return {row["midi_filename"]: SPLIT_NAMES[row["split"].strip().lower()] for row in rows
            if row.get("midi_filename") and (row.get("split") or "").strip().lower() in SPLIT_NAMES}


def check_fractions(valid_fraction: float, test_fraction: float) -> tuple[float, float]:
    try:
        v, t = float(valid_fraction), float(test_fraction)
    except (TypeError, ValueError):
        raise DataError(f"split fractions must be numbers, not {valid_fraction!r} and "
                        f"{test_fraction!r}") from None
    if not (0.0 <= v < 1.0 and 0.0 <= t < 1.0 and v + t < 1.0):
        raise DataError(f"the validation ({v:g}) and test ({t:g}) fractions must each be at least 0 "
                        "and together less than 1, so some files are left to train on")
    return v, t


def key_fields(key_normalized: bool, no_clear_key: int) -> dict:
    """The summary's record of key normalisation (the pieces without a clear key stay put)."""
    return {"key_normalized": True, "no_clear_key": int(no_clear_key)} if key_normalized else \
        {"key_normalized": False}


def split_counts(pieces: list[np.ndarray], split: list[str]) -> dict:
    """The summary's pieces and frames (steps) in each split."""
    counts = {k: 0 for k in SPLITS}
    steps = {k: 0 for k in SPLITS}
    for piece, s in zip(pieces, split):
        counts[s] += 1
        steps[s] += int(piece.shape[0])
    return {"split_pieces": counts, "split_frames": steps}
