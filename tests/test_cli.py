"""The `composer` command as users run it: a real child process, its output and exit code."""

import os
import subprocess
import sys
import wave

import pytest

PY = sys.executable


def composer(*args, env=None, timeout=120):
    return subprocess.run([PY, "-m", "composer.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_version_and_help():
    result = composer("--version")
    assert result.returncode == 0 and result.stdout.startswith("composer ")
    for command in ("gui", "info", "render"):
        helped = composer(command, "--help")
        assert helped.returncode == 0 and "usage: composer " + command in helped.stdout


def test_info_describes_tracks_tempo_and_meter(fixtures):
    result = composer("info", str(fixtures / "song.mid"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "100.0, 140.0" in out and "3/4, 4/4" in out
    assert "Melody" in out and "Electric Bass (finger)" in out and "Drums" in out
    assert "35 in 3 tracks" in out


def test_info_reports_bad_files_in_one_line_and_goes_on(fixtures):
    result = composer("info", str(fixtures / "type2.mid"), str(fixtures / "song.mid"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "type 2" in result.stderr
    assert "Melody" in result.stdout


def test_info_never_imports_torch_or_qt(fixtures):
    code = ("import sys; from composer.cli import main; main(['info', sys.argv[1]]); "
            "bad = [m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    result = subprocess.run([PY, "-c", code, str(fixtures / "song.mid")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_render_writes_an_audible_wav(fixtures, tmp_path):
    out = tmp_path / "song.wav"
    result = composer("render", str(fixtures / "song.mid"), str(out))
    assert result.returncode == 0, result.stderr
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 44100, 2)
        seconds = w.getnframes() / 44100
        frames = w.readframes(w.getnframes())
    assert 5.3 < seconds < 7.0  # 5.3 s of music plus the release tail
    assert any(frames)


def test_render_of_a_missing_file_is_one_clear_error(tmp_path):
    result = composer("render", str(tmp_path / "nope.mid"), str(tmp_path / "x.wav"))
    assert result.returncode == 1 and "not found" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.wav").exists()


def _env_without_display():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display detection is for X11/Wayland")
def test_gui_without_a_display_explains_how_to_work_headless():
    result = composer("gui", env=_env_without_display(), timeout=60)
    assert result.returncode == 2
    assert "no display" in result.stderr and "xvfb-run" in result.stderr
    assert "Traceback" not in result.stderr


def test_gui_self_test_starts_and_exits_cleanly(fixtures):
    env = dict(_env_without_display(), QT_QPA_PLATFORM="offscreen")
    result = composer("gui", "--self-test", str(fixtures / "song.mid"), env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_no_command_prints_help():
    result = composer()
    assert result.returncode == 2 and "composer gui" in result.stdout


def test_child_commands_run_this_python_or_the_built_app(monkeypatch):
    """Child processes (the wizard's trainer, preprocessing) start ``composer`` the way this
    process runs: ``python -m composer.cli`` from source, the app binary itself when built."""
    from composer.launcher import composer_command

    assert composer_command() == [sys.executable, "-m", "composer.cli"]
    assert composer_command("/opt/py/bin/python3")[0] == "/opt/py/bin/python3"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert composer_command() == [sys.executable]
