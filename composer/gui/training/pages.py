"""The training wizard's pages, in order: folder, model, data, settings, training, finish.

Every family is served the same way: the model page lists the registry's families, presets and
data options (:class:`~composer.models.registry.DataOption`); what depends on torch (the preset's
values, the devices, the data check, the time estimate) comes from ``composer`` child processes.
The pages share their state through the wizard (:class:`~composer.gui.training.wizard.TrainingWizard`).
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from composer.core.errors import ComposerError
from composer.data.dataset import scan_midi_files
from composer.data.errors import NoMidiFilesError
from composer.models.checkpoint import read_metadata
from composer.models.library import user_models_dir
from composer.models.readiness import header_warning
from composer.models.registry import FAMILIES
from composer.training.preprocess_cli import duration_text, pitch_name, time_text
from composer.training.runs import list_runs

from .curves import TrainingCurves
from .log_view import LogDialog
from .option_widgets import WIZARD_OPTIONS, option_spin_box, option_value, set_option_value
from .processes import CommandProcess

FOLDER, MODEL, DATA, SETTINGS, TRAIN, FINISH = range(6)
#: A pause in typing a folder's path before its MIDI files are counted.
COUNT_DELAY_MS = 400
#: Training steps timed for the estimate (after one warm-up step).
MEASURE_STEPS = 5
_WARNING = "color: #f2cf4e;"
_ERROR = "color: #ff6f6f;"


def _label(text: str = "", style: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if style:
        label.setStyleSheet(style)
    return label


# ----------------------------------------------------------------------------- 1. folder
class FolderPage(QWizardPage):
    """The folder of MIDI files (with or without subfolders), or an earlier run to go on with."""

    def __init__(self, wizard):
        super().__init__()
        self.owner = wizard
        self.setTitle("Your MIDI files")
        self.setSubTitle("Choose the folder of MIDI files the new model should learn from.")
        self.folder = QLineEdit(self)
        self.folder.setPlaceholderText("A folder of .mid files")
        browse = QPushButton("Browse...", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.recursive = QCheckBox("Include subfolders", self)
        self.recursive.setChecked(True)
        self.count = _label()
        self.count.setObjectName("fileCount")
        self.runs = QListWidget(self)
        self.runs.setMaximumHeight(110)
        self.resume_button = QPushButton("Continue this training", self)
        self.resume_button.clicked.connect(self._resume)
        self.runs.currentRowChanged.connect(lambda row: self.resume_button.setEnabled(row >= 0))
        self.earlier = QGroupBox("Or continue an earlier training", self)
        box = QVBoxLayout(self.earlier)
        box.addWidget(self.runs)
        box.addWidget(self.resume_button, 0, Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.recursive)
        layout.addWidget(self.count)
        layout.addStretch(1)
        layout.addWidget(self.earlier)
        # Typing waits for a pause before counting: "/" alone would walk the whole disk. A path
        # set at once (Browse, a drop) is counted at once.
        self._count_later = QTimer(self, singleShot=True, interval=COUNT_DELAY_MS)
        self._count_later.timeout.connect(self._count)
        self.folder.textChanged.connect(
            lambda: self._count_later.start() if self.folder.isModified() else self._count())
        self.recursive.toggled.connect(self._count)
        self.files = 0

    def initializePage(self) -> None:
        self.runs.clear()
        for run in list_runs():
            status = run.status()
            if status in ("stopped", "crashed", "error", "running"):
                try:
                    name = run.settings.name or Path(run.settings.out).stem
                except Exception:  # an unreadable run folder is simply not offered
                    continue
                item = QListWidgetItem(f"{name}: {status}", self.runs)
                item.setData(Qt.ItemDataRole.UserRole, run)
        self.earlier.setVisible(self.runs.count() > 0)
        self.resume_button.setEnabled(False)
        self._count()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of MIDI files", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _count(self) -> None:
        self._count_later.stop()
        path = Path(self.folder.text().strip()).expanduser()
        self.files = 0
        if not self.folder.text().strip():
            self.count.setText("")
        elif not path.is_dir():
            self.count.setText("This is not a folder.")
            self.count.setStyleSheet(_ERROR)
        else:
            try:
                self.files = len(scan_midi_files(path, recursive=self.recursive.isChecked()))
            except NoMidiFilesError:  # (scanning raises it for a folder without MIDI files)
                self.files = 0
            except ComposerError as exc:  # e.g. a folder that cannot be read
                self.count.setText(f"{exc}.")
                self.count.setStyleSheet(_ERROR)
                self.completeChanged.emit()
                return
            if self.files:
                self.count.setText(f"{self.files:,} MIDI files")
                self.count.setStyleSheet("")
            else:
                where = " (subfolders included)" if self.recursive.isChecked() else \
                    " (subfolders left out: tick Include subfolders?)"
                self.count.setText(f"No MIDI files (.mid, .midi) in this folder{where}.")
                self.count.setStyleSheet(_ERROR)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.files > 0 or self.owner.run is not None

    def validatePage(self) -> bool:
        if self._count_later.isActive():  # Next pressed right after typing
            self._count_later.stop()
            self._count()
        return self.isComplete()

    def _resume(self) -> None:
        item = self.runs.currentItem()
        if item is not None:
            self.owner.continue_run(item.data(Qt.ItemDataRole.UserRole))

    def nextId(self) -> int:
        return TRAIN if self.owner.run is not None else MODEL


# ----------------------------------------------------------------------------- 2. model
class ModelPage(QWizardPage):
    """The family (its description and paper), the preset, and the family's data options."""

    def __init__(self, wizard):
        super().__init__()
        self.owner = wizard
        self.setTitle("The model")
        self.setSubTitle("Pick the kind of model to train.")
        self.family = QComboBox(self)
        for spec in FAMILIES.values():
            self.family.addItem(spec.name, spec.id)
        self.about = _label()
        self.preset = QComboBox(self)
        self.options_box = QGroupBox("What the model needs from the data", self)
        self.options_form = QFormLayout(self.options_box)
        self.option_widgets: dict[str, QComboBox | QLineEdit] = {}
        self.empty_by_default: set[str] = set()
        form = QFormLayout()
        form.addRow("Family", self.family)
        form.addRow("", self.about)
        form.addRow("Preset", self.preset)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.options_box)
        layout.addStretch(1)
        self.family.currentIndexChanged.connect(self._family_changed)
        self._family_changed()

    def spec(self):
        return FAMILIES[self.family.currentData()]

    def _family_changed(self) -> None:
        spec = self.spec()
        self.about.setText(f"{escape(spec.description)}<br><i>{escape(spec.paper)}</i>")
        self.preset.clear()
        for name in spec.presets:
            self.preset.addItem(name + (" (the paper's)" if name in (spec.paper_presets or (spec.default_preset,))
                                        else ""), name)
        self.preset.setCurrentIndex(self.preset.findData(spec.default_preset))
        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        self.option_widgets = {}
        # Free-text options empty by default (the tracks to read): left empty, they are no override.
        self.empty_by_default = {o.field for o in spec.data_options if not o.choices and not o.default}
        for option in spec.data_options:
            if option.choices:
                widget = QComboBox(self)
                for value, text in option.choices:
                    widget.addItem(text, value)
                widget.setCurrentIndex(widget.findData(option.default))
            else:
                widget = QLineEdit(option.default, self)
                widget.setPlaceholderText(option.help)
            widget.setToolTip(option.help)
            self.options_form.addRow(option.label, widget)
            self.option_widgets[option.field] = widget
        for option in spec.data_options:
            if option.only_when:
                field, values = option.only_when
                other, widget = self.option_widgets[field], self.option_widgets[option.field]

                def follow(_=None, other=other, widget=widget, values=values):
                    widget.setEnabled(other.currentData() in values)

                other.currentIndexChanged.connect(follow)
                follow()
        self.options_box.setVisible(bool(spec.data_options))

    def overrides(self) -> dict[str, str]:
        values = {name: (w.currentData() if isinstance(w, QComboBox) else w.text().strip())
                  for name, w in self.option_widgets.items()}
        return {name: value for name, value in values.items() if value or name not in self.empty_by_default}


