"""Encode a folder of MIDI files for a model family, in parallel, with a cache and a file split.

:func:`encode_folder` is the path from a user's folder to arrays a model trains on:

1. :func:`~composer.data.scan.find_midi_files` lists the MIDI files (sorted, hidden ones skipped).
2. Worker processes read each file with :func:`~composer.io.midi.read_midi` (the one reading path;
   :func:`~composer.data.beats.read_training_midi` takes the bar lines of a POP909-style
   ``beat_midi.txt`` beside a file where there is one)
   and encode it with the codec, in chunks of :data:`CHUNK_FILES` files per task. A file that
   cannot be used is skipped with its reason (not MIDI, truncated, no notes, only drum tracks, or
   any unexpected error); one bad file never stops the run and a user never sees a traceback.
3. Every usable file goes to ``train``, ``valid`` or ``test`` by a hash of its relative path, so a
   file keeps its split when other files are added or removed.
4. The result is cached as one ``.npz`` file (:mod:`composer.data.cache`: binary rolls
   bit-packed, the metadata as a JSON string, nothing pickled). A second run over an unchanged
   folder loads the cache instead of reading the files. The result is an
   :class:`~composer.data.encoded.EncodedSet`.

:func:`load_source` picks the right loader for a folder, a MIDI file, a piano-roll benchmark
``.mat`` (:mod:`composer.data.benchmark_mat`) or a cache file.

numpy only: no torch, no Qt, so it runs in worker processes and in the command line.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from composer import __version__
from composer.core.errors import ComposerWarning
from composer.io.midi import MidiReadError
from composer.representations.codecs import PianoRollCodec, SkipFile
from composer.representations.instruments import program_name
from composer.representations.music_metrics import measure, summarize

from .beats import read_training_midi
from .benchmark_mat import load_benchmark_mat
from .cache import (
    CACHE_FORMAT,
    CACHE_VERSION,
    cache_file,
    load_cache,
    pack,
    read_cache_file,
    save_cache,
    unpack_all,
)
from .encoded import (MEASURED_FILES, SPLITS, EncodedSet, check_fractions, key_fields, official_split,
                      split_counts, split_of)
from .errors import DataError, NoUsableFilesError
from .keynorm import normalize_score
from .scan import is_midi_name, scan_midi_files

__all__ = [
    "CACHE_VERSION", "CHUNK_FILES", "SPLITS", "EncodedSet", "encode_folder", "load_benchmark_mat",
    "load_source", "load_cache", "split_of", "default_cache_dir",
]

#: Files per task sent to a worker process (amortises the cost of a task).
CHUNK_FILES = 32
#: No more workers than one per this many files (a process costs more than reading a few files),
#: so a handful of files is read in this process.
MIN_FILES_PER_WORKER = 8

Progress = Callable[[int, int], None]


# ----------------------------------------------------------------------------- worker side


def _reason(exc: Exception, path: str) -> str:
    """The message of a read or codec error without the file name it starts with."""
    text = str(exc).strip() or type(exc).__name__
    for prefix in (path, os.path.basename(path)):
        if text.startswith(prefix + ": "):
            return text[len(prefix) + 2:]
    return text


def _encode_one(path: str, codec, with_measures: bool = False, key_normalize: bool = False,
                tracks: tuple[str, ...] = ()) -> tuple:
    """Read and encode one file (and take its objective measures when ``with_measures``); with
    ``tracks``, keep only the tracks of those names (:func:`keep_tracks`); with
    ``key_normalize``, transpose it to C major / A minor first.

    Returns ("ok", stored, packed, shape_tail, stats, warnings) or ("skip", reason, warnings);
    never raises (except KeyboardInterrupt and the like).
    """
    caught: list = []
    shift = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", ComposerWarning)
            score = read_training_midi(path)
            if tracks:
                score = keep_tracks(score, tracks)
            if key_normalize:
                score, shift = normalize_score(score)
            piece = np.asarray(codec.encode(score))
    except (SkipFile, MidiReadError) as exc:
        return ("skip", _reason(exc, path), _warning_texts(caught, path))
    except Exception as exc:  # a bug or an odd file: skip it, keep going, say what happened
        return ("skip", f"unexpected error: {type(exc).__name__}: {exc}", _warning_texts(caught, path))
    if piece.ndim == 0:
        return ("skip", "unexpected error: the codec returned a scalar", _warning_texts(caught, path))
    stored, packed = pack(piece)
    if hasattr(codec, "pitches_used") and not isinstance(codec, PianoRollCodec):  # token codecs: pitches are in the values, not the columns
        cols = np.asarray(codec.pitches_used(piece), dtype=bool)
    elif packed:
        cols = np.unpackbits(np.bitwise_or.reduce(stored, axis=0), count=stored.shape[1] * 8)
        cols = cols[: int(np.prod(piece.shape[1:]))].reshape(piece.shape[1:])
        cols = cols.any(axis=tuple(range(1, cols.ndim))) if cols.ndim > 1 else cols
    elif piece.ndim >= 2 and piece.shape[0]:
        cols = piece.any(axis=(0,) + tuple(range(2, piece.ndim)))
    else:
        cols = np.zeros(0, bool)
    used = np.flatnonzero(cols)
    instruments = ["Drums" if t.is_drum else program_name(t.program) for t in score.tracks if len(t)]
    stats = (int(piece.shape[0]), score.note_count, float(score.duration_seconds),
             int(used[0]) if len(used) else -1, int(used[-1]) if len(used) else -1, instruments,
             measure(score) if with_measures else None, shift)
    return ("ok", stored, packed, piece.shape[1:], stats, _warning_texts(caught, path))


def parse_track_names(text: str | None) -> tuple[str, ...]:
    """The track names of a ``track_names`` setting ("MELODY" or "MELODY, BRIDGE"), as given
    (matched without regard to case); empty: every track."""
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())


def keep_tracks(score, names: tuple[str, ...]):
    """``score`` with only its tracks named one of ``names`` (case and surrounding spaces aside);
    SkipFile when none of them has notes."""
    wanted = {name.strip().casefold() for name in names}
    kept = [t for t in score.tracks if t.name.strip().casefold() in wanted]
    if not any(len(t) for t in kept):
        raise SkipFile(f"no track named {' or '.join(names)} with notes")
    score.tracks = kept
    return score


def _warning_texts(caught, path: str) -> list[str]:
    return [_reason(w.message, path) for w in caught if issubclass(w.category, ComposerWarning)]


def _encode_chunk(paths: list[str], codec, measured: frozenset, key_normalize: bool = False,
                  tracks: tuple[str, ...] = ()) -> list[tuple]:
    return [_encode_one(p, codec, p in measured, key_normalize, tracks) for p in paths]


# ----------------------------------------------------------------------------- running the work


def _pool_context():
    """fork where it is safe (Linux, one thread, no Qt: fast, inherits the imports), else a
    forkserver that imports this module once (a GUI may call from a worker thread)."""
    if not sys.platform.startswith("linux"):
        return None  # the platform default (spawn on Windows and macOS)
    single = threading.active_count() == 1 and threading.current_thread() is threading.main_thread()
    if single and "PySide6" not in sys.modules:
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def _run(paths: list[str], codec, workers: int, progress: Progress | None,
         key_normalize: bool = False, tracks: tuple[str, ...] = ()) -> list[tuple]:
    """Results of :func:`_encode_one` for every path, in order of ``paths``."""
    total = len(paths)
    # Objective measures of an evenly spaced sample: enough for a mean and a spread, and cheap
    # (measuring every file added a third to the time of reading a large folder).
    measured = frozenset(paths[::max(1, -(-total // MEASURED_FILES))])
    results: list[tuple | None] = [None] * total
    if progress:
        progress(0, total)
    workers = max(1, min(workers, -(-total // MIN_FILES_PER_WORKER)))
    size = max(1, min(CHUNK_FILES, -(-total // (workers * 4))))
    chunks = [(i, paths[i:i + size]) for i in range(0, total, size)]
    done = 0
    if workers == 1 or len(chunks) < 2:
        for start, chunk in chunks:
            results[start:start + len(chunk)] = _encode_chunk(chunk, codec, measured, key_normalize, tracks)
            done += len(chunk)
            if progress:
                progress(done, total)
        return results  # type: ignore[return-value]

    broken: list[tuple[int, list[str]]] = []
    pool = ProcessPoolExecutor(min(workers, len(chunks)), mp_context=_pool_context())
    try:
        pending = {pool.submit(_encode_chunk, chunk, codec, measured, key_normalize, tracks): (start, chunk)
                   for start, chunk in chunks}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                start, chunk = pending.pop(future)
                try:
                    results[start:start + len(chunk)] = future.result()
                except BrokenProcessPool:
                    broken.append((start, chunk))
                    continue
                except Exception as exc:  # e.g. a result too big to send back: skip, go on
                    reason = f"unexpected error: {type(exc).__name__}: {exc}"
                    results[start:start + len(chunk)] = [("skip", reason, [])] * len(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if broken:  # a worker died (a crash in a native reader): find the file, keep the rest
        retry = [(start + k, path) for start, chunk in sorted(broken) for k, path in enumerate(chunk)]
        for index, result in _run_isolated(retry, codec, key_normalize, tracks):
            results[index] = result
            done += 1
            if progress:
                progress(done, total)
    return results  # type: ignore[return-value]


def _run_isolated(items: list[tuple[int, str]], codec, key_normalize: bool = False,
                  tracks: tuple[str, ...] = ()):
    """Yield (index, result) for each (index, path), one file per task in a one-worker pool, so
    a file that crashes the worker is known; the pool is restarted after each crash."""
    pool = None
    try:
        for index, path in items:
            if pool is None:
                pool = ProcessPoolExecutor(1, mp_context=_pool_context())
            try:
                result = pool.submit(_encode_one, path, codec, False, key_normalize, tracks).result()
            except BrokenProcessPool:
                pool.shutdown(wait=False)
                pool = None
                result = ("skip", "unexpected error: the MIDI reader crashed on this file", [])
            yield index, result
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


# ----------------------------------------------------------------------------- encode_folder


def _cpu_count() -> int:
    """The cores this process may use (its CPU affinity where the platform tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_cache_dir() -> Path:
    """Where encoded sets are cached: ``COMPOSER_CACHE_DIR`` or the user's cache folder."""
    import platformdirs

    if os.environ.get("COMPOSER_CACHE_DIR"):
        return Path(os.environ["COMPOSER_CACHE_DIR"]).expanduser()
    return Path(platformdirs.user_cache_dir("composer")) / "datasets"


def encode_folder(folder: str | os.PathLike, codec, *, recursive: bool = True,
                  valid_fraction: float = 0.1, test_fraction: float = 0.1,
                  workers: int | None = None, cache_dir: str | os.PathLike | None = None,
                  use_cache: bool = True, write_cache: bool = True,
                  progress: Progress | None = None, key_normalize: bool = False,
                  track_names: str | tuple[str, ...] = ()) -> EncodedSet:
    """Read every MIDI file of ``folder``, encode it with ``codec`` and split the files.

    Parameters
    ----------
    folder : path
        The folder to read (subfolders too when ``recursive``).
    codec
        A codec (e.g. ``PianoRollCodec(fps=16)``): ``encode(score)`` gives an array (T, F...) or
        raises SkipFile; ``params()`` gives its JSON-safe parameters.
    valid_fraction, test_fraction : float
        The share of files for validation and test, assigned by :func:`split_of`.
    workers : int, optional
        Worker processes (default: the CPU cores this process may use), at most one per
        :data:`MIN_FILES_PER_WORKER` files. With 1, or a handful of files, everything runs in this
        process.
    cache_dir : path, optional
        Cache folder (default :func:`default_cache_dir`).
    use_cache : bool
        Load an existing cache for exactly these files and settings. False rebuilds.
    write_cache : bool
        Save the result to the cache (replacing older caches of the same folder and settings). A
        cache that cannot be written is a ComposerWarning, not an error.
    progress : callable, optional
        ``progress(done, total)`` in files, called in this thread at the start and as chunks of
        files finish. An exception raised by it stops the run and propagates.
    key_normalize : bool
        Transpose every file with a clear key to C major / A minor before encoding
        (:func:`~composer.data.keynorm.normalize_score`); part of the cache's settings.
    track_names : str or tuple of str
        Read only the tracks of these names ("MELODY", or a comma-separated list; case aside),
        e.g. POP909's lead line; a file without such a track is skipped. Empty: every track.
        Part of the cache's settings and recorded in the summary.

    Raises
    ------
    FolderError, NoMidiFilesError
        From :func:`~composer.data.scan.find_midi_files`.
    NoUsableFilesError
        No file could be used; the message gives the most common reasons with their counts.
    DataError
        Invalid fractions.
    """
    valid_fraction, test_fraction = check_fractions(valid_fraction, test_fraction)
    tracks = parse_track_names(track_names) if isinstance(track_names, str) else tuple(track_names)
    folder = Path(folder).expanduser()
    found = scan_midi_files(folder, recursive=recursive)
    root = folder.resolve()
    rel_names = [rel for rel, _ in found]
    files = [path for _, path in found]
    codec_params = codec.params()

    cache_path = None
    if use_cache or write_cache:
        settings = _cache_settings(root, recursive, codec_params, valid_fraction, test_fraction,
                                   key_normalize, tracks)
        cache_path = cache_file(Path(cache_dir) if cache_dir else default_cache_dir(), settings, files, rel_names)
    if use_cache and cache_path is not None and cache_path.is_file():
        cached = read_cache_file(cache_path)
        if cached is not None and cached.source == str(root) and cached.key_normalized == bool(key_normalize):
            if progress:
                progress(len(files), len(files))
            return cached

    workers = _cpu_count() if workers is None else max(1, int(workers))
    results = _run(files, codec, workers, progress, bool(key_normalize), tracks)
    encoded, packed = _assemble(results, rel_names, codec_params, str(root), valid_fraction,
                                test_fraction, bool(key_normalize), tracks)
    if write_cache and cache_path is not None:
        save_cache(encoded, cache_path, packed)
    return encoded


def _cache_settings(root: Path, recursive: bool, codec_params: dict, valid_fraction: float,
                    test_fraction: float, key_normalize: bool, tracks: tuple[str, ...]) -> dict:
    """What a cache of ``root`` is for: a cache is reused only for exactly these settings."""
    settings = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "composer": __version__,
                "folder": str(root), "recursive": bool(recursive), "codec": codec_params,
                "valid_fraction": valid_fraction, "test_fraction": test_fraction}
    if key_normalize:  # (absent when off, so caches written before the setting stay valid)
        settings["key_normalize"] = True
    if official_split(root):  # the folder's own split (likewise)
        settings["official_split"] = True
    if tracks:  # (likewise)
        settings["track_names"] = list(tracks)
    return settings


