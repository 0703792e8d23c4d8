"""Playback to a MIDI output port, so a DAW can record (or play) what Composer plays (no Qt).

* :func:`list_output_ports` names the MIDI output ports of every MIDI system python-rtmidi was
  built with, and says whether a virtual port can be made (ALSA, JACK, CoreMIDI: yes; Windows'
  WinMM: no, choose a port such as loopMIDI's). Like :func:`~composer.io.midi_input.list_input_ports`
  it never raises: without MIDI it returns an empty list whose ``reason`` says why.
* :func:`note_messages` and :func:`score_messages` are pure: note events (as a
  :class:`~composer.io.playback_timeline.Timeline` gives them) in, raw MIDI messages out.
* :class:`MidiOutPlayer` is a :class:`~composer.io.playback.Player` whose notes go to a MIDI port
  (the virtual port "Composer" by default) instead of FluidSynth: the same timeline, the same
  channels (each track its own, drums on channel 10) with each track's program change, the same
  look-ahead scheduling; a sender thread sends each message at its time, and stop sends a note-off
  for every key still held plus all-notes-off on every channel.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Callable

import numpy as np

from ..core import Score
from .midi_input import (
    CLIENT_NAME,
    NO_BACKEND_REASON,
    NO_LIBRARY_REASON,
    _apis,
    _clean,
    _import_rtmidi,
    port_names,
)
from .native import quiet_native_stderr
from .playback import DEFAULT_LOOKAHEAD, Player
from .playback_timeline import SEQ_TICKS_PER_SECOND, audible_notes, segment
from .synth import AudioUnavailable

log = logging.getLogger(__name__)

#: The name of the virtual output port a DAW sees (where the MIDI system allows one).
VIRTUAL_PORT_NAME = "Composer"
NO_OUTPUT_PORTS_REASON = "No MIDI output port found, and this MIDI system cannot make a virtual one"
NO_OUTPUT_SYSTEM_REASON = "No MIDI output available: the computer's MIDI system is not running or not installed."

_NOTE_OFF, _NOTE_ON, _CONTROL, _PROGRAM = 0x80, 0x90, 0xB0, 0xC0
_SUSTAIN, _ALL_NOTES_OFF = 64, 123
MIDI_CHANNELS = 16


class MidiOutputError(AudioUnavailable):
    """A MIDI output port could not be opened (gone, busy, no MIDI system, no virtual ports)."""


class OutputPorts(list):
    """The names of the MIDI output ports (a ``list[str]``) plus ``virtual``, ``reason`` and
    ``details``.

    ``virtual`` is True when a virtual port named :data:`VIRTUAL_PORT_NAME` can be made.
    ``reason`` is "" when there is somewhere to send to (a port, or a virtual one); otherwise a
    sentence for the user. ``details`` is what the MIDI systems said, for a tooltip and the log.
    """

    def __init__(self, names=(), virtual: bool = False, reason: str = "", details: str = ""):
        super().__init__(names)
        self.virtual = virtual
        self.reason = reason
        self.details = details

    def __repr__(self) -> str:
        return (f"OutputPorts({list(self)!r}, virtual={self.virtual}, reason={self.reason!r}, "
                f"details={self.details!r})")


def _virtual_apis(rtmidi) -> set[int]:
    return {getattr(rtmidi, name) for name in ("API_LINUX_ALSA", "API_UNIX_JACK", "API_MACOSX_CORE")
            if hasattr(rtmidi, name)}


def _new_output(rtmidi, api: int):
    """``(MidiOut, "")`` for one MIDI system, or ``(None, "<System>: <why>")``."""
    with quiet_native_stderr():
        try:
            return rtmidi.MidiOut(api, name=CLIENT_NAME), ""
        except (rtmidi.RtMidiError, OSError, RuntimeError) as exc:
            return None, f"{rtmidi.get_api_display_name(api)}: {_clean(exc)}"


def _is_own(name: str) -> bool:
    # Our own virtual port (and recorder) show up as "Composer:..." on ALSA; sending to them loops.
    return name.split(":")[0].strip() == CLIENT_NAME


def list_output_ports() -> OutputPorts:
    """Names of the MIDI output ports of every available MIDI system (Composer's own left out),
    and whether a virtual port can be made. Never raises (see :class:`OutputPorts`)."""
    try:
        rtmidi = _import_rtmidi()
    except (ImportError, OSError) as exc:
        return OutputPorts(reason=NO_LIBRARY_REASON.replace("input", "output"),
                           details=f"python-rtmidi could not be loaded ({exc})")
    names, errors, opened = port_names(rtmidi, _new_output, keep=lambda name: not _is_own(name))
    virtual = any(api in _virtual_apis(rtmidi) for api in opened)
    if names or virtual:
        return OutputPorts(names, virtual)
    if opened:
        return OutputPorts(reason=NO_OUTPUT_PORTS_REASON)
    if not errors:
        return OutputPorts(reason=NO_BACKEND_REASON.replace("input", "output"),
                           details="python-rtmidi was built without a MIDI system")
    details = "; ".join(errors)
    log.info("no MIDI output available: %s", details)
    return OutputPorts(reason=NO_OUTPUT_SYSTEM_REASON, details=details)


# --------------------------------------------------------------------------------------------
# Messages (pure)


def note_messages(time_ms, is_on, channel, pitch, velocity) -> list[tuple[int, bytes]]:
    """``(ms, message)`` per note event, in the order given: note-on ``0x9n key velocity``,
    note-off ``0x8n key 0`` (n: the channel, 0-15)."""
    status = np.where(np.asarray(is_on) == 1, _NOTE_ON, _NOTE_OFF) | np.asarray(channel, dtype=np.int64)
    vel = np.where(np.asarray(is_on) == 1, np.clip(velocity, 1, 127), 0)
    return [(t, bytes((s, k, v))) for t, s, k, v in zip(np.asarray(time_ms).tolist(), status.tolist(),
                                                         np.asarray(pitch).tolist(), vel.tolist())]


def program_message(channel: int, program: int) -> bytes:
    return bytes((_PROGRAM | (channel & 0x0F), int(program) & 0x7F))


def all_notes_off_messages() -> list[bytes]:
    """Sustain off and all-notes-off (CC 64 and CC 123) on every channel."""
    return [bytes((_CONTROL | ch, cc, 0)) for ch in range(MIDI_CHANNELS) for cc in (_SUSTAIN, _ALL_NOTES_OFF)]


def score_messages(score: Score, start_tick: int = 0) -> list[tuple[int, bytes]]:
    """What :class:`MidiOutPlayer` sends playing ``score`` once from ``start_tick``, as ``(ms from
    the start, message)``: the program change of each heard melodic track's channel at 0 (drums
    need none: channel 10 is the kit), then its notes in playing order."""
    programs: list[tuple[int, bytes]] = []

    def select(channel: int, program: int, is_drum: bool) -> None:
        if not is_drum:
            programs.append((0, program_message(channel, program)))

    notes = audible_notes(score, select)
    start = float(score.tempo_map.tick_to_seconds(max(int(start_tick), 0)))
    part = segment(notes, start, None)
    return programs + note_messages(part.time, part.is_on, part.channel, part.pitch, part.velocity)


# --------------------------------------------------------------------------------------------
# Sending


class _Sender:
    """A thread that sends each queued message at its time (ms of ``clock``), and remembers
    the keys it holds so that :meth:`release_all` leaves none hanging."""

    def __init__(self, send: Callable[[bytes], None], clock: Callable[[], int]):
        self._send, self._clock = send, clock
        self._heap: list[tuple[int, int, bytes]] = []
        self._order = itertools.count()
        self._held: set[tuple[int, int]] = set()
        self._sounded = False  # a note went out since the last release_all
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="composer-midi-out", daemon=True)
        self._thread.start()

    def put(self, events: list[tuple[int, bytes]]) -> None:
        with self._cond:
            for t, message in events:
                heapq.heappush(self._heap, (int(t), next(self._order), message))
            self._cond.notify()

    def now(self, messages: list[bytes]) -> None:
        with self._cond:
            for message in messages:
                self._emit(message)

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()

    def release_all(self) -> None:
        """Drop what is queued; note-off for every held key, then all-notes-off everywhere."""
        with self._cond:
            self._heap.clear()
            for channel, key in sorted(self._held):
                self._emit(bytes((_NOTE_OFF | channel, key, 0)))
            if self._sounded:  # (not again and again while stopped)
                for message in all_notes_off_messages():
                    self._emit(message)
            self._sounded = False

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout=2.0)

    def _emit(self, message: bytes) -> None:  # (with the lock held)
        kind, channel = message[0] & 0xF0, message[0] & 0x0F
        if kind == _NOTE_ON and message[2] > 0:
            self._held.add((channel, message[1]))
            self._sounded = True
        elif kind in (_NOTE_ON, _NOTE_OFF):
            self._held.discard((channel, message[1]))
        try:
            self._send(message)
        except Exception:  # noqa: BLE001 - a port that vanished must not kill the thread
            log.warning("sending to the MIDI output failed", exc_info=True)

    def _run(self) -> None:
        with self._cond:
            while not self._stopping:
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - self._clock()
                if wait > 0:
                    self._cond.wait(wait / SEQ_TICKS_PER_SECOND)
                    continue
                self._emit(heapq.heappop(self._heap)[2])


def _open_port(port: str | None):
    """``(MidiOut, description)``: the virtual port (``port`` None) or the named port."""
    try:
        rtmidi = _import_rtmidi()
    except (ImportError, OSError) as exc:
        raise MidiOutputError(f"MIDI output is unavailable: python-rtmidi could not be loaded ({exc})")
    errors = []
    for api in _apis(rtmidi):
        if port is None and api not in _virtual_apis(rtmidi):
            continue
        out, error = _new_output(rtmidi, api)
        if out is None:
            errors.append(error)
            continue
        try:
            with quiet_native_stderr():
                if port is None:
                    out.open_virtual_port(VIRTUAL_PORT_NAME)
                    return out, f"virtual port {VIRTUAL_PORT_NAME!r}"
                names = out.get_ports()
                if port in names:
                    out.open_port(names.index(port), VIRTUAL_PORT_NAME)
                    return out, port
        except (rtmidi.RtMidiError, OSError, RuntimeError, NotImplementedError) as exc:
            errors.append(f"{rtmidi.get_api_display_name(api)}: {_clean(exc)}")
        with quiet_native_stderr():
            out.delete()
    what = "a virtual MIDI port" if port is None else f"the MIDI port {port!r}"
    raise MidiOutputError(f"Cannot open {what}" + (f" ({'; '.join(errors)})" if errors else
                                                   " (no such port, or no MIDI system)"))


class MidiOutPlayer(Player):
    """A :class:`Player` that plays to a MIDI output port instead of FluidSynth.

    Parameters
    ----------
    port : str, optional
        An output port name from :func:`list_output_ports`; None opens the virtual port
        :data:`VIRTUAL_PORT_NAME` (ALSA, JACK, CoreMIDI).
    lookahead : float
        Seconds of music queued ahead (see :class:`Player`).
    send : callable, optional
        Each raw message goes to ``send(bytes)`` instead of a port (no MIDI system needed: a
        recorder, a test).

    Raises
    ------
    MidiOutputError
        The port cannot be opened.
    """

    def __init__(self, port: str | None = None, *, lookahead: float = DEFAULT_LOOKAHEAD,
                 send: Callable[[bytes], None] | None = None):
        if lookahead <= 0:
            raise ValueError(f"lookahead must be > 0 s, not {lookahead}")
        self.lookahead = float(lookahead)
        self.latency = 0.0  # messages leave at their time; the DAW hears them then
        self._out = None
        if send is None:
            self._out, self.driver = _open_port(port)
            send = self._out.send_message
        else:
            self.driver = "messages"
        self.port = port
        self._t0 = time.monotonic()
        self._sender = _Sender(lambda message: send(list(message)) if self._out is not None
                               else send(message), self.clock_ms)
        self._open = True
        self._init_state()

    @property
    def closed(self) -> bool:
        return not getattr(self, "_open", False)

    def clock_ms(self) -> int:
        """Milliseconds since the player was made (the monotonic clock)."""
        return int((time.monotonic() - self._t0) * SEQ_TICKS_PER_SECOND)

    def _send(self, time, is_on, channel, pitch, velocity) -> None:
        self._sender.put(note_messages(time, is_on, channel, pitch, velocity))

    def _select_program(self, channel: int, program: int, is_drum: bool) -> None:
        if not is_drum:
            self._sender.now([program_message(channel, program)])

    def _drop_pending(self) -> None:
        self._sender.clear()

    def _all_notes_off(self) -> None:
        self._sender.release_all()

    def _free(self) -> None:
        if not getattr(self, "_open", False):
            return
        self._open = False
        self._sender.release_all()
        self._sender.close()
        if self._out is not None:
            with quiet_native_stderr():
                self._out.close_port()
                self._out.delete()
            self._out = None
