"""Colours and pitch helpers shared by the piano-roll widgets (dark theme)."""

from __future__ import annotations

from PySide6.QtGui import QColor

BACKGROUND = QColor("#1b1d22")
ROW_WHITE = QColor("#23262d")
ROW_BLACK = QColor("#1c1e23")
ROW_SEPARATOR = QColor("#1e2026")
OCTAVE_LINE = QColor("#353a45")
LINE_SUB = QColor("#272a31")
LINE_BEAT = QColor("#31353f")
LINE_BAR = QColor("#4f5664")
LOOP_FILL = QColor(90, 170, 255, 26)
LOOP_EDGE = QColor(90, 170, 255, 150)
PLAYHEAD = QColor("#ffcf4a")
TEXT = QColor("#c9ccd3")
TEXT_DIM = QColor("#868b96")
PANEL = QColor("#17181c")
PANEL_BORDER = QColor("#2b2e35")
SELECTION_OUTLINE = QColor("#ffffff")

#: Track colours by track index, used when a track has no colour of its own.
TRACK_PALETTE = ("#4ea7ff", "#ff9d47", "#5fd38d", "#ff6f9b", "#b592ff", "#f2cf4e", "#44cfc2",
                 "#f87272")

_BLACK_KEYS = frozenset((1, 3, 6, 8, 10))
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def is_black_key(pitch: int) -> bool:
    return pitch % 12 in _BLACK_KEYS


def pitch_name(pitch: int) -> str:
    """Scientific pitch name with C4 = MIDI 60 (so MIDI 0 is C-1)."""
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def track_color(color: str, index: int) -> QColor:
    """The track's own colour if it is a valid colour string, else the palette colour."""
    chosen = QColor(color) if color else QColor()
    return chosen if chosen.isValid() else QColor(TRACK_PALETTE[index % len(TRACK_PALETTE)])


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """The colour ``t`` of the way from ``a`` to ``b`` (alpha included)."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
        round(a.alpha() + (b.alpha() - a.alpha()) * t),
    )
