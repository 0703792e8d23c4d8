"""The generation panel: the controls of Generate, its progress, and the variations to audition.

A view only: it knows nothing of models or scores beyond names. It emits what the user asked
for; :mod:`composer.gui.generation_controller` does the work.
"""

from __future__ import annotations

import random

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidgetItem,
    QFrame,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from composer.generation.controls import CONTROLS
from composer.generation.plan import LENGTH_FROM_EDITOR, MODE_CAPABILITY, MODES, NEW_TRACK, GenerationSettings
from composer.gui.drag_out import MidiDragList
from composer.gui.wheel_guard import guard_wheel
from composer.generation.request import KEY_NAMES, PRIMER_KEY, SCALES, GenerateRequest, sampling_defaults
from composer.representations.music_metrics import METRICS
from composer.models.metric_info import PRIMER_MEASURES, format_measure, format_reference
from composer.models.registry import MULTITRACK

#: Sampling controls a family may offer (FamilySpec.controls) and their rows in the form.
_CONTROL_ROWS = ("temperature", "threshold", "top_p", "noise", "missing_slots", "density", "polyphony")
_SAMPLING = {"Sample (varied)": "bernoulli", "Threshold (steady)": "threshold"}
#: Short names of the measures for the panel's table (the full ones are its tooltips).
_SHORT_NAMES = {"pitch_class_entropy": "Pitch-class entropy", "scale_consistency": "In one scale",
                "polyphony": "Polyphony", "polyphony_rate": "Polyphony rate",
                "empty_beat_rate": "Empty beats", "pitches_used": "Pitches used",
                "groove_consistency": "Groove consistency", "drum_pattern_consistency": "Drum pattern"}
_MISSING_SLOTS = {"Start silent": "silence", "Start from a random latent": "prior"}
#: Short names of the measures against the primer (the full ones, in metric_info, are tooltips).
_PRIMER_SHORT_NAMES = {"in_key": "In the primer's key", "density_ratio": "Notes per beat",
                       "register_jump": "Jump at the seam", "on_grid": "On the grid"}
#: The primer's key entry of the Key list; the name of the key found follows in brackets.
PRIMER_KEY_TEXT = "Primer's key"


class _KeyBox(QComboBox):
    """The Key list; ``opening`` is emitted just before its list drops down, so the primer's
    key it shows is found when someone looks at it."""

    opening = Signal()

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        self.opening.emit()
        super().showPopup()


def _slider(name: str) -> QLabeledDoubleSlider:
    """A slider for the control ``name``, with its range, default and help."""
    control = CONTROLS[name]
    slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
    slider.setRange(*control.panel_range())
    slider.setDecimals(control.decimals)
    slider.setValue(control.start_value())
    slider.setToolTip(control.tooltip)
    return slider


def _spin_box(name: str, parent, **extra):
    """A spin box for the control ``name`` (whole numbers, or decimals), with its range and help."""
    control = CONTROLS[name]
    lo, hi = control.panel_range()
    if control.is_int:
        box = QSpinBox(parent, minimum=int(lo), maximum=int(hi), value=int(control.start_value()), **extra)
    else:
        box = QDoubleSpinBox(parent, decimals=control.decimals, minimum=lo, maximum=hi, singleStep=control.step,
                             value=float(control.start_value()), **extra)
    box.setToolTip(control.tooltip)
    return box


def _optional_spin_box(name: str, parent, **extra):
    """A spin box for the control ``name`` whose default is "not set" (None): its lowest
    value, one step under the control's range, shows the control's ``off_text``."""
    control = CONTROLS[name]
    lo, hi = control.panel_range()
    if control.is_int:
        box = QSpinBox(parent, minimum=int(lo) - 1, maximum=int(hi), **extra)
    else:
        box = QDoubleSpinBox(parent, decimals=control.decimals, minimum=control.lo, maximum=hi,
                             singleStep=control.step, **extra)
    box.setSpecialValueText(control.off_text)
    box.setValue(box.minimum())
    box.setToolTip(control.tooltip)
    return box


def _optional_value(box):
    """The value of an :func:`_optional_spin_box`, None at its "not set" minimum."""
    return None if box.value() == box.minimum() else box.value()