def _assemble(results: list[tuple], rel_names: list[str], codec_params: dict, source: str,
              valid_fraction: float, test_fraction: float, key_normalized: bool = False,
              tracks: tuple[str, ...] = ()):
    """Gather worker results (in file order) into an EncodedSet with its summary.

    Returns (encoded set, packed), where packed is the cache arrays of the pieces when every piece
    came bit-packed with one shape (so the cache needs no second packing), else None.
    """
    stored, packed_flags, tails, names, split, skipped, warned = [], [], [], [], [], [], []
    frames = notes = 0
    seconds = 0.0
    lo, hi = None, None
    instruments: Counter = Counter()
    official = official_split(source)  # the data set's own split where it has one (Groove's info.csv)
    train_measures = []
    no_clear_key = 0
    for name, result in zip(rel_names, results):
        if result[0] != "ok":  # its reason says it all; its warnings are left out
            skipped.append((name, result[1]))
            continue
        warned.extend((name, text) for text in result[-1])
        _, array, packed, tail, stats, _ = result
        stored.append(array)
        packed_flags.append(packed)
        tails.append(tuple(tail))
        names.append(name)
        split.append(official.get(name) or split_of(name, valid_fraction, test_fraction))
        t, n, sec, p_lo, p_hi, instr, measures, shift = stats
        no_clear_key += shift is None
        if split[-1] == "train" and measures is not None:
            train_measures.append(measures)
        frames += t
        notes += n
        seconds += sec
        if p_lo >= 0:
            lo = p_lo if lo is None else min(lo, p_lo)
            hi = p_hi if hi is None else max(hi, p_hi)
        instruments.update(instr)
    if not names:
        raise NoUsableFilesError(_nothing_usable_message(len(rel_names), source, skipped))
    pieces, packed = unpack_all(stored, packed_flags, tails)
    summary = {
        "files_found": len(rel_names), "files_used": len(names), "files_skipped": len(skipped),
        "total_frames": frames, "total_notes": notes, "duration_seconds": seconds,
        "pitch_min": lo, "pitch_max": hi,
        "instruments": dict(sorted(instruments.items(), key=lambda kv: (-kv[1], kv[0]))),
        # The training files' objective measures: what a generation is compared with.
        "music_metrics": summarize(train_measures),
    }
    summary.update(split_counts(pieces, split))
    summary.update(key_fields(key_normalized, no_clear_key))
    if tracks:
        summary["track_names"] = list(tracks)
    encoded = EncodedSet(pieces, names, split, dict(codec_params), skipped, summary, source, warned,
                         key_normalized=key_normalized)
    return encoded, packed


