"""The velocity lane under the piano roll: one stem per note of the active track."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from composer.core.edits import SetVelocity

from . import theme
from .geometry import pixels
from .view import PianoRollView

_TOP, _BOTTOM = 8, 4  # margins in pixels above velocity 127 and below velocity 0
_HIT_PX = 5  # how far from a stem a press still grabs it


class VelocityLane(QWidget):
    """Stems whose height is each note's velocity, aligned in time with the view.

    Dragging a stem up or down changes the note's velocity (the whole selection, relatively,
    when the note is selected) and pushes one SetVelocity edit on release.
    """

    def __init__(self, view: PianoRollView, parent=None):
        super().__init__(parent)
        self._view = view
        self._drag: dict | None = None  # note ids, base velocities, press y
        self._preview: dict[int, int] = {}
        self.setMinimumHeight(60)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        for signal in (view.time_view_changed, view.selection_changed, view.roll.notes_updated,
                       view.roll.active_track_changed):
            signal.connect(self.update)

    def sizeHint(self) -> QSize:
        return QSize(600, 84)

    # ----------------------------------------------------------------- mapping
    def velocity_to_y(self, velocity: float) -> float:
        return self.height() - _BOTTOM - velocity / 127 * (self.height() - _TOP - _BOTTOM)

    def y_to_velocity(self, y: float) -> int:
        span = self.height() - _TOP - _BOTTOM
        return int(np.clip(round((self.height() - _BOTTOM - y) / span * 127), 1, 127))

    def _visible(self) -> np.ndarray:
        track = self._view.active_track
        if track is None:
            return np.zeros(0, dtype=np.int64)
        t0 = self._view.viewport_x_to_tick(-_HIT_PX)
        t1 = self._view.viewport_x_to_tick(self.width() + _HIT_PX)
        starts = track.notes["start"]
        lo, hi = np.searchsorted(starts, [t0, t1])  # notes are kept sorted by start
        return np.arange(lo, hi)

    def note_at(self, x: float, y: float) -> int | None:
        """Id of the note whose stem is nearest to (x, y), within a few pixels of it."""
        track = self._view.active_track
        rows = self._visible()
        if track is None or not len(rows):
            return None
        notes = track.notes[rows]
        near = np.abs(self._view.ticks_to_viewport_x(notes["start"]) - x) <= _HIT_PX
        if not near.any():
            return None
        candidates = notes[near]
        selected = np.isin(candidates["id"], self._view.selected_note_ids())
        # Prefer the stem whose head is closest to the pointer, then a selected note.
        distance = np.abs(self.velocity_to_y(candidates["velocity"].astype(float)) - y)
        best = np.lexsort((~selected, distance))[0]
        return int(candidates["id"][best])

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.PANEL)
        painter.setPen(QPen(theme.LINE_SUB, 0))
        for v in (32, 64, 96, 127):
            y = round(self.velocity_to_y(v))
            painter.drawLine(0, y, self.width(), y)
        self._paint_bar_lines(painter)
        track = self._view.active_track
        if track is not None:
            self._paint_stems(painter, track)
        painter.setPen(QPen(theme.PANEL_BORDER, 0))
        painter.drawLine(0, 0, self.width(), 0)
        painter.end()

    def _paint_bar_lines(self, painter: QPainter) -> None:
        bars = self._view.roll.bar_starts()
        t0 = self._view.viewport_x_to_tick(0)
        t1 = self._view.viewport_x_to_tick(self.width())
        shown = bars[(bars >= t0) & (bars <= t1)]
        if len(shown) and len(bars) > 1 and (bars[1] - bars[0]) * self._view.roll.px_per_tick >= 6:
            painter.setPen(QPen(theme.LINE_BEAT, 0))
            painter.drawLines([QLineF(x, 0, x, self.height())
                               for x in pixels(self._view.ticks_to_viewport_x(shown)).tolist()])

    def _paint_stems(self, painter: QPainter, track) -> None:
        notes = track.notes[self._visible()]
        if not len(notes):
            return
        velocity = notes["velocity"].astype(float)
        if self._preview:  # values being dragged
            for k, nid in enumerate(notes["id"].tolist()):
                velocity[k] = self._preview.get(nid, velocity[k])
        xs = pixels(self._view.ticks_to_viewport_x(notes["start"])).tolist()  # notes' left edges
        ys = np.round(self.velocity_to_y(velocity)).tolist()
        selected = np.isin(notes["id"], self._view.selected_note_ids()).tolist()
        color = self._view.roll.track_color(track.id)
        base = self.height() - _BOTTOM
        # Batched per colour: one drawLines and one drawRects call, not two calls per note.
        for chosen, c in ((False, color), (True, theme.mix(color, QColor("#ffffff"), 0.6))):
            stems = [QLineF(x + 0.5, y, x + 0.5, base) for x, y, s in zip(xs, ys, selected) if s == chosen]
            if not stems:
                continue
            painter.setPen(QPen(c, 2))
            painter.drawLines(stems)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(c)
            painter.drawRects([QRectF(x - 2, y - 1, 6, 3) for x, y, s in zip(xs, ys, selected)
                               if s == chosen])
        if self._preview:
            font = QFont(self.font())
            font.setPixelSize(10)
            painter.setFont(font)
            painter.setPen(theme.TEXT)
            for nid, x, y, v in zip(notes["id"].tolist(), xs, ys, velocity.tolist()):
                if nid in self._preview:
                    painter.drawText(QPointF(x + 6, max(y + 4, 12)), str(int(v)))

    # ----------------------------------------------------------------- mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        track = self._view.active_track
        if event.button() != Qt.MouseButton.LeftButton or track is None:
            return
        nid = self.note_at(event.position().x(), event.position().y())
        if nid is None:
            return
        selected = self._view.selected_note_ids()
        ids = selected if nid in set(selected.tolist()) else np.array([nid], dtype=np.int64)
        base = track.get(ids)["velocity"].astype(int)
        self._drag = {"track": track.id, "ids": ids, "base": base, "y": event.position().y(),
                      "anchor": int(base[ids.tolist().index(nid)])}
        self._preview = dict(zip(ids.tolist(), base.tolist()))
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        drag = self._drag
        if drag is None:
            return
        # Relative drag: the grabbed note follows the pointer, the others keep their offsets.
        target = self.y_to_velocity(self.velocity_to_y(drag["anchor"]) + event.position().y() - drag["y"])
        values = np.clip(drag["base"] + (target - drag["anchor"]), 1, 127)
        self._preview = dict(zip(drag["ids"].tolist(), values.tolist()))
        items = self._view.roll.note_items(drag["track"])
        for nid, vel in self._preview.items():  # show the change on the notes too
            item = items.get(nid)
            if item is not None and item.velocity != vel:
                item.velocity = vel
                item.update()
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        preview, self._preview = self._preview, {}
        if drag is None:
            return
        values = np.array([preview[i] for i in drag["ids"].tolist()], dtype=np.int64)
        # Give the items their real values back; the edit (if any) then updates them.
        items = self._view.roll.note_items(drag["track"])
        for nid, vel in zip(drag["ids"].tolist(), drag["base"].tolist()):
            item = items.get(nid)
            if item is not None and item.velocity != vel:
                item.velocity = vel
                item.update()
        if not np.array_equal(values, drag["base"]):
            self._view.push(SetVelocity(drag["track"], drag["ids"], velocity=values))
        self.update()
