"""The note inspector: the selected notes' pitch, velocity, start and length as editable numbers.

It follows the editor's selection and the Score's changes (through the piano-roll scene, so an
undo refreshes it), and every field edit is one core edit pushed onto the editor's undo stack:
one undo step per edit.

With several notes selected, a field shows their common value or "mixed". What a new value
does follows Logic and Reaper:

- **Pitch** and **Start** place the notes: a new value moves the *first* note (the earliest, the
  lowest of a chord) there and every other selected note by the same interval, so a chord or a
  phrase keeps its shape. When the values are mixed the field shows the first note's value.
  ``+N`` / ``-N`` in the pitch field transposes by N semitones.
- **Velocity** and **Length** are set to the new value on every selected note (``+N`` / ``-N``
  changes each velocity by N).

Values the Score cannot take are refused or clamped, with a line saying what happened: a pitch
outside 0-127 or a move that would push a note out of it, a start before bar 1 and a length of
zero are refused; a velocity outside 1-127 is clamped to it.
"""

from __future__ import annotations

import re
from functools import partial

import numpy as np
from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QWidget

from composer.core.edits import Edit, MoveNotes, ResizeNotes, SetVelocity
from composer.core.score import Track
from composer.gui.pianoroll import PianoRollEditor
from composer.gui.pianoroll.note_text import (
    LENGTH_HELP,
    POSITION_HELP,
    format_beats,
    format_position,
    parse_beats,
    parse_pitch,
    parse_position,
    row_name,
)

FIELDS = ("pitch", "velocity", "start", "length")
_OFFSET = re.compile(r"^[+-]\s*\d+$")
_TIPS = {
    "pitch": "A number 0-127, a note name (C4, F#3) or, on drums, a drum name.\n"
             "Several notes: the first moves to the new pitch and the others by the same "
             "interval.\n+N / -N transposes by N semitones.",
    "velocity": "1-127; several notes all get the new velocity.\n"
                "+N / -N changes each note's velocity by N.",
    "start": f"Where the note starts: {POSITION_HELP}.\n"
             "Several notes: the first moves there and the others keep their distance to it.",
    "length": f"In {LENGTH_HELP}; several notes all get the new length.",
}
_MESSAGE_STYLE = "color: #f0b35a;"
_HINT_STYLE = "color: #868b96;"


