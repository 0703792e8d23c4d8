"""Shared fixtures. Qt is told to draw offscreen before anything imports it."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(scope="session", autouse=True)
def isolated_user_folders(tmp_path_factory):
    """Keep tests (and the processes they start) out of the user's cache and model folders."""
    os.environ["COMPOSER_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["COMPOSER_MODELS"] = str(tmp_path_factory.mktemp("models"))
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))  # QSettings
    os.environ["COMPOSER_RECOVERY_DIR"] = str(tmp_path_factory.mktemp("recovery"))
    os.environ["COMPOSER_LOG_DIR"] = str(tmp_path_factory.mktemp("logs"))


@pytest.fixture(autouse=True)
def unsaved_work_is_discarded_without_asking(request, monkeypatch):
    """Windows closed at the end of a test would otherwise wait on a modal "Save changes?"
    question; tests of that question mark themselves ``asks_to_save``."""
    if "asks_to_save" in request.keywords:
        return
    try:
        from composer.gui.main_window import MainWindow
    except ImportError:
        return
    monkeypatch.setattr(MainWindow, "ask_to_save", lambda self: "discard")


@pytest.fixture
def fixtures() -> Path:
    """The small self-made MIDI files shipped in tests/fixtures."""
    return FIXTURES


@pytest.fixture(scope="session")
def datasets() -> Path:
    """../shared/datasets; tests that need it skip cleanly when it is absent."""
    if not DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {DATASETS}")
    return DATASETS


@pytest.fixture
def window(qtbot, tmp_path):
    """A shown MainWindow with its own settings file (test files may define a window of their own)."""
    from PySide6.QtCore import QSettings

    from composer.gui.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win