# ----------------------------------------------------------------------------- 3. data
class DataPage(QWizardPage):
    """Reads and encodes the folder (``composer preprocess``) and shows what it found."""

    def __init__(self, wizard):
        super().__init__()
        self.owner = wizard
        self.setTitle("Reading the files")
        self.setSubTitle("Every file is read and encoded for the model; the result is cached, so "
                         "training starts at once.")
        self.progress = QProgressBar(self)
        self.summary = _label()
        self.summary.setObjectName("dataSummary")
        self.warning = _label(style=_WARNING)
        self.error = _label(style=_ERROR)
        self.error.setObjectName("dataError")
        self.skipped = QTreeWidget(self)
        self.skipped.setHeaderLabels(["Skipped file", "Why"])
        self.skipped.setRootIsDecorated(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.warning)
        layout.addWidget(self.error)
        layout.addWidget(self.skipped, 1)
        self.command: CommandProcess | None = None
        self.result: dict | None = None

    def initializePage(self) -> None:
        self.cleanupPage()
        self.result = None
        for label in (self.summary, self.warning, self.error):
            label.setText("")
        self.skipped.clear()
        self.skipped.setVisible(False)
        self.progress.setRange(0, 0)
        self.command = CommandProcess(["preprocess", *self.owner.data_settings().preprocess_args(),
                                       "--progress", "json"], self)
        self.command.event.connect(self._event)
        self.command.finished.connect(self._finished)
        self.command.start()
        self.completeChanged.emit()

    def cleanupPage(self) -> None:
        if self.command is not None:
            self.command.cancel()
            self.command = None

    def _event(self, event: dict) -> None:
        if event["event"] == "progress":
            self.progress.setRange(0, max(event["total"], 1))
            self.progress.setValue(event["done"])
            self.summary.setText(f"Reading {event['done']:,} of {event['total']:,} files...")
        elif event["event"] == "summary":
            self.result = event
            self._show(event)

    def _show(self, result: dict) -> None:
        s = result["summary"]
        lines = [f"<b>{s['files_used']:,}</b> files used, <b>{s['files_skipped']:,}</b> skipped "
                 f"({s['files_found']:,} found)"]
        if s.get("duration_seconds") is not None:
            lines.append(f"{duration_text(s['duration_seconds'])} of music, {s['total_notes']:,} notes")
        if s.get("pitch_min") is not None:
            lines.append(f"Pitches {pitch_name(s['pitch_min'])} to {pitch_name(s['pitch_max'])}")
        instruments = s.get("instruments") or {}
        if instruments:
            shown = ", ".join(f"{name} ({n})" for name, n in list(instruments.items())[:8])
            lines.append(f"Instruments: {shown}" + (", ..." if len(instruments) > 8 else ""))
        split = result["split"]
        lines.append(f"{split['train']:,} files to train on, {split['valid']:,} to validate, "
                     f"{split['test']:,} held out to test; {result['train_examples']:,} training examples")
        self.summary.setText("<br>".join(lines))
        if result.get("warning"):
            self.warning.setText(f"Warning: {result['warning']}.")
        for name, reason in result["skipped"]:
            QTreeWidgetItem(self.skipped, [name, reason])
        self.skipped.setVisible(bool(result["skipped"]))
        self.skipped.resizeColumnToContents(0)

    def _finished(self, error: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        if error:
            self.result = None
            self.error.setText(f"{error[0].upper()}{error[1:]}" + ("" if error.endswith(".") else "."))
        self.command = None
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.result is not None and self.command is None


# ----------------------------------------------------------------------------- 4. settings
def model_file_name(name: str) -> str:
    """A file name for a model called ``name``: letters, digits, dashes."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()
    return (slug or "my-model") + ".safetensors"


def free_path(folder: Path, file_name: str) -> Path:
    """``folder/file_name``, or with -2, -3, ... when taken: a new model never replaces one."""
    path = folder / file_name
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{Path(file_name).stem}-{n}.safetensors"
    return path


def check_writable(folder: Path) -> str:
    """"" when a model can be written into ``folder`` (created if needed), else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".composer-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"Models cannot be saved in {folder}: {exc.strerror or exc}."
    return ""


class SettingsPage(QWizardPage):
    """Training settings, from the preset's values; an estimate of the time; the command.

    The numeric settings' spin boxes come from their descriptions (composer.training.options,
    through :mod:`.option_widgets`): a new option with a label there has its row here."""

    def __init__(self, wizard):
        super().__init__()
        self.owner = wizard
        self.setTitle("Training settings")
        self.setSubTitle("Planned for the size of your data (the paper presets keep their own). "
                         "Training runs in the background; you can keep composing.")
        self.setCommitPage(True)
        self.setButtonText(self.owner.WizardButton.CommitButton, "Start training")
        self.name = QLineEdit(self)
        #: A spin box for each option the wizard shows, by its field.
        self.option_widgets = {option.field: option_spin_box(option, self) for option in WIZARD_OPTIONS}
        self.epochs, self.batch_size, self.seq_len, self.patience = (
            self.option_widgets[field] for field in ("epochs", "batch_size", "seq_len", "patience"))
        self.augment = QCheckBox("Transpose the pieces at random (more variety from the same files)", self)
        self.early_stop = QCheckBox("Stop when the validation loss has not improved for", self)
        self.device = QComboBox(self)
        self.estimate = _label()
        self.estimate.setObjectName("estimate")
        # Two lines: a wrapped label in a form row gets one line's height otherwise, and clips.
        self.estimate.setMinimumHeight(2 * self.estimate.fontMetrics().lineSpacing() + 4)
        self.estimate_button = QPushButton("Estimate again", self)
        self.estimate_button.clicked.connect(self._measure)
        self.problem = _label(style=_ERROR)
        self.command_text = QPlainTextEdit(self)
        self.command_text.setReadOnly(True)
        self.command_text.setMaximumHeight(96)
        layout = QVBoxLayout(self)
        layout.addLayout(self._form())
        layout.addWidget(self.problem)
        layout.addWidget(QLabel("The same training from a terminal:", self))
        layout.addWidget(self.command_text)
        layout.addStretch(1)
        self.early_stop.toggled.connect(self.patience.setEnabled)
        for widget in self.option_widgets.values():
            widget.valueChanged.connect(self._changed)
        for widget in (self.augment, self.early_stop):
            widget.toggled.connect(self._changed)
        self.device.currentIndexChanged.connect(self._changed)
        self.name.textChanged.connect(self._changed)
        self.measure: CommandProcess | None = None
        #: The last estimate: seconds an epoch, steps an epoch, training examples, and the
        #: settings it was made for.
        self.measured: tuple[float, int, int, tuple] | None = None
        self.folder_problem = ""  # why models cannot be saved, from initializePage
        self._filling = False

    def _form(self) -> QFormLayout:
        """The name, a row for each option (patience beside the early-stopping box), the
        augmentation after the validation share, the device after the time limit, the estimate."""
        stopping = QHBoxLayout()
        stopping.addWidget(self.early_stop)
        stopping.addWidget(self.patience)
        stopping.addStretch(1)
        estimate_row = QHBoxLayout()
        estimate_row.addWidget(self.estimate, 1)
        estimate_row.addWidget(self.estimate_button)
        after = {"valid_fraction": ("", self.augment), "minutes": ("Device", self.device)}
        self.form = QFormLayout()
        self.form.addRow("Model name", self.name)
        for option in WIZARD_OPTIONS:
            self.form.addRow(option.label, stopping if option.field == "patience"
                             else self.option_widgets[option.field])
            if option.field in after:
                self.form.addRow(*after[option.field])
        self.form.addRow("Time", estimate_row)
        return self.form

    def initializePage(self) -> None:
        result = self.owner.data_page.result
        config = result["config"]
        model = self.owner.model_page
        self._filling = True
        folder = Path(self.owner.folder_page.folder.text()).expanduser()
        self.name.setText(f"{folder.name or 'My'} ({model.spec().name}, {model.preset.currentData()})")
        # The preset's values as planned for this data (the seed and the time limit are no preset's).
        for option in WIZARD_OPTIONS:
            if config.get(option.field) is not None:
                set_option_value(self.option_widgets[option.field], option, config[option.field])
        # Random transposition would undo key normalisation: offered only without it.
        normalized = model.overrides().get("key_normalize", "true") == "true"
        self.augment.setChecked(not normalized)
        self.augment.setEnabled(not normalized)
        self.augment.setToolTip("Off while the keys are normalised (Keys, on the model page)." if normalized else "")
        self.early_stop.setChecked(True)
        self.device.clear()
        devices = result.get("devices") or ["cpu"]
        names = {"cuda": "NVIDIA GPU (CUDA)", "mps": "Apple GPU (MPS)", "cpu": "CPU"}
        self.device.addItem(f"Automatic: {names.get(devices[0], devices[0])}", "auto")
        for device in devices:
            self.device.addItem(names.get(device, device), device)
        self.folder_problem = check_writable(user_models_dir())  # once: it writes a probe file
        self._filling = False
        self._changed()
        self._measure()

    def cleanupPage(self) -> None:
        if self.measure is not None:
            self.measure.cancel()
            self.measure = None

    def settings(self):
        """The TrainSettings of this page and the ones before it."""
        from dataclasses import replace

        folder = user_models_dir()
        values = {option.field: option_value(self.option_widgets[option.field], option) for option in WIZARD_OPTIONS}
        if not self.early_stop.isChecked():
            values["patience"] = values["epochs"]
        return replace(self.owner.data_settings(), name=self.name.text().strip(),
                       steps_per_epoch=self._steps_per_epoch(),
                       out=str(free_path(folder, model_file_name(self.name.text()))),
                       augment=self.augment.isChecked(), device=self.device.currentData() or "auto", **values)

    def _steps_per_epoch(self) -> int | None:
        """The steps an epoch that ``composer preprocess`` planned for this data (schedule
        "auto", composer.training.schedule); else 0 (one pass over the training examples) where
        the preset fixes a number of steps: the tiny presets' 4 steps an epoch, made for tests,
        ignore the data and the batch size. None leaves the preset's one pass as it is (and the
        command shorter)."""
        config = (self.owner.data_page.result or {}).get("config") or {}
        if config.get("schedule") == "auto":
            return int(config["steps_per_epoch"])
        return 0 if config.get("steps_per_epoch") else None

    def _changed(self) -> None:
        if self._filling:
            return
        settings = self.settings()
        lines = [settings.command()]
        if FAMILIES[settings.family].multi_gpu:
            lines += ["", "On every GPU of this machine:", settings.torchrun_command()]
        else:
            lines += ["", "(This family trains in stages on one device; torchrun is not used.)"]
        self.command_text.setPlainText("\n".join(lines))
        self.problem.setText(self.folder_problem or
                             ("" if self.name.text().strip() else "Give the model a name."))
        self._show_estimate(settings)
        self.completeChanged.emit()

    @staticmethod
    def _estimate_key(settings) -> tuple:
        """The settings a time estimate depends on."""
        return settings.batch_size, settings.seq_len, settings.device, settings.valid_fraction

    def _show_estimate(self, settings) -> None:
        if self.measured is None:
            return
        per_epoch, steps, examples, key = self.measured
        if key != self._estimate_key(settings):
            self.estimate.setText("The settings changed: press Estimate again.")
            return
        what = f"{steps:,} batches of {settings.batch_size}" + \
            (f", from {examples:,} training examples" if examples else "")
        total = per_epoch * settings.epochs
        limit = (f" (the time limit stops it after {time_text(settings.minutes * 60)})"
                 if settings.minutes and settings.minutes * 60 < total else "")
        self.estimate.setText(f"About {time_text(per_epoch)} an epoch ({what}); at most "
                              f"{time_text(total)} for {settings.epochs} epochs{limit}"
                              + ("; early stopping usually ends it sooner." if self.early_stop.isChecked() else "."))

    def _measure(self) -> None:
        """Time a few real training steps in a child process (writes nothing)."""
        self.cleanupPage()
        settings = self.settings()
        self.estimate.setText("Measuring a few training steps...")
        self.estimate_button.setEnabled(False)
        self.measured = None
        self.measure = CommandProcess(["train", *settings.train_args(), "--measure", str(MEASURE_STEPS),
                                       "--progress", "json"], self)

        examples = []

        def on_event(event: dict) -> None:
            if event["event"] == "start":
                examples.append(int(event.get("train_examples") or 0))
            elif event["event"] == "measure":
                self.measured = (event["seconds_per_epoch"], event["steps_per_epoch"],
                                 examples[-1] if examples else 0, self._estimate_key(settings))
                self._show_estimate(self.settings())

        def on_finished(error: str) -> None:
            if error:
                self.estimate.setText(f"Could not estimate: {error}")
            self.estimate_button.setEnabled(True)
            self.measure = None

        self.measure.event.connect(on_event)
        self.measure.finished.connect(on_finished)
        self.measure.start()

    def isComplete(self) -> bool:
        return not self.problem.text()

    def validatePage(self) -> bool:
        self.cleanupPage()
        self.owner.start_run(self.settings())
        return True


# ----------------------------------------------------------------------------- 5. training
class TrainingPage(QWizardPage):
    """Live curves, epoch, ETA and device; Stop (saves), Resume, the log."""

    def __init__(self, wizard):
        super().__init__()
        self.owner = wizard
        self.setTitle("Training")
        self.state = _label()
        self.state.setObjectName("trainingState")
        # Its text changes with every step: a fixed height keeps that from re-laying out the page.
        self.state.setFixedHeight(2 * self.state.fontMetrics().lineSpacing() + 4)
        self.curves = TrainingCurves(self)
        self.message = _label(style=_ERROR)
        self.message.setObjectName("trainingMessage")
        self.stop_button = QPushButton("Stop and save", self)
        self.stop_button.setToolTip("The trainer saves the best model so far and exits; you can "
                                    "continue later")
        self.resume_button = QPushButton("Continue training", self)
        self.log_button = QPushButton("Open the log", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.log_button)
        buttons.addStretch(1)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.state)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.stop_button.clicked.connect(self._stop)
        self.resume_button.clicked.connect(lambda: self.owner.resume_run(longer=True))
        self.log_button.clicked.connect(self._open_log)
        self.log_dialog: LogDialog | None = None
        self.facts: dict = {}

    def initializePage(self) -> None:
        self.setSubTitle(f"{self.owner.run_title()}. The window stays free while it trains, and "
                         f"closing the wizard leaves it training.")

    def reset(self) -> None:
        """A run is (re)started: clear the curves and replay its events."""
        self.curves.clear()
        self.facts = {}
        self.message.setText("")
        self._buttons(running=True)

    def add_event(self, event: dict) -> None:
        kind = event.get("event")
        self.curves.add_event(event)
        if kind == "start":
            self.facts.update(device=event.get("device"), epochs=event.get("epochs"))
        elif kind == "step":
            self.facts.update(epoch=event["epoch"], eta=event.get("eta"), stage=event.get("stage"),
                              step=event["step"], steps=event["steps"])
        elif kind == "epoch":
            self.facts.update(epoch=event["epoch"], best=event.get("best_epoch"))
        elif kind == "launch":
            self.facts.update(eta=None)
        self._show_state()

    def _show_state(self) -> None:
        f = self.facts
        parts = []
        if f.get("epoch"):
            parts.append(f"Epoch <b>{f['epoch']}</b> of {f.get('epochs') or '?'}"
                         + (f" (step {f['step']}/{f['steps']})" if f.get("step") else ""))
        if f.get("stage"):
            parts.append(f"stage: {f['stage']}")
        if f.get("eta") is not None and f["eta"] >= 1:  # ("about 0 s left" says nothing)
            parts.append(f"about {duration_text(f['eta'])} left")
        if f.get("device"):
            parts.append(f"on {f['device']}")
        if f.get("best"):
            parts.append(f"best so far: epoch {f['best']}")
        self.state.setText(" · ".join(parts) or "Starting the trainer (reading the data)...")

    def ended(self, status: str, text: str, continue_epochs: int | None = None) -> None:
        """The run ended with ``status``; ``continue_epochs``: it ended probably under-trained,
        and Continue training goes on up to that epoch."""
        self._buttons(running=False, resumable=status in ("stopped", "error", "crashed") or bool(continue_epochs))
        self.resume_button.setText(f"Continue training (to epoch {continue_epochs})" if continue_epochs
                                   else "Continue training")
        self.state.setText(self.state.text() + f" · <b>{status}</b>")
        self.message.setStyleSheet(_WARNING if continue_epochs else "" if status in ("done", "stopped") else _ERROR)
        self.message.setText(text)
        self.completeChanged.emit()

    def _buttons(self, running: bool, resumable: bool = False) -> None:
        self.stop_button.setEnabled(running)
        self.stop_button.setText("Stop and save")
        self.resume_button.setVisible(resumable)
        self.owner.button(self.owner.WizardButton.BackButton).setEnabled(False)

    def _stop(self) -> None:
        self.owner.stop_run()
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping (saving)...")

    def _open_log(self) -> None:
        """Show the run's log (the trainer's stderr: its progress, warnings, errors) in a window
        that follows it while it trains."""
        if self.owner.run is None:
            return
        if self.log_dialog is None or self.log_dialog.path != self.owner.run.log_path:
            if self.log_dialog is not None:
                self.log_dialog.deleteLater()
            self.log_dialog = LogDialog(self.owner.run.log_path, self.owner.run_title(), self)
        self.log_dialog.show()
        self.log_dialog.raise_()

    def isComplete(self) -> bool:
        return self.owner.model_ready_path() is not None and not self.owner.is_training()


