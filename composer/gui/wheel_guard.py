"""Scrolling a form must not change its settings.

A panel of combo boxes, spin boxes and sliders in a scroll area: turning the mouse wheel to
scroll it changes whichever control passes under the pointer (driving the app, scrolling the
Generate panel moved its Key from "Primer's key" to "Any key"). :func:`guard_wheel` makes those
controls take the wheel only once clicked or tabbed into; otherwise the wheel scrolls the area.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QWidget

_GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


class _WheelGuard(QObject):
    """Sends the wheel of an unfocused control to the scroll area's scroll bar instead."""

    def __init__(self, area: QAbstractScrollArea):
        super().__init__(area)
        self._area = area

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            QApplication.sendEvent(self._area.verticalScrollBar(), event)
            return True
        return False


def guard_wheel(area: QAbstractScrollArea) -> None:
    """Make every combo box, spin box and slider inside ``area`` take the wheel only when it
    has keyboard focus (a click gives it focus; the wheel alone does not)."""
    guard = _WheelGuard(area)
    bar = area.verticalScrollBar()
    for control in area.widget().findChildren(QWidget):
        if isinstance(control, _GUARDED) and control is not bar:
            control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            control.installEventFilter(guard)
