"""Graphics items of the piano roll: notes, candidate notes and the drawing draft.

A score can hold tens of thousands of notes, so a note item is a bare rectangle with a few plain
attributes. Pens and brushes live in one :class:`NoteStyle` per track and are shared by all its
items; no item owns an effect, a cache pixmap or a child item.

Items live in scene units (x in ticks, y in key rows; see :mod:`.geometry`) and never move when
the view zooms. ``paint`` thinks in device pixels: it maps the rectangle through the painter's
transform, snaps it to whole pixels and draws it untransformed, so outlines stay one pixel wide
and edges meet the grid lines at every zoom.
"""

from __future__ import annotations

from math import floor

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QStyleOptionGraphicsItem, QWidget

from . import theme
from .geometry import EPSILON

#: Width in pixels of the zone at a note's right edge that resizes instead of moving.
HANDLE_PX = 6.0
#: Notes shorter than this many pixels on screen are drawn (and hit) this wide.
MIN_WIDTH_PX = 2.0
_MIN_WIDTH = int(MIN_WIDTH_PX)

# The item's own pen only sizes its bounding rect and shape; painting uses the style's pens.
# No pen: the shape is exactly the note's cell (a 1-unit pen would add half a key row).
_NO_PEN = QPen(Qt.PenStyle.NoPen)

_DARK = QColor("#101114")
_WHITE = QColor("#ffffff")


def _cosmetic_pen(color: QColor, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, 0, style)  # width 0: always one device pixel wide
    pen.setCosmetic(True)
    return pen


def device_cell(t: QTransform, rect: QRectF) -> tuple[int, int, int, int]:
    """``rect`` (scene units) under transform ``t`` as whole device pixels ``(left, top, width,
    height)``: where a note or candidate with that rectangle is painted (outline and fill).

    Edges are floored like the grid lines and key rows of the background, so a note starts on
    the pixel column of its start tick's grid line and on its key row's first pixel row; it is
    at least ``MIN_WIDTH_PX`` wide.
    """
    sx, dx, sy, dy = t.m11(), t.dx(), t.m22(), t.dy()
    x, y, w, h = rect.getRect()
    # geometry.pixel, inlined (this runs for every note on screen)
    left, top = floor(x * sx + dx + EPSILON), floor(y * sy + dy + EPSILON)
    return (left, top, max(floor((x + w) * sx + dx + EPSILON) - left, _MIN_WIDTH),
            floor((y + h) * sy + dy + EPSILON) - top)


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
        self.outline, self.selected_outline = QBrush(self.pen.color()), QBrush(theme.SELECTION_OUTLINE)
        # Opaque colours let paint fill the outline and then the inside (two fast rectangle
        # fills) instead of stroking it with the pen (several times slower in the rasteriser).
        self.opaque = all(b.isOpaque() for b in (*self.fills, *self.selected_fills, self.outline))
        self.handle = QColor(0, 0, 0, 70)
        self.color = QColor(color)


class NoteItem(QGraphicsRectItem):
    """One note. Its rectangle covers the note's ticks and its whole key row, in scene units;
    ``paint`` leaves a one-pixel gap and draws notes narrower than two pixels two pixels wide.

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
        self.setPen(_NO_PEN)

    def set_note(self, note_id: int, start: int, end: int, pitch: int, velocity: int) -> None:
        """Show the given note values."""
        changed_velocity = velocity != self.velocity
        self.note_id, self.start, self.end, self.pitch, self.velocity = (
            note_id, start, end, pitch, velocity)
        if self.offset:
            self.setPos(0.0, 0.0)
            self.offset = False
        self.relayout()
        if changed_velocity:
            self.update()

    def relayout(self) -> None:
        """Put the rectangle back on the note's ticks and key row (after a drag preview)."""
        self.setRect(self.start, 127 - self.pitch, max(self.end - self.start, 1), 1.0)

    def set_style(self, style: NoteStyle) -> None:
        self.style = style
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, style.active)
        self.update()

    def in_resize_handle(self, scene_x: float, px_per_tick: float) -> bool:
        """True when ``scene_x`` falls in the resize zone at the right edge (``HANDLE_PX``
        device pixels wide, a third of the note when it is short) at ``px_per_tick``."""
        rect = self.rect()
        width = max(rect.width() * px_per_tick, MIN_WIDTH_PX)
        zone = min(HANDLE_PX, width / 3)
        return scene_x >= self.pos().x() + rect.left() + (width - zone) / px_per_tick

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        transform = painter.worldTransform()
        left, top, width, height = device_cell(transform, self.rect())
        selected = self.isSelected()
        fill = (self.style.selected_fills if selected else self.style.fills)[self.velocity]
        painter.resetTransform()  # draw in device pixels
        style = self.style
        if width < 4 or height < 5:  # zoomed far out: a plain block is enough
            painter.fillRect(QRect(left, top, width, height), fill)
        else:
            # A one-pixel outline round the fill, a free pixel row below (the row separator).
            if style.opaque:
                painter.fillRect(QRect(left, top, width, height - 1),
                                 style.selected_outline if selected else style.outline)
                painter.fillRect(QRect(left + 1, top + 1, width - 2, height - 3), fill)
            else:
                painter.setPen(style.selected_pen if selected else style.pen)
                painter.setBrush(fill)
                painter.drawRect(QRectF(left, top, width - 1, height - 2))
            if style.active and width >= 3 * HANDLE_PX:
                # A faint grip where a drag resizes the note.
                painter.fillRect(QRect(left + width - 4, top + 3, 1, height - 7), style.handle)
        painter.setWorldTransform(transform)


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
        self.setPen(_NO_PEN)
        self.relayout()

    def relayout(self) -> None:
        self.setRect(self.start, 127 - self.pitch, max(self.end - self.start, 1), 1.0)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        transform = painter.worldTransform()
        left, top, width, height = device_cell(transform, self.rect())
        painter.resetTransform()  # draw in device pixels
        painter.setPen(self.style.pen)
        painter.setBrush(self.style.brush)
        painter.drawRect(QRectF(left, top, width - 1, height - 2))
        painter.setWorldTransform(transform)
