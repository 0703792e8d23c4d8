"""Errors of the data layer. Each message names the folder or file and says what to do."""

from __future__ import annotations

from composer.core.errors import ComposerError


class DataError(ComposerError):
    """A data source (folder, MIDI file, benchmark .mat, cache file) that cannot be used."""


class FolderError(DataError):
    """The folder to read is missing, is not a folder, or cannot be listed."""


class NoMidiFilesError(DataError):
    """The folder holds no MIDI files."""


class NoUsableFilesError(DataError):
    """The folder holds MIDI files, but none of them could be read and encoded."""
