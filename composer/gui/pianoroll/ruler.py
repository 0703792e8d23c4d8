"""The time ruler above the piano roll: tempo and time-signature markers, bar numbers, beat
ticks, playhead and loop region."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QToolTip, QWidget

from . import tempo_meter, theme
from .geometry import pixel
from .view import DRAG_THRESHOLD, PianoRollView

HEIGHT = 42
MARKER_LANE = 15  # height in pixels of the tempo and time-signature markers along the top
_LOOP_BAND = 6  # height in pixels of the loop bar, just under the markers
TEMPO_COLOR = QColor(theme.TRACK_PALETTE[1])
METER_COLOR = theme.TEXT


@dataclass(frozen=True)
class Marker:
    """A tempo or time-signature change as the ruler shows it: ``kind`` is "tempo" or "meter",
    ``rect`` its label in widget pixels (a few pixels around its line when the label is hidden
    by a marker to its left)."""

    kind: str
    tick: int
    label: str
    rect: QRectF


class RulerWidget(QWidget):
    """Bar numbers and beat ticks following the time signatures, aligned with a view, under a
    lane of tempo and time-signature markers.

    A click asks for the playhead there; a drag (with or without Shift) asks for a loop region
    from where it began to where it ends. Both positions snap to the view's grid.
    Double-clicking a marker edits it; the context menu sets the tempo or time signature at a bar
    or removes a change. Those edits go onto the view's undo stack.

    Signals
    -------
    playhead_requested(int tick)
    loop_requested(int start, int end)
    """

    playhead_requested = Signal(int)
    loop_requested = Signal(int, int)

    def __init__(self, view: PianoRollView, parent=None):
        super().__init__(parent)
        self._view = view
        self._press: tuple[QPointF, int] | None = None  # where a left press was, and its tick
        self._loop_drag: tuple[int, int] | None = None
        self.setFixedHeight(HEIGHT)
        self.setMouseTracking(True)  # marker tooltips
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        view.time_view_changed.connect(self.update)
        view.roll.overlay_changed.connect(self.update)
        view.roll.timing_changed.connect(self.update)

    def sizeHint(self) -> QSize:
        return QSize(600, HEIGHT)

    def tick_at(self, x: float) -> int:
        return self._view.snap_tick(max(self._view.viewport_x_to_tick(x), 0.0))

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.PANEL)
        view, roll = self._view, self._view.roll
        h = self.height()
        self._paint_loop(painter, h)
        t0, t1 = view.viewport_x_to_tick(0), view.viewport_x_to_tick(self.width())
        bars = roll.bar_starts()
        i0 = max(int(np.searchsorted(bars, t0, side="right")) - 1, 0)
        i1 = min(int(np.searchsorted(bars, t1, side="right")), len(bars) - 1)
        bar_px = float(np.median(np.diff(bars))) * roll.px_per_tick if len(bars) > 1 else 100.0
        every = 1
        while every * bar_px < 40:  # leave room for the labels when zoomed out
            every *= 2
        font = QFont(self.font())
        font.setPixelSize(11)
        painter.setFont(font)
        beat_pen, bar_pen = QPen(theme.LINE_BAR, 0), QPen(theme.TEXT_DIM, 0)
        for i in range(i0, i1 + 1):
            b = int(bars[i])
            x = pixel(view.tick_to_viewport_x(b))  # the column of the grid's bar line
            labelled = i % every == 0
            painter.setPen(bar_pen)
            painter.drawLine(x, h - (12 if labelled else 7), x, h)
            if labelled:
                painter.setPen(theme.TEXT)
                painter.drawText(QPointF(x + 4, h - 9), str(i + 1))
            if i + 1 < len(bars):
                beat = roll.beat_ticks_at(b)
                if beat * roll.px_per_tick >= 8:
                    painter.setPen(beat_pen)
                    for t in range(b + beat, int(bars[i + 1]), beat):
                        bx = pixel(view.tick_to_viewport_x(t))
                        painter.drawLine(bx, h - 4, bx, h)
        self._paint_markers(painter)
        self._paint_playhead(painter, h)
        painter.setPen(QPen(theme.PANEL_BORDER, 0))
        painter.drawLine(0, h - 1, self.width(), h - 1)
        painter.end()

    def _paint_loop(self, painter: QPainter, h: int) -> None:
        loop = self._loop_drag or self._view.roll.loop
        if loop is None:
            return
        start, end = sorted(loop)
        x0, x1 = pixel(self._view.tick_to_viewport_x(start)), pixel(self._view.tick_to_viewport_x(end))
        painter.fillRect(QRectF(x0, MARKER_LANE, x1 - x0, h - MARKER_LANE), theme.LOOP_FILL)
        painter.fillRect(QRectF(x0, MARKER_LANE, x1 - x0, _LOOP_BAND), theme.LOOP_EDGE)

    def _marker_font(self) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(11)
        font.setWeight(QFont.Weight.DemiBold)
        return font

    def markers(self) -> list[Marker]:
        """The tempo and time-signature changes in view, left to right; at one tick the time
        signature comes first. A label that would overlap the one before it is hidden."""
        score = self._view.score
        if score is None:
            return []
        changes = [(s.tick, 0, "meter", f"{s.numerator}/{s.denominator}") for s in score.time_signatures]
        changes += [(c.tick, 1, "tempo", f"\u2669={tempo_meter.format_tempo(c.qpm)}") for c in score.tempos]
        metrics = QFontMetrics(self._marker_font())
        t0 = self._view.viewport_x_to_tick(-200)
        t1 = self._view.viewport_x_to_tick(self.width())
        out, free_from, last_tick = [], -1e9, None
        for tick, _order, kind, label in sorted(changes):
            if not t0 <= tick <= t1:
                continue
            x = pixel(self._view.tick_to_viewport_x(tick))
            if tick == last_tick and out[-1].label:
                x = int(free_from)  # the tempo right after the time signature of the same bar
            if x >= free_from:
                width = metrics.horizontalAdvance(label) + 8
                out.append(Marker(kind, int(tick), label, QRectF(x, 0, width, MARKER_LANE)))
                free_from = x + width
            else:  # no room: only the line, still clickable
                out.append(Marker(kind, int(tick), "", QRectF(x - 3, 0, 7, MARKER_LANE)))
            last_tick = tick
        return out

    def marker_at(self, pos: QPointF) -> Marker | None:
        """The marker whose label (or line) is under ``pos``, the rightmost when several are."""
        hits = [m for m in self.markers() if m.rect.contains(pos)]
        return hits[-1] if hits else None

    def _paint_markers(self, painter: QPainter) -> None:
        painter.fillRect(QRectF(0, 0, self.width(), MARKER_LANE), theme.BACKGROUND)
        painter.setFont(self._marker_font())
        for marker in self.markers():
            color = TEMPO_COLOR if marker.kind == "tempo" else METER_COLOR
            line_x = pixel(self._view.tick_to_viewport_x(marker.tick))
            if marker.rect.contains(QPointF(line_x, 1)):  # (not when after another marker's label)
                painter.fillRect(QRectF(line_x, 2, 1, MARKER_LANE - 2), color)
            if marker.label:
                painter.setPen(color)
                painter.drawText(QPointF(marker.rect.x() + 4, MARKER_LANE - 3), marker.label)
        painter.fillRect(QRectF(0, MARKER_LANE - 1, self.width(), 1), theme.PANEL_BORDER)

    def _paint_playhead(self, painter: QPainter, h: int) -> None:
        tick = self._view.roll.playhead
        if tick is None:
            return
        x = pixel(self._view.tick_to_viewport_x(tick)) + 0.5  # the middle of the view's line
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.PLAYHEAD)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.drawPolygon(QPolygonF([QPointF(x - 5, h - 9), QPointF(x + 5, h - 9), QPointF(x, h - 1)]))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    # ----------------------------------------------------------------- mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        tick = self.tick_at(event.position().x())
        self._press = (event.position(), tick)
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._loop_drag = (tick, tick)  # Shift: a loop at once, even without moving
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            self._hover(event.position())
        else:
            self._drag_to(event.position())

    def _drag_to(self, pos: QPointF) -> None:
        """Extend the loop being dragged to ``pos``; a press becomes a drag once the mouse has
        moved a few pixels (a click's tremor still places the playhead)."""
        tick = self.tick_at(pos.x())
        if self._loop_drag is None:
            if (pos - self._press[0]).manhattanLength() < DRAG_THRESHOLD:
                return
            self._loop_drag = (self._press[1], tick)
        self._loop_drag = (self._loop_drag[0], tick)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._press is None:
            return
        self._drag_to(event.position())  # where the button comes up ends the loop
        press_tick, loop = self._press[1], self._loop_drag
        self._press = self._loop_drag = None
        self.update()
        if loop is not None and loop[0] != loop[1]:
            start, end = sorted(loop)
            self.loop_requested.emit(start, end)
        else:  # a click (or a drag that snapped back to where it began)
            self.playhead_requested.emit(press_tick)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        marker = self.marker_at(event.position()) if event.button() == Qt.MouseButton.LeftButton else None
        if marker is None:
            self.mousePressEvent(event)  # Qt sends this instead of the second press
            return
        self._press = self._loop_drag = None
        self.edit_marker(marker)

    def _hover(self, pos: QPointF) -> None:
        marker = self.marker_at(pos)
        if marker is None:
            self.setToolTip("Click: move the playhead. Drag: set the loop region.")
            return
        bar = self._bar_number(marker.tick)
        what = (f"Tempo {tempo_meter.format_tempo(self._view.score.tempo_map.qpm_at(marker.tick))} BPM"
                if marker.kind == "tempo" else f"Time signature {self._meter_text(marker.tick)}")
        removable = "; right-click to remove it" if marker.tick > 0 else ""
        self.setToolTip(f"{what} from bar {bar}. Double-click to change it{removable}.")

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._view.wheelEvent(event)

    # ----------------------------------------------------------------- tempo and meter edits
    def _bar_number(self, tick: int) -> int:
        return self._view.score.bar_index_at(tick) + 1

    def _meter_text(self, tick: int) -> str:
        sig = self._view.score.time_signature_at(tick)
        return f"{sig.numerator}/{sig.denominator}"

    def edit_marker(self, marker: Marker) -> None:
        """Ask for a new value of ``marker``'s tempo or time signature, at its own tick."""
        if marker.kind == "tempo":
            self.ask_tempo(marker.tick)
        else:
            self.ask_meter(marker.tick)

    def ask_tempo(self, tick: int) -> None:
        """Ask for the tempo from ``tick`` on and set it there (one undo step)."""
        score = self._view.score
        if score is None:
            return
        qpm = tempo_meter.ask_tempo(self, score.tempo_map.qpm_at(tick), self._bar_number(tick))
        if qpm is not None:
            self._report(tempo_meter.set_tempo(self._view, tick, qpm, exact=True))

    def ask_meter(self, tick: int) -> None:
        """Ask for the time signature from ``tick`` on and set it there (one undo step)."""
        score = self._view.score
        if score is None:
            return
        sig = score.time_signature_at(tick)
        value = tempo_meter.ask_meter(self, sig.numerator, sig.denominator, self._bar_number(tick))
        if value is not None:
            self._report(tempo_meter.set_meter(self._view, tick, *value, exact=True))

    def remove_change(self, kind: str, tick: int) -> None:
        self._report(tempo_meter.remove_change(self._view, kind, tick))

    def _report(self, problem: str | None) -> None:
        if problem:
            QToolTip.showText(self.mapToGlobal(QPoint(0, self.height())), problem[0].upper() + problem[1:], self)

    def context_menu(self, pos: QPointF) -> QMenu:
        """The menu for a right-click at ``pos``: set the tempo or the time signature there (at
        the marker under the mouse, else where the toolbar fields would: the change in that bar,
        or its start), or remove a change."""
        menu = QMenu(self)
        score = self._view.score
        if score is None:
            return menu
        marker = self.marker_at(pos)
        tick = max(int(round(self._view.viewport_x_to_tick(pos.x()))), 0)
        targets = {kind: (marker.tick if marker is not None and marker.kind == kind
                          else score.timing_change_tick(kind, tick)) for kind in ("tempo", "meter")}
        if marker is not None:  # the other kind at the same bar
            other = "meter" if marker.kind == "tempo" else "tempo"
            targets[other] = score.timing_change_tick(other, marker.tick)
        bar = {kind: self._bar_number(t) for kind, t in targets.items()}
        menu.addAction(f"Set tempo here (bar {bar['tempo']})...",
                       lambda: self.ask_tempo(targets["tempo"]))
        menu.addAction(f"Set time signature here (bar {bar['meter']})...",
                       lambda: self.ask_meter(targets["meter"]))
        menu.addSeparator()
        tempo_ticks = {c.tick for c in score.tempos}
        meter_ticks = {s.tick for s in score.time_signatures}
        for kind, name, ticks in (("tempo", "tempo change", tempo_ticks),
                                  ("meter", "time signature change", meter_ticks)):
            at = targets[kind]
            if marker is not None and marker.kind != kind:
                continue  # on a marker, offer to remove that one only
            action = menu.addAction(f"Remove {name} (bar {bar[kind]})",
                                    lambda k=kind, t=at: self.remove_change(k, t))
            action.setEnabled(at > 0 and at in ticks)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self._press = self._loop_drag = None
        self.context_menu(QPointF(event.pos())).exec(event.globalPos())
