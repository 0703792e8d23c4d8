"""How to start another ``composer`` command as a child process (Qt-free, torch-free).

From source or a pip install that is ``python -m composer.cli``; in a PyInstaller build
``sys.executable`` is the app binary itself, which has no ``-m`` and takes the CLI's arguments.
"""

from __future__ import annotations

import sys


def is_frozen() -> bool:
    """True inside a PyInstaller (or similar) build."""
    return bool(getattr(sys, "frozen", False))


def composer_command(python: str | None = None) -> list[str]:
    """The argv prefix of a ``composer`` command; ``python`` picks another interpreter (not frozen)."""
    if python is None and is_frozen():
        return [sys.executable]
    return [python or sys.executable, "-m", "composer.cli"]
