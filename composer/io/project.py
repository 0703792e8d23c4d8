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
from composer.core.notes import NOTE_DTYPE, empty_notes
from composer.core.score import Score, Track, reserve_track_ids
from composer.core.timing import TempoChange, TimeSignature

from .files import atomic_write_bytes

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


def score_from_dict(data: dict) -> Score:
    """Inverse of :func:`score_to_dict`; raises ProjectError on missing or malformed fields."""
    try:
        tracks = []
        for entry in data["tracks"]:
            cols = entry["notes"]
            n = len(cols["id"])
            notes = empty_notes(n)
            for field in _NOTE_FIELDS:
                if len(cols[field]) != n:
                    raise ProjectError(f"track {entry['name']!r}: note columns differ in length")
                notes[field] = np.asarray(cols[field], dtype=NOTE_DTYPE[field])
            if n and len(np.unique(notes["id"])) != n:
                raise ProjectError(f"track {entry['name']!r}: duplicate note ids")
            track = Track(str(entry["name"]), int(entry["program"]), bool(entry["is_drum"]), notes,
                          int(entry["id"]), str(entry.get("color", "")), bool(entry.get("muted", False)),
                          bool(entry.get("solo", False)))
            track.next_note_id = int(entry.get("next_note_id", 0))
            tracks.append(track)
        if len({t.id for t in tracks}) != len(tracks):
            raise ProjectError("duplicate track ids")
        reserve_track_ids(max((t.id for t in tracks), default=0))
        score = Score(
            tracks,
            int(data["ppq"]),
            [TempoChange(int(t), float(q)) for t, q in data["tempos"]],
            [TimeSignature(int(t), int(n), int(d)) for t, n, d in data["time_signatures"]],
            str(data.get("title", "")),
        )
    except ProjectError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectError(f"the project data is malformed ({type(exc).__name__}: {exc})") from None
    score.validate()
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
    """Load a project saved by :func:`save_project`; returns (score, settings)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{path.name}: not a Composer project (invalid JSON at line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ProjectError(f"{path.name}: not a Composer project file")
    version = document.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ProjectError(f"{path.name}: project format version {version} is newer than this "
                           f"Composer understands ({FORMAT_VERSION}); please update Composer")
    try:
        score = score_from_dict(document["score"])
    except ComposerError as exc:
        raise ProjectError(f"{path.name}: {exc}") from None
    except KeyError:
        raise ProjectError(f"{path.name}: the project has no score") from None
    settings = document.get("settings") or {}
    return score, settings
