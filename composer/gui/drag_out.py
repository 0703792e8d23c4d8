"""Dragging MIDI out of the window: a variation, a track or the whole song becomes a real .mid
file in a temporary folder, dragged as a file URL (``text/uri-list``), which DAWs, file managers
and web pages (BandLab in a browser) all accept. The folder is removed when the app quits.

:func:`start_midi_drag` runs one drag; :class:`MidiDragHandle` is a grip to drag from (the
toolbar's song handle, each track row's); :class:`MidiDragList` is a list whose rows drag out
(the Generate panel's variations). What a drag carries comes from a *provider*: a callable
returning ``(score, song name, part name or None)``, or None when there is nothing to drag.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QDrag, QFontMetrics, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QListWidget, QToolButton, QWidget

from composer.core.errors import ComposerError
from composer.core.score import Score
from composer.io.midi_parts import write_part_file

log = logging.getLogger(__name__)

#: ``(score, song, part)``: what a drag writes ("<song> - <part>.mid"; part None: "<song>.mid").
DragItem = tuple[Score, str, Optional[str]]
Provider = Callable[[], Optional[DragItem]]


class DragFiles:
    """The temporary folder of dragged files. Each drag gets a sub-folder of its own, so the
    file keeps its plain name while a DAW may still be reading an earlier one."""

    def __init__(self) -> None:
        self.root: Path | None = None

    def new_folder(self) -> Path:
        if self.root is None or not self.root.is_dir():
            self.root = Path(tempfile.mkdtemp(prefix="composer-drag-"))
            app = QApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(self.cleanup)
        return Path(tempfile.mkdtemp(dir=self.root))

    def cleanup(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


drag_files = DragFiles()
atexit.register(drag_files.cleanup)


def midi_mime_data(path: Path) -> QMimeData:
    """The file as a URL list (``text/uri-list``; Qt adds the platform's file-drop formats)."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    return data


def _label_pixmap(text: str, widget: QWidget) -> QPixmap:
    metrics = QFontMetrics(widget.font())
    pixmap = QPixmap(metrics.horizontalAdvance(text) + 16, metrics.height() + 8)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(widget.palette().toolTipBase())
    painter.setPen(widget.palette().mid().color())
    painter.drawRoundedRect(pixmap.rect().adjusted(0, 0, -1, -1), 4, 4)
    painter.setPen(widget.palette().toolTipText().color())
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pixmap


def start_midi_drag(source: QWidget, item: DragItem | None) -> Qt.DropAction:
    """Write ``item`` to a fresh temporary .mid file and drag it (blocks until the drop, as
    :meth:`QDrag.exec` does). A file that cannot be written shows in the status bar; nothing
    is dragged then."""
    if item is None:
        return Qt.DropAction.IgnoreAction
    score, song, part = item
    try:
        path = write_part_file(score, drag_files.new_folder(), song, part)
    except (ComposerError, OSError) as exc:
        log.warning("cannot write the dragged MIDI file: %s", exc)
        window = source.window()
        if hasattr(window, "statusBar"):
            window.statusBar().showMessage(f"Cannot drag this as MIDI: {exc}", 8000)
        return Qt.DropAction.IgnoreAction
    drag = QDrag(source)
    drag.setMimeData(midi_mime_data(path))
    drag.setPixmap(_label_pixmap(path.name, source))
    drag.setHotSpot(QPoint(-8, -8))
    return drag.exec(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)


class MidiDragHandle(QToolButton):
    """A grip that drags ``provider()`` out as a .mid file (click does nothing but explain)."""

    def __init__(self, text: str, tip: str, provider: Provider, parent: QWidget | None = None):
        super().__init__(parent)
        self.provider = provider
        self.setText(text)
        self.setToolTip(tip)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setAutoRaise(True)
        self._press: QPoint | None = None

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is not None and (event.position().toPoint() - self._press).manhattanLength() \
                >= QApplication.startDragDistance():
            self._press = None
            self.setDown(False)
            start_midi_drag(self, self.provider())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._press = None
        super().mouseReleaseEvent(event)


class MidiDragList(QListWidget):
    """A list whose rows drag out as .mid files: ``row_provider(row)`` says what row ``row``
    carries (None: nothing)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.row_provider: Callable[[int], Optional[DragItem]] = lambda _row: None
        self.setDragEnabled(True)
        self.setDragDropMode(QListWidget.DragDropMode.DragOnly)

    def startDrag(self, _actions) -> None:  # noqa: N802 (Qt's name)
        row = self.currentRow()
        if row >= 0:
            start_midi_drag(self, self.row_provider(row))
