"""Scan MIDI folders, encode files for a model family in parallel, cache arrays, split, augment."""

from .augment import DEFAULT_SHIFTS, transpose_roll, transposition_range
from .dataset import (
    CACHE_VERSION,
    SPLITS,
    EncodedSet,
    default_cache_dir,
    encode_folder,
    load_benchmark_mat,
    load_cache,
    load_source,
    split_of,
)
from .errors import DataError, FolderError, NoMidiFilesError, NoUsableFilesError
from .scan import MIDI_SUFFIXES, find_midi_files

__all__ = [
    "DEFAULT_SHIFTS", "transpose_roll", "transposition_range",
    "CACHE_VERSION", "SPLITS", "EncodedSet", "default_cache_dir", "encode_folder",
    "load_benchmark_mat", "load_cache", "load_source", "split_of",
    "DataError", "FolderError", "NoMidiFilesError", "NoUsableFilesError",
    "MIDI_SUFFIXES", "find_midi_files",
]