class GenerationPanel(QWidget):
    """Signals: generate_clicked(), cancel_clicked(), candidate_changed(int index or -1),
    audition_clicked(int index), accept_clicked(int index), discard_clicked()."""

    generate_clicked = Signal()
    cancel_clicked = Signal()
    #: The panel is about to show the primer's key (shown, or its Key list opened): find it.
    primer_key_wanted = Signal()
    candidate_changed = Signal(int)
    audition_clicked = Signal(int)
    accept_clicked = Signal(int)
    discard_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model_label = QLabel("No model chosen: pick one above.", self)
        self.model_label.setWordWrap(True)
        self.model_label.setObjectName("modelStatus")
        self._build_sampling_controls()
        seed_row = self._build_seed_row()
        key_row = self._build_key_row()
        self.missing_slots = QComboBox(self)
        self.missing_slots.addItems(list(_MISSING_SLOTS))
        self.missing_slots.setToolTip("Instruments with no notes in the bar before the playhead "
                                      "stay silent (the continuation keeps your parts), or start "
                                      "from a random point of the model's latent space (new parts "
                                      "join yours).")
        self.target = QComboBox(self)
        self.target_note = QLabel("Each instrument into its own track", self)
        self._build_form(seed_row, key_row)
        buttons = self._build_generate_row()
        self._build_candidate_box()
        self._build_scroll_area(buttons)
        self._connect_candidates()
        self._has_model = False
        self._settings: QSettings | None = None
        self._model_key: str | None = None
        self._restoring = False  # values set by the program are not the user's choices to remember
        self._wanted_variations = self.variations.value()
        self.variations.valueChanged.connect(self._on_variations_changed)
        self.set_model(None)

    def _build_sampling_controls(self) -> None:
        """Mode, length, and the sampling controls (their ranges and help from CONTROLS)."""
        self.mode = QComboBox(self)
        for key, text in MODES.items():
            self.mode.addItem(text, key)
        self.mode.setItemData(0, "With the playhead at the start, continues after the last note.",
                              Qt.ItemDataRole.ToolTipRole)
        self.mode.setItemData(2, "Ignores the notes before it. With the playhead at the start, the "
                                 "new part begins after the last note.", Qt.ItemDataRole.ToolTipRole)
        self.bars = _spin_box("bars", self, suffix=" bars")
        self.temperature = _slider("temperature")
        self.sampling = QComboBox(self)
        self.sampling.addItems(list(_SAMPLING))
        self.sampling.setToolTip("Sample draws each note at random by its probability; Threshold "
                                 "plays every note more likely than the threshold.")
        self.threshold = _slider("threshold")
        self.top_p = _slider("top_p")
        self.noise = _slider("noise")
        self.density = _optional_spin_box("density", self, suffix=" a beat")
        self.polyphony = _optional_spin_box("polyphony", self, suffix=" at once")
        self.variations = _spin_box("variations", self)

    def _build_seed_row(self) -> QHBoxLayout:
        """The seed and its Lock."""
        self.seed = _spin_box("seed", self)
        self.seed.setToolTip("The random seed of the last Generate; lock it to get the same "
                             "variations again")
        self.seed_lock = QCheckBox("Lock", self)
        self.seed_lock.setToolTip("Keep this seed: Generate repeats the same variations for the same "
                                  "settings. Unlocked, each Generate draws a new seed.")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.seed_lock)
        return seed_row

    def _build_key_row(self) -> QHBoxLayout:
        """The Key list (any key, the primer's, or a named one) and the scale of a named key."""
        self.key = _KeyBox(self)
        self.key.addItem("Any key", None)
        self.key.addItem(PRIMER_KEY_TEXT, PRIMER_KEY)
        self.key.setItemData(1, "Stay in the key of the notes before the generated part (found "
                                "from them; no lock when they have no clear key)",
                             Qt.ItemDataRole.ToolTipRole)
        for name in KEY_NAMES:
            self.key.addItem(name, name)
        self.key.setCurrentIndex(1)  # the default: follow the primer
        self.key.opening.connect(self.primer_key_wanted)
        self.scale = QComboBox(self)
        self.scale.addItems(list(SCALES))
        self.key.currentIndexChanged.connect(self._update_scale)
        self._update_scale()
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.scale, 2)
        return key_row

    def _build_form(self, seed_row: QHBoxLayout, key_row: QHBoxLayout) -> None:
        """The form of the controls; the rows a family may leave out are in ``_rows``."""
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.addRow("Mode", self.mode)
        self.form.addRow("Length", self.bars)
        self._rows = {"temperature": self.temperature, "threshold": self.threshold, "top_p": self.top_p,
                      "noise": self.noise, "missing_slots": self.missing_slots, "density": self.density,
                      "polyphony": self.polyphony}
        self.form.addRow("Temperature", self.temperature)
        self.form.addRow("Sampling", self.sampling)
        self.form.addRow("Threshold", self.threshold)
        self.form.addRow("Top-p", self.top_p)
        self.form.addRow("Noise", self.noise)
        self.form.addRow("Silent voices", self.missing_slots)
        self.form.addRow("Density", self.density)
        self.form.addRow("Polyphony", self.polyphony)
        self.form.addRow("Variations", self.variations)
        self.form.addRow("Seed", seed_row)
        self.form.addRow("Key", key_row)
        self.form.addRow("Into", self.target)
        self.form.addRow("Into", self.target_note)
        self.sampling.currentIndexChanged.connect(self._update_threshold)
        self.mode.currentIndexChanged.connect(self._update_length)
        self.noise.valueChanged.connect(self._update_threshold)

    def _build_generate_row(self) -> QHBoxLayout:
        """Generate and Cancel (returned in a row), the progress bar and the status line."""
        self.generate_button = QPushButton("Generate", self)
        self.generate_button.setObjectName("primary")
        self.generate_button.setShortcut("Ctrl+G")
        self.generate_button.setToolTip("Generate variations (Ctrl+G)")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setVisible(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.progress.setVisible(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setObjectName("generationStatus")
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.cancel_button)
        return buttons

    def _build_candidate_box(self) -> None:
        """The Variations box: the list, Listen / Accept / Discard all, the measures table."""
        style = self.style()
        self.candidates = MidiDragList(self)  # a row drags out as a .mid file (drag_out)
        self.candidates.setToolTip("Drag a variation into a DAW, a file manager or BandLab in a web "
                                   "browser: it goes as a .mid file starting at its first bar")
        self.candidates.setMaximumHeight(80)
        self.audition_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Listen", self)
        self.accept_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
                                         "Accept", self)
        self.accept_button.setToolTip("Add this variation to the score (one undo step)")
        self.discard_button = QPushButton("Discard all", self)
        candidate_buttons = QHBoxLayout()
        for button in (self.audition_button, self.accept_button, self.discard_button):
            candidate_buttons.addWidget(button)
        self._build_measures()
        self.candidate_box = QGroupBox("Variations", self)
        box = QVBoxLayout(self.candidate_box)
        margins = box.contentsMargins()  # narrow sides: the measures' names need the width
        box.setContentsMargins(4, margins.top(), 4, margins.bottom())
        box.addWidget(self.candidates)
        box.addLayout(candidate_buttons)
        box.addWidget(self.measures)
        self.candidate_box.setVisible(False)

    def _build_measures(self) -> None:
        """The table of the selected variation's measures, beside the training data's, then
        the measures against the primer; as high as its rows (no scroll bar of its own)."""
        rows = len(METRICS) + 1 + len(PRIMER_MEASURES)  # (a heading row between the groups)
        self.measures = QTableWidget(rows, 3, self)
        self.measures.setObjectName("measures")
        self.measures.setHorizontalHeaderLabels(["Measure", "Variation", "Training data"])
        self.measures.horizontalHeaderItem(2).setToolTip("Mean ± standard deviation over the model's "
                                                         "training files")
        self.measures.verticalHeader().setVisible(False)
        self.measures.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.measures.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.measures.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for row, (name, label) in enumerate(METRICS.items()):
            item = QTableWidgetItem(_SHORT_NAMES[name])
            item.setToolTip(label)
            self.measures.setItem(row, 0, item)
        self._add_primer_rows()
        self.measures.setWordWrap(False)
        self.measures.verticalHeader().setDefaultSectionSize(self.fontMetrics().lineSpacing() + 4)
        self.measures.setFixedHeight(self.measures.horizontalHeader().height()
                                     + sum(self.measures.rowHeight(r) for r in range(rows)) + 4)
        self.measures.setToolTip("Objective measures (as muspy defines them) of the selected variation, "
                                 "next to the model's training data; below, the variation against "
                                 "the primer it continues")

    def _build_scroll_area(self, buttons: QHBoxLayout) -> None:
        """Everything in a scroll area: the panel scrolls rather than growing the window past
        the screen (1400x800 leaves the Generate dock about 450 pixels: the form, or the
        variations and their measures)."""
        content = QWidget(self)
        layout = QVBoxLayout(content)
        margins = layout.contentsMargins()  # (the scroll bar takes the right margin's place)
        layout.setContentsMargins(margins.left(), margins.top(), 0, margins.bottom())
        layout.addWidget(self.model_label)
        layout.addLayout(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.candidate_box)
        layout.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        guard_wheel(self.scroll)

    def _connect_candidates(self) -> None:
        """Generate, Cancel and the variations' list and buttons to the panel's signals."""
        self.generate_button.clicked.connect(self._on_generate)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.candidates.currentRowChanged.connect(self.candidate_changed)
        self.candidates.itemDoubleClicked.connect(lambda _item: self.audition_clicked.emit(self.candidates.currentRow()))
        self.audition_button.clicked.connect(lambda: self.audition_clicked.emit(self.candidates.currentRow()))
        self.accept_button.clicked.connect(lambda: self.accept_clicked.emit(self.candidates.currentRow()))
        self.discard_button.clicked.connect(self.discard_clicked)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.primer_key_wanted.emit()

    def _update_scale(self) -> None:
        """A scale goes with a named key; the primer's key brings its own (major or minor)."""
        data = self.key.currentData()
        self.scale.setEnabled(data is not None)
        self.scale.setVisible(data != PRIMER_KEY)  # (the key's name takes the room)

    def set_primer_key(self, name: str | None, has_notes: bool = True) -> None:
        """Show the key found in the primer ("D minor"; None: none found) in the Key list;
        nothing in brackets before there are notes to find it in."""
        text = f"{PRIMER_KEY_TEXT} ({name or 'none found'})" if has_notes else PRIMER_KEY_TEXT
        if self.key.itemText(1) != text:
            self.key.setItemText(1, text)

    def _on_generate(self) -> None:
        if not self.seed_lock.isChecked():
            self.seed.setValue(random.randrange(2**31))
        self.generate_clicked.emit()

    def _on_variations_changed(self, value: int) -> None:
        if not self._restoring and self.variations.isEnabled():
            self._wanted_variations = value

    # ----------------------------------------------------------------- remembered settings
    #: Settings that belong to the song and the user (kept across models), and those that a
    #: model's sampling needs (kept for each model).
    _SHARED = ("mode", "bars", "variations", "key", "scale", "seed", "seed_lock")
    _PER_MODEL = ("temperature", "sampling", "threshold", "top_p", "noise", "missing_slots", "density",
                  "polyphony")

    def _widget_value(self, name: str):
        widget = getattr(self, name)
        if name == "variations":
            return self._wanted_variations
        if isinstance(widget, QComboBox):
            return widget.currentData() if name in ("mode", "key") else widget.currentText()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        return widget.value()

    def _set_widget_value(self, name: str, value) -> None:
        widget = getattr(self, name)
        try:
            if isinstance(widget, QComboBox):
                if name == "key" and value is None:
                    index = 0  # "Any key" (its data is None, which findData does not match)
                else:
                    index = widget.findData(value) if name in ("mode", "key") else widget.findText(str(value))
                if index >= 0 and (widget.model().item(index) is None or widget.model().item(index).isEnabled()):
                    widget.setCurrentIndex(index)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(str(value).lower() in ("true", "1"))
            elif isinstance(widget, QSpinBox):
                widget.setValue(int(float(value)))
            else:
                widget.setValue(float(value))
        except (TypeError, ValueError):
            pass  # a hand-edited settings file: keep the default
        if name == "variations":
            self._wanted_variations = self.variations.value()

    def _setting_key(self, name: str) -> str | None:
        if name in self._SHARED:
            return f"generate/{name}"
        return f"generate/models/{self._model_key}/{name}" if self._model_key else None

    def use_settings(self, settings: QSettings) -> None:
        """Remember the panel's choices in ``settings``: the song's (length, variations, key, ...)
        for every model, the sampling controls for each model."""
        self._settings = settings
        self._restore(self._SHARED)
        for name in self._SHARED + self._PER_MODEL:
            widget = getattr(self, name)
            signal = (widget.currentIndexChanged if isinstance(widget, QComboBox)
                      else widget.toggled if isinstance(widget, QCheckBox) else widget.valueChanged)
            signal.connect(lambda *_args, n=name: self._save(n))
        self._update_threshold()

    def _save(self, name: str) -> None:
        key = self._setting_key(name)
        if self._settings is not None and not self._restoring and key:
            value = self._widget_value(name)
            self._settings.setValue(key, "" if value is None else value)

    def _restore(self, names) -> None:
        if self._settings is None:
            return
        self._restoring = True
        try:
            for name in names:
                key = self._setting_key(name)
                if key and self._settings.contains(key):
                    value = self._settings.value(key)
                    self._set_widget_value(name, None if value == "" else value)
        finally:
            self._restoring = False

    # ----------------------------------------------------------------- model
    def set_model(self, name: str | None, capabilities=frozenset(), controls=("temperature",),
                  status: str = "", defaults=(), model_key: str | None = None) -> None:
        """Show the chosen model (None: none yet) and only the controls its family supports,
        set to what the user chose for this model before (``model_key``, e.g. its path), else
        to the family's own sampling ``defaults`` ((field, value) pairs) where it has them."""
        self._has_model = name is not None
        self._restoring = True
        try:
            self._show_model(name, capabilities, controls, status, defaults)
        finally:
            self._restoring = False
        if name is not None:
            self._model_key = (model_key or name).replace("/", "|").replace("\\", "|")
            self._restore(self._PER_MODEL + ("mode",))
        self._update_threshold()
        self.generate_button.setEnabled(self._has_model and not self.progress.isVisible())

    def _show_model(self, name: str | None, capabilities, controls, status: str, defaults) -> None:
        if name is None:
            self.model_label.setText(status or "No model chosen: pick one above.")
        else:
            self.model_label.setText(f"<b>{name}</b>" + (f"<br>{status}" if status else ""))
        model = self.mode.model()
        for row in range(self.mode.count()):
            needed = MODE_CAPABILITY[self.mode.itemData(row)]
            model.item(row).setEnabled(name is None or needed in capabilities)
        if not model.item(self.mode.currentIndex()).isEnabled():
            enabled = [r for r in range(self.mode.count()) if model.item(r).isEnabled()]
            if enabled:
                self.mode.setCurrentIndex(enabled[0])
        for control in _CONTROL_ROWS:
            self.form.setRowVisible(self._rows[control], control in controls)
        self.form.setRowVisible(self.sampling, "threshold" in controls)
        multitrack = MULTITRACK in capabilities
        self.form.setRowVisible(self.target, not multitrack)
        self.form.setRowVisible(self.target_note, multitrack)
        if name is not None:  # a threshold means different things to different families
            values = sampling_defaults(defaults)
            self.sampling.setCurrentText(next(k for k, v in _SAMPLING.items() if v == values["sampling"]))
            self.threshold.setValue(float(values["threshold"]))
            self.noise.setValue(float(values["noise"]))

    def _update_length(self) -> None:
        """The loop region sets the length of the modes that fill it."""
        takes_loop = self.mode.currentData() in LENGTH_FROM_EDITOR
        self.bars.setEnabled(not takes_loop)
        self.bars.setToolTip("The loop region or the selected bars set the length" if takes_loop else "")

    def _update_threshold(self) -> None:
        threshold = _SAMPLING[self.sampling.currentText()] == "threshold" and self.form.isRowVisible(self.sampling)
        self.threshold.setEnabled(threshold)
        # Threshold sampling without noise has no randomness: every variation would be the same.
        deterministic = threshold and not (self.form.isRowVisible(self.noise) and self.noise.value() > 0)
        self.variations.setEnabled(not deterministic)
        self.variations.setToolTip("Threshold sampling without noise gives one result; choose Sample, "
                                   "or add noise, for variations" if deterministic else "")
        restoring, self._restoring = self._restoring, True
        self.variations.setValue(1 if deterministic else self._wanted_variations)
        self._restoring = restoring

    # ----------------------------------------------------------------- tracks
    def set_tracks(self, tracks: list[tuple[int, str]], active: int | None) -> None:
        """Targets: the pitched ``(track id, name)`` pairs and a new track; ``active`` preselected."""
        current = self.target.currentData() if self.target.count() else active
        self.target.blockSignals(True)
        self.target.clear()
        for track_id, name in tracks:
            self.target.addItem(name, track_id)
        self.target.addItem("New track", NEW_TRACK)
        wanted = active if active is not None else current
        index = self.target.findData(wanted)
        self.target.setCurrentIndex(index if index >= 0 else self.target.count() - 1)
        self.target.blockSignals(False)

    # ----------------------------------------------------------------- settings
    def settings(self) -> GenerationSettings:
        sampling = _SAMPLING[self.sampling.currentText()] if self.form.isRowVisible(self.sampling) \
            else "bernoulli"
        request = GenerateRequest(
            bars=self.bars.value(), temperature=round(self.temperature.value(), 3), sampling=sampling,
            threshold=round(self.threshold.value(), 3), top_p=round(self.top_p.value(), 3),
            noise=round(self.noise.value(), 3), variations=self.variations.value(), seed=self.seed.value(),
            key=self.key.currentData(), scale=self.scale.currentText() if self.key.currentData() not in (None, PRIMER_KEY) else None,
            missing_slots=_MISSING_SLOTS[self.missing_slots.currentText()],
            density=self._shown_value(self.density), polyphony=self._shown_value(self.polyphony))
        # Multitrack families continue every track and write each instrument into its own.
        target = self.target.currentData() if self.form.isRowVisible(self.target) else NEW_TRACK
        return GenerationSettings(self.mode.currentData(), target, request)

    def _shown_value(self, box):
        """An optional control's value when its family shows it, else None (not set)."""
        return _optional_value(box) if self.form.isRowVisible(box) else None

    # ----------------------------------------------------------------- progress
    def set_busy(self, busy: bool, status: str = "") -> None:
        self.progress.setVisible(busy)
        self.progress.setValue(0)
        self.cancel_button.setVisible(busy)
        self.generate_button.setEnabled(not busy and self._has_model)
        self.status.setText(status)

    def set_progress(self, fraction: float) -> None:
        self.progress.setValue(int(fraction * 1000))

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    # ----------------------------------------------------------------- candidates
    def set_measures(self, values: dict[str, float] | None, reference: dict | None,
                     against_primer: dict[str, float] | None = None, primer_key: str | None = None) -> None:
        """Show a variation's measures (None: clear) next to the training data's
        (name -> {"mean", "std"}; None when the model did not record them), and its measures
        against the primer (composer.representations.continuation; ``primer_key`` names the
        key the in-key share is taken in, None when the primer has none)."""
        for row, name in enumerate(METRICS):
            mine = format_measure(name, values.get(name)) if values else ""
            theirs = format_reference(name, (reference or {}).get(name))
            self.measures.setItem(row, 1, QTableWidgetItem(mine))
            self.measures.setItem(row, 2, QTableWidgetItem(theirs or ("-" if reference else "not recorded")))
        key_row = len(METRICS) + 1
        self.measures.item(key_row - 1, 0).setText(
            "Against the primer" + (" (it has no clear key)" if against_primer and not primer_key else ""))
        self.measures.item(key_row, 0).setText(
            f"In {primer_key}" if primer_key else _PRIMER_SHORT_NAMES["in_key"])
        for row, name in enumerate(PRIMER_MEASURES, key_row):
            shown = format_measure(name, against_primer.get(name)) if against_primer else ""
            item = QTableWidgetItem(shown)
            if name == "in_key" and against_primer and not primer_key:
                item.setToolTip("The primer has no clear key")
            self.measures.setItem(row, 1, item)

    def _add_primer_rows(self) -> None:
        """The heading "Against the primer" (across the table) and a row for each measure of
        the variation against its primer, the third column saying which way is better."""
        heading_row = len(METRICS)
        heading = QTableWidgetItem("Against the primer")
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        heading.setToolTip("The variation measured against the notes it continues")
        self.measures.setItem(heading_row, 0, heading)
        self.measures.setSpan(heading_row, 0, 1, 3)
        for row, (name, info) in enumerate(PRIMER_MEASURES.items(), heading_row + 1):
            item = QTableWidgetItem(_PRIMER_SHORT_NAMES[name])
            item.setToolTip(f"{info.label[0].upper()}{info.label[1:]}: {info.about} ({info.hint()})")
            self.measures.setItem(row, 0, item)
            hint = QTableWidgetItem(info.direction_text())
            hint.setToolTip(info.hint())
            hint.setForeground(self.palette().placeholderText())
            self.measures.setItem(row, 2, hint)

    def set_candidates(self, labels: list[str]) -> None:
        """List the variations (empty hides the list); the first is selected."""
        self.candidates.clear()
        for label in labels:
            QListWidgetItem(label, self.candidates)
        self.candidate_box.setVisible(bool(labels))
        if labels:
            self.candidates.setCurrentRow(0)
            # (once the layout has made room for them)
            QTimer.singleShot(0, self, self._scroll_to_candidates)

    def _scroll_to_candidates(self) -> None:
        self.scroll.ensureWidgetVisible(self.candidate_box, 0, 0)
