"""The tracks panel: name, General MIDI instrument (grouped by family), drums, mute, solo, colour;
add, remove and reorder. Every change is an undoable core edit on the app's undo stack."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer.core.edits import AddTrack, MoveTrack, RemoveTrack, SetTrackProperties
from composer.core.score import Score, Track
from composer.gui.drag_out import MidiDragHandle
from composer.gui.pianoroll import theme
from composer.gui.undo import push_edit
from composer.io.midi_parts import track_score
from composer.representations.instruments import GM_FAMILIES, GM_PROGRAM_NAMES

DRUMS_LABEL = "Drum kit"


def _instrument_model() -> QStandardItemModel:
    """GM programs under non-selectable family headers, then the drum kit."""
    model = QStandardItemModel()
    for family_index, family in enumerate(GM_FAMILIES):
        header = QStandardItem(family)
        header.setFlags(Qt.ItemFlag.NoItemFlags)
        font = header.font()
        font.setBold(True)
        header.setFont(font)
        model.appendRow(header)
        for program in range(family_index * 8, family_index * 8 + 8):
            item = QStandardItem(f"  {GM_PROGRAM_NAMES[program]}")
            item.setData(program, Qt.ItemDataRole.UserRole)
            model.appendRow(item)
    drums = QStandardItem(DRUMS_LABEL)
    drums.setData(-1, Qt.ItemDataRole.UserRole)
    model.appendRow(drums)
    return model


class TrackRow(QWidget):
    """One track's controls; reports changes as property dicts."""

    changed = Signal(int, dict)

    def __init__(self, track: Track, color: str, parent=None):
        super().__init__(parent)
        self.track_id = track.id
        self.color_button = QToolButton(self)
        self.color_button.setFixedWidth(18)
        self._color = color
        self._paint_color()
        self.color_button.clicked.connect(self._pick_color)
        self.name = QLineEdit(track.name, self)
        self.name.setPlaceholderText("(unnamed)")
        self.name.editingFinished.connect(
            lambda: self.name.text() != track.name and self.changed.emit(self.track_id, {"name": self.name.text()}))
        self.instrument = QComboBox(self)
        self.instrument.setModel(_instrument_model())
        self.instrument.setCurrentIndex(self._index_for(track))
        self.instrument.activated.connect(self._instrument_chosen)
        self.mute = QCheckBox("M", self)
        self.mute.setToolTip("Mute")
        self.mute.setChecked(track.muted)
        self.mute.toggled.connect(lambda on: self.changed.emit(self.track_id, {"muted": on}))
        self.solo = QCheckBox("S", self)
        self.solo.setToolTip("Solo")
        self.solo.setChecked(track.solo)
        self.solo.toggled.connect(lambda on: self.changed.emit(self.track_id, {"solo": on}))
        # The panel gives the handle what to drag (this track as a .mid file).
        self.drag_handle = MidiDragHandle("⠿", "Drag this track into a DAW, a file manager or BandLab in "
                                          "a web browser (a .mid file)", lambda: None, self)
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 2)
        top.addWidget(self.color_button)
        top.addWidget(self.name, 1)
        top.addWidget(self.mute)
        top.addWidget(self.solo)
        top.addWidget(self.drag_handle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.instrument)

    def _index_for(self, track: Track) -> int:
        model = self.instrument.model()
        wanted = -1 if track.is_drum else track.program
        for row in range(model.rowCount()):
            if model.item(row).data(Qt.ItemDataRole.UserRole) == wanted:
                return row
        return 1

    def _instrument_chosen(self, row: int) -> None:
        value = self.instrument.model().item(row).data(Qt.ItemDataRole.UserRole)
        if value == -1:
            self.changed.emit(self.track_id, {"is_drum": True, "program": 0})
        else:
            self.changed.emit(self.track_id, {"is_drum": False, "program": int(value)})

    def _paint_color(self) -> None:
        self.color_button.setStyleSheet(f"background: {self._color}; border: none;")

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(self._color), self, "Track colour")
        if color.isValid():
            self.changed.emit(self.track_id, {"color": color.name()})


