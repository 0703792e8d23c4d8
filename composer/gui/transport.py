"""Transport: play, pause, stop and loop through FluidSynth, and the toolbar that drives them.

:class:`PlaybackController` owns a :class:`composer.io.playback.Player`. The Player (synth,
SoundFont, audio device) is created on a background thread as soon as the controller exists, so
the first press of play does not wait for the SoundFont to load; a press that comes earlier
starts playback the moment loading ends. When FluidSynth, a SoundFont or a sound device is
missing, the controller emits ``unavailable(reason)`` and the app carries on without sound.

While playing, a timer calls :meth:`Player.pump` (which schedules the next second of notes and
picks up edits, mute and solo) and emits ``position_changed`` about 30 times a second.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import Future

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QFontDatabase, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QLabel, QToolBar, QWidget

from composer.core.score import Score
from composer.gui.pianoroll import theme
from composer.gui.tempo_meter_fields import TempoMeterFields
from composer.io.midi_output import MidiOutPlayer
from composer.io.playback import PAUSED, PLAYING, STOPPED, Player
from composer.io.synth import AudioUnavailable

#: How often (ms) the playhead moves and the next notes are scheduled while playing.
POSITION_INTERVAL_MS = 33
#: How often (ms) the controller checks whether the background load has finished.
LOAD_POLL_MS = 5
#: The output that plays through FluidSynth (any other is a MIDI output port).
FLUIDSYNTH = "fluidsynth"
#: How long close() waits for a Player still being created.
LOAD_JOIN_SECONDS = 10.0


class PlaybackController(QObject):
    """Plays the score through FluidSynth on behalf of the GUI.

    Signals
    -------
    position_changed(int tick)
        The tick being heard, ~30 times a second while playing; also after pause, stop and
        :meth:`set_start_tick`.
    state_changed(str state)
        "playing", "paused" or "stopped".
    unavailable(str reason)
        Playback could not start (no FluidSynth, SoundFont or sound device); the reason is one
        line saying why. The next play() tries again.
    loop_changed(bool on)
        Looping was switched on or off.
    timing_changed()
        The score's tempo or time signatures changed (positions in bars and seconds moved).

    Parameters
    ----------
    parent : QObject, optional
    soundfont, driver, file, device, settings
        Passed to :class:`Player`: ``driver="file"`` with ``file=PATH`` writes the sound to a
        WAV file instead of a device (tests, benchmarks); None picks the platform's driver.
    preload : bool
        Create the Player on a background thread now rather than at the first play.
    interval_ms : int
        Timer period while playing.
    """

    position_changed = Signal(int)
    state_changed = Signal(str)
    unavailable = Signal(str)
    loop_changed = Signal(bool)
    timing_changed = Signal()

    def __init__(self, parent: QObject | None = None, *, soundfont: str | os.PathLike | None = None,
                 driver: str | None = None, file: str | os.PathLike | None = None,
                 device: str | None = None, settings: dict | None = None, preload: bool = True,
                 interval_ms: int = POSITION_INTERVAL_MS):
        super().__init__(parent)
        self._player_options = dict(soundfont=soundfont, driver=driver, file=file, device=device,
                                    settings=settings)
        self._player: Player | None = None
        self._output: str | None = FLUIDSYNTH  # or a MIDI output port (None: the virtual one)
        self._loading: Future | None = None
        self._pending_play = False
        self._closed = False
        self._score: Score | None = None
        self._start_tick = 0
        self._loop_region: tuple[int, int] | None = None
        self._loop_enabled = False
        self._state = STOPPED
        self.reason = ""
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_ms))
        self._timer.timeout.connect(self._on_timer)
        self._load_poll = QTimer(self)
        self._load_poll.setInterval(LOAD_POLL_MS)
        self._load_poll.timeout.connect(self._check_loaded)
        if preload:
            self.preload()

    # ------------------------------------------------------------------------- state
    @property
    def state(self) -> str:
        return self._state

    @property
    def is_playing(self) -> bool:
        return self._state == PLAYING

    @property
    def player(self) -> Player | None:
        """The Player once created (None while loading or when unavailable)."""
        return self._player

    @property
    def score(self) -> Score | None:
        return self._score

    @property
    def start_tick(self) -> int:
        """Where play starts (the playhead the user set); stop returns here."""
        return self._start_tick

    @property
    def loop_region(self) -> tuple[int, int] | None:
        return self._loop_region

    @property
    def loop_enabled(self) -> bool:
        return self._loop_enabled

    def position_tick(self) -> int:
        if self._player is None:
            return self._start_tick
        return self._player.position_tick()

    # ------------------------------------------------------------------------- loading
    def preload(self) -> None:
        """Start creating the Player on a background thread (no-op if it exists or is loading).

        Loading a SoundFont takes 0.02-0.5 s and opening a device some ms; FluidSynth releases
        the GIL meanwhile, so the GUI keeps running.
        """
        if self._closed or self._player is not None or self._loading is not None:
            return
        future: Future = Future()
        options, output = dict(self._player_options), self._output

        def load() -> None:
            try:
                future.set_result(Player(**options) if output == FLUIDSYNTH else MidiOutPlayer(output))
            except BaseException as exc:  # reported on the GUI thread
                future.set_exception(exc)

        self._loading = future
        threading.Thread(target=load, name="composer-audio-load", daemon=True).start()
        self._load_poll.start()

    def _check_loaded(self) -> None:
        future = self._loading
        if future is None or not future.done():
            return
        self._load_poll.stop()
        self._loading = None
        error = future.exception()
        if error is not None:
            self._pending_play = False
            if isinstance(error, AudioUnavailable):
                self.reason = str(error)
            else:
                self.reason = f"playback failed to start: {error}"
            self.unavailable.emit(self.reason)
            return
        self._player = future.result()
        self.reason = ""
        if self._closed:
            self._player.close()
            return
        if self._score is not None:
            self._player.set_score(self._score)
        self._player.seek(self._start_tick)
        if self._pending_play:
            self._pending_play = False
            self._start()

    def wait_until_loaded(self, timeout: float = LOAD_JOIN_SECONDS) -> bool:
        """Block until a background load finishes and apply its result; True if a Player exists.
        For tests, benchmarks and shutdown; the GUI never needs it."""
        if self._loading is not None:
            try:
                self._loading.exception(timeout=timeout)
            except TimeoutError:
                return False
            self._check_loaded()
        return self._player is not None

    @property
    def output(self) -> str | None:
        """:data:`FLUIDSYNTH`, or the MIDI output port played to (None: the virtual port)."""
        return self._output

    def set_output(self, output: str | None) -> None:
        """Play through FluidSynth (:data:`FLUIDSYNTH`) or to a MIDI output port (a name from
        :func:`~composer.io.midi_output.list_output_ports`; None: the virtual port "Composer"),
        so a DAW can record it. Playback stops; the new output opens in the background, and
        ``unavailable`` says so if it cannot."""
        if output == self._output or self._closed:
            return
        self.stop()
        if self._loading is not None:
            self.wait_until_loaded()
        if self._player is not None:
            self._player.close()  # (a MIDI port gets its all-notes-off)
            self._player = None
        self._output = output
        self.preload()

    # ------------------------------------------------------------------------- transport
    def set_score(self, score: Score | None) -> None:
        """The score to play; while playing, playback goes on with it from the same position."""
        if self._score is not None:
            self._score.events.timing_changed.disconnect(self._on_score_timing, missing_ok=True)
        self._score = score
        if score is not None:
            score.events.timing_changed.connect(self._on_score_timing)
        self.timing_changed.emit()
        if self._player is None:
            return
        if score is None:
            self.stop()
        else:
            self._player.set_score(score)

    def _on_score_timing(self) -> None:
        self.timing_changed.emit()

    def play(self) -> None:
        """Play from the paused position, else from the start tick. Without a Player yet, play
        begins as soon as it is loaded (or ``unavailable`` is emitted)."""
        if self._closed or self._score is None or self._state == PLAYING:
            return
        if self._player is None:
            self._pending_play = True
            self.preload()  # also retries after an earlier failure
            return
        self._start()

    def _start(self) -> None:
        player = self._player
        if player.state == PAUSED:
            player.resume()
        else:
            player.play(self._score, self._start_tick, self._effective_loop())
        self._timer.start()
        self._set_state(PLAYING)
        self.position_changed.emit(player.position_tick())

    def pause(self) -> None:
        self._pending_play = False
        if self._player is None or self._state != PLAYING:
            return
        tick = self._player.pause()
        self._timer.stop()
        self._set_state(PAUSED)
        self.position_changed.emit(tick)

    def stop(self) -> None:
        """Stop; the position returns to the start tick."""
        self._pending_play = False
        self._timer.stop()
        if self._player is not None:
            self._player.stop()
        self._set_state(STOPPED)
        self.position_changed.emit(self._start_tick)

    def toggle(self) -> None:
        """Play or pause (the space bar)."""
        if self._state == PLAYING or self._pending_play:
            self.pause()
        else:
            self.play()

    def preview_note(self, pitch: int, program: int = 0, is_drum: bool = False) -> None:
        """Sound one note (a key of the editor's keyboard, a drawn note); silent until the
        Player has loaded, and while playing."""
        if self._player is not None and not self._closed:
            self._player.preview_note(pitch, program, is_drum)

    def set_start_tick(self, tick: int) -> None:
        """The playhead the user set: while playing, playback jumps there; when paused, resumes
        from there; always, stop returns there."""
        self._start_tick = max(int(tick), 0)
        if self._player is not None:
            self._player.seek(self._start_tick)
        self.position_changed.emit(self._start_tick)

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        """Loop ``[start, end)`` in ticks and switch looping on; None (or an empty region)
        clears the region and switches looping off."""
        if start is None or end is None or int(end) <= int(start):
            self._loop_region = None
            self._loop_enabled = False
        else:
            self._loop_region = (max(int(start), 0), int(end))
            self._loop_enabled = True
        self._apply_loop()

    def set_loop_enabled(self, on: bool) -> None:
        """Switch looping on or off, keeping the region; without a region the whole score
        loops (from 0 to the end of its last bar)."""
        self._loop_enabled = bool(on)
        self._apply_loop()

    def _effective_loop(self) -> tuple[int, int] | None:
        if not self._loop_enabled:
            return None
        if self._loop_region is not None:
            return self._loop_region
        if self._score is None or self._score.end_tick <= 0:
            return None
        bars = self._score.bar_starts()
        return 0, int(bars[-1])

    def _apply_loop(self) -> None:
        if self._player is not None:
            self._player.set_loop(self._effective_loop())
        self.loop_changed.emit(self._loop_enabled)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _on_timer(self) -> None:
        player = self._player
        if player is None:
            self._timer.stop()
            return
        state = player.pump()
        if state != PLAYING:  # the end of the score was reached
            self._timer.stop()
            self._set_state(state)
        self.position_changed.emit(player.position_tick())

    # ------------------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Stop and release the audio device (waits for a Player still loading)."""
        if self._closed:
            return
        self._closed = True
        self._pending_play = False
        self._timer.stop()
        self._load_poll.stop()
        if self._loading is not None:
            try:
                player = self._loading.result(timeout=LOAD_JOIN_SECONDS)
            except BaseException:
                player = None
            self._loading = None
            if player is not None:
                player.close()
        if self._player is not None:
            self._player.close()
            self._player = None
        self._set_state(STOPPED)


# --------------------------------------------------------------------------------------------
# Time display


def bar_beat(score: Score, tick: int) -> tuple[int, int]:
    """1-based ``(bar, beat)`` of ``tick``, following the score's time signatures."""
    tick = max(int(tick), 0)
    starts = score.bar_starts(tick + 1)
    i = max(int(np.searchsorted(starts, tick, side="right")) - 1, 0)
    bar_start = int(starts[i])
    sig = score.time_signature_at(bar_start)
    beat_ticks = max(score.ppq * 4 // max(sig.denominator, 1), 1)
    return i + 1, (tick - bar_start) // beat_ticks + 1


def format_position(score: Score | None, tick: int) -> str:
    """``"bar:beat  mm:ss"``, e.g. ``"3:2  00:05"``."""
    if score is None:
        return "1:1  00:00"
    bar, beat = bar_beat(score, tick)
    seconds = int(float(score.tempo_map.tick_to_seconds(max(int(tick), 0))))
    return f"{bar}:{beat}  {seconds // 60:02d}:{seconds % 60:02d}"


def short_reason(reason: str) -> str:
    """The gist of an ``unavailable`` reason for a status line (the full text goes in a tooltip)."""
    if reason.startswith("no sound device"):
        return "no sound device found"
    text = reason.removeprefix("Audio is unavailable: ")
    end = text.find(". ")
    return text if end < 0 else text[:end]


def transport_icon(kind: str, size: int = 32) -> QIcon:
    """A flat icon in the theme's text colour: "play", "pause", "stop" or "loop"."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    s = size / 32.0
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(theme.TEXT)
    if kind == "play":
        painter.drawPolygon(QPolygonF([QPointF(10 * s, 7 * s), QPointF(25 * s, 16 * s),
                                       QPointF(10 * s, 25 * s)]))
    elif kind == "pause":
        painter.drawRect(QRectF(9 * s, 8 * s, 5 * s, 16 * s))
        painter.drawRect(QRectF(18 * s, 8 * s, 5 * s, 16 * s))
    elif kind == "stop":
        painter.drawRect(QRectF(9 * s, 9 * s, 14 * s, 14 * s))
    elif kind == "loop":
        pen = QPen(theme.TEXT, 2.6 * s)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        path = QPainterPath()
        path.arcMoveTo(QRectF(6 * s, 8 * s, 20 * s, 16 * s), 30)
        path.arcTo(QRectF(6 * s, 8 * s, 20 * s, 16 * s), 30, 300)
        painter.drawPath(path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.TEXT)
        # Arrowhead along the arc's direction at its end (Qt angles run anticlockwise).
        end = path.pointAtPercent(1.0)
        angle = math.radians(path.angleAtPercent(1.0))
        d = QPointF(math.cos(angle), -math.sin(angle))
        n = QPointF(-d.y(), d.x())
        painter.drawPolygon(QPolygonF([end + d * 6 * s, end + n * 5 * s - d * 2 * s,
                                       end - n * 5 * s - d * 2 * s]))
    painter.end()
    return QIcon(pixmap)


class TransportBar(QToolBar):
    """Play/pause, stop and loop buttons, the position as bar:beat and mm:ss, and a note saying
    why playback is off when it is.

    Actions (``play_action``, ``stop_action``, ``loop_action``) are attributes so the window can
    put them in menus too; the space bar is the window's (``controller.toggle``).
    """

    STATUS_WIDTH = 420

    def __init__(self, controller: PlaybackController, parent: QWidget | None = None):
        super().__init__("Transport", parent)
        self.setObjectName("transport")
        self.setMovable(False)
        self.controller = controller
        self._play_icon = transport_icon("play")
        self._pause_icon = transport_icon("pause")
        self.play_action = QAction(self._play_icon, "Play", self)
        self.play_action.setToolTip("Play from the playhead (Space)")
        self.play_action.triggered.connect(controller.toggle)
        self.stop_action = QAction(transport_icon("stop"), "Stop", self)
        self.stop_action.setToolTip("Stop and return to the playhead")
        self.stop_action.triggered.connect(controller.stop)
        self.loop_action = QAction(transport_icon("loop"), "Loop", self)
        self.loop_action.setCheckable(True)
        self.loop_action.setToolTip("Loop the region dragged on the ruler, or the whole score")
        self.loop_action.toggled.connect(controller.set_loop_enabled)
        for action in (self.play_action, self.stop_action, self.loop_action):
            self.addAction(action)
        self.addSeparator()

        self.time_label = QLabel()
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(font.pointSizeF(), 10.0) * 1.15)
        font.setWeight(QFont.Weight.DemiBold)
        self.time_label.setFont(font)
        self.time_label.setStyleSheet(f"color: {theme.TEXT.name()}; padding: 0 10px;")
        self.time_label.setToolTip("Position: bar:beat and minutes:seconds")
        self.addWidget(self.time_label)

        self.status_label = QLabel()
        self.status_label.setStyleSheet(f"color: {theme.TRACK_PALETTE[1]}; padding: 0 6px;")
        self.status_label.setMaximumWidth(self.STATUS_WIDTH)
        self.status_label.setVisible(False)
        self._status_action = self.addWidget(self.status_label)
        self._status_action.setVisible(False)

        controller.state_changed.connect(self._on_state)
        controller.position_changed.connect(self._on_position)
        controller.unavailable.connect(self._on_unavailable)
        controller.loop_changed.connect(self._on_loop_changed)
        controller.timing_changed.connect(lambda: self._on_position(controller.position_tick()))
        self._on_position(controller.start_tick)
        self._on_state(controller.state)
        if controller.reason:
            self._on_unavailable(controller.reason)

    def add_timing_fields(self, view) -> TempoMeterFields:
        """Add the tempo and time-signature fields, bound to the editor's view, after the
        position display."""
        fields = TempoMeterFields(view, self)
        self.insertWidget(self._status_action, fields)
        return fields

    def _on_state(self, state: str) -> None:
        playing = state == PLAYING
        self.play_action.setIcon(self._pause_icon if playing else self._play_icon)
        self.play_action.setText("Pause" if playing else "Play")
        if playing:
            self._status_action.setVisible(False)

    def _on_position(self, tick: int) -> None:
        text = format_position(self.controller.score, tick)
        if text != self.time_label.text():
            self.time_label.setText(text)

    def _on_unavailable(self, reason: str) -> None:
        text = f"Playback off: {short_reason(reason)}"
        metrics = self.status_label.fontMetrics()
        self.status_label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight,
                                                     self.STATUS_WIDTH - 12))
        self.status_label.setToolTip(reason)
        self._status_action.setVisible(True)
        self.status_label.setVisible(True)

    def _on_loop_changed(self, on: bool) -> None:
        if self.loop_action.isChecked() != on:
            self.loop_action.blockSignals(True)
            self.loop_action.setChecked(on)
            self.loop_action.blockSignals(False)
