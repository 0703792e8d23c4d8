"""Graphics items of the piano roll: notes, candidate notes and the drawing draft.

A score can hold tens of thousands of notes, so a note item is a bare rectangle with a few plain
attributes. Pens and brushes live in one :class:`NoteStyle` per track and are shared by all its
items; no item owns an effect, a cache pixmap or a child item.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QStyleOptionGraphicsItem, QWidget

from . import theme

#: Width in pixels of the zone at a note's right edge that resizes instead of moving.
HANDLE_PX = 6.0

_DARK = QColor("#101114")
_WHITE = QColor("#ffffff")


def _cosmetic_pen(color: QColor, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, 0, style)  # width 0: always one device pixel wide
    pen.setCosmetic(True)
    return pen


class NoteStyle:
    """Pens and brushes shared by all notes of one track.

    ``fills[v]`` is the brush for velocity ``v`` (0-127): louder notes are brighter. Inactive
    tracks get a dimmed, slightly desaturated version of their colour.
    """

    def __init__(self, color: QColor, active: bool):
        self.active = active
        base = QColor(color)
        if not active:  # other tracks: a muted, greyer shade that stays readable
            grey = QColor(base.lightness(), base.lightness(), base.lightness())
            base = theme.mix(theme.mix(base, grey, 0.5), theme.BACKGROUND, 0.62)
        quiet = theme.mix(_DARK, base, 0.35 if active else 0.8)
        self.fills = [QBrush(theme.mix(quiet, base, v / 127)) for v in range(128)]
        bright = theme.mix(base, _WHITE, 0.55)
        self.selected_fills = [QBrush(theme.mix(theme.mix(quiet, bright, 0.6), bright, v / 127))
                               for v in range(128)]
        self.pen = _cosmetic_pen(base.darker(240) if active else base.lighter(125))
        self.selected_pen = _cosmetic_pen(theme.SELECTION_OUTLINE)
        self.handle = QColor(0, 0, 0, 70)
        self.color = QColor(color)


class NoteItem(QGraphicsRectItem):
    """One note. Its rectangle covers the note's whole key row; ``paint`` leaves a one-pixel gap.

    Attributes ``track_id``, ``note_id``, ``start``, ``end``, ``pitch`` and ``velocity`` mirror the
    note in the Score; the scene keeps them current. Painting is two or three primitive calls, so
    item caching would only cost memory (and be thrown away on every zoom): cache mode stays
    ``NoCache`` and the exposed-rect style option is not needed.
    """

    def __init__(self, track_id: int, style: NoteStyle):
        super().__init__()
        self.track_id = track_id
        self.note_id = -1
        self.start = self.end = self.pitch = 0
        self.velocity = 100
        self.style = style
        self.offset = False  # True while a drag preview has moved the item (pos != 0)

    def set_note(self, note_id: int, start: int, end: int, pitch: int, velocity: int,
                 px_per_tick: float, key_height: float) -> None:
        """Show the given note values at the given zoom."""
        changed_velocity = velocity != self.velocity
        self.note_id, self.start, self.end, self.pitch, self.velocity = (
            note_id, start, end, pitch, velocity)
        if self.offset:
            self.setPos(0.0, 0.0)
            self.offset = False
        self.relayout(px_per_tick, key_height)
        if changed_velocity:
            self.update()

    def relayout(self, px_per_tick: float, key_height: float) -> None:
        self.setRect(self.start * px_per_tick, (127 - self.pitch) * key_height,
                     max((self.end - self.start) * px_per_tick, 2.0), key_height)

    def set_style(self, style: NoteStyle) -> None:
        self.style = style
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, style.active)
        self.update()

    def in_resize_handle(self, scene_x: float) -> bool:
        """True when ``scene_x`` falls in the resize zone at the right edge."""
        rect = self.rect()
        zone = min(HANDLE_PX, rect.width() / 3)
        return scene_x >= self.pos().x() + rect.right() - zone

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        rect = self.rect()
        selected = self.isSelected()
        fill = (self.style.selected_fills if selected else self.style.fills)[self.velocity]
        if rect.width() < 4 or rect.height() < 5:  # zoomed far out: a plain block is enough
            painter.fillRect(rect, fill)
            return
        painter.setPen(self.style.selected_pen if selected else self.style.pen)
        painter.setBrush(fill)
        painter.drawRect(rect.adjusted(0, 0, -1, -2))
        if self.style.active and rect.width() >= 3 * HANDLE_PX:
            # A faint grip where a drag resizes the note.
            painter.fillRect(QRectF(rect.right() - 4, rect.top() + 3, 1, rect.height() - 7),
                             self.style.handle)


class CandidateStyle:
    """Look of generated notes that are not accepted yet: dashed outline, translucent fill."""

    def __init__(self, color: QColor):
        fill = QColor(color)
        fill.setAlpha(60)
        self.brush = QBrush(fill)
        self.pen = _cosmetic_pen(theme.mix(color, _WHITE, 0.3), Qt.PenStyle.DashLine)


class CandidateItem(QGraphicsRectItem):
    """A candidate note: not selectable, never a target of the mouse."""

    def __init__(self, start: int, end: int, pitch: int, style: CandidateStyle):
        super().__init__()
        self.start, self.end, self.pitch = start, end, pitch
        self.style = style
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def relayout(self, px_per_tick: float, key_height: float) -> None:
        self.setRect(self.start * px_per_tick, (127 - self.pitch) * key_height,
                     max((self.end - self.start) * px_per_tick, 2.0), key_height)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setPen(self.style.pen)
        painter.setBrush(self.style.brush)
        painter.drawRect(self.rect().adjusted(0, 0, -1, -2))
