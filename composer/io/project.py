"""The lossless project file: a composition and its settings as JSON (``.composer.json``).

Unlike a MIDI export, a project keeps everything: note and track ids (so undo history and
selections stay meaningful), track colours and mixer state, and free-form settings such as the
chosen model and generation parameters. Saving is atomic: a crash leaves the old file or the new one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from composer.core.errors import ComposerError
from composer.core.notes import MAX_PITCH, MAX_VELOCITY, MIN_PITCH, MIN_VELOCITY, NOTE_DTYPE, empty_notes
from composer.core.score import Score, Track, reserve_track_ids, score_problems
from composer.core.timing import DENOMINATORS, MAX_NUMERATOR, MAX_QPM, MIN_QPM, TempoChange, TimeSignature

from .files import atomic_write_bytes, read_problem

FORMAT = "composer-project"
FORMAT_VERSION = 1
PROJECT_SUFFIX = ".composer.json"
_NOTE_FIELDS = ("id", "start", "end", "pitch", "velocity")


class ProjectError(ComposerError):
    """A project file that cannot be read."""


def score_to_dict(score: Score) -> dict:
    """A JSON-ready dict of the score. Notes are stored column-wise: compact and exact."""
    return {
        "title": score.title,
        "ppq": score.ppq,
        "tempos": [[c.tick, c.qpm] for c in score.tempos],
        "time_signatures": [[s.tick, s.numerator, s.denominator] for s in score.time_signatures],
        "tracks": [
            {
                "id": t.id,
                "name": t.name,
                "program": t.program,
                "is_drum": t.is_drum,
                "color": t.color,
                "muted": t.muted,
                "solo": t.solo,
                "next_note_id": t.next_note_id,
                "notes": {f: t.notes[f].tolist() for f in _NOTE_FIELDS},
            }
            for t in score.tracks
        ],
    }


# ------------------------------------------------------------------------------ validation
# A project file is user data: it may be truncated, hand-edited or damaged. Every value is
# checked for type and range before it reaches numpy or the core, so a bad file gives one
# ProjectError naming the place ("track 2 ('Bass'): note 3 has pitch 300, outside 0-127")
# instead of an OverflowError deep inside numpy. To read a new field, add one line with the
# matching ``_Fields`` getter (int, number, bool, str, list, object), or a ``_..._from`` function
# like _tempos_from for a list of entries.

#: The largest tick a project may hold: about 300 hours at 960 PPQ and 120 BPM.
MAX_TICK = 2**31
#: Note and track ids stay well inside int64 so that adding new ones never overflows.
MAX_ID = 2**53
MIN_PPQ, MAX_PPQ = 1, 32767
MAX_DENOMINATOR = DENOMINATORS[-1]  # (the editor's limits; score_problems checks the rest)
_REQUIRED = object()


class _Fields:
    """Typed, range-checked access to one JSON object of a project; ``where`` names it in errors."""

    def __init__(self, data, where: str):
        if not isinstance(data, dict):
            raise ProjectError(f"{where} should be an object, not {_json_type(data)}")
        self.data, self.where = data, where

    def _get(self, key: str, default):
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise ProjectError(f"{self.where} has no {key!r}")
        return default

    def _place(self, key: str) -> str:
        # The score's own keys read best bare ("ppq"); a track's as "track 2 ('Bass').program".
        return key if self.where == "score" else f"{self.where}.{key}"

    def int(self, key: str, low: int, high: int, default=_REQUIRED) -> int:
        return _checked_int(self._get(key, default), self._place(key), low, high)

    def number(self, key: str, low: float, high: float, default=_REQUIRED) -> float:
        return _checked_number(self._get(key, default), self._place(key), low, high)

    def bool(self, key: str, default=_REQUIRED) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise ProjectError(f"{self._place(key)} should be true or false, not {_json_type(value)}")
        return value

    def str(self, key: str, default=_REQUIRED) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise ProjectError(f"{self._place(key)} should be text, not {_json_type(value)}")
        return value

    def list(self, key: str, default=_REQUIRED) -> list:
        value = self._get(key, default)
        if not isinstance(value, list):
            raise ProjectError(f"{self._place(key)} should be a list, not {_json_type(value)}")
        return value

    def object(self, key: str) -> "_Fields":
        return _Fields(self._get(key, _REQUIRED), self._place(key))


def _json_type(value) -> str:
    """How a JSON value reads to a user: "text", "a number", "null", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}" if len(repr(value)) <= 24 else "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


