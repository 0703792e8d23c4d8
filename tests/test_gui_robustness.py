"""A musician's first hour: file dialogs that remember folders, Ctrl+Y, error dialogs that show
their title, a plain MIDI message, distinct track colours, damaged files opened every way,
SIGTERM and Ctrl+C, and unexpected exceptions that become one dialog and a log line.

Child-process tests start the real ``composer gui`` (offscreen) with its own settings, recovery
and log folders, and wait for lines in its log file rather than for a time.
"""

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QDropEvent, QKeySequence
from PySide6.QtWidgets import QMessageBox

from composer.core.edits import AddNotes
from composer.core.notes import make_notes
from composer.core.score import Score, TempoChange, TimeSignature, Track
from composer.gui import error_log
from composer.gui.autosave import Autosaver, RecoveryDialog
from composer.gui.dialogs import APP_NAME, show_error, title_width
from composer.gui.error_log import ErrorReporter
from composer.gui.generation_controller import show_error as show_generation_error
from composer.gui.main_window import MainWindow
from composer.gui.midi_record import MidiRecordControl
from composer.gui.pianoroll import theme
from composer.gui.tracks_panel import TracksPanel
from composer.gui.undo import push_edit, redo_shortcuts
from composer.io import midi_input
from composer.io.midi import read_midi
from composer.io.project import ProjectError, load_project, save_project
from composer.io.recovery import LOCK_SUFFIX, find_recoverable

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    return win


def _add_note(window, pitch=64):
    track = window.score.tracks[0]
    push_edit(window.undo_stack, window.score,
              AddNotes(track.id, make_notes([0], [480], [pitch], ids=track.new_note_ids(1))))


def _error_boxes(window, name="errorDialog"):
    return [box for box in window.findChildren(QMessageBox, name) if box.isVisible()]


# ------------------------------------------------------------------------ 12: file dialogs
class _Dialogs:
    """Stands in for QFileDialog: records the folder each dialog starts in, answers a path."""

    def __init__(self, monkeypatch):
        self.started_in: list[tuple[str, Path]] = []
        self.answer = ""
        for name in ("getOpenFileName", "getSaveFileName"):
            monkeypatch.setattr(f"composer.gui.main_window.QFileDialog.{name}",
                                staticmethod(lambda parent, caption, start, *a, **k: self._ask(caption, start)))

    def _ask(self, caption, start):
        start = Path(start)
        # A save dialog gets "folder/suggested name"; an open dialog the folder itself.
        self.started_in.append((caption, start if start.is_dir() else start.parent))
        return self.answer, ""


def _export_wav(qtbot, window, dialogs, path):
    dialogs.answer = str(path)
    with qtbot.waitSignal(window.wav_exported, timeout=60000) as done:
        window._export_wav_dialog()
    assert done.args == [str(path), ""]