class TracksPanel(QWidget):
    """Lists the score's tracks; the current row is the active (editable) track."""

    active_track_changed = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget(self)
        self.list.currentRowChanged.connect(self._row_changed)
        buttons = QHBoxLayout()
        for text, tip, slot in (("+", "Add track", self.add_track), ("−", "Remove track", self.remove_track),
                                ("▲", "Move up", lambda: self.move_track(-1)),
                                ("▼", "Move down", lambda: self.move_track(1))):
            button = QPushButton(text, self)
            button.setToolTip(tip)
            button.setFixedWidth(32)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        # The whole song drags out from here (the window gives the handle the song).
        self.song_drag = MidiDragHandle("⠿ Drag song", "Drag the whole song into a DAW, a file manager or "
                                        "BandLab in a web browser (a .mid file; File > Export MIDI saves one)",
                                        lambda: None, self)
        self.song_drag.setObjectName("song_drag")
        self.song_drag.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        buttons.addWidget(self.song_drag)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.score: Score | None = None
        self.undo_stack = None
        #: The song's name for dragged files ("<song> - <track>.mid"); the window sets it.
        self.song_name: Callable[[], str] = lambda: "Untitled"

    def set_score(self, score: Score, undo_stack) -> None:
        if self.score is not None:
            self.score.events.tracks_changed.disconnect(self.refresh)
        self.score, self.undo_stack = score, undo_stack
        score.events.tracks_changed.connect(self.refresh)
        self.refresh()

    def active_track_id(self) -> int | None:
        row = self.list.currentRow()
        return self.score.tracks[row].id if self.score and 0 <= row < len(self.score.tracks) else None

    def refresh(self) -> None:
        """Rebuild the rows from the score, keeping the active track when it still exists."""
        keep = self.active_track_id()
        self.list.blockSignals(True)
        self.list.clear()
        for index, track in enumerate(self.score.tracks):
            color = track.color or theme.palette_color(index)
            row = TrackRow(track, color, self.list)
            row.changed.connect(self._apply)
            row.drag_handle.provider = lambda track_id=track.id: self.drag_item(track_id)
            item = QListWidgetItem(self.list)
            item.setSizeHint(row.sizeHint())
            self.list.setItemWidget(item, row)
        ids = [t.id for t in self.score.tracks]
        self.list.blockSignals(False)
        if ids:
            self.list.setCurrentRow(ids.index(keep) if keep in ids else 0)

    def drag_item(self, track_id: int):
        """Track ``track_id`` alone, with the song's tempo and meter, as a drag carries it."""
        if self.score is None or track_id not in {t.id for t in self.score.tracks}:
            return None
        index = self.score.track_index(track_id)
        name = self.score.tracks[index].name or f"Track {index + 1}"
        return track_score(self.score, track_id), self.song_name(), name

    def _apply(self, track_id: int, values: dict) -> None:
        push_edit(self.undo_stack, self.score, SetTrackProperties(track_id, values))

    def _row_changed(self, row: int) -> None:
        track_id = self.active_track_id()
        if track_id is not None:
            self.active_track_changed.emit(track_id)

    def add_track(self) -> None:
        track = Track(f"Track {len(self.score.tracks) + 1}", 0)
        push_edit(self.undo_stack, self.score, AddTrack(track))
        self.list.setCurrentRow(len(self.score.tracks) - 1)

    def remove_track(self) -> None:
        track_id = self.active_track_id()
        if track_id is not None and len(self.score.tracks) > 1:
            push_edit(self.undo_stack, self.score, RemoveTrack(track_id))

    def move_track(self, step: int) -> None:
        track_id = self.active_track_id()
        if track_id is None:
            return
        index = self.score.track_index(track_id)
        target = index + step
        if 0 <= target < len(self.score.tracks):
            push_edit(self.undo_stack, self.score, MoveTrack(track_id, target))
            self.list.setCurrentRow(target)
