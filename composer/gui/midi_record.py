"""Record a primer from a MIDI keyboard: port picker, Record toggle, status line.

The control records; it does not edit. While recording it shows the notes live through
``candidates_changed`` and, when recording stops, emits ``recorded(notes)``; the owner adds
those to the active track as one undoable ``AddNotes`` edit. Messages from MidiInput's reader
thread reach the GUI thread through a queued signal, so the recorder is only ever touched here.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QVBoxLayout, QWidget,
)

from composer.core.errors import ComposerError
from composer.core.notes import empty_notes
from composer.core.score import Score
from composer.gui.pianoroll import theme
from composer.io.midi_input import InputPorts, MidiInput, NoteRecorder, list_input_ports

RECORD_RED = "#e5484d"
#: How often held notes grow on screen and the position is reported while recording.
LIVE_INTERVAL_MS = 66


class MidiRecordControl(QWidget):
    """Port combo box with a refresh button, a Record toggle and a status label.

    With no input port the combo box and Record are disabled and the status says why
    (``InputPorts.reason``); refresh stays enabled. :meth:`start_recording` still works without a
    port, recording only what :meth:`feed` is given (the on-screen keyboard, tests).

    Signals
    -------
    recorded(np.ndarray)
        On stop, when anything was recorded: ``NOTE_DTYPE`` array, shape (n,), n >= 1, ticks
        of the score set with :meth:`set_score`, ids ``-1`` (see ``NoteRecorder``).
    candidates_changed(object)
        While recording: the notes so far, shape (n,), held notes drawn up to now. ``None`` when
        recording ends, to clear the display.
    position_changed(int)
        While recording, about 15 times a second: the tick "now" falls on (for the playhead).
    recording_changed(bool)

    ``list_ports`` and ``open_input`` default to :func:`list_input_ports` and
    :class:`MidiInput`; tests pass stand-ins. ``clock`` times the recording and is handed to
    ``open_input``, so message stamps and the start time share one clock.
    """

    recorded = Signal(object)
    candidates_changed = Signal(object)
    position_changed = Signal(int)
    recording_changed = Signal(bool)
    # Carries (arrival time, message bytes) from MidiInput's reader thread; connected queued.
    _message_arrived = Signal(float, object)
    _ports_found = Signal(object)

    def __init__(self, parent: QWidget | None = None, *,
                 list_ports: Callable[[], InputPorts] = list_input_ports,
                 open_input: Callable[..., MidiInput] = MidiInput,
                 clock: Callable[[], float] = time.perf_counter):
        super().__init__(parent)
        self._list_ports = list_ports
        self._open_input = open_input
        self._clock = clock
        self._score: Score | None = None
        self._start_tick: int | Callable[[], int] = 0
        self._recorder: NoteRecorder | None = None
        self._input: MidiInput | None = None
        self._t0 = 0.0
        self.ports = InputPorts()

        self.port_combo = QComboBox(self)
        self.port_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.port_combo.setMinimumContentsLength(12)
        self.port_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.port_combo.setToolTip("MIDI input to record from")
        self.refresh_button = QToolButton(self)
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Look for MIDI inputs again")
        self.record_button = QPushButton("● Record", self)
        self.record_button.setCheckable(True)
        self.record_button.setToolTip("Record from the MIDI input into the active track, "
                                      "starting at the playhead")
        self.record_button.setStyleSheet(
            f"QPushButton:checked {{ background: {RECORD_RED}; color: white; }}")
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 11px;")

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.port_combo, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.record_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.status)

        self.refresh_button.clicked.connect(self.refresh)
        self.record_button.toggled.connect(self._on_record_toggled)
        self._message_arrived.connect(self._on_message, Qt.ConnectionType.QueuedConnection)
        self._live_timer = QTimer(self)
        self._live_timer.setInterval(LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self._on_live_timer)
        # The first look takes a third of a second here (loading rtmidi, ALSA and JACK failing):
        # off the GUI thread, so the window does not wait for it at start-up.
        self.port_combo.setEnabled(False)
        self.record_button.setEnabled(False)
        self._set_status("Looking for MIDI inputs...")
        self._ports_found.connect(self._show_ports)
        threading.Thread(target=self._list_in_background, name="composer-midi-ports", daemon=True).start()

    # ----------------------------------------------------------------- setup
    def set_score(self, score: Score | None) -> None:
        """The score whose tempo map converts seconds to ticks (read when recording starts)."""
        self._score = score

    def set_start_tick(self, tick: int | Callable[[], int]) -> None:
        """Where recording starts: a tick, or a callable returning one (e.g. the playhead),
        evaluated when recording starts."""
        self._start_tick = tick

    @property
    def is_recording(self) -> bool:
        return self._recorder is not None

    def current_port(self) -> str | None:
        """The selected port's name, or None when there is none."""
        return self.port_combo.currentText() if self.ports else None

    # ----------------------------------------------------------------- ports
    def _list_in_background(self) -> None:
        ports = self._list_ports()
        try:
            self._ports_found.emit(ports)
        except RuntimeError:  # the control was closed meanwhile
            pass

    def refresh(self) -> InputPorts:
        """Look for input ports again; keeps the selection when that port is still there."""
        if not self.is_recording:
            self._show_ports(self._list_ports())
        return self.ports

    def _show_ports(self, ports: InputPorts) -> None:
        if self.is_recording:
            return
        previous = self.port_combo.currentText()
        self.ports = ports
        self.port_combo.clear()
        self.port_combo.addItems(list(self.ports))
        if previous in self.ports:
            self.port_combo.setCurrentText(previous)
        else:
            # ALSA's "Midi Through" always exists but is rarely the keyboard.
            real = [name for name in self.ports if "midi through" not in name.lower()]
            if real:
                self.port_combo.setCurrentText(real[0])
        available = bool(self.ports)
        if not available:
            self.port_combo.setPlaceholderText("No MIDI input")
        self.port_combo.setEnabled(available)
        self.record_button.setEnabled(available)
        self._set_status(f"Ready: {self.current_port()}" if available else self.ports.reason,
                         getattr(self.ports, "details", ""))

    def _set_status(self, text: str, details: str = "") -> None:
        """Show ``text``; the tooltip adds ``details`` (the MIDI system's own words), if any."""
        self.status.setText(text)
        self.status.setToolTip(f"{text}\n\n{details}" if details else text)

    # ----------------------------------------------------------------- recording
    def start_recording(self) -> bool:
        """Open the selected port (if any) and start recording at the start tick.

        Returns False, with the reason in the status label, when there is no score or the port
        cannot be opened.
        """
        if self.is_recording:
            return True
        if self._score is None:
            self._set_status("Open or create a score before recording")
            self._sync_button()
            return False
        start = self._start_tick() if callable(self._start_tick) else self._start_tick
        port = self.current_port()
        self._input = None
        if port is not None:
            try:
                # Emitting a signal is thread-safe; the queued connection runs _on_message here.
                self._input = self._open_input(port, self._message_arrived.emit, clock=self._clock)
            except ComposerError as exc:
                self._set_status(str(exc))
                self._sync_button()
                return False
        # Takes keep the played timing; the editor's Quantize (Q) snaps them afterwards.
        self._recorder = NoteRecorder(self._score.tempo_map, max(int(start or 0), 0))
        self._t0 = self._clock()
        self.refresh_button.setEnabled(False)
        self.port_combo.setEnabled(False)
        self._set_status(f"Recording from {port}…" if port else "Recording…")
        self._sync_button()
        self._live_timer.start()
        self.recording_changed.emit(True)
        self.candidates_changed.emit(empty_notes())
        return True

    def stop_recording(self) -> np.ndarray:
        """Stop, end held notes now, emit ``recorded`` (if any notes) and return the notes,
        shape (n,)."""
        return self._finish(emit=True)

    def cancel_recording(self) -> None:
        """Stop and close the port without emitting ``recorded`` (a new score is loading, the
        window is closing)."""
        self._finish(emit=False)

    def _finish(self, emit: bool) -> np.ndarray:
        if not self.is_recording:
            return empty_notes()
        if self._input is not None:
            self._input.close()  # no messages after this...
            self._input = None
        # ...and the ones already posted from the reader thread are taken before the stop time.
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        recorder, self._recorder = self._recorder, None
        notes = recorder.stop(self._clock() - self._t0)
        self._live_timer.stop()
        self.refresh_button.setEnabled(True)
        self.port_combo.setEnabled(bool(self.ports))
        self._sync_button()
        if not emit:
            self._set_status("Recording cancelled")
        elif len(notes):
            self._set_status(f"Recorded {len(notes)} note{'s' * (len(notes) != 1)}")
        else:
            self._set_status("Nothing was recorded")
        self.candidates_changed.emit(None)
        self.recording_changed.emit(False)
        if emit and len(notes):
            self.recorded.emit(notes)
        return notes

    def feed(self, seconds: float | None, message) -> bool:
        """Record one raw MIDI message (bytes or ints) at ``seconds`` after recording started
        (None: now). Ignored when not recording; returns True when it started or ended a note."""
        if self._recorder is None:
            return False
        if seconds is None:
            seconds = self._clock() - self._t0
        changed = self._recorder.feed(seconds, message)
        if changed:
            self.candidates_changed.emit(self._recorder.snapshot(seconds))
        return changed

    def _on_message(self, stamp: float, message: bytes) -> None:
        self.feed(stamp - self._t0, message)

    def _on_live_timer(self) -> None:
        if self._recorder is None:
            return
        now = self._clock() - self._t0
        self.position_changed.emit(self._recorder.tick_at(now))
        if self._recorder.sounding_pitches:  # held notes grow
            self.candidates_changed.emit(self._recorder.snapshot(now))

    def _on_record_toggled(self, checked: bool) -> None:
        if checked:
            self.start_recording()
        else:
            self.stop_recording()

    def _sync_button(self) -> None:
        self.record_button.blockSignals(True)
        self.record_button.setChecked(self.is_recording)
        self.record_button.blockSignals(False)
