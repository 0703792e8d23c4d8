"""Turning the mouse wheel over the Generate panel scrolls it; it changes a setting only in a
control the user clicked into first."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from composer.gui.generation_panel import GenerationPanel


def wheel(widget, steps=-1):
    """One notch of the wheel over the middle of ``widget`` (down by default)."""
    middle = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(middle, QPointF(widget.mapToGlobal(middle.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_past_the_settings_and_changes_one_only_when_clicked_into(qtbot):
    from composer.models.registry import family_spec

    panel = GenerationPanel()
    qtbot.addWidget(panel)
    spec = family_spec("pianoroll_lstm")
    panel.set_model("x", spec.capabilities, spec.controls)
    panel.resize(420, 200)  # shorter than the form: the panel scrolls
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.scroll.verticalScrollBar().maximum() > 0)
    key, temperature = panel.key.currentText(), panel.temperature.value()
    bar = panel.scroll.verticalScrollBar()
    assert bar.maximum() > 0
    for control in (panel.key, panel.density, panel.variations):
        wheel(control)
    assert panel.key.currentText() == key and panel.temperature.value() == temperature
    assert panel.density.value() == panel.density.minimum()  # still "as the primer"
    assert bar.value() > 0  # the wheel scrolled the panel instead
    panel.variations.setFocus()
    qtbot.waitUntil(panel.variations.hasFocus)
    before = panel.variations.value()
    wheel(panel.variations, steps=1)
    assert panel.variations.value() == before + 1
