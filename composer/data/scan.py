"""Find the MIDI files of a folder: sorted, deterministic, hidden files and folders skipped."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import FolderError, NoMidiFilesError

#: File name endings taken as MIDI (compared case-insensitively): Standard MIDI Files, karaoke
#: files (SMF with lyrics) and RIFF-wrapped MIDI.
MIDI_SUFFIXES = frozenset({".mid", ".midi", ".smf", ".kar", ".rmi"})


def is_midi_name(name: str) -> bool:
    """True for a visible file name with a MIDI ending (``song.MID``, ``a.kar``; not ``.x.mid``)."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in MIDI_SUFFIXES


def find_midi_files(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """The MIDI files in ``folder`` (and its subfolders when ``recursive``), sorted.

    Files and folders whose names start with "." are skipped (``.git``, macOS ``._x.mid``).
    Symbolic links to files are listed; links to folders are not followed (no loops). The order
    is by the path relative to ``folder``, component by component, so it does not depend on the
    file system or the platform.

    Raises
    ------
    FolderError
        ``folder`` does not exist, is not a folder, or cannot be listed.
    NoMidiFilesError
        No MIDI file was found.
    """
    folder = Path(folder).expanduser()
    return [folder / rel for rel, _ in scan_midi_files(folder, recursive)]


def scan_midi_files(folder: str | os.PathLike, recursive: bool = True) -> list[tuple[str, str]]:
    """Like :func:`find_midi_files`, as (relative path with "/" separators, full path) strings:
    the fast form for thousands of files. Raises the same errors."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise FolderError(f"{folder}: folder not found")
    if not folder.is_dir():
        raise FolderError(f"{folder}: not a folder")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise FolderError(f"{folder}: the folder cannot be read (permission denied)")
    top = str(folder)
    found: list[tuple[tuple[str, ...], str]] = []
    if recursive:
        cut = len(os.path.join(top, ""))
        for root, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel = tuple(root[cut:].split(os.sep)) if len(root) > len(top) else ()
            found.extend((rel + (f,), os.path.join(root, f)) for f in files if is_midi_name(f))
    else:
        with os.scandir(top) as entries:
            found.extend(((e.name,), e.path) for e in entries if is_midi_name(e.name) and e.is_file())
    if not found:
        where = "searched recursively" if recursive else "subfolders not searched"
        raise NoMidiFilesError(f"no MIDI files in {folder} ({where}); Composer reads "
                               f"{', '.join(sorted(MIDI_SUFFIXES))} files")
    found.sort(key=lambda item: item[0])
    return [("/".join(parts), path) for parts, path in found]
