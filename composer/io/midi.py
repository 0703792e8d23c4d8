"""Standard MIDI files in and out: the one reading path every other part of Composer calls.

Reading uses symusic (C++, thousands of files a second). Its note pairing differs from
pretty_midi's, the reference most MIR code was built on, in two ambiguous cases: same-pitch notes
that overlap on one channel, and zero-length notes. When a track shows either, the file is read
again with :func:`_read_events_exact`, which pairs notes exactly as pretty_midi does (a note-off
ends every open note of that pitch that began on an earlier tick; zero-length notes are dropped).
Either way, an earlier note that still sounds when the same pitch starts again is ended there,
which is what a synthesizer plays and what a MIDI file can represent.

Writing produces SMF type 1: a conductor track with tempos and time signatures, then one named
MIDI track per Track with its program change, drums on channel 10.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from composer.core.errors import ComposerError, ComposerWarning
from composer.core.notes import empty_notes, sort_notes
from composer.core.score import Score, Track, repaired, score_problems
from composer.core.timing import TempoChange, TimeSignature

from .files import atomic_write_bytes, read_problem

DRUM_CHANNEL = 9
MELODIC_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]
#: Longer than this is taken as a corrupt file rather than music.
MAX_DURATION_SECONDS = 6 * 3600.0
MAX_FILE_BYTES = 64 * 1024 * 1024


class MidiReadError(ComposerError):
    """A file that is not a MIDI file Composer can read; the message names the file and why."""


class MidiWriteError(ComposerError):
    """A score that cannot be written as MIDI."""


def read_midi(path: str | os.PathLike) -> Score:
    """Read a type 0 or type 1 Standard MIDI File into a Score.

    Fixable oddities (absurd tempos, notes outside the MIDI ranges) are repaired and reported as
    :class:`~composer.core.errors.ComposerWarning`. A file without notes gives an empty Score and a
    warning.

    Raises
    ------
    MidiReadError
        The file is missing, unreadable, not MIDI, truncated, type 2, or absurdly long.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MidiReadError(f"{path.name}: {size / 1e6:.0f} MB is too large for a MIDI file")
        data = path.read_bytes()
    except MidiReadError:
        raise
    except OSError as exc:
        raise MidiReadError(read_problem(path, exc, "a MIDI file")) from None
    return parse_midi(data, path.name)


def parse_midi(data: bytes, source: str = "<MIDI data>") -> Score:
    """Parse the bytes of a MIDI file; ``source`` names it in errors and warnings."""
    data = _unwrap_rmid(data)
    _check_header(data, source)
    try:
        import symusic

        parsed = symusic.Score.from_midi(data)
    except Exception as exc:  # symusic raises RuntimeError/ValueError with terse text
        raise MidiReadError(f"{source}: not a readable MIDI file ({_short(exc)})") from None

    tracks = []
    ambiguous = False
    for sym_track in parsed.tracks:
        cols = sym_track.notes.numpy()
        if len(cols["time"]) == 0:
            continue
        notes = empty_notes(len(cols["time"]))
        notes["start"] = cols["time"]
        notes["end"] = cols["time"] + cols["duration"]
        notes["pitch"] = cols["pitch"]
        notes["velocity"] = cols["velocity"]
        if _pairing_was_guessed(notes, bool(sym_track.is_drum)):
            ambiguous = True
            break
        notes = _end_retriggered(sort_notes(notes))
        notes["id"] = np.arange(len(notes))
        tracks.append(Track(sym_track.name, int(sym_track.program), bool(sym_track.is_drum), notes))
    if ambiguous:
        tracks = _read_events_exact(data, source)

    tempos = [TempoChange(int(t.time), float(t.qpm)) for t in parsed.tempos]
    sigs = [TimeSignature(int(s.time), int(s.numerator), int(s.denominator)) for s in parsed.time_signatures]
    score = Score(tracks, int(parsed.ticks_per_quarter), tempos or None, sigs or None)
    return _checked(score, source)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _unwrap_rmid(data: bytes) -> bytes:
    """RIFF-wrapped MIDI (.rmi) holds a plain SMF in its 'data' chunk."""
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        pos = data.find(b"MThd")
        if pos >= 0:
            return data[pos:]
    return data


