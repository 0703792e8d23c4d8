"""The tempo and time-signature fields of the transport bar.

Both show the value in force at the playhead. Editing one sets the value at the start of the
score while the playhead is in the first bar, else adds (or changes) a change at the start of the
playhead's bar, as in a DAW; each edit is one undo step (see
:mod:`composer.gui.pianoroll.tempo_meter`). A value outside the limits is refused with a one-line
message next to the field (and in ``problem``), and the field shows the current value again.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QToolTip,
    QWidget,
)

from composer.core.timing import DENOMINATORS, MAX_NUMERATOR, MAX_QPM, MIN_NUMERATOR, MIN_QPM
from composer.gui.pianoroll import theme
from composer.gui.pianoroll.tempo_meter import format_tempo, set_meter, set_tempo

#: Offered in the time-signature field's list; any other n/d can be typed.
COMMON_METERS = ("2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "9/8", "12/8", "2/2", "3/8")
_METER_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class TempoSpinBox(QDoubleSpinBox):
    """A BPM field: "120" or "132.5". Arrows and the wheel stay within the tempo limits; a
    typed value outside them is passed on as typed, for the caller to refuse with a message
    (a spin box would silently clamp it)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDecimals(2)
        self.setRange(0.0, 99999.0)  # wide: the limits are checked on commit, with a message
        self.setSingleStep(1.0)
        self.setSuffix(" BPM")
        self.setKeyboardTracking(False)  # valueChanged on Enter, focus out and steps only
        self.setAccelerated(True)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)

    def textFromValue(self, value: float) -> str:
        return format_tempo(value)

    def stepBy(self, steps: int) -> None:
        self.setValue(min(max(self.value() + steps * self.singleStep(), MIN_QPM), MAX_QPM))


def parse_meter(text: str) -> tuple[int, int] | None:
    """``"6/8"`` -> (6, 8); None when the text is not two whole numbers with a slash."""
    match = _METER_TEXT.match(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


class TempoMeterFields(QWidget):
    """Tempo and time-signature fields bound to a piano-roll view (its score, its playhead and
    its undo stack).

    Signals
    -------
    problem(str)
        A value was refused; the message is one line for the user.
    """

    problem = Signal(str)

    def __init__(self, view, parent: QWidget | None = None):
        super().__init__(parent)
        self._view = view
        self._score = None
        self.tempo = TempoSpinBox(self)
        self.tempo.setToolTip(f"Tempo at the playhead ({MIN_QPM:g}-{MAX_QPM:g} BPM). In the first bar "
                              "it sets the tempo of the start; elsewhere it adds a tempo change at the "
                              "playhead's bar.")
        self.meter = QComboBox(self)
        self.meter.setEditable(True)
        self.meter.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.meter.addItems(COMMON_METERS)
        self.meter.setMinimumContentsLength(5)
        self.meter.setToolTip(
            f"Time signature at the playhead: beats in a bar ({MIN_NUMERATOR}-{MAX_NUMERATOR}) / "
            f"beat ({', '.join(map(str, DENOMINATORS))}). In the first bar it sets the signature of "
            "the start; elsewhere it adds a change at the playhead's bar.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(4)
        for text, field in (("Tempo", self.tempo), ("Time", self.meter)):
            label = QLabel(text, self)
            label.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; padding-left: 6px;")
            label.setBuddy(field)
            layout.addWidget(label)
            layout.addWidget(field)

        self.tempo.valueChanged.connect(self._commit_tempo)
        self.meter.lineEdit().returnPressed.connect(self._commit_meter_text)
        self.meter.textActivated.connect(self._commit_meter)
        self.meter.lineEdit().editingFinished.connect(self._commit_meter_text)
        roll = view.roll
        roll.overlay_changed.connect(self.refresh)  # the playhead moved
        roll.timing_changed.connect(self._on_timing_changed)
        self._on_timing_changed()

    # ------------------------------------------------------------------ showing
    @property
    def playhead(self) -> int:
        return self._view.roll.playhead or 0

    def _on_timing_changed(self) -> None:
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        """Show the tempo and time signature at the playhead (not over a value being typed)."""
        score = self._view.score
        self.setEnabled(score is not None)
        if score is None:
            return
        tick = self.playhead
        if force or not self.tempo.hasFocus():
            qpm = score.tempo_map.qpm_at(tick)
            if self.tempo.value() != qpm:
                self.tempo.blockSignals(True)
                self.tempo.setValue(qpm)
                self.tempo.blockSignals(False)
        if force or not self.meter.hasFocus():
            sig = score.time_signature_at(tick)
            text = f"{sig.numerator}/{sig.denominator}"
            if self.meter.currentText() != text:
                self.meter.blockSignals(True)
                self.meter.setCurrentText(text)
                self.meter.blockSignals(False)

    # ------------------------------------------------------------------ editing
    def set_tempo(self, qpm: float) -> bool:
        """Set the tempo as typing ``qpm`` in the field does; False (with ``problem``) if refused."""
        return self._done(set_tempo(self._view, self.playhead, qpm), self.tempo)

    def set_meter(self, numerator: int, denominator: int) -> bool:
        """Set the time signature as the field does; False (with ``problem``) if refused."""
        return self._done(set_meter(self._view, self.playhead, numerator, denominator), self.meter)

    def _commit_tempo(self, qpm: float) -> None:
        self.set_tempo(qpm)

    def _commit_meter_text(self) -> None:
        self._commit_meter(self.meter.currentText())

    def _commit_meter(self, text: str) -> None:
        score = self._view.score
        if score is None:
            return
        sig = score.time_signature_at(self.playhead)
        if text.strip() == f"{sig.numerator}/{sig.denominator}":
            return  # (Enter, then focus out: one commit)
        value = parse_meter(text)
        if value is None:
            self._done(f"type a time signature as two numbers, such as 3/4 or 6/8 (not {text!r})",
                       self.meter)
        else:
            self.set_meter(*value)

    def _done(self, problem: str | None, field: QWidget) -> bool:
        self.refresh(force=True)  # the value now in force (the old one when refused)
        if problem:
            message = problem[0].upper() + problem[1:] + "."
            QToolTip.showText(field.mapToGlobal(QPoint(0, field.height())), message, field)
            self.problem.emit(message)
            return False
        if field.hasFocus():
            self._view.setFocus(Qt.FocusReason.OtherFocusReason)  # keys back to the editor
        return True