def _checked_int(value, place: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProjectError(f"{place} should be a whole number, not {_json_type(value)}")
    if not low <= value <= high:
        raise ProjectError(f"{place} is {_short(value)}, outside {low}-{high}")
    return value


def _checked_number(value, place: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProjectError(f"{place} should be a number, not {_json_type(value)}")
    if not low <= value <= high:  # also rejects NaN, which json accepts
        raise ProjectError(f"{place} is {_short(value)}, outside {low:g}-{high:g}")
    return float(value)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"


def _int_column(values, owner: str, field: str, low: int, high: int) -> np.ndarray:
    """A list of whole numbers in [low, high] as int64, checked with numpy (projects hold tens of
    thousands of notes). ``owner`` and ``field`` name it in errors: "track 1: note 3 has pitch ..."."""
    if not isinstance(values, list):
        raise ProjectError(f"{owner}: the notes' {field} should be a list, not {_json_type(values)}")
    if not values:
        return np.zeros(0, dtype=np.int64)
    try:
        column = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        column = np.asarray([None])  # ragged or nested: reported below
    if column.dtype.kind not in "iu" or column.ndim != 1:  # floats, text, bools, ints beyond int64
        index, bad = next(((i, v) for i, v in enumerate(values) if isinstance(v, bool) or not isinstance(v, int)),
                          (None, None))
        if index is None:  # whole numbers, but too large for numpy
            index = max(range(len(values)), key=lambda i: abs(values[i]))
            raise ProjectError(f"{owner}: note {index + 1} has {field} {_short(values[index])}, "
                               f"outside {low}-{high}")
        raise ProjectError(f"{owner}: note {index + 1} has {field} {_json_type(bad)}, not a whole number")
    outside = (column < low) | (column > high)
    if outside.any():
        index = int(np.argmax(outside))
        raise ProjectError(f"{owner}: note {index + 1} has {field} {_short(int(column[index]))}, "
                           f"outside {low}-{high}")
    return column.astype(np.int64)


_NOTE_RANGES = {"id": (0, MAX_ID), "start": (0, MAX_TICK), "end": (0, MAX_TICK),
                "pitch": (MIN_PITCH, MAX_PITCH), "velocity": (MIN_VELOCITY, MAX_VELOCITY)}


def _notes_from(fields: _Fields) -> np.ndarray:
    columns = fields.object("notes")
    arrays = {name: _int_column(columns._get(name, _REQUIRED), fields.where, name, *_NOTE_RANGES[name])
              for name in _NOTE_FIELDS}
    n = len(arrays["id"])
    if any(len(column) != n for column in arrays.values()):
        raise ProjectError(f"{fields.where}: note columns differ in length")
    if n and len(np.unique(arrays["id"])) != n:
        raise ProjectError(f"{fields.where}: duplicate note ids")
    notes = empty_notes(n)
    for name, column in arrays.items():
        notes[name] = column.astype(NOTE_DTYPE[name])
    return notes


def _track_from(entry, index: int) -> Track:
    fields = _Fields(entry, f"track {index + 1}")
    name = fields.str("name", "")
    if name:
        fields.where = f"track {index + 1} ({name!r})"
    track = Track(name, fields.int("program", 0, 127), fields.bool("is_drum", False), _notes_from(fields),
                  fields.int("id", 0, MAX_ID), fields.str("color", ""), fields.bool("muted", False),
                  fields.bool("solo", False))
    track.next_note_id = fields.int("next_note_id", 0, MAX_ID, 0)  # raised to above the ids present
    return track


def _entries(fields: _Fields, key: str, names: tuple[str, ...]):
    """Each entry of the list ``key``, checked to hold one value for each of ``names``: its
    place for messages ("tempos[2]") and its values."""
    for i, entry in enumerate(fields.list(key)):
        place = f"{key}[{i}]"
        if not isinstance(entry, list) or len(entry) != len(names):
            raise ProjectError(f"{place} should be [{', '.join(names)}]")
        yield place, entry


def _tempos_from(fields: _Fields) -> list[TempoChange]:
    return [TempoChange(_checked_int(tick, f"{place} tick", 0, MAX_TICK),
                        _checked_number(qpm, f"{place} BPM", MIN_QPM, MAX_QPM))
            for place, (tick, qpm) in _entries(fields, "tempos", ("tick", "BPM"))]


def _time_signatures_from(fields: _Fields) -> list[TimeSignature]:
    return [TimeSignature(_checked_int(tick, f"{place} tick", 0, MAX_TICK),
                          _checked_int(numerator, f"{place} numerator", 1, MAX_NUMERATOR),
                          _checked_int(denominator, f"{place} denominator", 1, MAX_DENOMINATOR))
            for place, (tick, numerator, denominator)
            in _entries(fields, "time_signatures", ("tick", "numerator", "denominator"))]


def score_from_dict(data: dict) -> Score:
    """Inverse of :func:`score_to_dict`; raises ProjectError naming the first missing, mistyped or
    out-of-range value."""
    fields = _Fields(data, "score")
    tracks = [_track_from(entry, i) for i, entry in enumerate(fields.list("tracks"))]
    if len({t.id for t in tracks}) != len(tracks):
        raise ProjectError("duplicate track ids")
    ppq = fields.int("ppq", MIN_PPQ, MAX_PPQ)
    tempos, signatures = _tempos_from(fields), _time_signatures_from(fields)
    title = fields.str("title", "")
    reserve_track_ids(max((t.id for t in tracks), default=0))
    score = Score(tracks, ppq, tempos, signatures, title)
    problems = score_problems(score)  # what the types cannot say: notes that end before they start
    if problems:
        raise ProjectError(problems[0])
    return score


def save_project(path: str | os.PathLike, score: Score, settings: dict | None = None) -> None:
    """Save ``score`` and ``settings`` (any JSON-serialisable dict) to ``path`` atomically."""
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "score": score_to_dict(score),
        "settings": settings or {},
    }
    try:
        text = json.dumps(document, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"project settings cannot be saved as JSON: {exc}") from None
    atomic_write_bytes(Path(path), text.encode("utf-8"))


def load_project(path: str | os.PathLike) -> tuple[Score, dict]:
    """Load a project saved by :func:`save_project`; returns (score, settings).

    Raises ProjectError, with the file's name and the first problem found, for anything that is
    not a readable, valid project: a missing file, a folder, invalid JSON, a truncated file,
    missing fields, wrong types, out-of-range numbers.
    """
    path = Path(path)
    if path.is_dir():
        raise ProjectError(f"{path}: is a folder, not a Composer project")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ProjectError(f"{path.name}: not a Composer project (not a text file)") from None
    except OSError as exc:
        raise ProjectError(read_problem(path, exc, "a Composer project")) from None
    except json.JSONDecodeError as exc:
        if not exc.doc.strip():
            raise ProjectError(f"{path.name}: not a Composer project (the file is empty)") from None
        raise ProjectError(f"{path.name}: not a Composer project (invalid JSON at line {exc.lineno}; "
                           "the file may be truncated or damaged)") from None
    except RecursionError:  # absurdly deep nesting
        raise ProjectError(f"{path.name}: not a Composer project (nested too deeply)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ProjectError(f"{path.name}: not a Composer project file")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProjectError(f"{path.name}: the project is damaged (its format version is missing)")
    if version > FORMAT_VERSION:
        raise ProjectError(f"{path.name}: project format version {version} is newer than this "
                           f"Composer understands ({FORMAT_VERSION}); please update Composer")
    if "score" not in document:
        raise ProjectError(f"{path.name}: the project has no score")
    try:
        score = score_from_dict(document["score"])
    except ComposerError as exc:
        raise ProjectError(f"{path.name}: the project is damaged: {exc}") from None
    settings = document.get("settings")
    return score, settings if isinstance(settings, dict) else {}
