"""General MIDI instrument names and families, GM drum keys, and the LPD-5 track grouping.

Programs are 0-based (0-127) throughout, as stored in a MIDI file; GM documents number them 1-128.

LPD-5 (the five-track grouping of the Lakh Pianoroll Dataset used by MuseGAN) merges every track
of a song into one of :data:`LPD5` = ``("drums", "piano", "guitar", "bass", "strings")``:

============  =====================================================================
slot          tracks
============  =====================================================================
``drums``     every drum track (MIDI channel 10), whatever its program
``piano``     programs 0-7 (GM family Piano)
``guitar``    programs 24-31 (Guitar)
``bass``      programs 32-39 (Bass)
``strings``   everything else: Chromatic Percussion, Organ, Strings, Ensemble, Brass,
              Reed, Pipe, Synth Lead, Synth Pad, Synth Effects, Ethnic, Percussive,
              Sound Effects
============  =====================================================================

Two versions of the grouping exist. The original LPD merger (``lakh-pianoroll-dataset``) sends
every remaining track to ``strings``, so each program has exactly one slot; that is the default
here. MuseGAN's later ``get_merged`` instead *drops* Synth Effects (96-103), Percussive (112-119)
and Sound Effects (120-127); pass ``strict=True`` to :func:`lpd5_slot` to get ``None`` for those
programs and reproduce that version.
"""

from __future__ import annotations

from ..core.errors import ComposerError

#: The 128 General MIDI (level 1) program names, indexed by 0-based program number.
GM_PROGRAM_NAMES: tuple[str, ...] = (
    # Piano 0-7
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
    # Chromatic Percussion 8-15
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone",
    "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    # Organ 16-23
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ",
    "Reed Organ", "Accordion", "Harmonica", "Tango Accordion",
    # Guitar 24-31
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)",
    "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar",
    "Distortion Guitar", "Guitar Harmonics",
    # Bass 32-39
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass",
    "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    # Strings 40-47
    "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani",
    # Ensemble 48-55
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2",
    "Choir Aahs", "Voice Oohs", "Synth Choir", "Orchestra Hit",
    # Brass 56-63
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2",
    # Reed 64-71
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax",
    "Oboe", "English Horn", "Bassoon", "Clarinet",
    # Pipe 72-79
    "Piccolo", "Flute", "Recorder", "Pan Flute",
    "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    # Synth Lead 80-87
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    # Synth Pad 88-95
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)",
    "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    # Synth Effects 96-103
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)",
    "FX 5 (brightness)", "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    # Ethnic 104-111
    "Sitar", "Banjo", "Shamisen", "Koto",
    "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    # Percussive 112-119
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
    # Sound Effects 120-127
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet",
    "Telephone Ring", "Helicopter", "Applause", "Gunshot",
)

#: The 16 GM families; family ``k`` holds programs ``8k`` to ``8k + 7``.
GM_FAMILIES: tuple[str, ...] = (
    "Piano", "Chromatic Percussion", "Organ", "Guitar",
    "Bass", "Strings", "Ensemble", "Brass",
    "Reed", "Pipe", "Synth Lead", "Synth Pad",
    "Synth Effects", "Ethnic", "Percussive", "Sound Effects",
)

#: GM level-1 percussion key map (channel 10), MIDI keys 35-81.
GM_DRUM_NAMES: dict[int, str] = {
    key: name
    for key, name in enumerate(
        (
            "Acoustic Bass Drum", "Bass Drum 1", "Side Stick", "Acoustic Snare",
            "Hand Clap", "Electric Snare", "Low Floor Tom", "Closed Hi-Hat",
            "High Floor Tom", "Pedal Hi-Hat", "Low Tom", "Open Hi-Hat",
            "Low-Mid Tom", "Hi-Mid Tom", "Crash Cymbal 1", "High Tom",
            "Ride Cymbal 1", "Chinese Cymbal", "Ride Bell", "Tambourine",
            "Splash Cymbal", "Cowbell", "Crash Cymbal 2", "Vibraslap",
            "Ride Cymbal 2", "Hi Bongo", "Low Bongo", "Mute Hi Conga",
            "Open Hi Conga", "Low Conga", "High Timbale", "Low Timbale",
            "High Agogo", "Low Agogo", "Cabasa", "Maracas",
            "Short Whistle", "Long Whistle", "Short Guiro", "Long Guiro",
            "Claves", "Hi Wood Block", "Low Wood Block", "Mute Cuica",
            "Open Cuica", "Mute Triangle", "Open Triangle",
        ),
        start=35,
    )
}

#: The LPD-5 track slots, in the Lakh Pianoroll Dataset / MuseGAN order.
LPD5: tuple[str, ...] = ("drums", "piano", "guitar", "bass", "strings")