def _nothing_usable_message(n_files: int, source: str, skipped: list[tuple[str, str]]) -> str:
    reasons = Counter(r for _, r in skipped).most_common()
    lines = [f"none of the {n_files} MIDI files in {source} could be used:"]
    for reason, count in reasons[:8]:
        lines.append(f"  {count} file{'s' if count != 1 else ''}: {reason}")
    if len(reasons) > 8:
        lines.append(f"  ... and {len(reasons) - 8} other reasons")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- dispatch


def load_source(path_or_folder: str | os.PathLike, codec=None, **kw) -> EncodedSet:
    """Load any data source, so training and evaluation take whatever the user points at.

    - a folder: :func:`encode_folder` with ``codec`` and the keywords (valid_fraction,
      test_fraction, workers, cache_dir, use_cache, write_cache, progress, recursive,
      key_normalize, track_names);
    - a benchmark ``.mat``: :func:`load_benchmark_mat` with its fixed split and time grid
      (``steps_per_beat`` and ``key_normalize`` may be given); ``codec`` and the folder
      keywords are ignored;
    - a cache ``.npz`` written by this module: :func:`load_cache` (as it was made: its
      ``key_normalized`` says whether its keys were normalised);
    - one MIDI file: encoded with ``codec`` (and ``key_normalize``, ``track_names``), split "train".

    Raises
    ------
    DataError
        Anything else, a missing path, or a MIDI file that cannot be used (with the reason).
    """
    path = Path(path_or_folder).expanduser()
    steps_per_beat = kw.pop("steps_per_beat", None)
    key_normalize = bool(kw.get("key_normalize", False))
    tracks = kw.get("track_names") or ()
    tracks = parse_track_names(tracks) if isinstance(tracks, str) else tuple(tracks)
    if path.is_dir():
        _need_codec(codec, path)
        return encode_folder(path, codec, **kw)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        if tracks:
            raise DataError(f"{path}: a piano-roll benchmark has no named tracks to choose from")
        return load_benchmark_mat(path, steps_per_beat=steps_per_beat, key_normalize=key_normalize)
    if suffix == ".npz":
        return load_cache(path)
    if is_midi_name(path.name):
        _need_codec(codec, path)
        return _encode_single(path, codec, key_normalize, tracks)
    raise DataError(f"{path}: not a data source Composer reads (expected a folder of MIDI files, "
                    "a MIDI file, a piano-roll benchmark .mat or a Composer data cache .npz)")


def _need_codec(codec, path: Path) -> None:
    if codec is None:
        raise DataError(f"{path}: MIDI files need a codec (the model family's encoding)")


def _encode_single(path: Path, codec, key_normalize: bool = False, tracks: tuple[str, ...] = ()) -> EncodedSet:
    result = _encode_one(str(path), codec, with_measures=True, key_normalize=key_normalize, tracks=tracks)
    name = path.name
    if result[0] != "ok":
        raise NoUsableFilesError(f"{path}: cannot be used: {result[1]}")
    encoded, _ = _assemble([result], [name], codec.params(), str(path.resolve()), 0.0, 0.0,
                           key_normalize, tracks)
    return encoded
