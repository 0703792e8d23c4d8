"""Tempo and time-signature changes from the editor: the ruler's markers and menu, and the
toolbar fields, edit them through these functions.

Each change is one core edit (``SetTempo``, ``SetTimeSignature``, ``RemoveTempo``,
``RemoveTimeSignature``) pushed onto the view's undo stack; the Score's ``timing_changed``
signal then makes the ruler, the grid, the transport and playback follow. Bad values never reach
the score: each function returns the one-line reason instead, for the caller to show.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QInputDialog,
    QSpinBox,
    QWidget,
)

from composer.core.edits import RemoveTempo, RemoveTimeSignature, SetTempo, SetTimeSignature
from composer.core.errors import ScoreError
from composer.core.score import Score
from composer.core.timing import (
    DENOMINATORS,
    MAX_NUMERATOR,
    MAX_QPM,
    MIN_NUMERATOR,
    MIN_QPM,
    meter_problem,
    tempo_problem,
)

from ..undo import push_edit

TEMPO = "tempo"
METER = "meter"


def format_tempo(qpm: float) -> str:
    """A tempo as a musician writes it: "120", "132.5" (at most two decimals)."""
    return f"{qpm:.2f}".rstrip("0").rstrip(".")


def _push(view, edit) -> str | None:
    if view.score is None:
        return "there is no score to change"
    try:
        push_edit(view.undo_stack, view.score, edit)
    except ScoreError as exc:
        return str(exc)
    return None


def set_tempo(view, tick: int, qpm: float, *, exact: bool = False) -> str | None:
    """Set the tempo where an edit at ``tick`` belongs (:meth:`Score.timing_change_tick`: the
    start when ``tick`` is in the first bar, else the change in ``tick``'s bar or a new one at
    its start); ``exact`` sets it at ``tick`` itself (a marker being edited).

    Returns None when done (or nothing needed changing), else why not, in one line.
    """
    problem = tempo_problem(qpm)
    if problem or view.score is None:
        return problem or "there is no score to change"
    score: Score = view.score
    at = int(tick) if exact else score.timing_change_tick(TEMPO, tick)
    if score.tempo_map.qpm_at(at) == float(qpm):
        return None  # the same value (at a change, or in force there): no step to undo
    return _push(view, SetTempo(at, float(qpm)))


def set_meter(view, tick: int, numerator: int, denominator: int, *, exact: bool = False) -> str | None:
    """Set the time signature where an edit at ``tick`` belongs (see :func:`set_tempo`);
    returns None when done, else why not."""
    problem = meter_problem(numerator, denominator)
    if problem or view.score is None:
        return problem or "there is no score to change"
    score: Score = view.score
    at = int(tick) if exact else score.timing_change_tick(METER, tick)
    sig = score.time_signature_at(at)
    if (sig.numerator, sig.denominator) == (numerator, denominator):
        return None
    return _push(view, SetTimeSignature(at, numerator, denominator))


def remove_change(view, kind: str, tick: int) -> str | None:
    """Remove the tempo (``kind`` "tempo") or time signature ("meter") change at ``tick``;
    returns None when done, else why not (the one at the start cannot be removed)."""
    edit = RemoveTempo(int(tick)) if kind == TEMPO else RemoveTimeSignature(int(tick))
    return _push(view, edit)


# --------------------------------------------------------------------------------- dialogs
def ask_tempo(parent: QWidget | None, current: float, bar: int) -> float | None:
    """Ask for a tempo (the dialog keeps it within the limits); None when cancelled."""
    value, ok = QInputDialog.getDouble(parent, "Set Tempo", f"Tempo from bar {bar} (BPM):",
                                       float(current), MIN_QPM, MAX_QPM, 2)
    return float(value) if ok else None


class MeterDialog(QDialog):
    """Asks for a time signature: beats in a bar (1-32) over a beat of 1, 2, 4, ... 32."""

    def __init__(self, parent: QWidget | None, numerator: int, denominator: int, bar: int):
        super().__init__(parent)
        self.setWindowTitle("Set Time Signature")
        self.numerator = QSpinBox(self)
        self.numerator.setRange(MIN_NUMERATOR, MAX_NUMERATOR)
        self.numerator.setValue(int(numerator))
        self.denominator = QComboBox(self)
        self.denominator.addItems([str(d) for d in DENOMINATORS])
        self.denominator.setCurrentText(str(denominator))
        form = QFormLayout(self)
        form.addRow(f"From bar {bar}, beats in a bar:", self.numerator)
        form.addRow("Beat (note value):", self.denominator)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def value(self) -> tuple[int, int]:
        return self.numerator.value(), int(self.denominator.currentText())


def ask_meter(parent: QWidget | None, numerator: int, denominator: int,
              bar: int) -> tuple[int, int] | None:
    """Ask for a time signature; None when cancelled."""
    dialog = MeterDialog(parent, numerator, denominator, bar)
    return dialog.value() if dialog.exec() == QDialog.DialogCode.Accepted else None
