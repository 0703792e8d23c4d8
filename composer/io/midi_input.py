"""Live MIDI input: list keyboards, receive their messages, and turn them into notes in ticks.

Three pieces, all Qt-free:

* :func:`list_input_ports` asks every MIDI system python-rtmidi was built with (ALSA and JACK on
  Linux, CoreMIDI on macOS, WinMM on Windows) for input ports. It never raises: when there is no
  port, or no MIDI system can be opened, it returns an empty list whose ``reason`` says why.
* :class:`NoteRecorder` is pure logic: timestamped raw MIDI messages in, a note array out.
* :class:`MidiInput` opens one port and hands each message to a callback on its reader thread.

Messages are raw MIDI bytes (``b"\\x90\\x3c\\x64"`` is note-on, channel 1, middle C, velocity 100)
stamped with seconds. rtmidi is imported lazily so importing this module never touches the MIDI
system or loads libasound/libjack.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Callable

import numpy as np

from ..core.errors import ComposerError
from ..core.notes import MAX_VELOCITY, MIN_VELOCITY, empty_notes, make_notes, sort_notes
from ..core.timing import TempoMap
from .native import quiet_native_stderr

log = logging.getLogger(__name__)

NO_PORTS_REASON = "No MIDI input found: connect a keyboard and press refresh"
UNAVAILABLE_PREFIX = "No MIDI input available: "
#: What the user reads when no MIDI system opens; the systems' own words go to ``details``.
NO_SYSTEM_REASON = UNAVAILABLE_PREFIX + "the computer's MIDI system is not running or not installed."
NO_LIBRARY_REASON = UNAVAILABLE_PREFIX + "Composer's MIDI support could not be loaded."
NO_BACKEND_REASON = UNAVAILABLE_PREFIX + "this build of Composer has no MIDI support."
CLIENT_NAME = "Composer"

_NOTE_OFF, _NOTE_ON, _CONTROL = 0x80, 0x90, 0xB0
_SUSTAIN, _ALL_SOUND_OFF, _ALL_NOTES_OFF = 64, 120, 123


class MidiInputError(ComposerError):
    """A MIDI input port could not be opened (unplugged, busy, or no MIDI system)."""


# --------------------------------------------------------------------------------------------
# Ports


class InputPorts(list):
    """The names of the MIDI input ports (a ``list[str]``) plus ``reason`` and ``details``.

    ``reason`` is "" when there are ports; otherwise it is a plain sentence for the user:
    :data:`NO_PORTS_REASON`, or one starting "No MIDI input available: " (no MIDI system, no
    MIDI library). ``details`` is what the MIDI systems themselves said ("ALSA: error creating
    ALSA sequencer client object (/dev/snd/seq is missing); JACK: JACK server not running?"),
    for a tooltip and the log; "" when there is nothing more to say.
    """

    def __init__(self, names=(), reason: str = "", details: str = ""):
        super().__init__(names)
        self.reason = reason
        self.details = details

    def __repr__(self) -> str:
        return f"InputPorts({list(self)!r}, reason={self.reason!r}, details={self.details!r})"


def _import_rtmidi():
    import rtmidi

    return rtmidi


def _apis(rtmidi) -> list[int]:
    # The dummy API always reports zero ports, which would read as "no keyboard" instead of
    # "this build has no MIDI system".
    return [api for api in rtmidi.get_compiled_api() if api != rtmidi.API_RTMIDI_DUMMY]


def _clean(exc: BaseException) -> str:
    """rtmidi's message without its C++ "MidiInAlsa::initialize: " prefix."""
    return re.sub(r"^\w+::\w+:\s*", "", str(exc)).strip().rstrip(".") or type(exc).__name__


def _new_client(rtmidi, api: int):
    """``(MidiIn, "")`` for one MIDI system, or ``(None, "<System>: <why>")`` if it won't open."""
    with quiet_native_stderr():
        try:
            return rtmidi.MidiIn(api, name=CLIENT_NAME), ""
        except (rtmidi.RtMidiError, OSError, RuntimeError) as exc:
            why = _clean(exc)
            if api == rtmidi.API_LINUX_ALSA and not os.path.exists("/dev/snd/seq"):
                why += " (/dev/snd/seq is missing)"  # the usual cause in containers and VMs
            return None, f"{rtmidi.get_api_display_name(api)}: {why}"


def _delete(midi_in) -> None:
    with quiet_native_stderr():  # JACK prints on teardown too
        midi_in.delete()


def port_names(rtmidi, open_client, keep=lambda name: True) -> tuple[list[str], list[str], list]:
    """The port names (kept by ``keep``) that the clients ``open_client(rtmidi, api) -> (client
    or None, error)`` of every MIDI system list, the errors of those that would not open, and the
    systems that did. Never raises: a broken MIDI stack must not take the app down."""
    names: list[str] = []
    errors: list[str] = []
    opened = []
    try:
        for api in _apis(rtmidi):
            client, error = open_client(rtmidi, api)
            if client is None:
                errors.append(error)
                continue
            opened.append(api)
            try:
                names.extend(n for n in client.get_ports() if n and n not in names and keep(n))
            finally:
                _delete(client)
    except Exception as exc:  # noqa: BLE001
        log.debug("listing MIDI ports failed", exc_info=True)
        errors.append(_clean(exc))
    return names, errors, opened


def list_input_ports() -> InputPorts:
    """Names of the MIDI input ports of every available MIDI system, in system order.

    Never raises for a missing MIDI system or library: the result is then empty and its
    ``reason`` says why (see :class:`InputPorts`).
    """
    try:
        rtmidi = _import_rtmidi()
    except (ImportError, OSError) as exc:
        return InputPorts(reason=NO_LIBRARY_REASON, details=f"python-rtmidi could not be loaded ({exc})")
    names, errors, opened = port_names(rtmidi, _new_client)
    if names:
        return InputPorts(names)
    if opened:  # a system works, it just has no ports: the user can plug something in
        return InputPorts(reason=NO_PORTS_REASON)
    if not errors:
        return InputPorts(reason=NO_BACKEND_REASON, details="python-rtmidi was built without a MIDI system")
    details = "; ".join(errors)
    log.info("no MIDI input available: %s", details)
    return InputPorts(reason=NO_SYSTEM_REASON, details=details)


# --------------------------------------------------------------------------------------------
# Opening a port


class MidiInput:
    """One open MIDI input port; each message goes to ``callback(seconds, message)``.

    ``message`` is the raw MIDI message as ``bytes`` (sysex, clock and active sensing are filtered
    out by rtmidi). ``seconds`` is on ``clock``, the clock the consumer measures its own start
    time with: the last message of each poll is stamped with the poll time and earlier ones
    step back by the driver's deltas, so stamps are within one poll interval of arrival and
    never drift.

    The callback runs on this object's reader thread, not the caller's: it must be quick and
    thread-safe (the GUI posts the message to its own thread with a queued signal). Exceptions
    it raises are logged, not propagated. Use as a context manager, or call :meth:`close`.

    rtmidi's own callback is deliberately not used: in python-rtmidi 1.5 tearing it down while
    messages arrive either deadlocks ``close_port`` (it joins the input thread, which waits for
    the GIL) or frees the callback under the input thread's feet. Polling rtmidi's lock-free
    queue from a Python thread has neither problem.

    Raises :class:`MidiInputError` when the port is gone or cannot be opened.
    """

    #: Seconds between polls: the worst-case extra latency and timing error.
    POLL_INTERVAL = 0.002

    def __init__(self, port: str, callback: Callable[[float, bytes], None], *,
                 clock: Callable[[], float] = time.perf_counter):
        self.port = port
        self._callback = callback
        self._clock = clock
        self._stop = threading.Event()
        self._midi_in = self._open(port)
        self._reader = threading.Thread(target=self._read, name=f"MIDI input {port}",
                                        daemon=True)
        self._reader.start()

    def _open(self, port: str):
        try:
            rtmidi = _import_rtmidi()
        except (ImportError, OSError) as exc:
            raise MidiInputError(f"Cannot open MIDI input {port!r}: python-rtmidi could not be "
                                 f"loaded ({exc})") from exc
        errors: list[str] = []
        # Look the name up again: port numbers shift when devices come and go.
        for api in _apis(rtmidi):
            midi_in, error = _new_client(rtmidi, api)
            if midi_in is None:
                errors.append(error)
                continue
            try:
                ports = midi_in.get_ports()
                if port in ports:
                    midi_in.open_port(ports.index(port), f"{CLIENT_NAME} input")
                    return midi_in
            except (rtmidi.RtMidiError, OSError, RuntimeError) as exc:
                _delete(midi_in)
                raise MidiInputError(f"Cannot open MIDI input {port!r}: {_clean(exc)}") from exc
            _delete(midi_in)
        # Every system failing is a different story from "the keyboard was unplugged".
        why = "; ".join(errors) if errors and len(errors) == len(_apis(rtmidi)) else \
            "it is not connected any more (press refresh)"
        raise MidiInputError(f"Cannot open MIDI input {port!r}: {why}")

    def _read(self) -> None:
        midi_in = self._midi_in
        while not self._stop.wait(self.POLL_INTERVAL):
            batch = []
            while (event := midi_in.get_message()) is not None:
                batch.append(event)
            if not batch:
                continue
            stamp = self._clock()
            stamps = []
            for _message, delta in reversed(batch):  # delta: time since the previous message
                stamps.append(stamp)
                stamp -= max(float(delta), 0.0)
            for (message, _delta), stamp in zip(batch, reversed(stamps)):
                try:
                    self._callback(stamp, bytes(message))
                except Exception:  # noqa: BLE001 - keep reading; the next message may be fine
                    log.exception("MIDI input callback failed")

    @property
    def is_open(self) -> bool:
        return self._midi_in is not None

    def close(self) -> None:
        """Stop delivering messages and release the port. Safe to call twice; when it returns
        the callback is not running and will not be called again."""
        midi_in, self._midi_in = self._midi_in, None
        if midi_in is None:
            return
        self._stop.set()
        if self._reader is not threading.current_thread():
            self._reader.join()
        midi_in.close_port()
        _delete(midi_in)

    def __enter__(self) -> "MidiInput":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Messages to notes


class NoteRecorder:
    """Turn timestamped raw MIDI messages into notes in ticks.

    Parameters
    ----------
    tempo_map : TempoMap
        The score's tempo map (``score.tempo_map``); its ``ppq`` sets the tick resolution.
    start_tick : int
        Tick that message time 0.0 falls on (the playhead when recording started).
        Time is converted through the tempo map, so tempo changes after ``start_tick`` count.
    quantize : int, optional
        Grid in ticks. Starts and ends snap to the nearest multiple of it (grid lines are
        counted from tick 0, like the editor's), and a note is at least one grid step long.

    Messages are fed with :meth:`feed` as ``(seconds since start, raw bytes)``, in time order.
    Rules, per MIDI channel:

    * note-on with velocity > 0 starts a note; note-off or note-on with velocity 0 ends it;
    * a note-on for a key that still sounds ends the sounding note there (a re-struck key);
    * while the sustain pedal (CC 64 >= 64) is down, released keys keep sounding until it is
      lifted; CC 120/123 (all sound/notes off) end every sounding note;
    * a note-off with no sounding note (the key went down before recording) is ignored;
    * :meth:`stop` ends whatever still sounds at the stop time.

    Output of :meth:`notes`, :meth:`snapshot` and :meth:`stop`: a structured array of dtype
    ``NOTE_DTYPE``, shape (n,), as from ``make_notes``, in (start, pitch) order, ids ``-1``
    (give them ids with ``track.new_note_ids(n)`` before ``AddNotes``). Every note has
    ``end > start`` and velocity 1..127; same-pitch notes never overlap (a track cannot hold
    notes apart by channel, so an earlier one is cut where the next starts).
    """

    def __init__(self, tempo_map: TempoMap, start_tick: int = 0, quantize: int | None = None):
        if quantize is not None and quantize <= 0:
            raise ValueError(f"quantize grid must be a positive number of ticks, not {quantize}")
        self.tempo_map = tempo_map
        self.start_tick = int(start_tick)
        self.quantize = quantize
        self._origin = float(tempo_map.tick_to_seconds(self.start_tick))
        # Finished notes as (start, end, pitch, velocity) rows in ticks.
        self._done: list[tuple[int, int, int, int]] = []
        # Sounding notes: (channel, pitch) -> (start tick, velocity).
        self._sounding: dict[tuple[int, int], tuple[int, int]] = {}
        # Keys released while the pedal was down; they sound until the pedal lifts.
        self._sustained: set[tuple[int, int]] = set()
        self._pedal: set[int] = set()  # channels with the sustain pedal down

    def tick_at(self, seconds: float) -> int:
        """The tick ``seconds`` after the start (times before the start clamp to it)."""
        return int(self.tempo_map.seconds_to_tick(self._origin + max(float(seconds), 0.0)))

    @property
    def sounding_pitches(self) -> list[int]:
        """Pitches of the notes that still sound, sorted."""
        return sorted({pitch for _ch, pitch in self._sounding})

    def feed(self, seconds: float, message) -> bool:
        """Take one raw MIDI message (bytes or a sequence of ints) at ``seconds`` after the
        start. Returns True when it started or ended a note."""
        if len(message) < 2 or not 0x80 <= message[0] < 0xF0:  # system or malformed: ignore
            return False
        kind, channel = message[0] & 0xF0, message[0] & 0x0F
        data2 = message[2] if len(message) > 2 else 0
        if kind == _NOTE_ON and data2 > 0:
            key = (channel, message[1] & 0x7F)
            tick = self.tick_at(seconds)
            self._end(key, tick)  # a re-struck key ends its previous note
            self._sounding[key] = (tick, int(np.clip(data2, MIN_VELOCITY, MAX_VELOCITY)))
            return True
        if kind in (_NOTE_ON, _NOTE_OFF):
            key = (channel, message[1] & 0x7F)
            if key not in self._sounding:
                return False
            if channel in self._pedal:
                self._sustained.add(key)
                return False
            return self._end(key, self.tick_at(seconds))
        if kind == _CONTROL and len(message) > 2:
            controller = message[1]
            if controller == _SUSTAIN:
                if data2 >= 64:
                    self._pedal.add(channel)
                    return False
                self._pedal.discard(channel)
                tick = self.tick_at(seconds)
                held = [k for k in self._sustained if k[0] == channel]
                return any([self._end(k, tick) for k in held])
            if controller in (_ALL_SOUND_OFF, _ALL_NOTES_OFF):
                tick = self.tick_at(seconds)
                return any([self._end(k, tick) for k in list(self._sounding) if k[0] == channel])
        return False

    def _end(self, key: tuple[int, int], tick: int) -> bool:
        self._sustained.discard(key)
        begun = self._sounding.pop(key, None)
        if begun is None:
            return False
        start, velocity = begun
        self._done.append((start, max(tick, start + 1), key[1], velocity))
        return True

    def notes(self) -> np.ndarray:
        """The finished notes so far, shape (n,) (see the class docstring)."""
        return self._build(self._done)

    def snapshot(self, seconds: float) -> np.ndarray:
        """Finished notes plus the sounding ones as if they ended at ``seconds``, shape (n,):
        what to show live while recording. Changes nothing."""
        tick = self.tick_at(seconds)
        live = [(start, max(tick, start + 1), pitch, velocity)
                for (_ch, pitch), (start, velocity) in self._sounding.items()]
        return self._build(self._done + live)

    def stop(self, seconds: float) -> np.ndarray:
        """End every sounding note at ``seconds`` and return all notes, shape (n,)."""
        tick = self.tick_at(seconds)
        for key in list(self._sounding):
            self._end(key, tick)
        self._pedal.clear()
        return self.notes()

    def _build(self, rows: list[tuple[int, int, int, int]]) -> np.ndarray:
        if not rows:
            return empty_notes()
        start, end, pitch, velocity = (np.array(col, dtype=np.int64) for col in zip(*rows))
        if self.quantize:
            grid = self.quantize
            start = (start + grid // 2) // grid * grid
            end = np.maximum((end + grid // 2) // grid * grid, start + grid)
        # Cut each note where the next note of the same pitch starts; drop what is left empty
        # (two quick strikes quantized onto one grid line become one note).
        order = np.lexsort((start, pitch))
        start, end, pitch, velocity = start[order], end[order], pitch[order], velocity[order]
        same = pitch[1:] == pitch[:-1]
        end[:-1] = np.where(same, np.minimum(end[:-1], start[1:]), end[:-1])
        keep = end > start
        return sort_notes(make_notes(start[keep], end[keep], pitch[keep], velocity[keep]))
