"""Take the README's screenshots of the real app on a virtual X display.

    xvfb-run -s "-screen 0 1600x1000x24" python packaging/screenshots.py [OUT_DIR]

Writes empty-project.png, primer-with-variations.png, model-picker.png, multitrack-variations.png
and training-wizard.png (default OUT_DIR: resources/screenshots). The primer is drawn through the
editor's own edits; the variations come from the bundled models, as a user would get them; the
wizard trains a small model on 40 JS Fake Chorales in a temporary model folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from composer.core.edits import AddNotes
from composer.core.notes import make_notes
from composer.gui.main_window import MainWindow
from composer.gui.style import apply_dark_style
from composer.gui.undo import push_edit

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
# A two-bar primer in C major: a rising melody over a held chord.
MELODY = [(0, 480, 72), (480, 720, 74), (720, 960, 76), (960, 1440, 79), (1440, 1920, 77),
          (1920, 2400, 76), (2400, 2880, 74), (2880, 3840, 72)]
CHORDS = [(0, 1920, p) for p in (48, 55, 64)] + [(1920, 3840, p) for p in (43, 50, 59)]


def pump(app: QApplication, seconds: float, until=None) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until and until()):
        app.processEvents()
        time.sleep(0.01)


def shoot(app: QApplication, window: MainWindow, path: Path) -> None:
    pump(app, 0.5)
    screen = window.screen()
    screen.grabWindow(0, window.x(), window.y(), window.frameGeometry().width(),
                      window.frameGeometry().height()).save(str(path))
    print("wrote", path)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    apply_dark_style(app)
    settings = QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.setGeometry(0, 0, 1600, 1000)
    window.show()
    pump(app, 30, lambda: window.generation.service.loaded is not None)
    shoot(app, window, out / "empty-project.png")

    track = window.score.tracks[0]
    starts, ends, pitches = zip(*(MELODY + CHORDS))
    notes = make_notes(starts, ends, pitches, 96, ids=track.new_note_ids(len(starts)))
    push_edit(window.undo_stack, window.score, AddNotes(track.id, notes))
    window.model_picker.select_path(str(ROOT / "checkpoints" / "pianoroll_lstm-jsb.safetensors"))
    pump(app, 30, lambda: window.generation_panel.generate_button.isEnabled())
    window.editor.set_playhead(3840)
    window.editor.center_on_pitch(66)
    panel = window.generation_panel
    panel.bars.setValue(2)
    panel.seed.setValue(7)
    panel.generate_button.click()
    pump(app, 60, lambda: panel.candidates.count() > 0)
    shoot(app, window, out / "primer-with-variations.png")

    window.model_picker.list.setCurrentRow(window.model_picker.list.count() - 1)
    pump(app, 30, lambda: window.generation_panel.generate_button.isEnabled())
    shoot(app, window, out / "model-picker.png")

    shoot_multitrack(app, window, out / "multitrack-variations.png")
    shoot_wizard(app, window, out / "training-wizard.png")
    window.undo_stack.setClean()
    window.close()


def shoot_multitrack(app: QApplication, window: MainWindow, path: Path) -> None:
    """A chorale continued in all four voices by the bundled multitrack VAE."""
    from composer.io.midi import read_midi

    song = read_midi(DATASETS / "js_fakes" / "midi" / "30.mid")
    window.undo_stack.setClean()
    window._load(song, None, "chorale 30")
    window.model_picker.select_path(str(ROOT / "checkpoints" / "multitrack_vae-jsfakes.safetensors"))
    pump(app, 30, lambda: window.generation_panel.generate_button.isEnabled())
    window.editor.set_playhead(3 * 4 * song.ppq)
    panel = window.generation_panel
    panel.bars.setValue(2)
    panel.seed.setValue(3)
    panel.generate_button.click()
    pump(app, 60, lambda: panel.candidates.count() > 0)
    shoot(app, window, path)
    window.generation.discard()


def shoot_wizard(app: QApplication, window: MainWindow, path: Path) -> None:
    """The wizard's training page after a short run of a small model (in a temporary folder)."""
    work = Path(tempfile.mkdtemp(prefix="composer-shots-"))
    os.environ["COMPOSER_MODELS"], os.environ["COMPOSER_RUNS"] = str(work / "models"), str(work / "runs")
    songs = work / "My chorales"
    songs.mkdir()
    for midi in sorted((DATASETS / "js_fakes" / "midi").glob("*.mid"))[:40]:
        shutil.copy(midi, songs)
    wizard = window.open_training_wizard()
    wizard.move(window.x() + 350, window.y() + 150)
    wizard.folder_page.folder.setText(str(songs))
    wizard.next()
    model = wizard.model_page
    model.family.setCurrentIndex(model.family.findData("bar_lstm"))
    model.preset.setCurrentIndex(model.preset.findData("tiny"))
    wizard.next()
    pump(app, 120, lambda: wizard.data_page.isComplete())
    wizard.next()
    wizard.settings_page.epochs.setValue(12)
    wizard.next()
    pump(app, 300, lambda: wizard.training_page.isComplete())
    screen = wizard.screen()
    pump(app, 0.5)
    screen.grabWindow(0, wizard.x(), wizard.y(), wizard.frameGeometry().width(),
                      wizard.frameGeometry().height()).save(str(path))
    print("wrote", path)
    wizard.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
