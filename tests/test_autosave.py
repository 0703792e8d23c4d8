"""Autosave and crash recovery: recovery copies appear only after a change, vanish on a clean end,
survive a real crash (a child process killed mid-session) and are found, listed and restored."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QUndoStack

from composer.core.edits import AddNotes
from composer.core.notes import make_notes
from composer.core.score import Score, Track
from composer.gui.autosave import Autosaver, RecoveryDialog, choose_recovery, offer_recovery
from composer.gui.undo import push_edit
from composer.io import recovery
from composer.io.project import PROJECT_SUFFIX, ProjectError, load_project, save_project
from composer.io.recovery import find_recoverable

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def recovery_dir(tmp_path, monkeypatch):
    folder = tmp_path / "recovery"
    monkeypatch.setenv("COMPOSER_RECOVERY_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def no_leftover_claims():
    yield
    recovery._claimed.clear()


def _score(n=3, name="Piano") -> Score:
    track = Track(name, 0)
    track._insert(make_notes(np.arange(n) * 480, np.arange(n) * 480 + 240, 60 + np.arange(n) % 12,
                             ids=track.new_note_ids(n)))
    return Score([track])


def _document(score=None, source_name="song.mid", path=None):
    stack = QUndoStack()
    return SimpleNamespace(score=score or _score(), source_name=source_name, path=path, undo_stack=stack)


def _add_note(doc, pitch=72):
    track = doc.score.tracks[0]
    push_edit(doc.undo_stack, doc.score,
              AddNotes(track.id, make_notes([9600], [9840], [pitch], ids=track.new_note_ids(1))))


@pytest.fixture
def make_saver(qtbot, recovery_dir):
    savers = []

    def make(doc, interval_s=3600):
        saver = Autosaver(doc, interval_s)
        savers.append(saver)
        return saver

    yield make
    for saver in savers:
        saver.shutdown()


def test_nothing_is_written_until_the_document_changes(make_saver, recovery_dir):
    doc = _document()
    saver = make_saver(doc)
    assert not saver.is_dirty
    assert not saver.autosave_now()
    assert saver.save_now()  # nothing to do is success
    assert not saver.recovery_path.exists()
    assert not recovery_dir.exists() or not list(recovery_dir.glob(f"*{PROJECT_SUFFIX}"))


def test_a_change_is_autosaved_on_the_timer_as_a_loadable_project(qtbot, make_saver):
    doc = _document(source_name="song.mid")
    saver = make_saver(doc, interval_s=0.05)
    _add_note(doc)
    assert saver.is_dirty
    with qtbot.waitSignal(saver.saved, timeout=5000) as blocker:
        pass
    assert blocker.args == [str(saver.recovery_path)]
    assert not saver.is_dirty
    score, settings = load_project(saver.recovery_path)
    assert score.same_content(doc.score)
    assert settings["recovery"]["source_name"] == "song.mid"
    assert settings["recovery"]["pid"] == os.getpid()
    # Unchanged since: the timer fires again but writes nothing.
    mtime = saver.recovery_path.stat().st_mtime_ns
    qtbot.wait(200)
    assert saver.recovery_path.stat().st_mtime_ns == mtime
    lock = json.loads(saver.recovery_path.with_name(
        saver.recovery_path.name.removesuffix(PROJECT_SUFFIX) + ".lock").read_text())
    assert lock["pid"] == os.getpid()


def test_the_copy_is_a_snapshot_of_the_moment_of_the_autosave(make_saver):
    doc = _document()
    saver = make_saver(doc)
    _add_note(doc, 70)
    expected = doc.score.copy()
    assert saver.autosave_now()
    _add_note(doc, 80)  # edited while the worker writes
    assert saver.wait()
    assert load_project(saver.recovery_path)[0].same_content(expected)
    assert saver.is_dirty  # the second note is not in the copy yet
    assert saver.save_now()
    assert load_project(saver.recovery_path)[0].same_content(doc.score)


def test_clean_shutdown_removes_the_copy_and_the_lock(make_saver, recovery_dir):
    doc = _document()
    saver = make_saver(doc)
    _add_note(doc)
    assert saver.save_now()
    assert saver.recovery_path.exists()
    saver.shutdown()
    assert list(recovery_dir.iterdir()) == []
    assert find_recoverable() == []


def test_saving_or_undoing_to_the_saved_state_removes_the_copy(make_saver):
    doc = _document()
    saver = make_saver(doc)
    _add_note(doc)
    assert saver.save_now()
    doc.undo_stack.setClean()  # what MainWindow.save_to does
    assert saver.wait()
    assert not saver.recovery_path.exists()
    _add_note(doc)
    assert saver.save_now() and saver.recovery_path.exists()
    doc.undo_stack.undo()  # back to the saved state
    assert saver.wait()
    assert not saver.recovery_path.exists()
    assert not saver.is_dirty


def test_a_live_instance_recovery_is_not_listed(make_saver, recovery_dir):
    doc = _document()
    saver = make_saver(doc)
    _add_note(doc)
    assert saver.save_now()
    assert saver.recovery_path.exists()
    assert find_recoverable() == []
    assert saver.recovery_path.exists()  # and nobody cleaned it up


CHILD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from PySide6.QtGui import QGuiApplication, QUndoStack
    from types import SimpleNamespace
    from composer.core.edits import AddNotes
    from composer.core.notes import make_notes
    from composer.core.score import Score, Track
    from composer.gui.autosave import Autosaver
    from composer.gui.undo import push_edit

    app = QGuiApplication([])
    track = Track("Lead", 81)
    score = Score([track], title="crashy")
    stack = QUndoStack()
    doc = SimpleNamespace(score=score, source_name="tune.composer.json",
                          path=sys.argv[1], undo_stack=stack)
    saver = Autosaver(doc, 3600)
    push_edit(stack, score, AddNotes(track.id, make_notes([0, 480, 960], [480, 960, 1440],
                                                          [60, 64, 67], ids=track.new_note_ids(3))))
    assert saver.save_now(), "autosave failed"
    print(saver.recovery_path, flush=True)
    if hasattr(signal, "SIGKILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(3)
""")


