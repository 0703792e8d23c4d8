"""Where models live: the bundled ``checkpoints/`` folder and the user's model folder.

Listing reads only checkpoint headers (no torch), so the model picker opens at once.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from composer.io.files import user_folder

from .checkpoint import SUFFIX, CheckpointError, read_metadata

# From source: the checkout's checkpoints/; in a PyInstaller build: the bundle's data folder.
BUNDLED = Path(getattr(sys, "_MEIPASS", None) or Path(__file__).resolve().parents[2]) / "checkpoints"
USER_MODELS_ENV = "COMPOSER_MODELS"


def user_models_dir() -> Path:
    """The user's model folder (``COMPOSER_MODELS`` or the platform's data folder)."""
    return user_folder("models", USER_MODELS_ENV)


@dataclass
class ModelEntry:
    path: Path
    metadata: dict | None
    error: str | None = None
    bundled: bool = False

    @property
    def name(self) -> str:
        return (self.metadata or {}).get("name") or self.path.name.removesuffix(SUFFIX)

    @property
    def family(self) -> str | None:
        return (self.metadata or {}).get("family")


def list_models(extra_dirs: list[Path] | None = None) -> list[ModelEntry]:
    """Every checkpoint in the bundled folder, the user's folder and ``extra_dirs``, sorted by
    name; unreadable files are listed with their error instead of their metadata."""
    entries = []
    folders = [(BUNDLED, True), (user_models_dir(), False)] + [(Path(d), False) for d in extra_dirs or []]
    seen = set()
    for folder, bundled in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            try:
                entries.append(ModelEntry(path, read_metadata(path), bundled=bundled))
            except CheckpointError as exc:
                entries.append(ModelEntry(path, None, str(exc), bundled))
    return sorted(entries, key=lambda e: (not e.bundled, e.name.lower()))


def resolve_model(name_or_path: str) -> Path:
    """A checkpoint path from a path or a model name in the library."""
    path = Path(name_or_path).expanduser()
    if path.exists() or path.suffix == SUFFIX or os.sep in name_or_path:
        return path
    for entry in list_models():
        if entry.name == name_or_path or entry.path.name.removesuffix(SUFFIX) == name_or_path:
            return entry.path
    raise CheckpointError(f"no model named {name_or_path!r}; see 'composer models'")
