"""FluidSynth rendering and WAV export, with the real FluidSynth library and SoundFont."""

import os
import subprocess
import sys
import wave

import numpy as np
import pytest

from composer.core import ComposerError, Score, TempoChange, Track, make_notes
from composer.io import audio, synth

SR = audio.DEFAULT_SAMPLE_RATE
SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def scale_track(**kw) -> Track:
    """A C major scale of 8 quarter notes: 4 s at 120 BPM."""
    starts = np.arange(8) * 480
    return Track("piano", 0, notes=make_notes(starts, starts + 480, SCALE, 100), **kw)


def drum_track(**kw) -> Track:
    """Kick, hat, snare, hat as eighth notes for two bars: 3.875 s at 120 BPM."""
    starts = np.arange(16) * 240
    return Track("drums", 0, True, make_notes(starts, starts + 120, [36, 42, 38, 42] * 4), **kw)


def score_of(*tracks: Track) -> Score:
    return Score(list(tracks), ppq=480, tempos=[TempoChange(0, 120.0)])


@pytest.fixture(autouse=True)
def no_soundfont_env(monkeypatch):
    # A developer's own COMPOSER_SOUNDFONT must not change what these tests find.
    monkeypatch.delenv(synth.SOUNDFONT_ENV, raising=False)


@pytest.fixture(scope="module")
def scale_audio() -> np.ndarray:
    return audio.render(score_of(scale_track()))


# ---- rendering ---------------------------------------------------------------------------------

def test_render_scale_is_stereo_float32_of_the_right_length(scale_audio):
    assert scale_audio.dtype == np.float32
    assert scale_audio.ndim == 2 and scale_audio.shape[1] == 2
    expected = (4.0 + 1.0) * SR  # duration + default tail
    assert abs(len(scale_audio) - expected) <= audio.SYNTH_BLOCK


def test_render_scale_is_audible_in_both_channels_and_each_note(scale_audio):
    assert rms(scale_audio[:, 0]) > 1e-3 and rms(scale_audio[:, 1]) > 1e-3
    for i in range(8):  # every quarter note sounds
        assert rms(scale_audio[int((i * 0.5 + 0.1) * SR):int((i * 0.5 + 0.4) * SR)]) > 1e-3
    assert np.abs(scale_audio).max() < 1.0


