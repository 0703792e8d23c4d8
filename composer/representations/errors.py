"""Errors of the representation layer (numpy only)."""

from __future__ import annotations

from ..core.errors import ComposerError


class SkipFile(ComposerError):
    """A file the codec cannot use, with the reason (e.g. "only drum tracks")."""
