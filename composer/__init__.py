"""Composer: a desktop app for composing music with AI help."""

__version__ = "0.1.0"
