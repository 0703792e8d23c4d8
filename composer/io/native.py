"""Keeping native libraries' own console output out of the user's terminal."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what libasound and libjack print to fd 2 when their system is absent.

    Those lines ("ALSA lib seq_hw.c ... open /dev/snd/seq failed") bypass Python and would appear
    each time MIDI ports are listed or an audio driver is tried; callers report the same facts in
    their own messages. Linux only: elsewhere these libraries do not print.

    fd 2 belongs to the whole process, so threads share one redirection: the first to enter
    points fd 2 at /dev/null and the last to leave puts it back (two independent save/restore
    pairs interleaving could leave stderr silenced for good). Keep the block short.
    """
    global _depth, _saved_fd
    if not sys.platform.startswith("linux"):
        yield
        return
    with _lock:
        if _depth == 0:
            try:
                saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
            except OSError:
                saved = None
            if saved is not None:
                sys.stderr.flush()
                os.dup2(devnull, 2)
                os.close(devnull)
                _saved_fd = saved
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None:
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                _saved_fd = None
