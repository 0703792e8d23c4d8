"""Helpers for widget tests: a shown piano-roll editor, and synthetic mouse events (QTest's move
events carry no buttons, so drags need events with explicit buttons)."""

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

LEFT = Qt.MouseButton.LeftButton


def mouse(widget, kind, pos, button=LEFT, modifiers=Qt.KeyboardModifier.NoModifier):
    """Send one "press", "move" or "release" event at ``pos`` (widget coordinates)."""
    kinds = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
             "release": QEvent.Type.MouseButtonRelease}
    pos = QPointF(pos)
    event = QMouseEvent(kinds[kind], pos, widget.mapToGlobal(pos),
                        Qt.MouseButton.NoButton if kind == "move" else button,
                        Qt.MouseButton.NoButton if kind == "release" else button, modifiers)
    QApplication.sendEvent(widget, event)


def shown_editor(qtbot):
    """A PianoRollEditor of 900 x 600, shown and exposed."""
    from composer.gui.pianoroll import PianoRollEditor

    editor = PianoRollEditor()
    qtbot.addWidget(editor)
    editor.resize(900, 600)
    editor.show()
    qtbot.waitExposed(editor)
    return editor
