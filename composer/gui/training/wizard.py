"""The training wizard: a folder of the user's MIDI files -> a new model of any family.

The trainer is ``composer train ... --progress json`` in a detached child process
(:mod:`composer.training.runs`): the window stays fluid, a crash of the trainer cannot take the
app down, and the app may close while it trains. The wizard stays alive (hidden) while a run
trains, so the main window can ask about it when it closes and show the model when it is done.

Signals: model_ready(str path) when a run has written its model; try_requested(str path) when
the user presses Try it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWizard

from composer.training.runs import TrainSettings, TrainingRun

from .pages import DATA, FINISH, FOLDER, MODEL, SETTINGS, TRAIN, DataPage, FinishPage, FolderPage, \
    ModelPage, SettingsPage, TrainingPage
from .processes import RunMonitor


class TrainingWizard(QWizard):
    model_ready = Signal(str)
    try_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train a Model")
        self.setObjectName("trainingWizard")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.resize(900, 680)
        self.run: TrainingRun | None = None
        self.monitor: RunMonitor | None = None
        self.final_event: dict = {}
        self.folder_page, self.model_page = FolderPage(self), ModelPage(self)
        self.data_page, self.settings_page = DataPage(self), SettingsPage(self)
        self.training_page, self.finish_page = TrainingPage(self), FinishPage(self)
        for page_id, page in ((FOLDER, self.folder_page), (MODEL, self.model_page), (DATA, self.data_page),
                              (SETTINGS, self.settings_page), (TRAIN, self.training_page),
                              (FINISH, self.finish_page)):
            self.setPage(page_id, page)
        self.setStartId(FOLDER)

    # ----------------------------------------------------------------- settings
    def data_settings(self) -> TrainSettings:
        """What the folder and model pages chose (the output comes with the settings page)."""
        return TrainSettings(family=self.model_page.family.currentData(),
                             preset=self.model_page.preset.currentData(),
                             data=str(Path(self.folder_page.folder.text().strip()).expanduser()),
                             recursive=self.folder_page.recursive.isChecked(), out="",
                             overrides=self.model_page.overrides())

    def run_title(self) -> str:
        if self.run is None:
            return ""
        settings = self.run.settings
        return settings.name or Path(settings.out).stem

    # ----------------------------------------------------------------- the run
    def start_run(self, settings: TrainSettings) -> None:
        """Create a run for ``settings`` and start training it."""
        self._attach(TrainingRun.create(settings))
        self.monitor.start()

    def continue_run(self, run: TrainingRun) -> None:
        """Go on with an earlier run: follow it while it trains, else resume it."""
        self._attach(run)
        if run.is_alive():
            self.monitor.follow()
        else:
            self.resume_run()
        self.next()

    def resume_run(self, longer: bool = False) -> None:
        """Start the run's trainer again, from its last checkpoint when it has one; ``longer``:
        a run that ended probably under-trained goes on to the epoch its trainer offered."""
        if self.monitor is None or self.monitor.is_running():
            return
        more = self.final_event.get("continue_epochs") if longer else None
        if more:
            self.run.update_settings(epochs=int(more))
        self.training_page.reset()
        self.monitor.replay()  # what it did before, so the curves go on from there
        resume = self.run.status() != "new" and Path(self.run.settings.out).exists()
        self.monitor.start(resume=resume)

    def stop_run(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()

    def is_training(self) -> bool:
        return self.monitor is not None and self.monitor.is_running()

    def model_ready_path(self) -> str | None:
        """The run's model file, once written."""
        if self.run is None:
            return None
        out = Path(self.run.settings.out)
        return str(out) if out.exists() else None

    def _attach(self, run: TrainingRun) -> None:
        if self.monitor is not None:
            self.monitor.timer.stop()
            self.monitor.deleteLater()
        self.run = run
        self.final_event = {}
        self.monitor = RunMonitor(run, self)
        self.monitor.event.connect(self._on_event)
        self.monitor.ended.connect(self._on_ended)
        self.training_page.curves.set_family(run.settings.family)
        self.training_page.reset()

    def _on_event(self, event: dict) -> None:
        if event.get("event") in ("done", "stopped", "error"):
            self.final_event = event
        self.training_page.add_event(event)

    def _on_ended(self, status: str) -> None:
        path = self.model_ready_path()
        event = self.final_event
        if status == "done":
            reason = event.get("reason") or ""
            how = "Finished all epochs" if reason in ("", "finished all epochs") else f"Finished early ({reason})"
            text = f"{how}. The best model, from epoch {event.get('best_epoch')}, is saved."
            if event.get("undertrained"):
                text += f" {event['undertrained']}"
        elif status == "stopped":
            text = f"Stopped and saved (best epoch so far: {event.get('best_epoch')}). Continue " \
                   f"training goes on from where it stopped, now or another day."
        else:
            text = self.run.failure()
            text += " The last saved model is kept." if path else " Nothing was saved."
        self.training_page.ended(status, text, event.get("continue_epochs") if status == "done" else None)
        if path and status in ("done", "stopped", "error", "crashed"):
            self.model_ready.emit(path)

    def try_model(self) -> None:
        path = self.model_ready_path()
        if path:
            self.try_requested.emit(path)
            self.accept()
