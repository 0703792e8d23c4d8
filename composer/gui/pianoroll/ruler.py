"""The time ruler above the piano roll: bar numbers, beat ticks, playhead and loop region."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF, QWheelEvent
from PySide6.QtWidgets import QWidget

from . import theme
from .geometry import pixel
from .view import PianoRollView

_LOOP_BAND = 6  # height in pixels of the loop bar along the top edge


class RulerWidget(QWidget):
    """Bar numbers and beat ticks following the time signatures, aligned with a view.

    A click (or drag) asks for the playhead there; a Shift+drag asks for a loop region. Both
    positions snap to the view's grid.

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
        self._loop_drag: tuple[int, int] | None = None
        self._scrubbing = False
        self.setFixedHeight(28)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        view.time_view_changed.connect(self.update)
        view.roll.overlay_changed.connect(self.update)

    def sizeHint(self) -> QSize:
        return QSize(600, 28)

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
        self._paint_signatures(painter, t0, t1)
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
        painter.fillRect(QRectF(x0, 0, x1 - x0, h), theme.LOOP_FILL)
        painter.fillRect(QRectF(x0, 0, x1 - x0, _LOOP_BAND), theme.LOOP_EDGE)

    def _paint_signatures(self, painter: QPainter, t0: float, t1: float) -> None:
        score = self._view.score
        if score is None or len(score.time_signatures) < 2:
            return  # a single signature needs no label
        painter.setPen(theme.TEXT_DIM)
        for sig in score.time_signatures:
            if t0 <= sig.tick <= t1:
                x = self._view.tick_to_viewport_x(sig.tick)
                painter.drawText(QPointF(x + 4, 11), f"{sig.numerator}/{sig.denominator}")

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
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._loop_drag = (tick, tick)
            self.update()
        else:
            self._scrubbing = True
            self.playhead_requested.emit(tick)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        tick = self.tick_at(event.position().x())
        if self._loop_drag is not None:
            self._loop_drag = (self._loop_drag[0], tick)
            self.update()
        elif self._scrubbing and tick != self._view.roll.playhead:
            self.playhead_requested.emit(tick)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._scrubbing = False
        if self._loop_drag is not None:
            start, end = sorted(self._loop_drag)
            self._loop_drag = None
            self.update()
            if end > start:
                self.loop_requested.emit(start, end)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._view.wheelEvent(event)
