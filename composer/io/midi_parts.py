"""Parts of a song as MIDI files of their own: one track, a generated variation, the whole song,
each with the song's tempo map and time signatures, named "<song> - <part>.mid" (no Qt).

The GUI drags these files out of the window into a DAW, a file manager or a web page
(composer.gui.drag_out).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..core import Score
from ..core.score import Track
from ..core.transforms import slice_time
from .midi import write_midi

#: Longest file name stem written (file systems allow 255 bytes; DAWs show far less).
MAX_STEM = 100
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]+')


def part_score(score: Score, tracks: list[Track], title: str = "") -> Score:
    """A score holding copies of ``tracks``, with ``score``'s PPQ, tempos and time signatures."""
    return Score([track.copy() for track in tracks], score.ppq, list(score.tempos),
                 list(score.time_signatures), title)


def track_score(score: Score, track_id: int, title: str = "") -> Score:
    """Track ``track_id`` alone, from tick 0 (it lines up with the song when placed at bar 1)."""
    return part_score(score, [score.track(track_id)], title)


def clip_score(score: Score, tracks: list[Track], start: int, end: int, title: str = "") -> Score:
    """``tracks`` (notes in ``score``'s ticks) cut to ``[start, end)`` and moved to start at
    tick 0, with the tempo and meter in force there: a clip to drop where it should play."""
    whole = part_score(score, tracks, title)
    return slice_time(whole, max(int(start), 0), max(int(end), int(start) + 1)) if end > start else whole


def file_stem(song: str, part: str | None = None) -> str:
    """"<song> - <part>" (or "<song>"), without characters file systems refuse."""
    song = Path(song).stem if song.lower().endswith((".mid", ".midi", ".json")) else song
    text = f"{song} - {part}" if part else song
    text = _UNSAFE.sub(" ", text).strip(" .") or "Untitled"
    return re.sub(r"\s+", " ", text)[:MAX_STEM].rstrip(" .")


def write_part_file(score: Score, folder: str | os.PathLike, song: str, part: str | None = None) -> Path:
    """Write ``score`` as ``folder/<song> - <part>.mid`` and return the path."""
    path = Path(folder) / f"{file_stem(song, part)}.mid"
    if not score.title:
        score.title = path.stem
    write_midi(score, path)
    return path