# ----------------------------------------------------------------------------- 6. finish
class FinishPage(QWizardPage):
    """The model is in the model list; Try it selects it for generation."""

    def __init__(self, wizard):
        super().__init__()
        self.owner = wizard
        self.setTitle("Your model is ready")
        self.text = _label()
        self.warning = _label(style=_WARNING)
        self.warning.setObjectName("undertrained")
        self.try_button = QPushButton("Try it", self)
        self.try_button.setObjectName("primary")
        self.try_button.clicked.connect(self.owner.try_model)
        self.continue_button = QPushButton("Continue training", self)
        self.continue_button.clicked.connect(self._continue)
        buttons = QHBoxLayout()
        buttons.addWidget(self.try_button)
        buttons.addWidget(self.continue_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.warning)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def initializePage(self) -> None:
        path = self.owner.model_ready_path()
        self.text.setText(f"<b>{self.owner.run_title()}</b> is saved as {path} and is in the Models "
                          f"panel. Press Try it to pick it for generation, then draw a few notes and "
                          f"press Generate.")
        self.warning.setText(self._undertrained(path))
        self.warning.setVisible(bool(self.warning.text()))
        more = self.owner.final_event.get("continue_epochs")
        self.continue_button.setText(f"Continue training (to epoch {more})")
        self.continue_button.setVisible(bool(self.warning.text() and more))

    def _continue(self) -> None:
        """Back to the training page, training on from where the run ended."""
        self.owner.back()
        self.owner.resume_run(longer=True)

    def _undertrained(self, path: str | None) -> str:
        """The model card's warning for an under-trained model (composer.models.readiness);
        a run that ended by early stopping was past learning fast, so only few steps count."""
        if not path:
            return ""
        try:
            meta = read_metadata(path)
        except ComposerError:
            return ""
        reason = str(self.owner.final_event.get("reason") or "")
        return header_warning(meta, stopped_by_patience=reason.startswith("early stop"))