def _crash_a_child(recovery_dir: Path, original: Path) -> Path:
    env = dict(os.environ, COMPOSER_RECOVERY_DIR=str(recovery_dir), QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(original)], env=env,
                          capture_output=True, text=True, timeout=120)
    if sys.platform != "win32":
        assert proc.returncode == -signal.SIGKILL, proc.stderr
    else:
        assert proc.returncode == 3, proc.stderr
    assert proc.stdout.strip(), proc.stderr
    return Path(proc.stdout.strip())


def test_a_crash_leaves_the_copy_and_it_is_found_and_restored(recovery_dir, tmp_path):
    original = tmp_path / "tune.composer.json"
    path = _crash_a_child(recovery_dir, original)
    assert path.exists()

    found = find_recoverable()
    assert [r.path for r in found] == [path]
    recovery = found[0]
    assert recovery.usable and recovery.error is None
    assert recovery.source_name == "tune.composer.json"
    assert recovery.original_path == original
    assert recovery.note_count == 3
    assert abs(time.time() - recovery.saved_at.timestamp()) < 300
    score = recovery.load()
    expected = Score([Track("Lead", 81, notes=make_notes([0, 480, 960], [480, 960, 1440], [60, 64, 67]))])
    assert score.same_content(expected)
    assert score.title == "crashy"

    assert recovery.discard()
    assert list(recovery_dir.iterdir()) == []
    assert find_recoverable() == []


