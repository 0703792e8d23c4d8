"""The parts of FluidSynth's C API that playback needs and pyfluidsynth does not wrap (or wraps
slowly), and starting an audio driver: the platform's usual ones in turn, each failure said in
one line, FluidSynth's own log captured rather than printed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys

from .native import quiet_native_stderr
from .synth import AudioUnavailable, load_fluidsynth

#: Audio drivers tried in this order when none is named, by platform; only those the FluidSynth
#: library was built with are tried.
PLATFORM_DRIVERS = {
    "linux": ("pulseaudio", "pipewire", "alsa", "jack", "sdl2", "oss"),
    "darwin": ("coreaudio", "portaudio", "sdl2", "jack"),
    "win32": ("wasapi", "dsound", "waveout", "sdl2", "portaudio"),
}
OTHER_PLATFORM_DRIVERS = ("pulseaudio", "sndio", "oss", "portaudio", "sdl2", "jack")

# Probing for a device must not launch a JACK server, which would take over the sound card (set
# here, at import on the main thread, because changing the environment while other threads run is
# unsafe in C). A JACK user starts their server anyway.
os.environ.setdefault("JACK_NO_START_SERVER", "1")


class NoAudioDevice(AudioUnavailable):
    """No audio driver could be started; the message says which were tried and why each failed."""


# --------------------------------------------------------------------------------------------
# The parts of the FluidSynth C API pyfluidsynth does not wrap (or wraps slowly)


class FluidApi:
    """ctypes prototypes of the sequencer, event, driver and log functions.

    Declared here rather than through pyfluidsynth's wrappers: those allocate a new event per
    note and parse keyword flags on every call, several times slower when scheduling thousands
    of notes.
    """

    LOG_FUNCTION = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
    OPTION_FUNCTION = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)

    def __init__(self, lib):
        vp, i, s, u = ctypes.c_void_p, ctypes.c_int, ctypes.c_short, ctypes.c_uint

        def f(name, restype, *argtypes):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, list(argtypes)
            return fn

        self.new_sequencer = f("new_fluid_sequencer2", vp, i)
        self.delete_sequencer = f("delete_fluid_sequencer", None, vp)
        self.register_synth = f("fluid_sequencer_register_fluidsynth", s, vp, vp)
        self.get_tick = f("fluid_sequencer_get_tick", u, vp)
        self.send_at = f("fluid_sequencer_send_at", i, vp, vp, u, i)
        self.remove_events = f("fluid_sequencer_remove_events", None, vp, s, s, i)
        self.new_event = f("new_fluid_event", vp)
        self.delete_event = f("delete_fluid_event", None, vp)
        self.event_set_source = f("fluid_event_set_source", None, vp, s)
        self.event_set_dest = f("fluid_event_set_dest", None, vp, s)
        self.event_noteon = f("fluid_event_noteon", None, vp, i, s, s)
        self.event_noteoff = f("fluid_event_noteoff", None, vp, i, s)
        self.all_notes_off = f("fluid_synth_all_notes_off", i, vp, i)
        self.new_audio_driver = f("new_fluid_audio_driver", vp, vp, vp)
        self.delete_audio_driver = f("delete_fluid_audio_driver", None, vp)
        self.set_log_function = f("fluid_set_log_function", vp, i, vp, vp)
        self.foreach_option = f("fluid_settings_foreach_option", None, vp, ctypes.c_char_p, vp,
                                self.OPTION_FUNCTION)


_api_cache: FluidApi | None = None


def fluid_api() -> FluidApi:
    global _api_cache
    if _api_cache is None:
        fs = load_fluidsynth()
        try:
            _api_cache = FluidApi(fs._fl)
        except AttributeError as exc:  # a FluidSynth 1.x library, or a pyfluidsynth without _fl
            raise AudioUnavailable(f"Audio is unavailable: this FluidSynth library lacks {exc}; "
                                   "FluidSynth 2.2 or newer is needed.") from exc
    return _api_cache


# --------------------------------------------------------------------------------------------
# Audio drivers


def _driver_options(api: FluidApi, settings) -> list[str]:
    """The audio drivers this FluidSynth library was built with."""
    names: list[str] = []
    callback = FluidApi.OPTION_FUNCTION(lambda _data, _name, option: names.append(option.decode()))
    api.foreach_option(settings, b"audio.driver", None, callback)
    return names


# One C callback for the life of the process: FluidSynth may still be inside a log call from
# another thread when capturing ends, so the callback must never be freed.
_log_sink: list[list[str]] = []


def _log_to_sink(_level, message, _data) -> None:
    if _log_sink and message:
        _log_sink[-1].append(message.decode(errors="replace").strip().rstrip("."))


_log_callback = FluidApi.LOG_FUNCTION(_log_to_sink)


@contextlib.contextmanager
def fluid_log_captured():
    """Collect FluidSynth's error and warning messages (a list of str) instead of printing them,
    so a failed driver can say why in one line. Restores the previous log functions."""
    api = fluid_api()
    messages: list[str] = []
    _log_sink.append(messages)
    levels = (0, 1, 2)  # FLUID_PANIC, FLUID_ERR, FLUID_WARN
    previous = [api.set_log_function(level, ctypes.cast(_log_callback, ctypes.c_void_p), None)
                for level in levels]
    try:
        yield messages
    finally:
        for level, function in zip(levels, previous):
            api.set_log_function(level, function, None)
        _log_sink.remove(messages)


def _init_sdl2() -> str | None:
    """FluidSynth's SDL2 driver needs SDL's audio subsystem started by the application; returns
    None when it is, else why not."""
    name = ctypes.util.find_library("SDL2") or ctypes.util.find_library("SDL2-2.0")
    if name is None:
        return "the SDL2 library was not found"
    try:
        sdl = ctypes.CDLL(name)
        sdl.SDL_InitSubSystem.argtypes = [ctypes.c_uint32]
        if sdl.SDL_InitSubSystem(0x10) != 0:  # SDL_INIT_AUDIO
            sdl.SDL_GetError.restype = ctypes.c_char_p
            return f"SDL2 audio could not be started ({sdl.SDL_GetError().decode(errors='replace')})"
    except (OSError, AttributeError) as exc:
        return f"SDL2 could not be loaded ({exc})"
    return None


def start_driver(api: FluidApi, synth, driver: str | None, device: str | None):
    """Start an audio driver on ``synth``; returns ``(driver name, driver handle)``.

    Raises
    ------
    NoAudioDevice
        When the named driver (or, with none named, every usual driver of the platform) fails.
    """
    available = _driver_options(api, synth.settings)
    if driver:
        if driver not in available:
            raise NoAudioDevice(f"no sound device: this FluidSynth has no {driver!r} audio driver "
                                f"(it has {', '.join(available) or 'none'})")
        candidates = [driver]
    else:
        preferred = PLATFORM_DRIVERS.get(sys.platform, OTHER_PLATFORM_DRIVERS)
        candidates = [d for d in preferred if d in available] or available
    failures = []
    for name in candidates:
        if name == "sdl2":
            with quiet_native_stderr():
                problem = _init_sdl2()
            if problem:
                failures.append(f"sdl2: {problem}")
                continue
        synth.setting("audio.driver", name)
        if device:
            synth.setting(f"audio.{name}.device", device)
        with fluid_log_captured() as messages, quiet_native_stderr():
            handle = api.new_audio_driver(synth.settings, synth.synth)
        if handle:
            return name, handle
        failures.append(f"{name}: {'; '.join(messages) or 'failed to start'}")
    raise NoAudioDevice("no sound device: " + "; ".join(failures or ["no audio driver to try"]))
