"""Words and numbers for notes: row names (GM drum names on drum tracks), positions as
``bar.beat.tick``, lengths in beats, and the parsing of what a musician types for them.

Bars and beats follow the score's time signatures, as the ruler and the transport show them: a
beat is the signature's denominator (a quarter in 4/4, an eighth in 6/8), bars and beats count
from 1, and the tick is the tick within the beat. Lengths are beats, as a decimal ("1.5") or a
fraction ("1/3" for a triplet eighth in 4/4).

Parsers raise :class:`ValueError` with a message meant for the user.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from composer.core.score import Score, Track
from composer.core.timing import TimeSignature
from composer.representations.instruments import GM_DRUM_NAMES

from .theme import pitch_name

_PITCH_CLASSES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_NOTE_NAME = re.compile(r"^([a-g])([#b\u266f\u266d]?)(-?\d+)$", re.IGNORECASE)
_DRUM_KEYS = {name.lower(): key for key, name in GM_DRUM_NAMES.items()}
POSITION_HELP = "bar.beat.tick, e.g. 3.2.240 (or just 3, or 3.2)"
LENGTH_HELP = "beats, e.g. 1, 0.5, 1.5 or 1/3"


# ----------------------------------------------------------------------------- pitch
def row_name(pitch: int, is_drum: bool) -> str:
    """What a key row is called: the GM drum name on a drum track (keys 35-81), else the note
    name with C4 = 60."""
    if is_drum and pitch in GM_DRUM_NAMES:
        return GM_DRUM_NAMES[pitch]
    return pitch_name(pitch)


def describe_pitch(pitch: int, is_drum: bool) -> str:
    """``"C4 (60)"``, or ``"Acoustic Snare (38)"`` on a drum track."""
    return f"{row_name(pitch, is_drum)} ({pitch})"


def parse_pitch(text: str) -> int:
    """A MIDI pitch from a number ("60"), a note name ("C4", "F#3", "Bb2") or a GM drum name
    ("Acoustic Snare"); 0-127."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        pitch = int(text)
    elif (match := _NOTE_NAME.match(text.replace(" ", ""))) is not None:
        letter, accidental, octave = match.groups()
        shift = 1 if accidental in ("#", "\u266f") else -1 if accidental in ("b", "\u266d") else 0
        pitch = (int(octave) + 1) * 12 + _PITCH_CLASSES[letter.lower()] + shift
    elif text.lower() in _DRUM_KEYS:
        return _DRUM_KEYS[text.lower()]
    else:
        raise ValueError(f"'{text}' is not a pitch: type a number 0-127, a note name such as C4 "
                         "or F#3, or +N / -N to transpose")
    if not 0 <= pitch <= 127:
        raise ValueError(f"pitch {text} is outside MIDI's 0-127 (C-1 to G9)")
    return pitch


# ----------------------------------------------------------------------------- time
def format_position(score: Score, tick: int) -> str:
    """``tick`` as ``"bar.beat.tick"``, 1-based bar and beat, e.g. ``"2.3.240"`` at 480 PPQ."""
    tick = max(int(tick), 0)
    starts = score.bar_starts(tick + 1)
    index = max(int(np.searchsorted(starts, tick, side="right")) - 1, 0)
    bar_start = int(starts[index])
    beat = score.beat_ticks_at(bar_start)
    digits = len(str(beat - 1))
    return f"{index + 1}.{(tick - bar_start) // beat + 1}.{(tick - bar_start) % beat:0{digits}d}"


def parse_position(score: Score, text: str) -> int:
    """The tick of ``"bar.beat.tick"`` (also ``"bar"``, ``"bar.beat"``; ``:`` or spaces may
    separate). Beats and ticks past the end of a bar carry over into the next, as in a DAW."""
    parts = [p for p in re.split(r"[.:\s]+", text.strip()) if p]
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"'{text.strip()}' is not a position: type {POSITION_HELP}")
    bar, beat, tick = (int(p) for p in parts + ["1", "0"][len(parts) - 1:])
    if bar < 1 or beat < 1:
        raise ValueError("bars and beats count from 1: the first beat of the song is 1.1.0")
    starts = _bar_starts_through(score, bar)
    bar_start = int(starts[bar - 1])
    return bar_start + (beat - 1) * score.beat_ticks_at(bar_start) + tick


def _bar_starts_through(score: Score, bar: int) -> np.ndarray:
    """Bar starts holding at least ``bar`` bars."""
    sigs = score.time_signatures or [TimeSignature(0)]
    longest = max(max(s.bar_ticks(score.ppq) for s in sigs), score.ppq * 4)
    return score.bar_starts(max(s.tick for s in sigs) + bar * longest)


def format_beats(ticks: int, beat_ticks: int) -> str:
    """``ticks`` as beats: ``"1"``, ``"0.5"``, ``"0.333"`` (at most three decimals)."""
    text = f"{ticks / beat_ticks:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_beats(text: str, beat_ticks: int) -> int:
    """Ticks of a length typed in beats ("1", "0.5", "1/3"), rounded to whole ticks; more
    than zero."""
    cleaned = text.strip().lower().removesuffix("beats").removesuffix("beat").strip()
    try:
        beats = Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"'{text.strip()}' is not a length: type {LENGTH_HELP}") from None
    ticks = round(beats * beat_ticks)
    if ticks <= 0:
        raise ValueError("a note's length must be more than zero")
    return ticks


def format_length(score: Score, start: int, end: int) -> str:
    """A note's length in beats of the signature at its start, e.g. ``"1.5 beats"``."""
    beats = format_beats(end - start, score.beat_ticks_at(start))
    return f"{beats} beat" if beats == "1" else f"{beats} beats"


def note_tooltip(score: Score, track: Track, note) -> str:
    """Hover text for one note (a row of a note array): name, velocity, start and length."""
    pitch, start, end = int(note["pitch"]), int(note["start"]), int(note["end"])
    return "\n".join((describe_pitch(pitch, bool(track.is_drum)),
                      f"Velocity {int(note['velocity'])}",
                      f"Start {format_position(score, start)}",
                      f"Length {format_length(score, start, end)}"))
