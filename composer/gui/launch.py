"""Start the desktop app, or explain in one message why it cannot start here."""

from __future__ import annotations

import os
import sys

#: Exit codes for a close by signal: SIGTERM is an ordinary request to quit; SIGINT (Ctrl+C) gives
#: 130, as everywhere in ``composer``.
EXIT_TERMINATED, EXIT_INTERRUPTED = 0, 130

NO_DISPLAY_MESSAGE = """\
composer gui: error: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set).
The desktop app needs a screen. To work headless:
  - use the command line: composer info | render (see composer --help);
  - or run the app on a virtual display: xvfb-run composer gui  (Debian: apt-get install xvfb);
  - or, for automated checks, QT_QPA_PLATFORM=offscreen composer gui."""


def display_available(environ=os.environ, platform: str = sys.platform) -> bool:
    """True when Qt can open a window: a display server, or a platform chosen explicitly."""
    if environ.get("QT_QPA_PLATFORM"):
        return True
    if platform.startswith("linux") or "bsd" in platform:
        return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))
    return True  # macOS and Windows always have their native platform


def _set_icon(app) -> None:
    """The window and taskbar icon: resources/icons in the checkout or in a PyInstaller build."""
    from pathlib import Path

    from PySide6.QtGui import QIcon

    root = Path(getattr(sys, "_MEIPASS", None) or Path(__file__).resolve().parents[2])
    icon = root / "resources" / "icons" / "composer.png"
    if icon.is_file():  # absent from a plain wheel install; Qt's default icon is fine then
        app.setWindowIcon(QIcon(str(icon)))


def _install_quit_signals(app, window):
    """Close cleanly on SIGTERM (logout, shutdown, ``kill``) and SIGINT (Ctrl+C in the terminal).

    Python runs signal handlers only between bytecodes, and Qt's event loop is C++: without help a
    signal would wait until the next mouse move. ``signal.set_wakeup_fd`` makes the C-level handler
    write to a socket that a QSocketNotifier watches, so the loop wakes and the Python handler runs
    at once. The handler then asks the window to close without questions (keeping unsaved work for
    recovery) and ends the event loop with 0 for SIGTERM and 130 for SIGINT, as ``composer``'s other
    commands do for Ctrl+C. Returns a function that puts the previous handlers back.
    """
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier, QTimer

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    try:
        previous_fd = signal.set_wakeup_fd(writer.fileno())
    except ValueError:  # not the main thread (an embedding host): leave signals alone
        reader.close()
        writer.close()
        return lambda: None
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def drain() -> None:  # the wake-up bytes; the Python handler has run by the time this does
        try:
            while reader.recv(64):
                pass
        except OSError:
            pass

    notifier.activated.connect(drain)
    exit_codes = {signal.SIGTERM: EXIT_TERMINATED, signal.SIGINT: EXIT_INTERRUPTED}

    def handler(signum, _frame) -> None:
        # Leave the code that was interrupted first: run the shutdown from the event loop.
        QTimer.singleShot(0, lambda: _quit_on_signal(app, window, signum, exit_codes[signum]))

    previous = {signum: signal.signal(signum, handler) for signum in exit_codes}

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        reader.close()
        writer.close()

    return restore


def _quit_on_signal(app, window, signum: int, code: int) -> None:
    import logging
    import signal

    logging.getLogger(__name__).info("closing on %s", signal.Signals(signum).name)
    try:
        window.close_for_shutdown()
    finally:
        # exit(), not quit(): Qt 6's quit() is refused while a dialog is open; exit() also ends
        # the event loops of open dialogs, so nothing waits for an answer.
        app.exit(code)


def launch(files: list[str], self_test: bool = False) -> int:
    """Run the app until its window closes; returns the process exit code.

    With ``self_test`` the window opens, draws once and closes: a check that an install works.
    SIGTERM and SIGINT close the app without questions, keeping unsaved work for recovery.
    """
    if not display_available():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        print(f"composer gui: error: Qt (PySide6) cannot be loaded: {exc}\n"
              "Reinstall with: pip install PySide6-Essentials", file=sys.stderr)
        return 1
    import logging

    from PySide6.QtCore import QTimer

    from composer import __version__
    from composer.gui.error_log import ErrorReporter, start_log_file
    from composer.gui.main_window import MainWindow
    from composer.gui.style import apply_dark_style

    start_log_file()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Composer")
    app.setOrganizationName("Composer")
    apply_dark_style(app)
    _set_icon(app)
    window = MainWindow()
    reporter = ErrorReporter(window)
    reporter.install()
    restore_signals = _install_quit_signals(app, window)
    window.show()

    def after_start() -> None:
        """Once the loop runs (so an error in a file is a dialog, never an abort): open the files
        given, then offer what a crashed session left unsaved."""
        logging.getLogger(__name__).info("Composer %s started (pid %d)", __version__, os.getpid())
        for path in files:
            window.open_path(path)
        if not self_test:
            window.offer_recovery()

    QTimer.singleShot(0, after_start)
    if self_test:
        QTimer.singleShot(200, window.close)
    try:
        return app.exec()
    finally:
        window.release_resources()  # also when a signal ended the loop with the window still open
        reporter.uninstall()
        restore_signals()
