"""Recovery copies of unsaved work and the locks that tell a live owner from a crashed one.

Layout of the recovery folder (``COMPOSER_RECOVERY_DIR`` or the platform's data folder)::

    autosave-<pid>-<token>.composer.json   the recovery copy: an ordinary project file
    autosave-<pid>-<token>.lock            its owner: PID and host as JSON, OS-locked while alive

The lock file is how instances tell a live colleague's work from a crashed one's. It records the
PID for people reading the folder, but the test is the OS lock held on it for the owner's whole
life: the OS drops that lock when the process dies however it dies, and a recycled PID cannot
fake it. Where the file system cannot lock, the PID is checked instead.

Qt-free: the app's autosaver and recovery dialog (composer.gui.autosave) are built on it.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import socket
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from composer.core.score import Score
from composer.io.files import user_folder
from composer.io.project import PROJECT_SUFFIX, ProjectError, load_project

log = logging.getLogger(__name__)

RECOVERY_DIR_ENV = "COMPOSER_RECOVERY_DIR"
LOCK_SUFFIX = ".lock"
_PREFIX = "autosave-"
# Windows locks byte ranges and a locked range cannot be read, so lock one byte far past the
# PID text; locking beyond the end of a file is allowed there.
_WINDOWS_LOCK_OFFSET = 1 << 30


def recovery_dir() -> Path:
    """The recovery folder (``COMPOSER_RECOVERY_DIR`` or the platform's data folder)."""
    return user_folder("recovery", RECOVERY_DIR_ENV)


# ----------------------------------------------------------------------------- owner locks
class _LockBusy(Exception):
    """Another process holds the lock."""


def _os_lock(fd: int) -> None:
    """Take an exclusive, non-blocking OS lock on ``fd``; _LockBusy when another holds it.

    Other OSErrors mean the file system cannot lock (some network shares)."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLOCK):
                raise _LockBusy from None
            raise
    else:
        import fcntl

        # flock, not lockf: flock conflicts between two opens in one process too, so this
        # process also sees its own live recovery files as taken.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _LockBusy from None


def _pid_running(pid: int) -> bool:
    """Whether a process with this PID exists (the fallback when locking is unavailable)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _read_owner(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8").strip() or "{}")
        return data if isinstance(data, dict) else {}
    except (OSError, UnicodeDecodeError, ValueError):
        return {}


def _owner_alive(lock_path: Path) -> bool:
    """True when a running process owns ``lock_path``; False when it is missing or stale."""
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError:
        fd = None  # unreadable: can only go by the recorded PID
    if fd is not None:
        try:
            _os_lock(fd)
            return False  # we got it, so nobody holds it; closing the fd releases it again
        except _LockBusy:
            return True
        except OSError:
            pass
        finally:
            os.close(fd)
    owner = _read_owner(lock_path)
    if owner.get("host") not in (None, socket.gethostname()):
        return True  # another machine's (shared folder): cannot check, so leave it alone
    try:
        return _pid_running(int(owner.get("pid", 0)))
    except (TypeError, ValueError):
        return False


class _OwnerLock:
    """An open, OS-locked lock file saying "this process owns that recovery copy"."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path) -> "_OwnerLock | None":
        """Lock ``path`` (created when missing) for this process, or None if a live process has it."""
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            return None
        try:
            _os_lock(fd)
        except _LockBusy:
            os.close(fd)
            return None
        except OSError:
            if _owner_alive(path):  # no OS locks here: fall back to the PID
                os.close(fd)
                return None
        try:
            # Someone may have deleted the file between our open and our lock; then we hold a
            # lock on a file nobody else can find, which protects nothing.
            if os.fstat(fd).st_ino != os.stat(path).st_ino and sys.platform != "win32":
                os.close(fd)
                return None
        except OSError:
            os.close(fd)
            return None
        lock = cls(path, fd)
        lock._write_owner()
        return lock

    def _write_owner(self) -> None:
        text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "since": datetime.now().isoformat(timespec="seconds")})
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.ftruncate(self._fd, 0)
            os.write(self._fd, text.encode("utf-8") + b"\n")
        except OSError:
            pass  # the PID is informative only; the OS lock is what counts

    def release(self, delete: bool = True) -> None:
        """Give up ownership; with ``delete`` remove the lock file first (while still held)."""
        if self._fd is None:
            return
        if delete:
            try:
                if sys.platform == "win32":
                    os.close(self._fd)  # Windows cannot delete an open file
                    self._fd = None
                self.path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("cannot remove recovery lock %s: %s", self.path, exc)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# ------------------------------------------------------------------------------ recoveries
_serials = itertools.count(1)  # orders restores against autosaves
#: Recoveries this process restored: kept on disk (and locked) until this process's own autosave
#: holds the same work, so a crash right after restoring loses nothing.
_claimed: list["Recovery"] = []


@dataclass
class Recovery:
    """One recovery copy left by a process that is no longer running.

    ``error`` is set (and ``note_count`` is None) when the copy cannot be read.
    """

    path: Path
    source_name: str
    original_path: Path | None
    saved_at: datetime
    note_count: int | None
    error: str | None = None
    _lock: _OwnerLock | None = field(default=None, init=False, repr=False, compare=False)
    _claim_serial: int = field(default=0, init=False, repr=False, compare=False)

    @property
    def usable(self) -> bool:
        return self.error is None

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name.removesuffix(PROJECT_SUFFIX) + LOCK_SUFFIX)

    def describe(self) -> str:
        """One line for a list: name, time and size, or why it cannot be restored."""
        when = self.saved_at.strftime("%Y-%m-%d %H:%M")
        if not self.usable:
            return f"{self.path.name} ({when}): cannot be restored: {self.error}"
        where = f" ({self.original_path})" if self.original_path else ""
        notes = f"{self.note_count} note" + ("" if self.note_count == 1 else "s")
        return f"{self.source_name}{where}, saved {when}, {notes}"

    def load(self) -> Score:
        """The recovered score; raises ProjectError when the copy cannot be read."""
        score, _settings = load_project(self.path)
        return score

    def claim(self) -> bool:
        """Take ownership for this process (so other instances no longer list it).

        False when another running instance claimed it first."""
        if self._lock is None:
            self._lock = _OwnerLock.acquire(self.lock_path)
        return self._lock is not None

    def discard(self) -> bool:
        """Delete the recovery copy and its lock; False (files kept) if another instance owns it."""
        if not self.claim():
            return False
        stem = self.path.name
        try:
            self.path.unlink(missing_ok=True)
            # Half-written temporaries from a crash during an atomic save.
            for tmp in self.path.parent.glob(f".{stem}.*.tmp"):
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot delete recovery copy %s: %s", self.path, exc)
            return False
        finally:
            if self in _claimed:
                _claimed.remove(self)
        self._lock.release(delete=True)
        self._lock = None
        return True

    def _hold_until_autosaved(self) -> None:
        """Keep this claimed copy until an autosave started after now has written the same work."""
        self._claim_serial = next(_serials)
        if self not in _claimed:
            _claimed.append(self)


def _release_claimed(before_serial: int | None = None) -> None:
    """Discard restored recoveries whose work this process's own recovery copy now holds."""
    for recovery in list(_claimed):
        if before_serial is None or recovery._claim_serial < before_serial:
            recovery.discard()


def _read_recovery(path: Path) -> Recovery:
    """A Recovery for ``path``; a broken file gives one with ``error`` set, never an exception."""
    try:
        mtime = datetime.fromtimestamp(path.stat().st_mtime)
    except OSError:
        mtime = datetime.now()
    try:
        score, settings = load_project(path)
    except ProjectError as exc:
        return Recovery(path, path.name, None, mtime, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - a broken file must never stop the app starting
        return Recovery(path, path.name, None, mtime, None, f"{type(exc).__name__}: {exc}")
    info = settings.get("recovery") if isinstance(settings, dict) else None
    info = info if isinstance(info, dict) else {}
    try:
        saved_at = datetime.fromisoformat(info["saved_at"])
    except (KeyError, TypeError, ValueError):
        saved_at = mtime
    if saved_at.tzinfo is not None:  # keep every time naive local, so they sort together
        saved_at = saved_at.astimezone().replace(tzinfo=None)
    original = info.get("path")
    return Recovery(path, str(info.get("source_name") or "Untitled"),
                    Path(original) if isinstance(original, str) and original else None,
                    saved_at, score.note_count)


def find_recoverable(directory: str | os.PathLike | None = None) -> list[Recovery]:
    """Recovery copies whose owning process is gone, newest first; unreadable ones included with
    ``error`` set. Never raises: a folder that cannot be read gives an empty list and a warning."""
    folder = Path(directory) if directory is not None else recovery_dir()
    try:
        if not folder.is_dir():
            return []
        candidates = sorted(p for p in folder.glob(f"*{PROJECT_SUFFIX}") if not p.name.startswith("."))
        locks = sorted(folder.glob(f"{_PREFIX}*{LOCK_SUFFIX}"))
    except OSError as exc:
        log.warning("cannot read the recovery folder %s: %s", folder, exc)
        return []
    found = []
    for path in candidates:
        try:
            recovery = _read_recovery(path) if not _owner_alive(
                path.with_name(path.name.removesuffix(PROJECT_SUFFIX) + LOCK_SUFFIX)) else None
        except Exception as exc:  # noqa: BLE001 - same reason as in _read_recovery
            log.warning("cannot check recovery copy %s: %s", path, exc)
            continue
        if recovery is not None:
            found.append(recovery)
    # Locks left by crashed instances that never autosaved are litter: remove them.
    for lock_path in locks:
        if not lock_path.with_name(lock_path.name.removesuffix(LOCK_SUFFIX) + PROJECT_SUFFIX).exists():
            try:
                lock = _OwnerLock.acquire(lock_path)
                if lock is not None:
                    lock.release(delete=True)
            except OSError:
                pass
    found.sort(key=lambda r: r.saved_at, reverse=True)
    return found