#: GM program given to each LPD-5 slot when its merged track is written back out (MuseGAN's
#: ``TRACK_INFO``). The drums slot is a drum track (see :data:`LPD5_IS_DRUM`); its program is 0.
LPD5_PROGRAMS: dict[str, int] = {"drums": 0, "piano": 0, "guitar": 24, "bass": 32, "strings": 48}

#: Whether each LPD-5 slot is a drum track.
LPD5_IS_DRUM: dict[str, bool] = {slot: slot == "drums" for slot in LPD5}

# Families that have a slot of their own in LPD-5; every other family goes to "strings".
_LPD5_BY_FAMILY = {0: "piano", 3: "guitar", 4: "bass"}
# Families MuseGAN's get_merged drops: Synth Effects, Percussive, Sound Effects.
_LPD5_DROPPED_FAMILIES = frozenset({12, 14, 15})


def _check_program(program) -> int:
    try:
        value = int(program)
    except (TypeError, ValueError):
        raise ComposerError(f"MIDI program must be an integer 0-127, not {program!r}") from None
    if value != program or not 0 <= value <= 127:
        raise ComposerError(f"MIDI program must be an integer 0-127, not {program!r}")
    return value


def program_name(program: int) -> str:
    """The GM name of a 0-based ``program`` (0-127), e.g. ``program_name(0) == 'Acoustic Grand Piano'``.

    Raises
    ------
    ComposerError
        If ``program`` is not an integer in 0-127.
    """
    return GM_PROGRAM_NAMES[_check_program(program)]


def program_family(program: int) -> str:
    """The GM family name of a 0-based ``program``: one of :data:`GM_FAMILIES`.

    Raises
    ------
    ComposerError
        If ``program`` is not an integer in 0-127.
    """
    return GM_FAMILIES[_check_program(program) // 8]


def family_programs(family: str) -> range:
    """The programs of a GM family, e.g. ``family_programs('Bass') == range(32, 40)``.

    Matching is case-insensitive. Raises ComposerError for an unknown family name.
    """
    lowered = [f.lower() for f in GM_FAMILIES]
    try:
        k = lowered.index(str(family).lower())
    except ValueError:
        raise ComposerError(
            f"unknown GM family {family!r}; expected one of {', '.join(GM_FAMILIES)}"
        ) from None
    return range(8 * k, 8 * k + 8)


def drum_name(pitch: int) -> str:
    """The GM percussion name of drum key ``pitch``, e.g. ``drum_name(38) == 'Acoustic Snare'``.

    Keys 35-81 have GM names; other keys (0-34, 82-127) get a generic ``'Drum key N'``.

    Raises
    ------
    ComposerError
        If ``pitch`` is not an integer in 0-127.
    """
    try:
        key = int(pitch)
    except (TypeError, ValueError):
        raise ComposerError(f"MIDI pitch must be an integer 0-127, not {pitch!r}") from None
    if key != pitch or not 0 <= key <= 127:
        raise ComposerError(f"MIDI pitch must be an integer 0-127, not {pitch!r}")
    return GM_DRUM_NAMES.get(key, f"Drum key {key}")


def lpd5_slot(program: int, is_drum: bool = False, *, strict: bool = False) -> str | None:
    """The LPD-5 slot (one of :data:`LPD5`) of a track with this program and drum flag.

    Drum tracks go to ``"drums"``; programs 0-7 to ``"piano"``, 24-31 to ``"guitar"``, 32-39 to
    ``"bass"``, and every other program to ``"strings"`` (the original LPD merger), so each
    program maps to exactly one slot.

    Parameters
    ----------
    program : int
        0-based GM program, 0-127 (checked even for drum tracks).
    is_drum : bool
        True for a drum (channel 10) track.
    strict : bool
        Follow MuseGAN's ``get_merged`` instead: return ``None`` (track dropped) for Synth
        Effects 96-103, Percussive 112-119 and Sound Effects 120-127.

    Raises
    ------
    ComposerError
        If ``program`` is not an integer in 0-127.
    """
    family = _check_program(program) // 8
    if is_drum:
        return "drums"
    if strict and family in _LPD5_DROPPED_FAMILIES:
        return None
    return _LPD5_BY_FAMILY.get(family, "strings")


def lpd5_instrument(slot: str) -> tuple[int, bool]:
    """``(program, is_drum)`` used for an LPD-5 slot's track, e.g. ``('bass') -> (32, False)``."""
    if slot not in LPD5_PROGRAMS:
        raise ComposerError(f"unknown LPD-5 slot {slot!r}; expected one of {', '.join(LPD5)}")
    return LPD5_PROGRAMS[slot], LPD5_IS_DRUM[slot]
