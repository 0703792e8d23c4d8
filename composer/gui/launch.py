"""Start the desktop app, or explain in one message why it cannot start here."""

from __future__ import annotations

import os
import sys

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


def launch(files: list[str], self_test: bool = False) -> int:
    """Run the app until its window closes; returns the process exit code.

    With ``self_test`` the window opens, draws once and closes: a check that an install works.
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
    from composer.gui.main_window import MainWindow
    from composer.gui.style import apply_dark_style

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Composer")
    app.setOrganizationName("Composer")
    apply_dark_style(app)
    _set_icon(app)
    window = MainWindow()
    window.show()
    for path in files:
        window.open_path(path)
    from PySide6.QtCore import QTimer

    if self_test:
        QTimer.singleShot(200, window.close)
    else:  # after the window has painted: offer what a crashed session left unsaved
        QTimer.singleShot(0, window.offer_recovery)
    return app.exec()
