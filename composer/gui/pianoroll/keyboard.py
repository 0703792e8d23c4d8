"""Vertical piano keys beside the piano roll, one key per pitch row of the view.

On a drum track the keys become named rows (the General MIDI drum map: Acoustic Bass Drum,
Acoustic Snare, Closed Hi-Hat, ...) and the column widens so the names fit.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen,
                           QWheelEvent)
from PySide6.QtWidgets import QToolTip, QWidget

from composer.representations.instruments import GM_DRUM_NAMES

from . import theme
from .geometry import pixel
from .note_text import describe_pitch, row_name
from .view import PianoRollView

_WHITE = QColor("#cfd2d8")
_WHITE_EDGE = QColor("#9a9ea8")
_BLACK = QColor("#202227")
_BLACK_TOP = QColor("#33363d")
_PRESSED = QColor("#4ea7ff")
_LABEL = QColor("#50545e")
_BLACK_SHARE = 0.6  # black keys cover this share of the width, as on a real keyboard
_DRUM_BLACK_ROW = QColor("#b3b7bf")  # drum rows of black keys: dark enough to tell, light enough to read
_LABEL_PX = 11  # largest label font, in pixels
_NAME_PAD = 6  # pixels left and right of a drum name
_PIANO_WIDTH = 64


class KeyboardWidget(QWidget):
    """Piano keys aligned with a :class:`PianoRollView`'s rows; it scrolls and zooms with it.

    Signals
    -------
    key_pressed(int pitch), key_released(int pitch)
        A key was clicked (or reached by dragging along the keys) and let go.
    """

    key_pressed = Signal(int)
    key_released = Signal(int)

    def __init__(self, view: PianoRollView, parent=None):
        super().__init__(parent)
        self._view = view
        self._pressed: int | None = None
        self.highlighted: set[int] = set()  # e.g. pitches sounding during playback
        self.drums = False  # the active track is a drum track: rows show GM drum names
        self.setMinimumWidth(56)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        view.pitch_view_changed.connect(self.update)
        # Track changes (a new active track, "Drums" ticked in the tracks panel) reach the scene
        # as active_track_changed or notes_updated.
        view.roll.active_track_changed.connect(self._follow_track)
        view.roll.notes_updated.connect(self._follow_track)

    def sizeHint(self) -> QSize:
        return QSize(self._drum_width() if self.drums else _PIANO_WIDTH, 400)

    def _follow_track(self, *_) -> None:
        track = self._view.active_track
        drums = bool(track is not None and track.is_drum)
        if drums != self.drums:
            self.drums = drums
            self.setMinimumWidth(self._drum_width() if drums else 56)
            self.updateGeometry()
            self.update()

    def _label_font(self) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(max(7, min(_LABEL_PX, int(self._view.roll.key_height) - 2)))
        return font

    def _drum_width(self) -> int:
        """Wide enough for the longest GM drum name at the largest label size."""
        font = QFont(self.font())
        font.setPixelSize(_LABEL_PX)
        metrics = QFontMetrics(font)
        return max(metrics.horizontalAdvance(n) for n in GM_DRUM_NAMES.values()) + 2 * _NAME_PAD

    def row_label(self, pitch: int) -> str:
        """The name shown on ``pitch``'s row: a drum name on drum tracks, else C rows only."""
        if self.drums:
            return row_name(pitch, True)
        return theme.pitch_name(pitch) if pitch % 12 == 0 else ""

    def pitch_at(self, y: float) -> int:
        return self._view.viewport_y_to_pitch(y)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.PANEL)
        kh = self._view.roll.key_height
        width = self.width()
        black_width = round(width * _BLACK_SHARE)
        top = max(self.pitch_at(0), 0)
        bottom = min(self.pitch_at(self.height()), 127)
        painter.setFont(self._label_font())
        if self.drums:
            self._paint_drum_rows(painter, top, bottom)
            painter.end()
            return
        lines = []
        y_top = self._view.pitch_to_viewport_y(127)  # (127 - pitch) * kh below this
        for pitch in range(top, bottom - 1, -1):
            # Whole pixel rows, the same as the view's key rows.
            y = pixel(y_top + (127 - pitch) * kh)
            h = pixel(y_top + (128 - pitch) * kh) - y
            row = QRectF(0, y, width, h)
            lit = pitch == self._pressed or pitch in self.highlighted
            if theme.is_black_key(pitch):
                # The white keys on either side continue behind the black key's tip.
                painter.fillRect(row, _WHITE)
                painter.fillRect(QRectF(0, y, black_width, h), _PRESSED if lit else _BLACK)
                painter.fillRect(QRectF(black_width - 3, y + 1, 2, h - 2), _BLACK_TOP)
                lines.append((black_width, y + h / 2, width, y + h / 2))
            else:
                painter.fillRect(row, _PRESSED if lit else _WHITE)
                if pitch % 12 in (0, 5):  # B|C and E|F meet without a black key between them
                    lines.append((0, y + h, width, y + h))
            if pitch % 12 == 0 and kh >= 7:
                painter.setPen(QColor("#ffffff") if lit else _LABEL)
                painter.drawText(QRectF(0, y, width - 4, h),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                                 self.row_label(pitch))
        painter.setPen(QPen(_WHITE_EDGE, 0))
        for x0, y0, x1, y1 in lines:
            painter.drawLine(round(x0), round(y0) - 1, round(x1), round(y1) - 1)
        painter.setPen(QPen(theme.PANEL_BORDER, 0))
        painter.drawLine(width - 1, 0, width - 1, self.height())
        painter.end()

    def _paint_drum_rows(self, painter: QPainter, top: int, bottom: int) -> None:
        """Named rows, left-aligned, shaded like white and black keys; other keys dimmed."""
        kh = self._view.roll.key_height
        width = self.width()
        y_top = self._view.pitch_to_viewport_y(127)
        for pitch in range(top, bottom - 1, -1):
            y = pixel(y_top + (127 - pitch) * kh)
            h = pixel(y_top + (128 - pitch) * kh) - y
            lit = pitch == self._pressed or pitch in self.highlighted
            fill = _DRUM_BLACK_ROW if theme.is_black_key(pitch) else _WHITE
            painter.fillRect(QRectF(0, y, width, h), _PRESSED if lit else fill)
            painter.fillRect(QRectF(0, y + h - 1, width, 1), _WHITE_EDGE)
            if kh >= 7:
                named = pitch in GM_DRUM_NAMES
                painter.setPen(QColor("#ffffff") if lit else _BLACK if named else _LABEL)
                painter.drawText(QRectF(_NAME_PAD, y, width - 2 * _NAME_PAD, h - 1),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 self.row_label(pitch))
        painter.setPen(QPen(theme.PANEL_BORDER, 0))
        painter.drawLine(width - 1, 0, width - 1, self.height())

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:  # the full name, e.g. when rows are too small
            pitch = self.pitch_at(event.pos().y())
            QToolTip.showText(event.globalPos(), describe_pitch(pitch, self.drums), self)
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press(self.pitch_at(event.position().y()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pressed is not None:  # a glissando along the keys
            pitch = self.pitch_at(event.position().y())
            if pitch != self._pressed:
                self._release()
                self._press(pitch)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._release()

    def _press(self, pitch: int) -> None:
        self._pressed = pitch
        self.key_pressed.emit(pitch)
        self.update()

    def _release(self) -> None:
        if self._pressed is not None:
            pitch, self._pressed = self._pressed, None
            self.key_released.emit(pitch)
            self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._view.wheelEvent(event)  # scroll and zoom the rows together with the view
