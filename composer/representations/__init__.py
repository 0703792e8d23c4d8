"""Data representations of scores for models: piano rolls and General MIDI / LPD-5 instruments.

numpy only (no torch, no Qt), so data loaders can use it in worker processes.
"""

from .instruments import (
    GM_DRUM_NAMES,
    GM_FAMILIES,
    GM_PROGRAM_NAMES,
    LPD5,
    LPD5_IS_DRUM,
    LPD5_PROGRAMS,
    drum_name,
    family_programs,
    lpd5_instrument,
    lpd5_slot,
    program_family,
    program_name,
)
from .pianoroll import (
    FULL_PITCH_RANGE,
    MUSEGAN_PITCH_RANGE,
    count_out_of_range,
    crop_range,
    from_lpd5_pianoroll,
    from_pianoroll,
    pitch_span,
    to_lpd5_pianoroll,
    to_pianoroll,
)

__all__ = [
    "GM_DRUM_NAMES", "GM_FAMILIES", "GM_PROGRAM_NAMES", "LPD5", "LPD5_IS_DRUM", "LPD5_PROGRAMS",
    "drum_name", "family_programs", "lpd5_instrument", "lpd5_slot", "program_family",
    "program_name",
    "FULL_PITCH_RANGE", "MUSEGAN_PITCH_RANGE", "count_out_of_range", "crop_range",
    "from_lpd5_pianoroll", "from_pianoroll", "pitch_span", "to_lpd5_pianoroll", "to_pianoroll",
]