def _check_header(data: bytes, source: str) -> None:
    if len(data) == 0:
        raise MidiReadError(f"{source}: the file is empty")
    if data[:4] != b"MThd" or len(data) < 14:
        raise MidiReadError(f"{source}: not a MIDI file (it does not start with a MIDI header)")
    fmt = int.from_bytes(data[8:10], "big")
    n_tracks = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    if fmt == 2:
        raise MidiReadError(f"{source}: MIDI type 2 (independent sequences) is not supported; "
                            "save it as type 0 or 1 in your MIDI editor")
    if fmt not in (0, 1):
        raise MidiReadError(f"{source}: unknown MIDI format {fmt}")
    if division & 0x8000:
        raise MidiReadError(f"{source}: uses SMPTE time division, which Composer does not read")
    if division == 0:
        raise MidiReadError(f"{source}: the header gives 0 ticks per quarter note")
    # Walk the chunk headers so a truncated file is an error rather than silently partial.
    pos, seen = 8 + int.from_bytes(data[4:8], "big"), 0
    while seen < n_tracks:
        if pos + 8 > len(data):
            raise MidiReadError(f"{source}: the file is truncated ({seen} of {n_tracks} tracks present)")
        length = int.from_bytes(data[pos + 4:pos + 8], "big")
        if data[pos:pos + 4] == b"MTrk":
            if pos + 8 + length > len(data):
                raise MidiReadError(f"{source}: the file is truncated in track {seen + 1} of {n_tracks}")
            seen += 1
        pos += 8 + length


def _pairing_was_guessed(notes: np.ndarray, is_drum: bool) -> bool:
    """True when symusic's note pairing may differ from pretty_midi's.

    Zero-length notes mean a note-on and note-off met on one tick, where the order of events
    decides the pairing; so do overlapping hits of one drum key. Overlapping pitched notes (a
    sustained piano) are common and pair the same way in both readers, up to where the earlier
    note ends, which :func:`_end_retriggered` settles.
    """
    if (notes["end"] <= notes["start"]).any():
        return True
    if not is_drum:
        return False
    order = np.lexsort((notes["start"], notes["pitch"]))
    pitch, start, end = notes["pitch"][order], notes["start"][order], notes["end"][order]
    return bool(((pitch[1:] == pitch[:-1]) & (start[1:] < end[:-1])).any())


def _read_events_exact(data: bytes, source: str) -> list[Track]:
    """Read notes event by event with pretty_midi's pairing rules (the slow path, rare files).

    A note-off ends every open note of its channel and pitch that began on an earlier tick;
    notes opened on the note-off's own tick stay open, and notes never closed are dropped.
    Tracks are split by (MIDI track, channel, program at the note-off), as pretty_midi does,
    and ordered by that key.
    """
    try:
        parts, names = _scan_note_events(data)
    except (IndexError, ValueError) as exc:
        raise MidiReadError(f"{source}: not a readable MIDI file ({exc or 'truncated event'})") from None
    tracks = []
    for (track_index, channel, program), rows in sorted(parts.items()):
        notes = empty_notes(len(rows))
        notes["start"], notes["end"], notes["pitch"], notes["velocity"] = np.array(rows, dtype=np.int64).T
        notes = _end_retriggered(sort_notes(notes))
        notes["id"] = np.arange(len(notes))
        tracks.append(Track(names.get(track_index, ""), program, channel == DRUM_CHANNEL, notes))
    return tracks


