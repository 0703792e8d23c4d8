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


#: The hue step after the fixed palette: the golden angle, so each new hue falls in the largest
#: gap left by the others and no two tracks share a colour however many there are.
GOLDEN_ANGLE_DEG = 137.50776405
_FIRST_HUE_DEG = 300.0
#: (saturation, lightness) levels; each generated hue takes the level farthest from the colours
#: already given, which keeps 64 tracks as far apart as the fixed palette's closest pair.
_LEVELS = tuple((s, l) for s in (0.55, 0.75, 0.95) for l in (0.42, 0.55, 0.68, 0.80))
#: Beyond this many generated colours the levels simply cycle (the search grows quadratically).
_MAX_SEARCHED = 256
_generated: list[str] = []


def palette_color(index: int) -> str:
    """The default colour of track ``index`` (0-based), as "#rrggbb": the fixed palette first,
    then golden-angle hues (see :data:`_LEVELS`)."""
    index = max(int(index), 0)
    if index < len(TRACK_PALETTE):
        return TRACK_PALETTE[index]
    while len(TRACK_PALETTE) + len(_generated) <= index:
        _generated.append(_next_generated(len(_generated)))
    return _generated[index - len(TRACK_PALETTE)]


def _next_generated(step: int) -> str:
    hue = ((_FIRST_HUE_DEG + step * GOLDEN_ANGLE_DEG) % 360) / 360
    if step >= _MAX_SEARCHED:
        saturation, lightness = _LEVELS[step % len(_LEVELS)]
        return QColor.fromHslF(hue, saturation, lightness).name()
    given = [QColor(c) for c in (*TRACK_PALETTE, *_generated)]
    candidates = [QColor.fromHslF(hue, s, l) for s, l in _LEVELS]
    return max(candidates, key=lambda c: min(color_distance(c, g) for g in given)).name()


def color_distance(a: QColor, b: QColor) -> float:
    """Euclidean distance in RGB (0-441): crude, but enough to tell track colours apart."""
    return ((a.red() - b.red()) ** 2 + (a.green() - b.green()) ** 2 + (a.blue() - b.blue()) ** 2) ** 0.5


def track_color(color: str, index: int) -> QColor:
    """The track's own colour if it is a valid colour string, else :func:`palette_color`."""
    chosen = QColor(color) if color else QColor()
    return chosen if chosen.isValid() else QColor(palette_color(index))


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """The colour ``t`` of the way from ``a`` to ``b`` (alpha included)."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
        round(a.alpha() + (b.alpha() - a.alpha()) * t),
    )