class NoteInspector(QWidget):
    """Numbers for the notes selected in ``editor``; editing one edits the notes.

    Attributes ``pitch``, ``velocity``, ``start`` and ``length`` are the QLineEdit fields,
    ``pitch_name`` the label beside the pitch (note or drum name), ``summary`` says how many notes
    are selected and ``message`` explains a refused or clamped value.
    """

    def __init__(self, editor: PianoRollEditor, parent: QWidget | None = None):
        super().__init__(parent)
        self._editor = editor
        self.summary = QLabel(self)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(_MESSAGE_STYLE)
        self.fields: dict[str, QLineEdit] = {}
        self.hints: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.setVerticalSpacing(4)
        grid.addWidget(self.summary, 0, 0, 1, 3)
        for row, name in enumerate(FIELDS, start=1):
            field = QLineEdit(self)
            field.setToolTip(_TIPS[name])
            field.setMaximumWidth(84)
            field.editingFinished.connect(partial(self._commit, name))
            hint = QLabel(self)
            hint.setStyleSheet(_HINT_STYLE)
            label = QLabel(name.capitalize(), self)
            label.setBuddy(field)
            grid.addWidget(label, row, 0)
            grid.addWidget(field, row, 1)
            grid.addWidget(hint, row, 2)
            self.fields[name], self.hints[name] = field, hint
        self.pitch, self.velocity, self.start, self.length = (self.fields[n] for n in FIELDS)
        self.pitch_name = self.hints["pitch"]
        grid.addWidget(self.message, len(FIELDS) + 1, 0, 1, 3)
        grid.setColumnStretch(2, 1)
        grid.setRowStretch(len(FIELDS) + 2, 1)

        roll = editor.view.roll
        editor.selection_changed.connect(self._on_selection_changed)
        roll.notes_updated.connect(self.refresh)  # edits, undo and redo, track changes
        roll.active_track_changed.connect(self._on_selection_changed)
        roll.geometry_changed.connect(self.refresh)  # time signatures move bars and beats
        self.refresh()

    # ----------------------------------------------------------------- showing
    def _selected(self) -> tuple[Track, np.ndarray] | None:
        """The active track and its selected notes (in id order), or None."""
        track = self._editor.view.active_track
        ids = self._editor.selected_note_ids()
        if track is None or not len(ids):
            return None
        return track, track.get(ids)

    def _on_selection_changed(self, *_) -> None:
        self.message.clear()
        self.refresh()

    def refresh(self, *_) -> None:
        """Show the selected notes' values (a field being typed in is left alone)."""
        chosen = self._selected()
        for field in self.fields.values():
            field.setEnabled(chosen is not None)
        if chosen is None:
            self.summary.setText("No note selected")
            for name in FIELDS:
                self._show(name, "", "", "")
            return
        track, notes = chosen
        first = _first(notes)
        score = self._editor.score
        count = len(notes)
        self.summary.setText("1 note selected" if count == 1 else f"{count} notes selected")
        pitch, start = int(first["pitch"]), int(first["start"])
        if _common(notes["pitch"]):
            self._show("pitch", str(pitch), row_name(pitch, bool(track.is_drum)))
        else:
            self._show("pitch", str(pitch), "mixed (first)")
        self._show("start", format_position(score, start),
                   "" if _common(notes["start"]) else "mixed (first)")
        velocity = str(int(first["velocity"])) if _common(notes["velocity"]) else ""
        self._show("velocity", velocity, "", "mixed")
        lengths = notes["end"] - notes["start"]
        length = format_beats(int(lengths[0]), score.beat_ticks_at(start)) if _common(lengths) else ""
        self._show("length", length, "beats", "mixed")

    def _show(self, name: str, text: str, hint: str, placeholder: str = "") -> None:
        field = self.fields[name]
        self.hints[name].setText(hint)
        if field.hasFocus() and field.isModified():
            return  # the user is typing here
        field.setText(text)
        field.setPlaceholderText(placeholder)

    # ----------------------------------------------------------------- editing
    def _commit(self, name: str) -> None:
        """Turn what was typed in field ``name`` into one undoable edit (or a message)."""
        field = self.fields[name]
        if not field.isModified():
            return  # editingFinished comes on Return and again on focus out
        field.setModified(False)
        text = field.text().strip()
        chosen = self._selected()
        if text and chosen is not None:
            builder = {"pitch": self._pitch_edit, "velocity": self._velocity_edit,
                       "start": self._start_edit, "length": self._length_edit}[name]
            try:
                edit, note = builder(text, *chosen)
            except ValueError as exc:
                edit, note = None, f"{name.capitalize()} not changed: {exc}."
            if edit is not None and not self._editor.view.push(edit):
                note = f"{name.capitalize()} not changed: the score refused it."
            self.message.setText(note)
        self.refresh()

    def _pitch_edit(self, text: str, track: Track, notes: np.ndarray) -> tuple[Edit | None, str]:
        shift = _offset(text) if _OFFSET.match(text) else parse_pitch(text) - int(_first(notes)["pitch"])
        if shift == 0:
            return None, ""
        low, high = int(notes["pitch"].min()) + shift, int(notes["pitch"].max()) + shift
        if low < 0 or high > 127:
            room = 127 - int(notes["pitch"].max()) if shift > 0 else int(notes["pitch"].min())
            way = "up" if shift > 0 else "down"
            raise ValueError(f"a note would leave MIDI's 0-127; these notes can move at most "
                             f"{room} semitones {way}")
        return MoveNotes(track.id, notes["id"], d_pitch=shift, text="Set Pitch"), ""

    def _velocity_edit(self, text: str, track: Track, notes: np.ndarray) -> tuple[Edit | None, str]:
        if _OFFSET.match(text):
            wanted = notes["velocity"].astype(np.int64) + _offset(text)
        elif re.fullmatch(r"\d+", text):
            wanted = np.full(len(notes), int(text), dtype=np.int64)
        else:
            raise ValueError(f"'{text}' is not a velocity: type 1-127, or +N / -N to change "
                             "each note by N")
        velocities = np.clip(wanted, 1, 127)
        note = ""
        if (velocities != wanted).any():
            note = f"Velocity is 1-127: {text} was clamped to {_span(velocities)}."
        if (velocities == notes["velocity"]).all():
            return None, note
        return SetVelocity(track.id, notes["id"], velocity=velocities, text="Set Velocity"), note

    def _start_edit(self, text: str, track: Track, notes: np.ndarray) -> tuple[Edit | None, str]:
        shift = parse_position(self._editor.score, text) - int(_first(notes)["start"])
        if shift == 0:
            return None, ""
        return MoveNotes(track.id, notes["id"], d_ticks=shift, text="Set Start"), ""

    def _length_edit(self, text: str, track: Track, notes: np.ndarray) -> tuple[Edit | None, str]:
        beat = self._editor.score.beat_ticks_at(int(_first(notes)["start"]))
        ends = notes["start"] + parse_beats(text, beat)
        if (ends == notes["end"]).all():
            return None, ""
        return ResizeNotes(track.id, notes["id"], new_ends=ends, text="Set Length"), ""


def _first(notes: np.ndarray):
    """The earliest note (the lowest of notes starting together): the anchor of relative edits."""
    return notes[np.lexsort((notes["pitch"], notes["start"]))[0]]


def _common(values: np.ndarray) -> bool:
    return bool((values == values[0]).all())


def _offset(text: str) -> int:
    return int(text.replace(" ", ""))


def _span(values: np.ndarray) -> str:
    low, high = int(values.min()), int(values.max())
    return str(low) if low == high else f"{low}-{high}"