def test_tail_is_appended_and_ends_quietly():
    out = audio.render(score_of(scale_track()), tail_seconds=2.0)
    assert abs(len(out) - 6.0 * SR) <= audio.SYNTH_BLOCK
    assert rms(out[-SR // 4:]) < 1e-4


def test_render_is_reproducible(scale_audio):
    np.testing.assert_array_equal(audio.render(score_of(scale_track())), scale_audio)


def test_other_sample_rate():
    out = audio.render(score_of(scale_track()), sample_rate=22050)
    assert abs(len(out) - 5.0 * 22050) <= audio.SYNTH_BLOCK
    assert rms(out) > 1e-3


def test_bad_sample_rate_is_a_composer_error():
    with pytest.raises(ComposerError, match="sample rate"):
        audio.render(score_of(scale_track()), sample_rate=1000)


def test_drum_track_is_audible():
    out = audio.render(score_of(drum_track()))
    assert abs(len(out) - (3.875 + 1.0) * SR) <= audio.SYNTH_BLOCK
    assert rms(out) > 1e-3


def test_empty_score_renders_silent_tail():
    out = audio.render(Score(), tail_seconds=0.5)
    assert out.shape == (SR // 2, 2) and out.dtype == np.float32
    assert not out.any()


def test_score_with_only_empty_tracks_renders_silent_tail():
    out = audio.render(score_of(Track("empty")))
    assert out.shape == (SR, 2) and not out.any()


def test_effects_change_the_sound_but_not_the_length(scale_audio):
    wet = audio.render(score_of(scale_track()), effects=True)
    assert wet.shape == scale_audio.shape
    assert not np.array_equal(wet, scale_audio)
    assert rms(wet) > 1e-3


# ---- mute and solo -----------------------------------------------------------------------------

def test_solo_track_alone_sounds():
    # The loud piano is not solo; the solo track has no notes, so the result is silence.
    out = audio.render(score_of(scale_track(), Track("quiet", solo=True)))
    assert not out.any()


def test_solo_matches_rendering_that_track_alone():
    soloed = audio.render(score_of(scale_track(), drum_track(solo=True)))
    alone = audio.render(score_of(drum_track()), tail_seconds=1.0 + 0.125)
    np.testing.assert_array_equal(soloed, alone)


def test_muted_track_is_silent_unless_mute_is_ignored():
    score = score_of(scale_track(muted=True))
    assert not audio.render(score).any()
    assert rms(audio.render(score, respect_mute_solo=False)) > 1e-3


def test_mute_wins_over_solo():
    assert not audio.render(score_of(scale_track(muted=True, solo=True), drum_track())).any()


# ---- notes and channels ------------------------------------------------------------------------

def test_overlapping_same_pitch_notes_do_not_cut_the_later_one():
    # An organ holds a steady level; the first note's end (1.0 s) must not stop the second,
    # which lasts until 1.5 s.
    organ = Track("organ", 16, notes=make_notes([0, 480], [960, 1440], [60, 60]))
    out = audio.render(score_of(organ))
    held = rms(out[int(0.6 * SR):int(0.9 * SR)])
    assert held > 1e-3
    assert rms(out[int(1.2 * SR):int(1.45 * SR)]) > 0.5 * held
    assert rms(out[int(1.7 * SR):]) < 0.01 * held


def test_duplicate_notes_sound_once_for_their_full_length():
    organ = Track("organ", 16, notes=make_notes([0, 0], [960, 480], [60, 60]))
    out = audio.render(score_of(organ))
    assert rms(out[int(0.7 * SR):int(0.95 * SR)]) > 1e-3


def test_assign_channels_gives_drums_channel_9_and_melodic_tracks_their_own():
    tracks = [Track(program=p) for p in range(12)] + [Track(is_drum=True)]
    channels = audio.assign_channels(tracks)
    assert channels[-1] == 9
    assert 9 not in channels[:-1] and len(set(channels)) == len(channels)


def test_assign_channels_shares_by_program_when_channels_run_out():
    tracks = [Track(program=p) for p in range(15)] + [Track(program=3), Track(is_drum=True),
                                                      Track(is_drum=True)]
    channels = audio.assign_channels(tracks, n_channels=16)
    assert channels[:15] == [c for c in range(16) if c != 9]
    assert channels[15] == channels[3]  # same program shares
    assert channels[16] == channels[17] == 9


def test_renderer_can_be_reused_and_closed():
    with audio.Renderer() as renderer:
        first, second, third = (renderer.render(score_of(drum_track())) for _ in range(3))
        # A fresh synth's voices start from a slightly different state (a trace in the first
        # block); from the second render on, the same score renders identically.
        assert first.shape == second.shape
        assert rms(first - second) < 0.05 * rms(first)
        np.testing.assert_array_equal(second, third)
    renderer.close()  # closing twice is fine
    with pytest.raises(RuntimeError):
        renderer.render(Score())


# ---- preview -----------------------------------------------------------------------------------

def test_preview_note_is_audible():
    out = audio.preview_note(60)
    assert out.dtype == np.float32 and out.shape[1] == 2
    assert abs(len(out) - (0.5 + audio.PREVIEW_RELEASE_SECONDS) * SR) <= audio.SYNTH_BLOCK
    assert rms(out) > 1e-3


def test_preview_drum_and_other_instrument_are_audible():
    assert rms(audio.preview_note(38, is_drum=True)) > 1e-3
    assert rms(audio.preview_note(48, program=40, seconds=0.3)) > 1e-4


def test_preview_bad_pitch_is_a_composer_error():
    with pytest.raises(ComposerError, match="128"):
        audio.preview_note(128)


# ---- WAV export --------------------------------------------------------------------------------

def test_write_wav_round_trip(tmp_path, scale_audio):
    path = audio.write_wav(tmp_path / "scale.wav", scale_audio)
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 2
        assert w.getframerate() == SR
        assert w.getsampwidth() == 2
        assert w.getnframes() == len(scale_audio)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    np.testing.assert_allclose(frames / 32767.0, scale_audio, atol=1 / 32767.0)
    assert os.listdir(tmp_path) == ["scale.wav"]  # no temporary file left behind


def test_write_wav_clips_and_replaces(tmp_path):
    path = tmp_path / "loud.wav"
    path.write_bytes(b"old")
    audio.write_wav(path, np.array([[2.0, -2.0], [0.5, -0.5]], dtype=np.float32))
    with wave.open(str(path), "rb") as w:
        frames = np.frombuffer(w.readframes(2), dtype="<i2").reshape(-1, 2)
    assert frames.tolist() == [[32767, -32767], [16384, -16384]]


def test_write_wav_to_missing_folder_is_a_composer_error(tmp_path):
    target = tmp_path / "no such folder" / "out.wav"
    with pytest.raises(ComposerError, match="no such folder"):
        audio.write_wav(target, np.zeros((10, 2), dtype=np.float32))


def test_render_wav(tmp_path):
    path = audio.render_wav(score_of(drum_track()), tmp_path / "drums.wav", tail_seconds=0.5)
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getframerate()) == (2, SR)
        assert abs(w.getnframes() - (3.875 + 0.5) * SR) <= audio.SYNTH_BLOCK


# ---- finding a SoundFont -----------------------------------------------------------------------

def test_user_setting_wins_over_environment(tmp_path, monkeypatch):
    user, env = tmp_path / "user.sf2", tmp_path / "env.sf2"
    user.touch()
    env.touch()
    monkeypatch.setenv(synth.SOUNDFONT_ENV, str(env))
    assert synth.find_soundfont(str(user)) == user


def test_environment_wins_over_default(tmp_path, monkeypatch):
    env = tmp_path / "env.sf2"
    env.touch()
    monkeypatch.setenv(synth.SOUNDFONT_ENV, str(env))
    assert synth.find_soundfont() == env
    assert synth.find_soundfont("") == env  # an empty setting means "not set"


def test_default_soundfont_is_pretty_midis():
    found = synth.find_soundfont()
    assert found.is_file()
    bundled = synth._pretty_midi_soundfont()
    if bundled is not None and bundled.is_file():
        assert found == bundled and found.name == "TimGM6mb.sf2"


def test_missing_user_soundfont_is_named(tmp_path):
    missing = tmp_path / "nowhere.sf2"
    with pytest.raises(ComposerError, match="nowhere.sf2") as info:
        synth.find_soundfont(missing)
    assert isinstance(info.value, synth.AudioUnavailable)
    assert synth.SOUNDFONT_ENV in str(info.value)  # says how to set one


def test_missing_environment_soundfont_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(synth.SOUNDFONT_ENV, str(tmp_path / "gone.sf2"))
    with pytest.raises(synth.SoundFontError, match="gone.sf2"):
        synth.find_soundfont()


def test_invalid_soundfont_file_is_a_composer_error(tmp_path):
    bogus = tmp_path / "bogus.sf2"
    bogus.write_bytes(b"this is not a SoundFont" * 10)
    with pytest.raises(synth.SoundFontError, match="bogus.sf2"):
        audio.render(score_of(scale_track()), soundfont=bogus)


# ---- FluidSynth missing ------------------------------------------------------------------------

def test_missing_library_raises_audio_unavailable_with_install_hint(monkeypatch):
    def fail():
        raise OSError("libfluidsynth.so.3: cannot open shared object file")

    monkeypatch.setattr(synth, "_import_fluidsynth", fail)
    for call in (lambda: audio.render(score_of(scale_track())), lambda: audio.preview_note(60)):
        with pytest.raises(synth.AudioUnavailable) as info:
            call()
        message = str(info.value)
        assert "sudo apt-get install libfluidsynth3" in message
        assert "brew install fluid-synth" in message
        assert "PATH" in message


def test_importing_the_module_does_not_load_fluidsynth():
    code = "import sys, composer.io.audio; assert 'fluidsynth' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
