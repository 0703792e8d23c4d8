"""Message boxes for errors: a short window title, the headline and the details in the text.

A QMessageBox sizes itself to its text, not to its window title, so a short message under a
title like "Generation failed" gave a box so narrow that the window manager cut the title
("Gener... failed"). Here the window title is just the app's name, the headline is the first,
bold line of the text (where it always shows in full, and where macOS puts it anyway), and the
box is never narrower than its title bar needs. Every error shown is also logged, so the log
file keeps what the user saw.

The boxes are window-modal but do not block (``open``, not ``exec``): workers, timers and the
quit signals keep running while one is up.
"""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QGridLayout, QMessageBox, QSizePolicy, QSpacerItem, QWidget

log = logging.getLogger(__name__)

APP_NAME = "Composer"
#: Room a title bar needs besides the title: the window icon and three buttons, with margins.
TITLE_BAR_ALLOWANCE_PX = 180
#: The narrowest box: wide enough that a one-line message reads as a sentence, not a column.
MIN_WIDTH_PX = 380
ERROR_OBJECT_NAME = "errorDialog"


def headline_text(title: str, text: str) -> str:
    """The box's rich text: ``title`` in bold, then ``text`` (escaped, line breaks kept)."""
    body = html.escape(text, quote=False).replace("\n", "<br>")
    return f"<p><b>{html.escape(title, quote=False)}</b></p><p>{body}</p>" if text else \
        f"<p><b>{html.escape(title, quote=False)}</b></p>"


def title_width(window_title: str) -> int:
    """Pixels a title bar needs to show ``window_title`` in full (a bold title font, as most
    window managers use, plus the icon and buttons)."""
    font = QFont(QApplication.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.1)
    return QFontMetrics(font).horizontalAdvance(window_title) + TITLE_BAR_ALLOWANCE_PX


def _set_min_width(box: QMessageBox, width: int) -> None:
    # QMessageBox ignores setMinimumWidth (it computes its own size); a spacer across its grid
    # is the supported way to widen it.
    layout = box.layout()
    if isinstance(layout, QGridLayout):
        layout.addItem(QSpacerItem(width, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding),
                       layout.rowCount(), 0, 1, layout.columnCount())


def message_box(parent: QWidget | None, title: str, text: str, *,
                icon: QMessageBox.Icon = QMessageBox.Icon.Warning, details: str = "",
                object_name: str = ERROR_OBJECT_NAME) -> QMessageBox:
    """A message box (not yet shown): window title :data:`APP_NAME`, ``title`` as the bold
    headline, ``text`` under it, ``details`` (e.g. a traceback) behind "Show Details..."."""
    box = QMessageBox(icon, APP_NAME, headline_text(title, text), QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(object_name)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setEscapeButton(QMessageBox.StandardButton.Ok)  # Esc and the close box work with extra buttons
    if details:
        box.setDetailedText(details)
    _set_min_width(box, max(MIN_WIDTH_PX, title_width(box.windowTitle())))
    return box


def show_error(parent: QWidget | None, title: str, text: str, *, details: str = "",
               object_name: str = ERROR_OBJECT_NAME) -> QMessageBox:
    """Show an error without blocking the event loop and log it; returns the box (deleted when
    closed)."""
    log.warning("%s: %s", title, text)
    box = message_box(parent, title, text, details=details, object_name=object_name)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.open()
    return box


def show_info(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """Like :func:`show_error` with an information icon, not logged."""
    box = message_box(parent, title, text, icon=QMessageBox.Icon.Information, object_name="infoDialog")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.open()
    return box
