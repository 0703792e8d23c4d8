"""Atomic file writing shared by MIDI export, project files, WAV export and checkpoints."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from composer.core.errors import ComposerError


def _read_umask() -> int:
    # Reading the umask means setting it; do it once, at import, before any threads start.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


class FileWriteError(ComposerError):
    """A destination that cannot be written (missing folder, no permission, disk full)."""


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``.

    A crash or a full disk leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise FileWriteError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    try:
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise FileWriteError(f"{path}: cannot write ({exc.strerror or exc})") from None


def read_problem(path, exc: OSError, kind: str) -> str:
    """Why ``path`` could not be read, in one line: not found, a folder rather than ``kind``
    (e.g. "a MIDI file"), or the system's words."""
    if isinstance(exc, FileNotFoundError):
        return f"{path}: file not found"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder, not {kind}"
    return f"{path}: cannot be read ({exc.strerror or exc})"


def user_folder(name: str, env: str) -> Path:
    """The app's folder ``name`` in the platform's user data folder, or the path in the
    environment variable ``env`` when it is set (tests and portable installs use that)."""
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("composer", appauthor=False)) / name