def _read_vlq(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, i


def _decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _scan_note_events(data: bytes):
    """Walk every track chunk; returns ({(track, channel, program): [(start, end, pitch, vel)]},
    {track: name}). A plain loop over bytes, several times faster than mido."""
    parts: dict[tuple[int, int, int], list] = {}
    names: dict[int, str] = {}
    n_tracks = int.from_bytes(data[10:12], "big")
    pos = 8 + int.from_bytes(data[4:8], "big")
    for track_index in range(n_tracks):
        while data[pos:pos + 4] != b"MTrk":
            pos += 8 + int.from_bytes(data[pos + 4:pos + 8], "big")
        i, end = pos + 8, pos + 8 + int.from_bytes(data[pos + 4:pos + 8], "big")
        pos = end
        tick = status = 0
        program = [0] * 16
        open_notes: dict[int, list[tuple[int, int]]] = {}
        while i < end:
            delta, i = _read_vlq(data, i)
            tick += delta
            if data[i] & 0x80:
                status = data[i]
                i += 1
            kind = status & 0xF0
            if kind in (0x80, 0x90):
                pitch, velocity = data[i], data[i + 1]
                i += 2
                key = ((status & 0x0F) << 7) | pitch
                if kind == 0x90 and velocity:
                    open_notes.setdefault(key, []).append((tick, velocity))
                    continue
                pending = open_notes.pop(key, None)
                if pending is None:
                    continue
                channel = status & 0x0F
                part = parts.setdefault((track_index, channel, program[channel]), [])
                staying = []
                for start, vel in pending:
                    if start != tick:
                        part.append((start, tick, pitch, vel))
                    else:
                        staying.append((start, vel))
                if staying and len(staying) < len(pending):
                    open_notes[key] = staying
            elif kind == 0xC0:
                program[status & 0x0F] = data[i]
                i += 1
            elif kind == 0xD0:
                i += 1
            elif kind in (0xA0, 0xB0, 0xE0):
                i += 2
            elif status == 0xFF:
                meta_type = data[i]
                length, i = _read_vlq(data, i + 1)
                if meta_type == 0x03 and track_index not in names:
                    names[track_index] = _decode_text(data[i:i + length])
                i += length
                status = 0  # meta and sysex events cancel running status
            elif status in (0xF0, 0xF7):
                length, i = _read_vlq(data, i)
                i += length
                status = 0
            else:
                raise ValueError(f"invalid event status byte {status:#x}")
    return parts, names


def _end_retriggered(notes: np.ndarray) -> np.ndarray:
    """Make same-pitch notes playable as MIDI: one note-off per note, in order.

    A note that still sounds when the same pitch starts again ends there; notes of one pitch that
    start together end together, at the earliest of their ends (a single note-off ends them all
    in every synthesizer). ``notes`` must be in (start, pitch) order; the order is kept. Returns
    ``notes`` itself when nothing needed changing, else a changed copy.
    """
    if len(notes) < 2:
        return notes
    order = np.argsort(notes["pitch"].astype(np.int64) << 40 | notes["start"], kind="stable")
    pitch, start, end = notes["pitch"][order], notes["start"][order], notes["end"][order]
    same_pitch = pitch[1:] == pitch[:-1]
    if not (same_pitch & (start[1:] < end[:-1])).any():
        return notes  # nothing overlaps: the usual case
    first = np.flatnonzero(np.r_[True, ~same_pitch | (start[1:] != start[:-1])])
    group_end = np.minimum.reduceat(notes["end"][order], first)
    group_pitch, group_start = pitch[first], start[first]
    nxt = group_start[1:]
    cut = (group_pitch[1:] == group_pitch[:-1]) & (nxt < group_end[:-1])
    group_end[:-1][cut] = nxt[cut]
    ends = np.repeat(group_end, np.diff(np.r_[first, len(order)]))
    notes = notes.copy()
    notes["end"][order] = ends
    return notes


def _checked(score: Score, source: str) -> Score:
    if score.note_count == 0:
        warnings.warn(f"{source}: the file contains no notes", ComposerWarning, stacklevel=3)
    problems = score_problems(score)
    if problems:
        score, repairs = repaired(score)
        for repair in repairs:
            warnings.warn(f"{source}: {repair}", ComposerWarning, stacklevel=3)
    seconds = score.duration_seconds
    if seconds > MAX_DURATION_SECONDS:
        raise MidiReadError(f"{source}: lasts {seconds / 3600:.1f} hours; files over "
                            f"{MAX_DURATION_SECONDS / 3600:.0f} hours are taken as corrupt")
    return score


# ----------------------------------------------------------------------------------- writing

def allocate_channels(tracks: list[Track]) -> list[int]:
    """A MIDI channel per track: drums on channel 10 (index 9), the rest on the other 15.

    With more than 15 melodic tracks, tracks with the same program share a channel; beyond that
    the write fails rather than producing a file that plays the wrong instruments.
    """
    channels: list[int] = []
    by_program: dict[int, int] = {}
    free = list(MELODIC_CHANNELS)
    distinct = len({t.program for t in tracks if not t.is_drum})
    melodic = sum(not t.is_drum for t in tracks)
    share = melodic > len(MELODIC_CHANNELS)
    if share and distinct > len(MELODIC_CHANNELS):
        raise MidiWriteError(f"{distinct} different instruments on melodic tracks; a MIDI file "
                             f"plays at most {len(MELODIC_CHANNELS)} at once besides drums")
    for track in tracks:
        if track.is_drum:
            channels.append(DRUM_CHANNEL)
        elif share and track.program in by_program:
            channels.append(by_program[track.program])
        else:
            channel = free.pop(0)
            by_program[track.program] = channel
            channels.append(channel)
    return channels


def score_to_midi_bytes(score: Score) -> bytes:
    """Encode ``score`` as an SMF type 1 file and return its bytes.

    Note events are encoded with numpy (a Python object per event made writing 300x slower).
    At one tick, note-offs come before note-ons, so a repeated pitch is not cut short.
    """
    problems = score_problems(score)
    if problems:
        raise MidiWriteError("cannot write an invalid score: " + "; ".join(problems))
    conductor = [(0, _meta(0x03, (score.title or "Composer").encode("utf-8")))]
    for change in score.tempos:
        micros = min(int(round(60_000_000 / change.qpm)), 0xFFFFFF)
        conductor.append((change.tick, _meta(0x51, micros.to_bytes(3, "big"))))
    for sig in score.time_signatures:
        power = max(sig.denominator.bit_length() - 1, 0)
        conductor.append((sig.tick, _meta(0x58, bytes([sig.numerator, power, 24, 8]))))
    conductor.sort(key=lambda e: e[0])
    chunks = [_chunk(b"".join(_vlq(t - last) + e for (t, e), last in
                              zip(conductor, [0] + [t for t, _ in conductor[:-1]])))]
    for track, channel in zip(score.tracks, allocate_channels(score.tracks)):
        head = _vlq(0) + _meta(0x03, track.name.encode("utf-8"))
        head += _vlq(0) + bytes([0xC0 | channel, track.program])
        chunks.append(_chunk(head + _encode_notes(_end_retriggered(track.notes), channel)))
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big") \
        + len(chunks).to_bytes(2, "big") + score.ppq.to_bytes(2, "big")
    return header + b"".join(chunks)


def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _meta(kind: int, payload: bytes) -> bytes:
    return bytes([0xFF, kind]) + _vlq(len(payload)) + payload


def _chunk(events: bytes) -> bytes:
    body = events + b"\x00\xff\x2f\x00"  # end of track
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def _encode_notes(notes: np.ndarray, channel: int) -> bytes:
    """Note-on/off events of ``notes`` (shape (n,)) as delta-timed MIDI bytes."""
    n = len(notes)
    if n == 0:
        return b""
    ticks = np.concatenate([notes["start"], notes["end"]])
    is_on = np.repeat([1, 0], n)
    pitch = np.concatenate([notes["pitch"], notes["pitch"]]).astype(np.uint8)
    velocity = np.concatenate([notes["velocity"], np.zeros(n, np.int16)]).astype(np.uint8)
    order = np.lexsort((pitch, is_on, ticks))
    ticks, is_on, pitch, velocity = ticks[order], is_on[order], pitch[order], velocity[order]
    delta = np.diff(ticks, prepend=0)
    if delta.max() >= 1 << 28:
        raise MidiWriteError("a gap between notes is too long to store in a MIDI file")
    size = 1 + (delta >= 1 << 7) + (delta >= 1 << 14) + (delta >= 1 << 21)
    length = size + 3
    pos = np.concatenate([[0], np.cumsum(length)[:-1]])
    out = np.zeros(int(length.sum()), dtype=np.uint8)
    for k in range(4):  # big-endian 7-bit groups; all but the last have the high bit set
        has = size > k
        shift = 7 * (size[has] - 1 - k)
        more = np.where(k < size[has] - 1, 0x80, 0)
        out[pos[has] + k] = ((delta[has] >> shift) & 0x7F) | more
    out[pos + size] = np.where(is_on == 1, 0x90, 0x80) | channel
    out[pos + size + 1] = pitch
    out[pos + size + 2] = velocity
    return out.tobytes()


def write_midi(score: Score, path: str | os.PathLike) -> None:
    """Write ``score`` as a type 1 MIDI file, atomically (a crash never leaves half a file)."""
    atomic_write_bytes(Path(path), score_to_midi_bytes(score))