def test_corrupt_and_foreign_recovery_files_are_listed_as_unusable(recovery_dir):
    recovery_dir.mkdir()
    (recovery_dir / f"autosave-1-dead{PROJECT_SUFFIX}").write_text('{"format": "composer-proj')
    (recovery_dir / f"autosave-2-beef{PROJECT_SUFFIX}").write_bytes(b"\xff\xfe\x00garbage")
    good = recovery_dir / f"autosave-3-cafe{PROJECT_SUFFIX}"
    save_project(good, _score(5), {"recovery": {"source_name": "ok.mid", "saved_at": "2020-01-01T10:00:00"}})
    found = find_recoverable()
    assert len(found) == 3
    unusable = [r for r in found if not r.usable]
    assert len(unusable) == 2 and all(r.error and r.note_count is None for r in unusable)
    assert "line" in unusable[0].error or "line" in unusable[1].error  # the JSON error says where
    usable = [r for r in found if r.usable]
    assert usable[0].source_name == "ok.mid" and usable[0].note_count == 5
    assert found[-1] is usable[0]  # oldest last
    with pytest.raises(ProjectError):
        unusable[0].load()
    assert all("cannot be restored" in r.describe() for r in unusable)


def test_stale_locks_without_a_copy_are_cleaned_up(recovery_dir):
    recovery_dir.mkdir()
    stale = recovery_dir / "autosave-999999-0000.lock"
    stale.write_text('{"pid": 999999}')
    assert find_recoverable() == []
    assert not stale.exists()


def test_without_os_locks_the_recorded_pid_decides(recovery_dir, monkeypatch):
    def no_locking(fd):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(recovery, "_os_lock", no_locking)
    recovery_dir.mkdir()
    for stem, pid in (("autosave-1-live", os.getpid()), ("autosave-2-gone", 2**22 + 12345)):
        save_project(recovery_dir / f"{stem}{PROJECT_SUFFIX}", _score())
        (recovery_dir / f"{stem}.lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    assert [r.path.name for r in find_recoverable()] == [f"autosave-2-gone{PROJECT_SUFFIX}"]


def test_an_unwritable_recovery_folder_warns_and_does_not_crash(qtbot, tmp_path, monkeypatch, caplog):
    blocker_file = tmp_path / "not-a-folder"
    blocker_file.write_text("")
    monkeypatch.setenv("COMPOSER_RECOVERY_DIR", str(blocker_file / "recovery"))
    doc = _document()
    saver = Autosaver(doc, 3600)
    try:
        _add_note(doc)
        with caplog.at_level(logging.WARNING, logger="composer.gui.autosave"):
            with qtbot.waitSignal(saver.failed, timeout=5000) as failed:
                assert saver.autosave_now()
        assert "not-a-folder" in failed.args[0]
        assert any("autosave failed" in r.getMessage() for r in caplog.records)
        assert saver.is_dirty  # still owed: retried on the next tick
        assert not saver.save_now()
        assert find_recoverable() == []
    finally:
        saver.shutdown()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="needs POSIX permissions that apply (not root)")
def test_a_read_only_recovery_folder_warns(qtbot, recovery_dir):
    recovery_dir.mkdir()
    recovery_dir.chmod(0o500)
    doc = _document()
    saver = Autosaver(doc, 3600)
    try:
        _add_note(doc)
        with qtbot.waitSignal(saver.failed, timeout=5000):
            saver.autosave_now()
    finally:
        saver.shutdown()
        recovery_dir.chmod(0o700)


def test_ten_thousand_notes_cost_the_gui_thread_little(make_saver):
    track = Track("Big", 0)
    n = 10_000
    rng = np.random.default_rng(1)
    starts = np.sort(rng.integers(0, 2_000_000, n))
    track._insert(make_notes(starts, starts + 240, rng.integers(30, 90, n), ids=track.new_note_ids(n)))
    doc = _document(Score([track]))
    saver = make_saver(doc)
    doc.undo_stack.resetClean()
    t0 = time.perf_counter()
    assert saver.autosave_now()
    gui_ms = (time.perf_counter() - t0) * 1000
    assert saver.wait(30)
    assert gui_ms < 50, f"autosave blocked the GUI thread for {gui_ms:.1f} ms"
    assert load_project(saver.recovery_path)[0].same_content(doc.score)


