"""The encoded-data cache: one ``.npz`` per encoded source, nothing pickled.

Binary rolls are bit-packed along their flattened last axis (8x smaller) and concatenated into
one array with the pieces' offsets; the metadata (names, split, codec, summary, skipped files)
is a JSON string. :func:`load_cache` reads one back; the cache file's name hashes the settings
and the files' names, sizes and times, so a changed folder gets a new cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from composer import __version__
from composer.core.errors import ComposerWarning

from .encoded import EncodedSet
from .errors import DataError

#: Bump when the cache layout or what goes into an encoded set changes; old caches are rebuilt.
CACHE_VERSION = 4  # 2: the summary has the training files' music_metrics; 3: of a sample; 4: POP909 bars from beat_midi.txt, Groove drum keys mapped
CACHE_FORMAT = "composer-encoded-set"


def pack(piece: np.ndarray):
    """(stored array, packed flag): binary uint8/bool pieces bit-packed along a flattened last axis."""
    if piece.dtype in (np.uint8, np.bool_) and piece.ndim >= 2 and (piece.size == 0 or piece.max() <= 1):
        flat = piece.reshape(piece.shape[0], -1)
        return np.packbits(flat, axis=-1), True
    return piece, False


def unpack_all(stored: list[np.ndarray], packed: list[bool], tails: list[tuple]):
    """The pieces as (T_i, F...) arrays, and their cache arrays (or None).

    When every piece is packed with one shape, the packed rows are concatenated once (that is the
    cache's data) and unpacked once into one buffer; each piece is a view into it.
    """
    if stored and all(packed) and len(set(tails)) == 1:
        tail = tails[0]
        width = int(np.prod(tail))
        lengths = [a.shape[0] for a in stored]
        data = np.concatenate(stored) if len(stored) > 1 else stored[0]
        big = np.unpackbits(data, axis=-1, count=width).reshape((data.shape[0],) + tail)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        cache = {"data": data, "offsets": offsets,
                 "layout": json_bytes({"kind": "packed", "tail": list(tail), "dtype": "uint8"})}
        return split_rows(big, lengths), cache
    out = []
    for array, is_packed, tail in zip(stored, packed, tails):
        if is_packed:
            width = int(np.prod(tail))
            array = np.unpackbits(array, axis=-1, count=width).reshape((array.shape[0],) + tail)
        out.append(array)
    return out, None


def split_rows(big: np.ndarray, lengths: list[int]) -> list[np.ndarray]:
    ends = np.cumsum(lengths)
    starts = ends - np.asarray(lengths)
    return [big[s:e] for s, e in zip(starts.tolist(), ends.tolist())]




def cache_file(cache_dir: Path, settings: dict, files: list[str], rel_names: list[str]) -> Path:
    """``<settings hash>-<content hash>.npz``: the first part names the folder and settings (older
    caches with it are replaced), the second the files' names, sizes and modification times."""
    text = json.dumps(settings, sort_keys=True)
    settings_hash = hashlib.sha1(text.encode("utf-8")).hexdigest()
    content = hashlib.sha1(text.encode("utf-8"))
    for path, name in zip(files, rel_names):
        try:
            st = os.stat(path)
            size, mtime = st.st_size, st.st_mtime_ns
        except OSError:
            size = mtime = -1
        content.update(f"\n{name}\t{size}\t{mtime}".encode("utf-8", "surrogateescape"))
    return cache_dir / f"{settings_hash[:16]}-{content.hexdigest()[:24]}.npz"


def cache_metadata(encoded: EncodedSet) -> dict:
    return {"format": CACHE_FORMAT, "version": CACHE_VERSION, "composer": __version__,
            "names": encoded.names, "split": encoded.split, "codec": encoded.codec,
            "skipped": [list(x) for x in encoded.skipped], "summary": encoded.summary,
            "source": encoded.source, "warnings": [list(x) for x in encoded.warnings],
            "key_normalized": encoded.key_normalized}


def cache_arrays(encoded: EncodedSet) -> dict[str, np.ndarray]:
    """data, offsets and layout of the pieces: packed bits when every piece is binary with one
    shape, else the flattened pieces with their shapes."""
    pieces = encoded.pieces
    lengths = np.array([p.shape[0] for p in pieces], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    tails = {p.shape[1:] for p in pieces}
    binary = len(tails) == 1 and all(p.ndim >= 2 and p.dtype in (np.uint8, np.bool_) for p in pieces)
    if binary:
        tail = next(iter(tails))
        whole = np.concatenate(pieces).reshape(int(offsets[-1]), -1)
        binary = whole.size == 0 or whole.max() <= 1
    if binary:
        layout = {"kind": "packed", "tail": list(tail), "dtype": "uint8"}
        data = np.packbits(whole, axis=-1)
    else:
        layout = {"kind": "flat", "shapes": [list(p.shape) for p in pieces],
                  "dtype": str(np.result_type(*pieces)) if pieces else "uint8"}
        data = np.concatenate([p.ravel() for p in pieces]) if pieces else np.zeros(0, np.uint8)
    return {"data": data, "offsets": offsets, "layout": json_bytes(layout)}


def json_bytes(obj) -> np.ndarray:
    return np.frombuffer(json.dumps(obj, separators=(",", ":")).encode("utf-8"), dtype=np.uint8)


def save_cache(encoded: EncodedSet, path: Path, arrays: dict | None = None) -> None:
    """Write the set atomically (temp file, then rename), then delete older caches of the same
    folder and settings. A crash leaves the old file or a new one whose zip checksums fail (and
    which is then rebuilt), never a wrong set. Failures are warnings."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(arrays) if arrays is not None else cache_arrays(encoded)
        arrays["meta"] = json_bytes(cache_metadata(encoded))
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        warnings.warn(f"could not write the data cache {path} ({exc.strerror or exc}); the files "
                      "will be read again next time", ComposerWarning, stacklevel=3)
        return
    encoded.cache_path = str(path)
    prefix = path.name.split("-")[0] + "-"
    for old in path.parent.glob(prefix + "*.npz"):
        if old.name != path.name:
            try:
                old.unlink()
            except OSError:
                pass


def read_cache_file(path: Path) -> EncodedSet | None:
    """The cached set, or None when the file is missing, corrupt or from another version."""
    try:
        return load_cache(path)
    except Exception:  # any damage means: rebuild
        return None


def load_cache(path: str | os.PathLike) -> EncodedSet:
    """Load a cache file written by :func:`encode_folder` (never unpickles anything).

    Raises
    ------
    DataError
        The file is missing, not a Composer data cache, from another cache version, or damaged.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if not {"meta", "data", "offsets", "layout"} <= set(z.files):
                raise DataError(f"{path}: not a Composer data cache")
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            layout = json.loads(z["layout"].tobytes().decode("utf-8"))
            if meta.get("format") != CACHE_FORMAT:
                raise DataError(f"{path}: not a Composer data cache")
            if meta.get("version") != CACHE_VERSION:
                raise DataError(f"{path}: a data cache of format version {meta.get('version')}; "
                                f"this Composer reads version {CACHE_VERSION}")
            data = z["data"]
            offsets = z["offsets"]
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Exception as exc:
        raise DataError(f"{path}: damaged or not a Composer data cache ({type(exc).__name__}: "
                        f"{exc})") from None
    names = meta["names"]
    if len(offsets) != len(names) + 1 or len(meta["split"]) != len(names):
        raise DataError(f"{path}: damaged data cache (piece counts disagree)")
    lengths = np.diff(offsets).tolist()
    if layout["kind"] == "packed":
        tail = tuple(int(x) for x in layout["tail"])
        width = int(np.prod(tail))
        if offsets[-1] != data.shape[0] or data.ndim != 2 or data.shape[1] != -(-width // 8):
            raise DataError(f"{path}: damaged data cache (array sizes disagree)")
        big = np.unpackbits(data, axis=-1, count=width).reshape((data.shape[0],) + tail)
        pieces = split_rows(big, lengths)
    elif layout["kind"] == "flat":
        shapes = [tuple(s) for s in layout["shapes"]]
        sizes = [int(np.prod(s)) for s in shapes]
        if sum(sizes) != data.size or len(shapes) != len(names):
            raise DataError(f"{path}: damaged data cache (array sizes disagree)")
        ends = np.cumsum(sizes).tolist()
        pieces = [data[e - n:e].reshape(s) for e, n, s in zip(ends, sizes, shapes)]
    else:
        raise DataError(f"{path}: unknown data cache layout {layout['kind']!r}")
    return EncodedSet(pieces, list(names), list(meta["split"]), meta["codec"],
                      [tuple(x) for x in meta["skipped"]], meta["summary"], meta["source"],
                      [tuple(x) for x in meta.get("warnings", [])], str(path), True,
                      bool(meta.get("key_normalized", False)))
