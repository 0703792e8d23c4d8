"""The main window's file handling: open MIDI and projects, save, export, recent files, drops."""

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent

from composer.core.edits import AddNotes
from composer.core.notes import make_notes
from composer.gui.main_window import MainWindow
from composer.gui.undo import push_edit
from composer.io.midi import read_midi


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    return win


def test_open_midi_edit_save_project_and_reopen(window, fixtures, tmp_path):
    assert window.open_path(str(fixtures / "song.mid"))
    assert window.windowTitle().startswith("song.mid")
    track = window.score.tracks[0]
    push_edit(window.undo_stack, window.score, AddNotes(track.id, make_notes([0], [240], [90], ids=track.new_note_ids(1))))
    assert "*" in window.windowTitle()
    project = tmp_path / "song.composer.json"
    assert window.save_to(project)
    assert "*" not in window.windowTitle()
    saved = window.score.copy()
    other = MainWindow(window.settings)
    assert other.open_path(str(project))
    assert other.score.same_content(saved)
    assert str(project) in window.settings.value("recent", [], type=list)
    other.close()


def test_export_writes_a_multitrack_midi_that_reads_back(window, fixtures, tmp_path):
    window.open_path(str(fixtures / "song.mid"))
    out = tmp_path / "export.mid"
    assert window.export_midi(out)
    back = read_midi(out)
    assert [(t.name, t.program, t.is_drum, len(t)) for t in back.tracks] == \
        [(t.name, t.program, t.is_drum, len(t)) for t in window.score.tracks]


def test_bad_file_shows_a_message_and_keeps_the_score(window, fixtures, monkeypatch):
    shown = []
    monkeypatch.setattr("composer.gui.main_window.QMessageBox.warning", lambda *a: shown.append(a[2]))
    window.open_path(str(fixtures / "song.mid"))
    before = window.score
    assert not window.open_path(str(fixtures / "type2.mid"))
    assert shown and "type 2" in shown[0]
    assert window.score is before


def test_dropping_a_midi_file_opens_it(window, fixtures):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(fixtures / "type0.mid"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.score.note_count == 3
    assert np.isin(window.score.tracks[0].notes["pitch"], [67, 69, 48]).all()
