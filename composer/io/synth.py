"""FluidSynth and a General MIDI SoundFont, as offline rendering (:mod:`composer.io.audio`) and
real-time playback (:mod:`composer.io.playback`) both use them, so both sound the same.

The pyfluidsynth library is imported lazily (:func:`load_fluidsynth`), so importing this module
never fails on a machine without it; the first call that needs it raises
:class:`AudioUnavailable` with install instructions instead. :func:`find_soundfont` locates the
SoundFont, :func:`new_synth` makes a synth with it loaded (no audio driver started) and
:func:`select_program` puts a General MIDI instrument on a channel.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from pathlib import Path

from ..core import ComposerError

DEFAULT_SAMPLE_RATE = 44100
#: FluidSynth accepts sample rates in this range (Hz); outside it the setting is silently ignored.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 96000
SOUNDFONT_ENV = "COMPOSER_SOUNDFONT"
DRUM_CHANNEL, DRUM_BANK = 9, 128
#: Enough for one channel per track in any realistic score; must be a multiple of 16.
MIDI_CHANNELS = 256
#: FluidSynth's own default master gain: dense pop arrangements peak near 1.0 with FluidR3_GM.
SYNTH_GAIN = 0.2
#: FluidSynth spreads voice rendering over this many threads; it only helps dense passages and
#: does not change the output.
SYNTH_CPU_CORES = min(os.cpu_count() or 1, 4)

INSTALL_HINT = (
    "Install FluidSynth: on Debian/Ubuntu `sudo apt-get install libfluidsynth3`, on macOS "
    "`brew install fluid-synth`, on Windows put the FluidSynth DLLs (libfluidsynth-3.dll and its "
    "dependencies) in a folder on PATH."
)
SOUNDFONT_HINT = (
    f"Choose a General MIDI SoundFont (.sf2) in the audio settings or set the {SOUNDFONT_ENV} "
    "environment variable to one; `pip install pretty_midi` provides a small one, and on "
    "Debian/Ubuntu `sudo apt-get install fluid-soundfont-gm` installs FluidR3_GM.sf2."
)

# General MIDI SoundFonts in the places packages and users usually put them, best first.
_SYSTEM_SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/*.sf2",
    "/usr/share/sounds/sf2/*.sf2",
    "/usr/local/share/soundfonts/*.sf2",
    "/opt/homebrew/share/soundfonts/*.sf2",
    "~/Library/Audio/Sounds/Banks/*.sf2",
    "/Library/Audio/Sounds/Banks/*.sf2",
    "C:/soundfonts/*.sf2",
    "C:/tools/fluidsynth/*.sf2",
    "~/soundfonts/*.sf2",
)


class AudioUnavailable(ComposerError):
    """FluidSynth or a SoundFont is missing; the message says how to install or choose one."""


class SoundFontError(AudioUnavailable):
    """No usable SoundFont: none found, a configured path is missing, or the file is not one."""


# --------------------------------------------------------------------------------------------
# Finding FluidSynth and a SoundFont


def _import_fluidsynth():
    """Import pyfluidsynth; raises ImportError or OSError when the C library cannot be loaded."""
    import fluidsynth

    return fluidsynth


def load_fluidsynth():
    """The pyfluidsynth module, or :class:`AudioUnavailable` with install instructions."""
    try:
        return _import_fluidsynth()
    except (ImportError, OSError) as exc:
        raise AudioUnavailable(f"Audio is unavailable: the FluidSynth library could not be "
                               f"loaded ({exc}). {INSTALL_HINT}") from exc


def _pretty_midi_soundfont() -> Path | None:
    # find_spec locates the package without importing it (pretty_midi's import is slow).
    try:
        spec = importlib.util.find_spec("pretty_midi")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "TimGM6mb.sf2"


def find_soundfont(user_setting: str | os.PathLike | None = None) -> Path:
    """Locate the General MIDI SoundFont to render with.

    Lookup order: ``user_setting``, the ``COMPOSER_SOUNDFONT`` environment variable, the
    TimGM6mb.sf2 shipped with pretty_midi, then system SoundFonts (FluidR3_GM, default-GM,
    ``/usr/share/soundfonts/*.sf2``, common macOS and Windows folders).

    Parameters
    ----------
    user_setting : str or path-like, optional
        The SoundFont chosen in the settings; empty or None means "find one".

    Returns
    -------
    Path
        An existing file.

    Raises
    ------
    SoundFontError
        When ``user_setting`` or the environment variable names a file that does not exist
        (explicit choices never fall through silently), or when no SoundFont is found.
    """
    explicit = ((user_setting, "the SoundFont setting"),
                (os.environ.get(SOUNDFONT_ENV), f"the {SOUNDFONT_ENV} environment variable"))
    for value, origin in explicit:
        if value is not None and str(value).strip():
            path = Path(str(value).strip()).expanduser()
            if not path.is_file():
                raise SoundFontError(f"SoundFont {str(path)!r} from {origin} does not exist. "
                                     f"{SOUNDFONT_HINT}")
            return path
    bundled = _pretty_midi_soundfont()
    if bundled is not None and bundled.is_file():
        return bundled
    for pattern in _SYSTEM_SOUNDFONTS:
        for match in sorted(glob.glob(os.path.expanduser(pattern))):
            if os.path.isfile(match):
                return Path(match)
    raise SoundFontError(f"Audio is unavailable: no SoundFont was found. {SOUNDFONT_HINT}")


# --------------------------------------------------------------------------------------------
# Synth, SoundFont and instruments


def check_sample_rate(sample_rate: int) -> int:
    """``sample_rate`` as an int; :class:`ComposerError` outside the range FluidSynth accepts."""
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ComposerError(f"sample rate {sample_rate} Hz is outside the "
                            f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz FluidSynth supports")
    return int(sample_rate)


def new_synth(soundfont: Path, sample_rate: int, effects: bool = False,
              cpu_cores: int = SYNTH_CPU_CORES, **settings):
    """A pyfluidsynth ``Synth`` with ``soundfont`` loaded, and the SoundFont's id.

    Parameters
    ----------
    soundfont : Path
        An existing file, normally from :func:`find_soundfont`.
    sample_rate : int
    effects : bool
        FluidSynth's reverb and chorus.
    cpu_cores : int
        Threads FluidSynth renders voices with.
    **settings
        Further FluidSynth settings by name (dots allowed through ``**{"audio.driver": ...}``).

    Returns
    -------
    tuple (fluidsynth.Synth, int)

    Raises
    ------
    AudioUnavailable
        When FluidSynth cannot be loaded; :class:`SoundFontError` when the file is not a SoundFont.
    """
    fs = load_fluidsynth()
    synth = fs.Synth(gain=SYNTH_GAIN, samplerate=float(sample_rate), channels=MIDI_CHANNELS,
                     **{"synth.cpu-cores": int(cpu_cores), "synth.reverb.active": int(effects),
                        "synth.chorus.active": int(effects), **settings})
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise SoundFontError(f"SoundFont {str(soundfont)!r} could not be loaded: it "
                                 f"is not a valid .sf2/.sf3 file. {SOUNDFONT_HINT}")
    except BaseException:
        synth.delete()
        raise
    return synth, sfid


def select_program(synth, sfid: int, channel: int, program: int, is_drum: bool) -> None:
    """Give ``channel`` the General MIDI ``program`` (drum kit ``program`` when ``is_drum``)."""
    # Fall back to the bank's first preset rather than leave the channel silent, and check
    # presets first so FluidSynth does not log an error for each missing one.
    bank = DRUM_BANK if is_drum else 0
    for b, p in ((bank, program), (bank, 0)):
        if synth.sfpreset_name(sfid, b, p) is not None:
            bank, program = b, p
            break
    synth.program_select(channel, sfid, bank, program)
