"""The piano-roll view: tools, zoom, scroll, snap and rubber-band selection.

The view never changes the Score itself. A mouse gesture moves items as a preview and, on
release, pushes one core edit (wrapped by :func:`composer.gui.undo.push_edit`) onto the undo
stack; the scene then follows the Score's change signals like it does for any other edit.

The view zooms by its transform: it scales the scene's musical units (ticks, key rows) by the
scene's ``px_per_tick`` and ``key_height``, so no item moves on zoom. Scroll bar values are device
pixels from the scene's top left corner; ``tick_to_viewport_x`` and friends convert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QTransform, QUndoStack, QWheelEvent
from PySide6.QtWidgets import QGraphicsView, QRubberBand, QToolTip

from composer.core.edits import AddNotes, EditGroup, MoveNotes, RemoveNotes, ResizeNotes
from composer.core.errors import ScoreError
from composer.core.notes import make_notes
from composer.core.score import Score, Track
from composer.core.transforms import quantize

from ..undo import push_edit
from .clipboard import copy_notes, pasted_notes
from .geometry import pixel
from .grid import SNAP_NAMES, snap, snap_ticks
from .items import NoteItem, device_cell
from .note_text import note_tooltip
from .scene import PianoRollScene

TOOLS = ("draw", "select", "erase")
DRAG_THRESHOLD = 3  # pixels the mouse travels before a press becomes a drag
ZOOM_STEP = 1.25


@dataclass
class _Drag:
    """State of one mouse gesture, from press to release."""

    kind: str  # "draw" | "move" | "resize" | "erase" | "rubber" | "pan"
    press: QPointF  # viewport position of the press
    press_scene: QPointF
    anchor: NoteItem | None = None
    items: list = field(default_factory=list)
    started: bool = False  # moved beyond the threshold
    d_ticks: int = 0
    d_pitch: int = 0
    new_ends: dict = field(default_factory=dict)
    base: set = field(default_factory=set)
    erased: dict = field(default_factory=dict)
    start: int = 0
    end: int = 0
    pitch: int = 0
    last: QPointF | None = None
    was_selected: bool = False


class PianoRollView(QGraphicsView):
    """Edits the active track of a Score through an undo stack.

    Signals
    -------
    selection_changed()
        The selected notes changed.
    note_preview_requested(int pitch, int program, bool is_drum)
        A note was drawn, clicked or dragged to a new pitch; the app may sound it.
    view_changed()
        Scroll position or zoom changed (companion widgets re-align).
    time_view_changed(), pitch_view_changed()
        The same, for one axis only: the ruler follows time, the keyboard follows pitch.
    """

    selection_changed = Signal()
    note_preview_requested = Signal(int, int, bool)
    view_changed = Signal()
    time_view_changed = Signal()
    pitch_view_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.roll = PianoRollScene(self)
        self.setScene(self.roll)
        self.undo_stack = QUndoStack(self)  # replaced by the app's stack in set_score
        self.tool = "select"
        self.snap_name = "1/16"
        self.note_length: int | None = None  # ticks; None follows the snap step
        self.new_note_velocity = 100
        self._drag: _Drag | None = None
        self._cursor = None
        self._rubber = QRubberBand(QRubberBand.Shape.Rectangle, self.viewport())

        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        # Items set their own pen, brush and transform on every paint, so saving painter state is
        # waste. Updates keep Qt's two-pixel margin: items snap to whole pixels and short notes
        # are painted two pixels wide, a little outside their exact bounding rect.
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)

        self._apply_zoom()
        self.roll.geometry_changed.connect(self._on_geometry_changed)
        self.roll.note_selection_changed.connect(self.selection_changed)
        self.horizontalScrollBar().valueChanged.connect(self.time_view_changed)
        self.verticalScrollBar().valueChanged.connect(self.pitch_view_changed)
        self.time_view_changed.connect(self.view_changed)
        self.pitch_view_changed.connect(self.view_changed)
        self.roll.set_grid(self.snap_step)

    # ----------------------------------------------------------------- setup
    @property
    def score(self) -> Score | None:
        return self.roll.score

    @property
    def active_track(self) -> Track | None:
        if self.roll.score is None or self.roll.active_track_id is None:
            return None
        return self.roll.score.track(self.roll.active_track_id)

    def set_score(self, score: Score | None, undo_stack: QUndoStack | None = None) -> None:
        """Edit ``score``; every edit is pushed onto ``undo_stack`` (a private one if None)."""
        self._cancel_drag()
        self.undo_stack = undo_stack if undo_stack is not None else QUndoStack(self)
        self.roll.set_score(score)
        self.roll.set_grid(self.snap_step)
        track = self.active_track
        self.center_on_pitch(int(np.median(track.notes["pitch"])) if track is not None and len(track)
                             else 60)

    def set_active_track(self, track_id: int | None) -> None:
        self._cancel_drag()
        self.roll.set_active_track(track_id)

    def set_tool(self, name: str) -> None:
        """Choose the mouse tool: "draw", "select" or "erase"."""
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r}; choose one of {', '.join(TOOLS)}")
        self._cancel_drag()
        self.tool = name
        self._set_cursor(self._tool_cursor())

    def set_snap(self, name: str) -> None:
        """Choose the grid: one of :data:`~composer.gui.pianoroll.grid.SNAP_NAMES`."""
        snap_ticks(name, 480)  # validates the name
        self.snap_name = name
        self.roll.set_grid(self.snap_step)

    def set_note_length(self, value: int | str | None) -> None:
        """Length of drawn notes: ticks, a snap name ("1/8"), or None/"snap" to follow the grid."""
        if value is None or value == "snap":
            self.note_length = None
        elif isinstance(value, str):
            self.note_length = snap_ticks(value, self.roll.ppq) or None
        elif int(value) > 0:
            self.note_length = int(value)
        else:
            raise ValueError(f"note length must be positive, not {value!r}")

    @property
    def snap_step(self) -> int:
        """Grid step in ticks at the score's PPQ; 0 when snapping is off."""
        return snap_ticks(self.snap_name, self.roll.ppq)

    def note_length_ticks(self) -> int:
        return self.note_length or self.snap_step or max(self.roll.ppq // 4, 1)

    def snap_tick(self, tick: float, mode: str = "round") -> int:
        return max(snap(tick, self.snap_step, self.roll.bar_starts(), mode), 0)

    # ----------------------------------------------------------------- coordinates
    def _apply_zoom(self) -> bool:
        """Scale the scene's ticks and key rows to the scene's zoom; True if the key height changed."""
        zoom = QTransform.fromScale(self.roll.px_per_tick, self.roll.key_height)
        before = self.transform()
        if zoom == before:
            return False
        self.setTransform(zoom)
        return zoom.m22() != before.m22()

    def _on_geometry_changed(self) -> None:
        # The scene is always 128 rows high: only a new key height moves the keyboard.
        if self._apply_zoom():
            self.pitch_view_changed.emit()
        self.time_view_changed.emit()

    def _scroll(self) -> tuple[float, float]:
        """Device pixels between the scene's top left corner and the viewport's: (x, y)."""
        t = self.viewportTransform()
        return -t.dx(), -t.dy()

    def tick_to_viewport_x(self, tick: float) -> float:
        return tick * self.roll.px_per_tick - self._scroll()[0]

    def ticks_to_viewport_x(self, ticks: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`tick_to_viewport_x` for an array of ticks of any shape."""
        return np.asarray(ticks) * self.roll.px_per_tick - self._scroll()[0]

    def viewport_x_to_tick(self, x: float) -> float:
        return (x + self._scroll()[0]) / self.roll.px_per_tick

    def pitch_to_viewport_y(self, pitch: int) -> float:
        """Viewport y of the top edge of ``pitch``'s row."""
        return (127 - pitch) * self.roll.key_height - self._scroll()[1]

    def viewport_y_to_pitch(self, y: float) -> int:
        return self.roll.y_to_pitch((y + self._scroll()[1]) / self.roll.key_height)

    def viewport_point(self, tick: float, pitch: int) -> QPoint:
        """A viewport point just inside the cell that starts at ``tick`` in ``pitch``'s row."""
        x = pixel(self.tick_to_viewport_x(tick)) + 1
        y = self.pitch_to_viewport_y(pitch) + self.roll.key_height / 2
        return QPoint(int(x), int(y))

    def note_viewport_rect(self, item) -> QRect:
        """The viewport pixels a note (or candidate) item is painted on: the outline starts on
        the grid line of the item's start tick and on the first pixel row of its key."""
        transform = QTransform.fromTranslate(item.pos().x(), item.pos().y()) * self.viewportTransform()
        return QRect(*device_cell(transform, item.rect()))

    # ----------------------------------------------------------------- zoom and scroll
    def zoom_time(self, factor: float, anchor_x: float | None = None) -> None:
        """Zoom in time by ``factor`` keeping the tick under ``anchor_x`` (viewport) in place."""
        anchor_x = self.viewport().width() / 2 if anchor_x is None else anchor_x
        tick = self.viewport_x_to_tick(anchor_x)
        self.roll.set_zoom(px_per_quarter=self.roll.px_per_quarter * factor)
        self.horizontalScrollBar().setValue(round(tick * self.roll.px_per_tick - anchor_x))
        self.time_view_changed.emit()

    def zoom_pitch(self, factor: float, anchor_y: float | None = None) -> None:
        """Zoom the key rows by ``factor`` keeping the row under ``anchor_y`` (viewport) in place."""
        anchor_y = self.viewport().height() / 2 if anchor_y is None else anchor_y
        rows = (anchor_y + self._scroll()[1]) / self.roll.key_height
        self.roll.set_zoom(key_height=self.roll.key_height * factor)
        self.verticalScrollBar().setValue(round(rows * self.roll.key_height - anchor_y))
        self.pitch_view_changed.emit()

    def scroll_to_tick(self, tick: int) -> None:
        """Scroll so ``tick`` is near the left edge."""
        self.horizontalScrollBar().setValue(round(tick * self.roll.px_per_tick) - 16)

    def ensure_tick_visible(self, tick: int) -> None:
        """Scroll by a page when ``tick`` is outside the view (e.g. to follow the playhead)."""
        x = self.tick_to_viewport_x(tick)
        if x < 0 or x > self.viewport().width() - 8:
            self.scroll_to_tick(tick)

    def ensure_region_visible(self, start: int, end: int, low: int | None = None,
                              high: int | None = None) -> None:
        """Scroll, only when needed, so ticks [start, end) and the rows of pitches low..high are
        in view: as much of the range as fits, with a margin before ``start`` to show the seam."""
        width, height = self.viewport().width(), self.viewport().height()
        if self.tick_to_viewport_x(start) < 0 or self.tick_to_viewport_x(end) > width - 8:
            span = (end - start) * self.roll.px_per_tick
            if span > width * 0.9:  # zoom out so the whole range fits (as far as the zoom goes)
                self.zoom_time(width * 0.85 / span)
                span = (end - start) * self.roll.px_per_tick
            margin = max(min(width / 4, width - 8 - span), 16)
            self.horizontalScrollBar().setValue(round(start * self.roll.px_per_tick - margin))
        if low is not None and high is not None:
            top, bottom = self.pitch_to_viewport_y(high), self.pitch_to_viewport_y(low) + self.roll.key_height
            if top < 0 or bottom > height:
                self.center_on_pitch((low + high) // 2)

    def center_on_pitch(self, pitch: int) -> None:
        """Scroll ``pitch`` to the middle; before the view is first shown, once it has its size."""
        self._pending_center = None if self.isVisible() else pitch
        y = (127.5 - pitch) * self.roll.key_height  # the middle of the row, in device pixels
        self.verticalScrollBar().setValue(round(y - self.viewport().height() / 2))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        pitch = getattr(self, "_pending_center", None)
        if pitch is not None:
            self.center_on_pitch(pitch)

    def wheelEvent(self, event: QWheelEvent) -> None:
        mods = event.modifiers()
        delta = event.angleDelta()
        steps = (delta.y() or delta.x()) / 120
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if ctrl and shift:
            self.zoom_pitch(1.15 ** steps, event.position().y())
        elif ctrl:
            self.zoom_time(1.2 ** steps, event.position().x())
        elif shift:  # Shift+wheel scrolls in time, as in most editors
            bar = self.horizontalScrollBar()
            bar.setValue(round(bar.value() - steps * bar.singleStep() * 3))
        else:
            super().wheelEvent(event)
            return
        event.accept()

    # ----------------------------------------------------------------- selection
    def selected_note_ids(self) -> np.ndarray:
        """Ids of the selected notes of the active track, sorted, shape (n,)."""
        return self.roll.selected_ids()

    def select_notes(self, ids, add: bool = False) -> None:
        self.roll.select_ids(ids, add)

    def select_all(self) -> None:
        self.roll.select_all()

    def clear_selection(self) -> None:
        self.roll.clear_note_selection()

    # ----------------------------------------------------------------- edits
    def push(self, edit) -> bool:
        """Apply ``edit`` through the undo stack; False (and no change) if the Score refuses it."""
        if self.score is None:
            return False
        try:
            push_edit(self.undo_stack, self.score, edit)
        except ScoreError:
            return False
        return True

    def _selection(self) -> tuple[Track, np.ndarray] | None:
        ids = self.selected_note_ids()
        track = self.active_track
        if track is None or not len(ids):
            return None
        return track, ids

    def delete_selection(self) -> bool:
        chosen = self._selection()
        return chosen is not None and self.push(RemoveNotes(chosen[0].id, chosen[1]))

    def duplicate_selection(self) -> bool:
        """Copy the selected notes to just after themselves (rounded up to the grid)."""
        chosen = self._selection()
        if chosen is None:
            return False
        track, ids = chosen
        notes = track.get(ids)
        span = int(notes["end"].max() - notes["start"].min())
        step = self.snap_step or 1
        offset = math.ceil(span / step) * step
        copies = notes.copy()
        copies["start"] += offset
        copies["end"] += offset
        copies["id"] = track.new_note_ids(len(copies))
        if not self.push(AddNotes(track.id, copies, text="Duplicate Notes")):
            return False
        self.roll.select_ids(copies["id"])
        return True

    def copy_selection(self) -> bool:
        chosen = self._selection()
        if chosen is None:
            return False
        copy_notes(chosen[0].get(chosen[1]), self.score.ppq)
        return True

    def cut_selection(self) -> bool:
        chosen = self._selection()
        return self.copy_selection() and self.push(RemoveNotes(chosen[0].id, chosen[1], text="Cut Notes"))

    def paste(self, at_tick: int | None = None) -> bool:
        """Paste the clipboard's notes into the active track at ``at_tick`` (default: the
        playhead, else the start of the visible part); the pasted notes become the selection."""
        track = self.active_track
        if track is None or self.score is None:
            return False
        notes = pasted_notes(self.score.ppq)
        if notes is None:
            return False
        if at_tick is None:
            visible = self.snap_tick(max(self.viewport_x_to_tick(0), 0), "ceil")
            at_tick = self.roll.playhead if self.roll.playhead is not None else visible
        notes["start"] += int(at_tick)
        notes["end"] += int(at_tick)
        notes["id"] = track.new_note_ids(len(notes))
        if not self.push(AddNotes(track.id, notes, text="Paste Notes")):
            return False
        self.roll.select_ids(notes["id"])
        return True

    def transpose_selection(self, semitones: int) -> bool:
        """Move the selected notes by ``semitones``; refused if a note would leave 0-127."""
        chosen = self._selection()
        if chosen is None or not semitones:
            return False
        track, ids = chosen
        pitches = track.get(ids)["pitch"].astype(int) + semitones
        if pitches.min() < 0 or pitches.max() > 127:
            return False
        if not self.push(MoveNotes(track.id, ids, d_pitch=int(semitones), text="Transpose")):
            return False
        self._preview(int(pitches[0]))
        return True

    def move_selection(self, ticks: int) -> bool:
        """Move the selected notes in time; refused if a note would start before tick 0."""
        chosen = self._selection()
        if chosen is None or not ticks:
            return False
        track, ids = chosen
        if track.get(ids)["start"].min() + ticks < 0:
            return False
        return self.push(MoveNotes(track.id, ids, d_ticks=int(ticks)))

    def quantize_selection(self, grid: int | None = None, strength: float = 1.0,
                           ends: bool = True) -> bool:
        """Quantize the selected notes (see :func:`composer.core.transforms.quantize`).

        ``grid`` defaults to the snap step (a sixteenth when snapping is off). Pushes one undo
        step made of MoveNotes (one per distinct shift) and a ResizeNotes for changed ends.
        """
        chosen = self._selection()
        if chosen is None:
            return False
        track, ids = chosen
        grid = grid or self.snap_step or max(self.roll.ppq // 4, 1)
        before = track.get(ids)
        # Quantize a one-track score holding only the selection (ids are kept).
        alone = Score([Track(track.name, track.program, track.is_drum, before.copy(), track.id)],
                      self.score.ppq, self.score.tempos, list(self.score.time_signatures))
        after = quantize(alone, grid, strength, ends).tracks[0].get(ids)
        shifts = after["start"] - before["start"]
        edits = [MoveNotes(track.id, ids[shifts == d], d_ticks=int(d))
                 for d in np.unique(shifts) if d != 0]
        resized = after["end"] != before["end"] + shifts
        if resized.any():
            edits.append(ResizeNotes(track.id, ids[resized], new_ends=after["end"][resized]))
        return bool(edits) and self.push(EditGroup(edits, text="Quantize"))

    def _preview(self, pitch: int) -> None:
        track = self.active_track
        if track is not None:
            self.note_preview_requested.emit(int(pitch), int(track.program), bool(track.is_drum))

    # ----------------------------------------------------------------- mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        pos = event.position()
        scene_pos = self.mapToScene(pos.toPoint())
        button = event.button()
        if button == Qt.MouseButton.MiddleButton:
            self._drag = _Drag("pan", pos, scene_pos, last=pos)
            self._set_cursor(Qt.CursorShape.ClosedHandCursor)
            return
        if self.active_track is None or self._drag is not None:
            return
        item = self.roll.active_note_at(scene_pos)
        if button == Qt.MouseButton.RightButton:
            if item is not None and self.tool != "erase":  # right-click deletes, as in most DAWs
                self.push(RemoveNotes(item.track_id, np.array([item.note_id])))
            return
        if button != Qt.MouseButton.LeftButton:
            return
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if self.tool == "erase":
            self._drag = _Drag("erase", pos, scene_pos, last=scene_pos)
            self._erase_at(scene_pos)
        elif item is not None:
            self._press_note(item, pos, scene_pos, shift)
        elif self.tool == "draw":
            self._press_draw(pos, scene_pos)
        else:
            base = set(self.roll.selected_note_items()) if shift else set()
            if not shift:
                self.roll.clear_note_selection()
            self._drag = _Drag("rubber", pos, scene_pos, base=base)
            self._rubber.setGeometry(QRect(pos.toPoint(), pos.toPoint()))
            self._rubber.show()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        # Qt sends a double-click instead of the second press; treat it as a press, and let a
        # double-click on empty space add a note in select mode too.
        scene_pos = self.mapToScene(event.position().toPoint())
        if (self.tool == "select" and event.button() == Qt.MouseButton.LeftButton
                and self._drag is None and self.active_track is not None
                and self.roll.active_note_at(scene_pos) is None):
            self._press_draw(event.position(), scene_pos)
        else:
            self.mousePressEvent(event)

    def _press_note(self, item: NoteItem, pos: QPointF, scene_pos: QPointF, shift: bool) -> None:
        was_selected = item.isSelected()
        if shift:
            item.setSelected(not was_selected)
            if was_selected:
                return
        elif not was_selected:
            self.roll.set_selected([item])
        kind = "resize" if item.in_resize_handle(scene_pos.x(), self.roll.px_per_tick) else "move"
        items = [i for i in self.roll.selected_note_items() if i.track_id == item.track_id]
        self._drag = _Drag(kind, pos, scene_pos, anchor=item, items=items,
                           was_selected=was_selected and not shift)
        self._preview(item.pitch)

    def _press_draw(self, pos: QPointF, scene_pos: QPointF) -> None:
        start = self.snap_tick(self.roll.x_to_tick(scene_pos.x()), "floor")
        pitch = self.roll.y_to_pitch(scene_pos.y())
        end = start + self.note_length_ticks()
        self._drag = _Drag("draw", pos, scene_pos, start=start, end=end, pitch=pitch)
        self.roll.show_draft(start, end, pitch)
        self._preview(pitch)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        scene_pos = self.mapToScene(pos.toPoint())
        drag = self._drag
        if drag is None:
            self._hover(scene_pos)
            return
        if not drag.started:
            if (pos - drag.press).manhattanLength() < DRAG_THRESHOLD:
                return
            drag.started = True
        if drag.kind == "pan":
            delta = pos - drag.last
            drag.last = pos
            self.horizontalScrollBar().setValue(round(self.horizontalScrollBar().value() - delta.x()))
            self.verticalScrollBar().setValue(round(self.verticalScrollBar().value() - delta.y()))
        elif drag.kind == "move":
            self._drag_move(drag, scene_pos)
        elif drag.kind == "resize":
            self._drag_resize(drag, scene_pos)
        elif drag.kind == "draw":
            step = self.snap_step or 1
            drag.end = max(self.snap_tick(self.roll.x_to_tick(scene_pos.x())), drag.start + step)
            self.roll.show_draft(drag.start, drag.end, drag.pitch)
        elif drag.kind == "erase":
            self._erase_along(drag, scene_pos)
        elif drag.kind == "rubber":
            rect = QRect(drag.press.toPoint(), pos.toPoint()).normalized()
            self._rubber.setGeometry(rect)
            inside = self.roll.active_notes_in(self.mapToScene(rect).boundingRect())
            self.roll.set_selected(drag.base.union(inside))

    def _drag_move(self, drag: _Drag, scene_pos: QPointF) -> None:
        anchor = drag.anchor
        raw = self.roll.x_to_tick(scene_pos.x() - drag.press_scene.x())
        d_ticks = self.snap_tick(anchor.start + raw) - anchor.start
        d_pitch = self.roll.y_to_pitch(scene_pos.y()) - self.roll.y_to_pitch(drag.press_scene.y())
        # Keep every note inside the score: not before tick 0, within MIDI pitches.
        d_ticks = max(d_ticks, -min(i.start for i in drag.items))
        d_pitch = int(np.clip(d_pitch, -min(i.pitch for i in drag.items),
                              127 - max(i.pitch for i in drag.items)))
        if (d_ticks, d_pitch) == (drag.d_ticks, drag.d_pitch):
            return
        if d_pitch != drag.d_pitch:
            self._preview(anchor.pitch + d_pitch)
        drag.d_ticks, drag.d_pitch = d_ticks, d_pitch
        roll = self.roll
        dx = roll.tick_to_x(anchor.start + d_ticks) - roll.tick_to_x(anchor.start)
        dy = roll.pitch_to_y(anchor.pitch + d_pitch) - roll.pitch_to_y(anchor.pitch)
        for item in drag.items:
            item.setPos(dx, dy)
            item.offset = True

    def _drag_resize(self, drag: _Drag, scene_pos: QPointF) -> None:
        anchor = drag.anchor
        step = self.snap_step or 1
        anchor_end = max(self.snap_tick(self.roll.x_to_tick(scene_pos.x())), anchor.start + step)
        delta = anchor_end - anchor.end
        roll = self.roll
        for item in drag.items:
            end = anchor_end if item is anchor else max(item.end + delta, item.start + 1)
            drag.new_ends[item] = end
            rect = item.rect()
            item.setRect(rect.x(), rect.y(), roll.tick_to_x(end) - roll.tick_to_x(item.start),
                         rect.height())

    def _erase_at(self, scene_pos: QPointF) -> None:
        item = self.roll.active_note_at(scene_pos)
        if item is not None:
            self._drag.erased[item.note_id] = item
            item.setVisible(False)  # preview; the edit on release removes it for real

    def _erase_along(self, drag: _Drag, scene_pos: QPointF) -> None:
        # Sample the path so a fast drag does not jump over short notes (every few pixels).
        step = max(2.0, min(self.roll.key_height, 6.0) / 2)
        delta = scene_pos - drag.last
        pixels = max(abs(delta.x()) * self.roll.px_per_tick, abs(delta.y()) * self.roll.key_height)
        n = max(int(pixels / step), 1)
        for k in range(1, n + 1):
            self._erase_at(drag.last + delta * (k / n))
        drag.last = scene_pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            return
        track = self.active_track
        if drag.kind == "pan":
            self._set_cursor(self._tool_cursor())
        elif drag.kind == "rubber":
            self._rubber.hide()
        elif drag.kind == "draw":
            self.roll.hide_draft()
            notes = make_notes([drag.start], [drag.end], [drag.pitch], self.new_note_velocity,
                               ids=track.new_note_ids(1))
            if self.push(AddNotes(track.id, notes, text="Draw Note")):
                self.roll.select_ids(notes["id"])
        elif drag.kind == "move":
            self._release_move(drag, track)
        elif drag.kind == "resize":
            self._release_resize(drag, track)
        elif drag.kind == "erase" and drag.erased:
            ids = np.array(sorted(drag.erased), dtype=np.int64)
            if not self.push(RemoveNotes(track.id, ids, text="Erase Notes")):
                self._restore(drag)

    def _release_move(self, drag: _Drag, track: Track) -> None:
        if drag.d_ticks or drag.d_pitch:
            ids = np.array(sorted(i.note_id for i in drag.items), dtype=np.int64)
            self._restore(drag)
            self.push(MoveNotes(track.id, ids, d_ticks=drag.d_ticks, d_pitch=drag.d_pitch))
        elif not drag.started and drag.was_selected:
            self.roll.set_selected([drag.anchor])  # a plain click picks one note of a selection

    def _release_resize(self, drag: _Drag, track: Track) -> None:
        changed = {i.note_id: e for i, e in drag.new_ends.items() if e != i.end}
        self._restore(drag)
        if changed:
            ids = np.array(sorted(changed), dtype=np.int64)
            ends = np.array([changed[i] for i in ids.tolist()], dtype=np.int64)
            self.push(ResizeNotes(track.id, ids, new_ends=ends))

    def _restore(self, drag: _Drag) -> None:
        """Undo a gesture's preview on the items."""
        for item in drag.items:
            if item.offset:
                item.setPos(0.0, 0.0)
                item.offset = False
            item.relayout()
        for item in drag.erased.values():
            item.setVisible(True)

    def _cancel_drag(self) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            return
        self._restore(drag)
        self.roll.hide_draft()
        self._rubber.hide()

    # ----------------------------------------------------------------- cursor
    def _tool_cursor(self) -> Qt.CursorShape:
        return {"draw": Qt.CursorShape.CrossCursor, "erase": Qt.CursorShape.PointingHandCursor}.get(
            self.tool, Qt.CursorShape.ArrowCursor)

    def _hover(self, scene_pos: QPointF) -> None:
        item = self.roll.active_note_at(scene_pos) if self.tool != "erase" else None
        if item is None:
            self._set_cursor(self._tool_cursor())
        elif item.in_resize_handle(scene_pos.x(), self.roll.px_per_tick):
            self._set_cursor(Qt.CursorShape.SizeHorCursor)
        else:
            self._set_cursor(Qt.CursorShape.SizeAllCursor)

    def note_tooltip_at(self, pos: QPoint) -> str:
        """Hover text for the active track's note under viewport point ``pos`` ("" if none)."""
        return self._note_tooltip(self.roll.active_note_at(self.mapToScene(pos)))

    def _note_tooltip(self, item: NoteItem | None) -> str:
        track = self.active_track
        if item is None or track is None or self._drag is not None:
            return ""
        return note_tooltip(self.score, track, track.get([item.note_id])[0])

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            item = self.roll.active_note_at(self.mapToScene(event.pos()))
            text = self._note_tooltip(item)
            if text:  # shown while the mouse stays on the note
                QToolTip.showText(event.globalPos(), text, self.viewport(),
                                  self.note_viewport_rect(item))
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def _set_cursor(self, shape: Qt.CursorShape) -> None:
        if shape != self._cursor:
            self._cursor = shape
            self.viewport().setCursor(shape)

    # ----------------------------------------------------------------- keys
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        has_selection = len(self.selected_note_ids()) > 0
        K = Qt.Key
        if key in (K.Key_Delete, K.Key_Backspace):
            self.delete_selection()
        elif ctrl and key == K.Key_D:
            self.duplicate_selection()
        elif ctrl and key == K.Key_A:
            self.select_all()
        elif ctrl and key in (K.Key_Equal, K.Key_Plus):
            self.zoom_time(ZOOM_STEP)
        elif ctrl and key == K.Key_Minus:
            self.zoom_time(1 / ZOOM_STEP)
        elif key == K.Key_Escape:
            if self._drag is not None:
                self._cancel_drag()
            else:
                self.clear_selection()
        elif has_selection and key in (K.Key_Up, K.Key_Down):
            self.transpose_selection((12 if shift else 1) * (1 if key == K.Key_Up else -1))
        elif has_selection and key in (K.Key_Left, K.Key_Right):
            step = self.snap_step or 1
            self.move_selection(step if key == K.Key_Right else -step)
        else:
            super().keyPressEvent(event)
            return
        event.accept()


__all__ = ["PianoRollView", "SNAP_NAMES", "TOOLS"]
