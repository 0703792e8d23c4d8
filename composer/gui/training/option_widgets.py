"""The training wizard's spin boxes for the numeric settings, made from their one description
(:data:`composer.training.options.TRAIN_OPTIONS`): range, step, decimals, unit, tooltip and
start value all come from the option, so the wizard shows what ``composer train`` takes."""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from composer.training.options import TRAIN_OPTIONS, TrainOption

#: The options the wizard shows, in its order.
WIZARD_OPTIONS = tuple(option for option in TRAIN_OPTIONS if option.in_wizard)


def option_spin_box(option: TrainOption, parent=None) -> QSpinBox | QDoubleSpinBox:
    """A spin box for ``option``: whole numbers, or ``option.decimals`` of them; an option that
    may be unset (``none_text``) shows that word one step below its range. It starts at the
    option's default (the lowest value where there is none: the page fills it in)."""
    lo = option.lo - option.step if option.none_text else option.lo
    if option.decimals:
        box = QDoubleSpinBox(parent, decimals=option.decimals, minimum=lo, maximum=option.hi,
                             singleStep=option.step)
    else:
        box = QSpinBox(parent, minimum=int(lo), maximum=int(option.hi), singleStep=int(option.step))
    box.setSuffix(option.suffix)
    box.setSpecialValueText(option.none_text)
    box.setToolTip(option.tooltip)
    set_option_value(box, option, option.default)
    return box


def set_option_value(box: QSpinBox | QDoubleSpinBox, option: TrainOption, value) -> None:
    """Show ``value`` (None: ``none_text`` where the option has one, else the lowest value)."""
    if value is None:
        box.setValue(box.minimum())
    else:
        box.setValue(float(value) if option.decimals else int(round(float(value))))


def option_value(box: QSpinBox | QDoubleSpinBox, option: TrainOption):
    """The setting the box shows: None for ``none_text``; a number rounded to its decimals."""
    if option.none_text and box.value() == box.minimum():
        return None
    return round(box.value(), option.decimals) if option.decimals else box.value()
