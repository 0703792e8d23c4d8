"""The piano-roll editor: keyboard, ruler, note view and velocity lane sharing one time axis."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollBar, QWidget

from composer.core.score import Score

from . import theme
from .keyboard import KeyboardWidget
from .ruler import RulerWidget
from .velocity import VelocityLane
from .view import PianoRollView


def _mirror(inner: QScrollBar, outer: QScrollBar) -> None:
    """Make ``outer`` a visible twin of the view's hidden scroll bar ``inner``."""
    def copy_range(lo: int, hi: int) -> None:
        outer.setRange(lo, hi)
        outer.setPageStep(inner.pageStep())
        outer.setSingleStep(inner.singleStep())

    inner.rangeChanged.connect(copy_range)
    inner.valueChanged.connect(outer.setValue)
    outer.valueChanged.connect(inner.setValue)
    copy_range(inner.minimum(), inner.maximum())


class PianoRollEditor(QWidget):
    """A reusable piano-roll editor for one Score; the app owns the Score and the undo stack.

    Layout (a grid, so every part shares the view's horizontal or vertical axis)::

        [        ] [ ruler          ] [ ]
        [keyboard] [ note view      ] [vertical scroll bar]
        [velocity] [ velocity lane  ] [ ]
        [        ] [ horizontal scroll bar ]

    Signals
    -------
    selection_changed()
    note_preview_requested(int pitch, int program, bool is_drum)
    key_pressed(int pitch), key_released(int pitch)
    playhead_requested(int tick), loop_requested(int start, int end)
        Also applied to the editor's own display, so it works on its own.
    """

    selection_changed = Signal()
    note_preview_requested = Signal(int, int, bool)
    key_pressed = Signal(int)
    key_released = Signal(int)
    playhead_requested = Signal(int)
    loop_requested = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.view = PianoRollView(self)
        self.keyboard = KeyboardWidget(self.view, self)
        self.ruler = RulerWidget(self.view, self)
        self.velocity = VelocityLane(self.view, self)
        self.hscroll = QScrollBar(Qt.Orientation.Horizontal, self)
        self.vscroll = QScrollBar(Qt.Orientation.Vertical, self)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        _mirror(self.view.horizontalScrollBar(), self.hscroll)
        _mirror(self.view.verticalScrollBar(), self.vscroll)

        label = QLabel("Velocity", self)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        label.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 10px; padding: 4px;"
                            f"background: {theme.PANEL.name()};"
                            f"border-top: 1px solid {theme.PANEL_BORDER.name()};")
        # The corner names the track being edited, in its colour.
        self.track_label = QLabel(self)
        self.track_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.track_label.setFixedHeight(self.ruler.height())
        corner = self.track_label

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        grid.addWidget(corner, 0, 0)
        grid.addWidget(self.ruler, 0, 1)
        grid.addWidget(self.keyboard, 1, 0)
        grid.addWidget(self.view, 1, 1)
        grid.addWidget(self.vscroll, 1, 2)
        grid.addWidget(label, 2, 0)
        grid.addWidget(self.velocity, 2, 1)
        grid.addWidget(self.hscroll, 3, 1)
        for row, column in ((0, 2), (2, 2), (3, 0), (3, 2)):  # fill the empty cells
            filler = QWidget(self)
            filler.setStyleSheet(f"background: {theme.PANEL.name()};")
            grid.addWidget(filler, row, column)
        grid.setColumnMinimumWidth(0, 64)
        grid.setRowStretch(1, 1)
        grid.setColumnStretch(1, 1)
        self.velocity.setFixedHeight(84)

        self.view.selection_changed.connect(self.selection_changed)
        self.view.note_preview_requested.connect(self.note_preview_requested)
        self.keyboard.key_pressed.connect(self.key_pressed)
        self.keyboard.key_released.connect(self.key_released)
        self.ruler.playhead_requested.connect(self._on_playhead_requested)
        self.ruler.loop_requested.connect(self._on_loop_requested)
        self.view.roll.active_track_changed.connect(self._update_track_label)
        self.view.roll.notes_updated.connect(self._update_track_label)
        self._update_track_label()

    def _update_track_label(self, *_) -> None:
        track = self.view.active_track
        color = self.view.roll.track_color(track.id).name() if track else theme.TEXT_DIM.name()
        name = (track.name or f"Track {track.id}") if track else ""
        self.track_label.setText(name)
        self.track_label.setToolTip(f"Editing {name}" if track else "")
        self.track_label.setStyleSheet(
            f"color: {color}; background: {theme.PANEL.name()}; font-size: 11px; font-weight: 600;"
            f"padding-left: 6px; border-bottom: 1px solid {theme.PANEL_BORDER.name()};"
            f"border-left: 3px solid {color};")

    # ----------------------------------------------------------------- document
    @property
    def score(self) -> Score | None:
        return self.view.score

    @property
    def undo_stack(self) -> QUndoStack:
        return self.view.undo_stack

    def set_score(self, score: Score | None, undo_stack: QUndoStack | None = None) -> None:
        """Edit ``score``; edits go onto ``undo_stack`` (the app's; a private one if None)."""
        self.view.set_score(score, undo_stack)
        self.scroll_to_tick(0)

    def set_active_track(self, track_id: int | None) -> None:
        """Make a track editable; the others stay visible, dimmed and not selectable.

        When none of the track's notes is in view (drums far below a melody), the rows scroll
        to the middle of its notes.
        """
        self.view.set_active_track(track_id)
        track = self.view.active_track
        if track is not None and len(track):
            pitches = track.notes["pitch"]
            top = self.view.viewport_y_to_pitch(0)
            bottom = self.view.viewport_y_to_pitch(self.view.viewport().height() - 1)
            if not ((pitches >= bottom) & (pitches <= top)).any():
                self.view.center_on_pitch(int(np.median(pitches)))

    @property
    def active_track_id(self) -> int | None:
        return self.view.roll.active_track_id

    # ----------------------------------------------------------------- tools
    def set_tool(self, name: str) -> None:
        """"draw", "select" or "erase"."""
        self.view.set_tool(name)

    def set_snap(self, name: str) -> None:
        """"1/1" ... "1/32", "1/8T", "1/16T" or "off"."""
        self.view.set_snap(name)
        self.ruler.update()

    def set_note_length(self, value: int | str | None) -> None:
        """Length of drawn notes in ticks, or a snap name such as "1/8" (None: the grid step)."""
        self.view.set_note_length(value)

    # ----------------------------------------------------------------- display
    def set_candidates(self, track_id: int, notes: np.ndarray | None) -> None:
        """Show generated, not yet accepted notes for a track (None clears them)."""
        self.view.roll.set_candidates(track_id, notes)

    def set_playhead(self, tick: int | None) -> None:
        self.view.roll.set_playhead(tick)

    def set_loop(self, start: int | None, end: int | None) -> None:
        self.view.roll.set_loop(start, end)

    def _on_playhead_requested(self, tick: int) -> None:
        self.set_playhead(tick)
        self.playhead_requested.emit(tick)

    def _on_loop_requested(self, start: int, end: int) -> None:
        self.set_loop(start, end)
        self.loop_requested.emit(start, end)

    # ----------------------------------------------------------------- selection
    def selected_note_ids(self) -> np.ndarray:
        """Ids of the selected notes of the active track, sorted, shape (n,)."""
        return self.view.selected_note_ids()

    def select_notes(self, ids, add: bool = False) -> None:
        self.view.select_notes(ids, add)

    def select_all(self) -> None:
        self.view.select_all()

    def delete_selection(self) -> bool:
        return self.view.delete_selection()

    def copy_selection(self) -> bool:
        return self.view.copy_selection()

    def cut_selection(self) -> bool:
        return self.view.cut_selection()

    def paste(self, at_tick: int | None = None) -> bool:
        return self.view.paste(at_tick)

    def duplicate_selection(self) -> bool:
        return self.view.duplicate_selection()

    def transpose_selection(self, semitones: int) -> bool:
        return self.view.transpose_selection(semitones)

    def quantize_selection(self, grid: int | None = None, strength: float = 1.0) -> bool:
        return self.view.quantize_selection(grid, strength)

    # ----------------------------------------------------------------- zoom and scroll
    def zoom_time(self, factor: float) -> None:
        self.view.zoom_time(factor)

    def zoom_pitch(self, factor: float) -> None:
        self.view.zoom_pitch(factor)

    def scroll_to_tick(self, tick: int) -> None:
        self.view.scroll_to_tick(tick)

    def center_on_pitch(self, pitch: int) -> None:
        self.view.center_on_pitch(pitch)
