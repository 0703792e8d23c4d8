"""Score model, timing, transforms and undoable edits. Imports neither torch nor Qt."""

from .errors import ComposerError, ComposerWarning, ScoreError
from .notes import NOTE_DTYPE, Note, empty_notes, make_notes, notes_from_objects
from .score import Score, Track, repaired, score_problems
from .timing import DEFAULT_PPQ, TempoChange, TempoMap, TimeSignature, bar_starts

__all__ = [
    "ComposerError", "ComposerWarning", "ScoreError", "NOTE_DTYPE", "Note", "empty_notes",
    "make_notes", "notes_from_objects", "Score", "Track", "repaired", "score_problems",
    "DEFAULT_PPQ", "TempoChange", "TempoMap", "TimeSignature", "bar_starts",
]