# ---------------------------------------------------------------------------- the dialog
def _crashed_recoveries(recovery_dir, names):
    """Recovery copies as a crashed instance leaves them (no live lock)."""
    recovery_dir.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        save_project(recovery_dir / f"autosave-{10 + i}-{i:04x}{PROJECT_SUFFIX}", _score(i + 1),
                     {"recovery": {"source_name": name, "saved_at": f"2024-05-0{i + 1}T12:00:00"}})
    return find_recoverable()


def test_offer_nothing_shows_no_dialog(qtbot):
    assert offer_recovery(None, []) is None


def test_later_keeps_the_files(qtbot, recovery_dir):
    recoveries = _crashed_recoveries(recovery_dir, ["a.mid", "b.mid"])
    QTimer.singleShot(0, lambda: _active_dialog().later_button.click())
    assert offer_recovery(None, recoveries) is None
    assert len(find_recoverable()) == 2


def _active_dialog() -> RecoveryDialog:
    from PySide6.QtWidgets import QApplication

    return next(w for w in QApplication.topLevelWidgets() if isinstance(w, RecoveryDialog) and w.isVisible())


def test_restore_returns_the_score_and_keeps_the_copy_until_autosaved(qtbot, recovery_dir, make_saver):
    recoveries = _crashed_recoveries(recovery_dir, ["old.mid", "new.mid"])
    assert [r.source_name for r in recoveries] == ["new.mid", "old.mid"]  # newest first
    QTimer.singleShot(0, lambda: _active_dialog().restore_button.click())
    chosen = choose_recovery(None, recoveries)
    assert chosen is not None
    recovery, score = chosen
    assert recovery.source_name == "new.mid" and score.note_count == 2
    # Claimed by this (live) process: still on disk, but no longer offered.
    assert recovery.path.exists()
    assert [r.source_name for r in find_recoverable()] == ["old.mid"]
    # Once this process's own autosave holds the restored work, the old copy goes.
    doc = _document(score, source_name=recovery.source_name)
    saver = make_saver(doc)
    doc.undo_stack.resetClean()  # restored work is unsaved work
    assert saver.save_now()
    assert not recovery.path.exists()
    assert load_project(saver.recovery_path)[0].same_content(score)


def test_discard_deletes_only_the_chosen_one(qtbot, recovery_dir, monkeypatch):
    recoveries = _crashed_recoveries(recovery_dir, ["a.mid", "b.mid"])
    monkeypatch.setattr(RecoveryDialog, "confirm_discard", lambda self, r: True)
    dialog = RecoveryDialog(recoveries)
    qtbot.addWidget(dialog)
    assert dialog.current().source_name == "b.mid"
    dialog.discard_button.click()
    assert dialog.list.count() == 1
    assert [r.source_name for r in find_recoverable()] == ["a.mid"]


def test_unusable_entries_cannot_be_restored(qtbot, recovery_dir):
    recovery_dir.mkdir()
    (recovery_dir / f"autosave-1-dead{PROJECT_SUFFIX}").write_text("not json")
    dialog = RecoveryDialog(find_recoverable())
    qtbot.addWidget(dialog)
    assert not dialog.restore_button.isEnabled()
    assert dialog.discard_button.isEnabled()


def test_a_restored_copy_not_yet_autosaved_goes_on_clean_shutdown(qtbot, recovery_dir, make_saver):
    recovery = _crashed_recoveries(recovery_dir, ["a.mid"])[0]
    QTimer.singleShot(0, lambda: _active_dialog().restore_button.click())
    score = offer_recovery(None, [recovery])
    assert score is not None and recovery.path.exists()
    saver = make_saver(_document(score))
    saver.shutdown()
    assert list(recovery_dir.iterdir()) == []
