"""The Boulanger-Lewandowski piano-roll benchmarks (JSB Chorales, Nottingham, MuseData,
Piano-midi.de) as MATLAB ``.mat`` files, with their standard split. numpy and scipy only."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from composer.representations.codecs import codec_from_params
from composer.representations.music_metrics import measure, summarize

from .encoded import MEASURED_FILES, EncodedSet, columns_used, key_fields, split_counts
from .errors import DataError
from .keynorm import normalize_roll


def load_benchmark_mat(path: str | os.PathLike, steps_per_beat: int | None = None,
                       key_normalize: bool = False) -> EncodedSet:
    """A Boulanger-Lewandowski piano-roll benchmark (.mat) with its standard split.

    The files (JSB_Chorales.mat, Nottingham.mat, MuseData.mat, Piano_midi.mat from the TCN
    repository) hold ``traindata``, ``validdata`` and ``testdata``: 1xN object arrays of (T, 88)
    binary rolls whose column 0 is MIDI pitch 21 (A0). They are widened to (T, 128) uint8 with the
    88 columns at pitches 21..108, the layout of :class:`~composer.representations.codecs.PianoRollCodec`.

    ``steps_per_beat`` records the time grid in the codec parameters. The data carries no tempo;
    by default it is 1 for files whose name contains "JSB" (JSB Chorales is sampled once per
    quarter note) and 2 otherwise (Nottingham, MuseData and Piano-midi.de are sampled per eighth
    note). ``summary["duration_seconds"]`` is None (unknown) and ``total_notes`` counts runs of
    active frames per pitch.

    With ``key_normalize``, every roll with a clear key (from its pitch classes' frames) is
    shifted to C major / A minor (:func:`~composer.data.keynorm.normalize_roll`).

    Raises
    ------
    DataError
        A missing file, a file that is not a .mat, scipy missing, or a .mat without the three keys.
    """
    path = Path(path).expanduser()
    if path.suffix.lower() != ".mat":
        raise DataError(f"{path}: not a .mat file (expected a piano-roll benchmark such as "
                        "JSB_Chorales.mat)")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        import scipy.io
    except ImportError:
        raise DataError("reading .mat benchmarks needs scipy: pip install scipy") from None
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:
        raise DataError(f"{path}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from None
    keys = {"traindata": "train", "validdata": "valid", "testdata": "test"}
    missing = [k for k in keys if k not in mat]
    if missing:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DataError(f"{path}: not a piano-roll benchmark: {', '.join(missing)} missing "
                        f"(the file has {', '.join(found) or 'no variables'})")
    if steps_per_beat is None:
        steps_per_beat = 1 if "jsb" in path.name.lower() else 2
    stem = path.stem
    pieces, names, split = [], [], []
    no_clear_key = 0
    for key, split_name in keys.items():
        cells = np.asarray(mat[key]).ravel()
        for i, cell in enumerate(cells):
            roll = np.asarray(cell)
            if roll.ndim != 2 or roll.shape[1] != 88:
                raise DataError(f"{path}: {key}[{i}] has shape {roll.shape}; expected (T, 88) rolls")
            wide = np.zeros((roll.shape[0], 128), dtype=np.uint8)
            wide[:, 21:109] = roll != 0
            if key_normalize:
                wide, shift = normalize_roll(wide)
                no_clear_key += shift is None
            pieces.append(wide)
            names.append(f"{stem}/{split_name}/{i}")
            split.append(split_name)
    used = columns_used(pieces)
    cols = np.flatnonzero(used) if used is not None else []
    notes = sum(int((np.diff(p.astype(np.int8), axis=0, prepend=0) > 0).sum()) for p in pieces)
    summary = {"files_found": len(pieces), "files_used": len(pieces), "files_skipped": 0,
               "total_frames": int(sum(p.shape[0] for p in pieces)), "total_notes": notes,
               "duration_seconds": None,
               "pitch_min": int(cols[0]) if len(cols) else None,
               "pitch_max": int(cols[-1]) if len(cols) else None, "instruments": {}}
    summary.update(split_counts(pieces, split))
    summary.update(key_fields(key_normalize, no_clear_key))
    codec = {"kind": "pianoroll", "steps_per_beat": int(steps_per_beat), "fps": None,
             "include_drums": False}
    decoder = codec_from_params(codec)
    train = [p for p, s in zip(pieces, split) if s == "train"]
    sample = train[::max(1, -(-len(train) // MEASURED_FILES))]  # as for a folder's files
    summary["music_metrics"] = summarize([measure(decoder.decode(p)) for p in sample])
    return EncodedSet(pieces, names, split, codec, [], summary, str(path),
                      key_normalized=bool(key_normalize))
