"""The tracks panel edits tracks through undoable core edits, and follows the score."""

from PySide6.QtGui import QUndoStack

from composer.core import Score, Track, make_notes
from composer.gui.tracks_panel import TracksPanel


def _panel(qtbot):
    score = Score([Track("Lead", 73, notes=make_notes([0], [480], [72])), Track("Kit", 0, True)])
    stack = QUndoStack()
    panel = TracksPanel()
    qtbot.addWidget(panel)
    panel.set_score(score, stack)
    return panel, score, stack


def _row(panel, index):
    return panel.list.itemWidget(panel.list.item(index))


def test_rows_show_each_track(qtbot):
    panel, score, _ = _panel(qtbot)
    assert panel.list.count() == 2
    assert _row(panel, 0).name.text() == "Lead"
    assert "Flute" in _row(panel, 0).instrument.currentText()
    assert _row(panel, 1).instrument.currentText() == "Drum kit"
    assert panel.active_track_id() == score.tracks[0].id


def test_instrument_mute_solo_and_name_are_undoable(qtbot):
    panel, score, stack = _panel(qtbot)
    before = score.copy()
    row = _row(panel, 0)
    row.changed.emit(score.tracks[0].id, {"program": 33})
    _row(panel, 0).mute.setChecked(True)
    _row(panel, 0).name.setText("Bass")
    _row(panel, 0).name.editingFinished.emit()
    lead = score.tracks[0]
    assert (lead.program, lead.muted, lead.name) == (33, True, "Bass")
    while stack.canUndo():
        stack.undo()
    assert score.same_content(before) and not score.tracks[0].muted


def test_add_remove_and_reorder(qtbot):
    panel, score, stack = _panel(qtbot)
    with qtbot.waitSignal(panel.active_track_changed):
        panel.add_track()
    assert [t.name for t in score.tracks] == ["Lead", "Kit", "Track 3"]
    assert panel.active_track_id() == score.tracks[2].id
    panel.move_track(-1)
    assert [t.name for t in score.tracks] == ["Lead", "Track 3", "Kit"]
    panel.remove_track()
    assert [t.name for t in score.tracks] == ["Lead", "Kit"]
    stack.undo()
    stack.undo()
    stack.undo()
    assert [t.name for t in score.tracks] == ["Lead", "Kit"] and panel.list.count() == 2