def test_file_dialogs_start_in_music_then_in_the_folder_last_used_for_each_kind(
        qtbot, tmp_path, settings, fixtures, monkeypatch):
    home = tmp_path / "home"
    (home / "Music").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    folders = {kind: tmp_path / kind for kind in ("midi-in", "projects", "midi-out", "audio")}
    for folder in folders.values():
        folder.mkdir()
    (folders["midi-in"] / "song.mid").write_bytes((fixtures / "song.mid").read_bytes())
    dialogs = _Dialogs(monkeypatch)

    window = MainWindow(settings)
    qtbot.addWidget(window)
    dialogs.answer = str(folders["midi-in"] / "song.mid")
    window._open_dialog()
    assert window.source_name == "song.mid"
    dialogs.answer = str(folders["projects"] / "song")
    assert window.save_as()
    assert (folders["projects"] / "song.composer.json").is_file()
    dialogs.answer = str(folders["midi-out"] / "song.mid")
    window._export_midi_dialog()
    assert read_midi(folders["midi-out"] / "song.mid").note_count == window.score.note_count
    _export_wav(qtbot, window, dialogs, folders["audio"] / "song.wav")
    # Nothing used yet: every dialog started in the user's Music folder, not the working folder.
    assert [folder for _caption, folder in dialogs.started_in] == [home / "Music"] * 4
    window.close()

    # After a restart each kind of file starts where it was last put.
    dialogs.started_in.clear()
    again = MainWindow(QSettings(settings.fileName(), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    dialogs.answer = ""  # the user cancels each one
    again._open_dialog()
    again.save_as()
    again._export_midi_dialog()
    again._export_wav_dialog()
    assert [folder.resolve() for _caption, folder in dialogs.started_in] == [
        folders["midi-in"], folders["projects"], folders["midi-out"], folders["audio"]]


def test_without_a_music_folder_dialogs_start_at_home_and_a_removed_folder_is_forgotten(
        window, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert window.dialog_folder("midi") == home
    gone = tmp_path / "gone"
    gone.mkdir()
    window.settings.setValue("dirs/midi", str(gone))
    assert window.dialog_folder("midi") == gone
    gone.rmdir()
    assert window.dialog_folder("midi") == home


def test_export_midi_confirms_in_the_status_bar_like_wav(window, fixtures, tmp_path):
    window.open_path(str(fixtures / "song.mid"))
    out = tmp_path / "out.mid"
    assert window.export_midi(out)
    assert window.statusBar().currentMessage() == f"Exported {out}"


# ---------------------------------------------------------------------------- 14: Ctrl+Y
@pytest.mark.parametrize("platform_standard", [["Ctrl+Shift+Z"], ["Ctrl+Y"], ["Ctrl+Y", "Ctrl+Shift+Z"]])
def test_redo_keys_add_ctrl_y_beside_the_platform_standard_once_each(platform_standard):
    """GNOME and KDE give Ctrl+Shift+Z, Windows Ctrl+Y: both are there, none twice (a key bound
    twice is "ambiguous" and Qt ignores it)."""
    keys = [k.toString() for k in redo_shortcuts([QKeySequence(k) for k in platform_standard])]
    if sys.platform != "darwin":
        assert "Ctrl+Y" in keys and "Ctrl+Shift+Z" in keys
    assert len(keys) == len(set(keys))


def test_ctrl_y_and_ctrl_shift_z_both_redo_in_the_window(qtbot, window):
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # window shortcuts answer in the active window
    for key, modifiers in ((Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier),
                           (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)):
        _add_note(window)
        count = window.score.note_count
        window.undo_stack.undo()
        assert window.score.note_count == count - 1
        qtbot.keyClick(window.editor, key, modifiers)
        assert window.score.note_count == count, QKeySequence(key | modifiers).toString()


# ------------------------------------------------------------------- 14: error dialog titles
def _fits(box: QMessageBox) -> bool:
    return box.width() >= title_width(box.windowTitle())


def test_the_generation_failure_dialog_shows_its_title_in_full(qtbot, window):
    window.show()
    box = show_generation_error(window, "Generation failed", "RuntimeError: boom")
    qtbot.waitExposed(box)
    assert box.objectName() == "generationError"
    assert _fits(box), (box.width(), title_width(box.windowTitle()))
    assert "<b>Generation failed</b>" in box.text() and "RuntimeError: boom" in box.text()
    box.grab().save(str(Path(os.environ.get("COMPOSER_SCREENSHOTS", "/tmp")) / "error_dialog.png"))


@pytest.mark.parametrize("title", ["Cannot open file", "Cannot export WAV",
                                   "A really rather long title for an error dialog to show"])
def test_every_error_dialog_is_wide_enough_for_its_title(qtbot, window, title):
    window.show()
    box = show_error(window, title, "x")  # the shortest message makes the narrowest box
    qtbot.waitExposed(box)
    assert box.windowTitle() == APP_NAME and _fits(box)
    assert title in box.text()
    box.close()
    qtbot.waitUntil(lambda: not _error_boxes(window))  # deleted when closed: no pile-up


def test_text_that_looks_like_html_is_shown_as_written(qtbot, window):
    box = show_error(window, "Cannot open file", "<b>x</b> & <y>.mid")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; &lt;y&gt;.mid" in box.text()


# ------------------------------------------------------------------ 14: MIDI Input panel
def _rtmidi_without_a_midi_system():
    class RtMidiError(Exception):
        pass

    def midi_in(api, name=None):
        raise RtMidiError({2: "MidiInAlsa::initialize: error creating ALSA sequencer client object.",
                           3: "MidiInJack::initialize: JACK server not running?"}[api])

    return types.SimpleNamespace(
        RtMidiError=RtMidiError, MidiIn=midi_in, API_RTMIDI_DUMMY=6, API_LINUX_ALSA=2,
        get_compiled_api=lambda: [2, 3], get_api_display_name=lambda api: {2: "ALSA", 3: "JACK"}[api])


def test_midi_panel_says_in_plain_words_that_there_is_no_midi_system(qtbot, monkeypatch):
    monkeypatch.setattr(midi_input, "_import_rtmidi", _rtmidi_without_a_midi_system)
    control = MidiRecordControl()
    qtbot.addWidget(control)
    control.resize(260, 90)
    control.show()
    qtbot.waitUntil(lambda: not control.status.text().startswith("Looking"))
    text = control.status.text()
    assert text.startswith("No MIDI input available: ")
    for raw in ("ALSA", "JACK", "::", "sequencer", "client object"):
        assert raw not in text
    # The MIDI systems' own words stay at hand for whoever needs them.
    assert "ALSA: error creating ALSA sequencer client object" in control.status.toolTip()
    assert "JACK: JACK server not running?" in control.status.toolTip()
    control.grab().save(str(Path(os.environ.get("COMPOSER_SCREENSHOTS", "/tmp")) / "midi_input.png"))


# ------------------------------------------------------------------------ 14: track colours
def test_generated_track_colours_stay_distinct_for_many_tracks():
    colors = [theme.palette_color(i) for i in range(64)]
    assert colors[:8] == list(theme.TRACK_PALETTE)
    assert len(set(colors)) == 64
    # As far apart as the fixed palette's own closest pair (about 42 of 441).
    closest = min(theme.color_distance(QColor(a), QColor(b)) for a, b in itertools.combinations(colors, 2))
    assert closest >= 40
    assert theme.track_color("", 8) != theme.track_color("", 0)
    assert theme.track_color("#123456", 8).name() == "#123456"  # a track's own colour wins


def test_ten_tracks_get_ten_colours_in_the_panel_and_the_editor(qtbot, window):
    score = Score([Track(f"Track {i + 1}", i * 8, notes=make_notes([i * 480], [i * 480 + 480], [60 + i]))
                   for i in range(10)])
    window._load(score, None)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    panel: TracksPanel = window.tracks_panel
    rows = [panel.list.itemWidget(panel.list.item(i)) for i in range(panel.list.count())]
    assert len({row._color for row in rows}) == 10
    assert rows[8]._color != rows[0]._color
    roll = window.editor.view.roll
    assert len({roll.track_color(t.id).name() for t in score.tracks}) == 10
    shots = Path(os.environ.get("COMPOSER_SCREENSHOTS", "/tmp"))
    panel.grab().save(str(shots / "tracks_panel.png"))
    window.grab().save(str(shots / "window_10_tracks.png"))


# ------------------------------------------------------------------------- 15: damaged files
def _good_project(path: Path) -> dict:
    score = Score([Track("Lead", 0, notes=make_notes([0, 480], [480, 960], [60, 64]))], 480,
                  [TempoChange(0, 120.0)], [TimeSignature(0, 4, 4)])
    save_project(path, score)
    return json.loads(path.read_text())


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(doc):
        target = doc
        for key in keys[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return change


_DELETE = object()
_NOTES = ("score", "tracks", 0, "notes")
#: name -> (change to a good project's JSON, or raw bytes, or a callable making the path; words
#: the message must contain)
DAMAGE = {
    "huge pitch": (_set(*_NOTES, "pitch", [10**15, 64]), "pitch 1000000000000000, outside 0-127"),
    "pitch beyond int64": (_set(*_NOTES, "start", [10**30, 0]), "start"),
    "negative start": (_set(*_NOTES, "start", [-480, 0]), "start -480"),
    "velocity 0": (_set(*_NOTES, "velocity", [0, 90]), "velocity 0"),
    "text pitch": (_set(*_NOTES, "pitch", ["C4", 64]), "pitch text, not a whole number"),
    "float pitch": (_set(*_NOTES, "pitch", [60.5, 64]), "not a whole number"),
    "notes not an object": (_set(*_NOTES, None), "notes should be an object, not null"),
    "columns of different lengths": (_set(*_NOTES, "end", [480]), "differ in length"),
    "tracks not a list": (_set("score", "tracks", {"a": 1}), "tracks should be a list"),
    "missing ppq": (_set("score", "ppq", _DELETE), "has no 'ppq'"),
    "huge ppq": (_set("score", "ppq", 10**15), "ppq is 1000000000000000"),
    "negative tempo": (_set("score", "tempos", [[0, -120]]), "BPM"),
    "tempo not a pair": (_set("score", "tempos", [[0]]), "tempos[0] should be [tick, BPM]"),
    "time signature of text": (_set("score", "time_signatures", [[0, "4", 4]]), "numerator"),
    "program 300": (_set("score", "tracks", 0, "program", 300), "program is 300"),
    "track id missing": (_set("score", "tracks", 0, "id", _DELETE), "has no 'id'"),
    "score is a list": (_set("score", []), "score should be an object"),
    "invalid JSON": (b'{"format": "composer-project", "version": 1, "score": {', "invalid JSON"),
    "truncated": (lambda good: good[: len(good) // 2], "truncated"),
    "binary": (bytes(range(256)) * 4, "not a Composer project"),
    "empty": (b"", "empty"),
    "not a project": (b'{"hello": "world"}', "not a Composer project"),
}


def _damaged(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind.replace(' ', '-')}.composer.json"
    doc = _good_project(path)
    change, _words = DAMAGE[kind]
    if isinstance(change, bytes):
        path.write_bytes(change)
    elif change.__name__ == "<lambda>":
        path.write_bytes(change(path.read_bytes()))
    else:
        change(doc)
        path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_the_loader_refuses_damage_with_one_clear_message(tmp_path, kind):
    path = _damaged(tmp_path, kind)
    with pytest.raises(ProjectError) as raised:
        load_project(path)
    message = str(raised.value)
    assert path.name in message and DAMAGE[kind][1] in message
    assert "Error" not in message and "numpy" not in message and "\n" not in message


def _odd_paths(tmp_path: Path, fixtures: Path) -> dict[str, Path]:
    """Files that are not what their names say, and paths that are not files at all."""
    (tmp_path / "binary.mid").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.mid").write_bytes(b"")
    (tmp_path / "folder.mid").mkdir()
    (tmp_path / "folder.composer.json").mkdir()
    return {"binary .mid": tmp_path / "binary.mid", "empty .mid": tmp_path / "empty.mid",
            "folder .mid": tmp_path / "folder.mid", "folder project": tmp_path / "folder.composer.json",
            "missing .mid": tmp_path / "missing.mid",
            "missing project": tmp_path / "missing.composer.json",
            "huge pitch": _damaged(tmp_path, "huge pitch"), "truncated": _damaged(tmp_path, "truncated"),
            "wrong types": _damaged(tmp_path, "text pitch"), "empty project": _damaged(tmp_path, "empty")}


def _open_by_dialog(window, path, monkeypatch):
    monkeypatch.setattr("composer.gui.main_window.QFileDialog.getOpenFileName",
                        staticmethod(lambda *a, **k: (str(path), "")))
    window._open_dialog()


def _open_by_drop(window, path, monkeypatch):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))


def _open_from_recent(window, path, monkeypatch):
    window.settings.setValue("recent", [str(path)])
    window._refresh_recent()
    (action,) = window.recent_menu.actions()
    action.trigger()


@pytest.mark.parametrize("way", [_open_by_dialog, _open_by_drop, _open_from_recent],
                         ids=["file-open", "drop", "recent"])
def test_odd_files_opened_any_way_give_one_message_and_keep_the_document(
        qtbot, window, tmp_path, fixtures, monkeypatch, way):
    window.show()
    window.open_path(str(fixtures / "song.mid"))
    before = window.score
    for name, path in _odd_paths(tmp_path, fixtures).items():
        shown = len(_error_boxes(window))
        way(window, path, monkeypatch)
        boxes = _error_boxes(window)
        assert len(boxes) == shown + 1, name  # one message per attempt
        assert "Cannot open file" in boxes[-1].text() and path.name in boxes[-1].text(), name
        assert window.score is before and window.source_name == "song.mid", name
    # Still working: a good file opens.
    assert window.open_path(str(fixtures / "type0.mid")) and window.score.note_count == 3


def test_a_loader_bug_is_a_message_too(qtbot, window, fixtures, monkeypatch):
    """Whatever a reader raises, opening a file never takes the app down."""
    def broken(_path):
        raise OverflowError("Python integer 1000000000000000 out of bounds for int16")

    monkeypatch.setattr("composer.io.midi.read_midi", broken)
    assert not window.open_path(str(fixtures / "song.mid"))
    (box,) = _error_boxes(window)
    assert "song.mid" in box.text() and "OverflowError" in box.text()


def test_a_damaged_autosave_is_listed_as_unusable_and_the_rest_restores(qtbot, window, tmp_path, monkeypatch):
    folder = tmp_path / "recovery"
    folder.mkdir()
    damaged = _damaged(folder, "huge pitch").rename(folder / "autosave-1-dead.composer.json")
    (folder / "autosave-2-beef.composer.json").write_bytes(b"\x00\x01 binary junk")
    score = Score([Track("Kept", 0, notes=make_notes([0], [480], [67]))])
    save_project(folder / "autosave-3-cafe.composer.json", score,
                 {"recovery": {"source_name": "Kept song", "path": None, "saved_at": "2030-01-01T10:00:00"}})
    found = {r.path.name: r for r in find_recoverable(folder)}
    assert not found[damaged.name].usable and not found["autosave-2-beef.composer.json"].usable
    assert "pitch 1000000000000000, outside 0-127" in found[damaged.name].error
    assert "OverflowError" not in found[damaged.name].describe()
    assert found["autosave-3-cafe.composer.json"].usable

    # The window's crash recovery lists all three and restores the good one.
    monkeypatch.setenv("COMPOSER_RECOVERY_DIR", str(folder))
    listed = []

    def exec_(dialog):
        listed.extend(dialog.list.item(i).text() for i in range(dialog.list.count()))
        dialog._restore()  # the first usable one is selected
        return 1

    monkeypatch.setattr(RecoveryDialog, "exec", exec_)
    window.offer_recovery()
    assert len(listed) == 3 and sum("cannot be restored" in line for line in listed) == 2
    assert window.source_name == "Kept song" and window.score.note_count == 1


# ------------------------------------------------------------------------- child processes
def _env(tmp_path: Path) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    for name, folder in (("COMPOSER_RECOVERY_DIR", "recovery"), ("COMPOSER_LOG_DIR", "logs"),
                         ("XDG_CONFIG_HOME", "config"), ("HOME", "home"), ("COMPOSER_MODELS", "models")):
        (tmp_path / folder).mkdir(exist_ok=True)
        env[name] = str(tmp_path / folder)
    return env


def _start(tmp_path: Path, *args: str, script: str | None = None) -> subprocess.Popen:
    if script is not None:
        path = tmp_path / "run_gui.py"
        path.write_text(textwrap.dedent(script))
        command = [sys.executable, str(path), *args]
    else:
        command = [sys.executable, "-m", "composer.cli", "gui", *args]
    return subprocess.Popen(command, env=_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _log(tmp_path: Path) -> str:
    path = tmp_path / "logs" / "composer.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _wait_for_log(process: subprocess.Popen, tmp_path: Path, *needles: str, limit_s: float = 120) -> None:
    """Wait until the log holds every needle (the app got that far); fail if the app ends first."""
    deadline = time.monotonic() + limit_s
    while not all(n in _log(tmp_path) for n in needles):
        if process.poll() is not None:
            pytest.fail(f"composer gui ended early ({process.returncode}):\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {needles} in the log:\n{_log(tmp_path)}\n{process.communicate()[0]}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen, signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"composer gui ignored {signal.Signals(signum).name}:\n{output}")
    return process.returncode, output


#: A user session in a real child: the real `composer gui`, plus one edit (a note drawn) or, with
#: --raise, a bug in a GUI callback, once the window is up.
EDITING_SESSION = """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from composer.cli import main
    from composer.core.edits import AddNotes
    from composer.core.notes import make_notes
    from composer.gui.main_window import MainWindow
    from composer.gui.undo import push_edit

    def edit():
        window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
        track = window.score.tracks[0]
        push_edit(window.undo_stack, window.score,
                  AddNotes(track.id, make_notes([0], [480], [64], ids=track.new_note_ids(1))))
        if "--raise" in sys.argv:
            raise RuntimeError("a bug in a callback")

    QTimer.singleShot(0, edit)
    sys.exit(main(["gui"]))
"""

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@posix_only
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_closes_the_app_and_keeps_unsaved_work_for_recovery(tmp_path, signum, code):
    process = _start(tmp_path, script=EDITING_SESSION)
    _wait_for_log(process, tmp_path, "started (pid")
    returncode, output = _stop(process, signum)
    assert returncode == code, output
    assert "Destroyed while thread" not in output and "Traceback" not in output
    (recovery,) = find_recoverable(tmp_path / "recovery")  # what the next start offers
    assert recovery.usable and recovery.note_count == 1
    assert f"closing on {signal.Signals(signum).name}" in _log(tmp_path)


@posix_only
def test_sigterm_with_nothing_unsaved_quits_and_leaves_nothing_behind(tmp_path, fixtures):
    process = _start(tmp_path, str(fixtures / "song.mid"))
    _wait_for_log(process, tmp_path, "started (pid")
    returncode, output = _stop(process, signal.SIGTERM)
    assert returncode == 0, output
    assert not list((tmp_path / "recovery").glob("*.composer.json"))


@posix_only
def test_a_damaged_file_on_the_command_line_is_a_message_not_an_abort(tmp_path):
    """The reported case: a note pitch of 10**15 aborted the app before its window showed."""
    damaged = _damaged(tmp_path, "huge pitch")
    (tmp_path / "folder.mid").mkdir()
    process = _start(tmp_path, str(damaged), str(tmp_path / "folder.mid"))
    _wait_for_log(process, tmp_path, "started (pid", "Cannot open file: huge-pitch.composer.json",
                  "Cannot open file: " + str(tmp_path / "folder.mid"))
    assert process.poll() is None  # still running, the message on screen
    returncode, output = _stop(process, signal.SIGTERM)
    assert returncode == 0 and "OverflowError" not in output and "Aborted" not in output, output


@posix_only
def test_sigterm_during_the_recovery_dialog_with_a_damaged_autosave(tmp_path):
    (tmp_path / "recovery").mkdir()
    damaged = _damaged(tmp_path, "huge pitch")
    damaged.rename(tmp_path / "recovery" / "autosave-1-dead.composer.json")
    process = _start(tmp_path)
    _wait_for_log(process, tmp_path, "started (pid")
    returncode, output = _stop(process, signal.SIGTERM)
    assert returncode == 0, output
    assert (tmp_path / "recovery" / "autosave-1-dead.composer.json").exists()  # kept for later


@posix_only
def test_a_bug_in_a_callback_is_logged_and_the_app_keeps_running(tmp_path):
    process = _start(tmp_path, "--raise", script=EDITING_SESSION)
    _wait_for_log(process, tmp_path, "started (pid", "RuntimeError: a bug in a callback")
    assert process.poll() is None
    log = _log(tmp_path)
    assert "Unexpected error" in log and "Traceback" in log
    returncode, output = _stop(process, signal.SIGTERM)
    assert returncode == 0, output


# --------------------------------------------------------------- feature 4: unexpected errors
@pytest.fixture
def reporter(window, tmp_path, monkeypatch):
    monkeypatch.setenv(error_log.LOG_DIR_ENV, str(tmp_path / "logs"))
    reporter = ErrorReporter(window)
    reporter.install()
    yield reporter
    reporter.uninstall()


def _boom():
    raise ValueError("boom")


@pytest.mark.qt_no_exception_capture
def test_repeated_errors_in_callbacks_make_one_dialog_that_counts_them(qtbot, window, reporter):
    window.show()
    for _ in range(5):
        QTimer.singleShot(0, _boom)
    worker = threading.Thread(target=_boom, name="worker")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: reporter.count == 6)
    (box,) = _error_boxes(window, error_log.UNEXPECTED_OBJECT_NAME)
    assert "6 times" in box.text() and "ValueError: boom" in box.text()
    assert "Traceback" in box.detailedText()
    # The app keeps working.
    _add_note(window)
    assert window.score.note_count == 1
    box.close()
    QTimer.singleShot(0, _boom)
    qtbot.waitUntil(lambda: len(_error_boxes(window, error_log.UNEXPECTED_OBJECT_NAME)) == 1)
    assert reporter.count == 1


@pytest.mark.qt_no_exception_capture
def test_errors_go_to_the_log_file_that_the_help_menu_opens(qtbot, window, reporter, tmp_path, monkeypatch):
    path = error_log.start_log_file()
    try:
        QTimer.singleShot(0, _boom)
        qtbot.waitUntil(lambda: reporter.count == 1)
        for handler in __import__("logging").getLogger().handlers:
            handler.flush()
        text = path.read_text(encoding="utf-8")
        assert "Unexpected error" in text and 'raise ValueError("boom")' in text
    finally:
        _remove_log_handler(path)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    actions = {a.text().replace("&", ""): a for a in help_menu.actions()}
    actions["Open Log File"].trigger()
    actions["Show Log Folder"].trigger()
    assert [Path(p) for p in opened] == [path, path.parent]


def _remove_log_handler(path: Path) -> None:
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "baseFilename", None) == str(path.resolve()):
            root.removeHandler(handler)
            handler.close()


def test_autosaver_keeps_its_copy_on_a_shutdown_by_signal(qtbot, window, tmp_path):
    saver = Autosaver(window, 0, directory=tmp_path / "recovery")
    _add_note(window)
    assert saver.keep_for_recovery()
    saver.shutdown()  # what aboutToQuit does next: must not delete the copy
    (recovery,) = find_recoverable(tmp_path / "recovery")
    assert recovery.note_count == 1
    assert not list((tmp_path / "recovery").glob("*" + LOCK_SUFFIX))  # left as a crash leaves it
