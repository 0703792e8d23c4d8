"""The piano-roll scene: note items that follow a Score through its change signals.

Scene coordinates are musical units: ``x`` is the tick and ``y = 127 - pitch`` the key row (one
unit per key). The zoom, ``px_per_tick`` and ``key_height`` (pixels per key), is the scale of the
view's transform, so zooming moves no item and costs the same with ten or ten thousand notes.
Items and the background draw in device pixels (see :mod:`.geometry`), which keeps pens, handles
and grid lines crisp at every zoom. The scene keeps ``note_id -> item`` per track and, on each
signal, creates, removes or updates only the notes named in it.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import shiboken6
from PySide6.QtCore import QLineF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsScene

from composer.core.score import Score

from . import theme
from .geometry import ROWS, pixel
from .items import MIN_WIDTH_PX, CandidateItem, CandidateStyle, NoteItem, NoteStyle

DEFAULT_PX_PER_QUARTER = 48.0
DEFAULT_KEY_HEIGHT = 14.0
MIN_PX_PER_QUARTER, MAX_PX_PER_QUARTER = 2.0, 1200.0
MIN_KEY_HEIGHT, MAX_KEY_HEIGHT = 4.0, 48.0

# Stacking order: inactive tracks under the active one, candidates and the draft above.
Z_INACTIVE, Z_ACTIVE, Z_CANDIDATE, Z_DRAFT, Z_PLAYHEAD = 1.0, 2.0, 3.0, 4.0, 10.0


class _TrackLayer:
    """The items of one track and the style they share."""

    def __init__(self, track_id: int, color, style: NoteStyle):
        self.track_id = track_id
        self.color = color
        self.style = style
        self.items: dict[int, NoteItem] = {}


def _cosmetic(color, width: float = 0) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)
    return pen


class _PlayheadItem(QGraphicsLineItem):
    """The playhead: a vertical line on the pixel column of its tick's grid line."""

    def paint(self, painter: QPainter, option, widget=None) -> None:
        transform = painter.worldTransform()
        line = self.line()
        x = pixel(line.x1() * transform.m11() + transform.dx())
        top = pixel(line.y1() * transform.m22() + transform.dy())
        bottom = pixel(line.y2() * transform.m22() + transform.dy())
        painter.resetTransform()
        painter.fillRect(QRect(x, top, 1, bottom - top), self.pen().color())
        painter.setWorldTransform(transform)


class PianoRollScene(QGraphicsScene):
    """Shows every track of a Score; the active track's notes are selectable, the others dimmed.

    Signals
    -------
    geometry_changed()
        Zoom or scene extent changed (the view re-scales; rulers and lanes re-align).
    notes_updated(int)
        Notes of the given track were added, removed or changed in the Score.
    note_selection_changed()
        The set of selected notes changed (emitted once per batch of changes).
    active_track_changed(object)
        The active track id (or None).
    overlay_changed()
        Playhead or loop region moved.
    timing_changed()
        The score's tempo or time signatures changed, or another score is shown (the bar lines
        are already redrawn; the ruler and tempo fields follow).
    """

    geometry_changed = Signal()
    notes_updated = Signal(int)
    note_selection_changed = Signal()
    active_track_changed = Signal(object)
    overlay_changed = Signal()
    timing_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.score: Score | None = None
        self.px_per_quarter = DEFAULT_PX_PER_QUARTER
        self.key_height = DEFAULT_KEY_HEIGHT
        self.grid_ticks = 0  # light grid lines every this many ticks; 0 = a sixteenth
        self.active_track_id: int | None = None
        self.playhead: int | None = None
        self.loop: tuple[int, int] | None = None
        self.end_tick = 0  # right edge of the scene in ticks
        self._layers: dict[int, _TrackLayer] = {}
        self._candidates: dict[int, list[CandidateItem]] = {}
        self._bars: np.ndarray | None = None
        self._ppq = 480
        self._selection_batch = 0
        self._selection_dirty = False
        self._draft: NoteItem | None = None
        self._playhead_item = _PlayheadItem()
        self._playhead_item.setPen(_cosmetic(theme.PLAYHEAD, 0))
        self._playhead_item.setZValue(Z_PLAYHEAD)
        self._playhead_item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._playhead_item.setVisible(False)
        self.addItem(self._playhead_item)
        self.setBackgroundBrush(theme.BACKGROUND)
        self.selectionChanged.connect(self._on_qt_selection_changed)
        self._update_extent()

    # ----------------------------------------------------------------- score binding
    def set_score(self, score: Score | None) -> None:
        """Show ``score`` (or nothing) and follow its change signals."""
        self._disconnect()
        with self.selection_batch():
            for layer in self._layers.values():
                for item in layer.items.values():
                    self.removeItem(item)
            self._layers.clear()
            for track_id in list(self._candidates):
                self.set_candidates(track_id, None)
        self.score = score
        self.active_track_id = None
        self._bars = None
        if score is not None:
            self._ppq = score.ppq
            events = score.events
            events.notes_added.connect(self._on_notes_added)
            events.notes_removed.connect(self._on_notes_removed)
            events.notes_changed.connect(self._on_notes_changed)
            events.tracks_changed.connect(self._on_tracks_changed)
            events.timing_changed.connect(self._on_timing_changed)
            self.active_track_id = score.tracks[0].id if score.tracks else None
            self._sync_tracks()
        self._update_extent()
        self.invalidate(self.sceneRect(), QGraphicsScene.SceneLayer.BackgroundLayer)
        self.active_track_changed.emit(self.active_track_id)
        self.timing_changed.emit()

    def _disconnect(self) -> None:
        if self.score is None:
            return
        events = self.score.events
        for signal, slot in ((events.notes_added, self._on_notes_added),
                             (events.notes_removed, self._on_notes_removed),
                             (events.notes_changed, self._on_notes_changed),
                             (events.tracks_changed, self._on_tracks_changed),
                             (events.timing_changed, self._on_timing_changed)):
            signal.disconnect(slot, missing_ok=True)

    # ----------------------------------------------------------------- geometry
    @property
    def px_per_tick(self) -> float:
        """Horizontal zoom: device pixels per tick (the view's horizontal scale)."""
        return self.px_per_quarter / self._ppq

    @property
    def ppq(self) -> int:
        return self._ppq

    # Scene units: x is the tick, y the key row. These do not depend on the zoom.
    def tick_to_x(self, tick: float) -> float:
        """Scene x of ``tick``."""
        return float(tick)

    def x_to_tick(self, x: float) -> float:
        return float(x)

    def pitch_to_y(self, pitch: int) -> float:
        """Scene y of the top edge of the pitch's row."""
        return float(127 - pitch)

    def y_to_pitch(self, y: float) -> int:
        return int(np.clip(127 - math.floor(y), 0, 127))

    def set_zoom(self, px_per_quarter: float | None = None, key_height: float | None = None) -> None:
        """Set the horizontal (pixels per quarter note) and vertical (pixels per key) zoom.

        Items keep their scene geometry; the view follows ``geometry_changed`` with its transform.
        """
        before = (self.px_per_quarter, self.key_height)
        if px_per_quarter is not None:
            self.px_per_quarter = float(np.clip(px_per_quarter, MIN_PX_PER_QUARTER, MAX_PX_PER_QUARTER))
        if key_height is not None:
            self.key_height = float(np.clip(key_height, MIN_KEY_HEIGHT, MAX_KEY_HEIGHT))
        if (self.px_per_quarter, self.key_height) != before:
            self._update_extent(force=True)

    def _update_extent(self, force: bool = False) -> None:
        """Size the scene to the music plus some room to write more."""
        bar = self._last_bar_ticks()
        used = max(self.score.end_tick if self.score else 0,
                   self.loop[1] if self.loop else 0, self.playhead or 0)
        end = max(used + 8 * bar, 32 * bar)
        end = int(math.ceil(end / bar) * bar)
        rect = QRectF(0, 0, end, ROWS)
        if force or end != self.end_tick or rect != self.sceneRect():
            self.end_tick = end
            self._bars = None
            self.setSceneRect(rect)
            self._place_playhead()
            self.invalidate(rect, QGraphicsScene.SceneLayer.BackgroundLayer)
            self.geometry_changed.emit()

    def _last_bar_ticks(self) -> int:
        if self.score is None:
            return 4 * self._ppq
        return self.score.bar_lengths()[-1]

    def bar_starts(self) -> np.ndarray:
        """Bar start ticks over the whole scene, shape (n,)."""
        if self._bars is None:
            if self.score is None:
                self._bars = np.arange(0, self.end_tick + 1, 4 * self._ppq, dtype=np.int64)
            else:
                self._bars = self.score.bar_starts(self.end_tick)
        return self._bars

    def beat_ticks_at(self, tick: int) -> int:
        """Length of one beat (the time signature's denominator) at ``tick``."""
        if self.score is None:
            return self._ppq
        return self.score.beat_ticks_at(tick)

    def set_grid(self, ticks: int) -> None:
        """Draw light grid lines every ``ticks`` ticks (0: every sixteenth)."""
        self.grid_ticks = int(ticks)
        self.invalidate(self.sceneRect(), QGraphicsScene.SceneLayer.BackgroundLayer)

    # ----------------------------------------------------------------- tracks
    def _sync_tracks(self) -> None:
        """Bring the layers in line with the Score's tracks; rebuild only new tracks."""
        score = self.score
        ids = [t.id for t in score.tracks] if score else []
        if self.active_track_id not in ids:
            self.active_track_id = ids[0] if ids else None
        with self.selection_batch():
            for track_id in [t for t in self._layers if t not in ids]:
                for item in self._layers.pop(track_id).items.values():
                    self.removeItem(item)
                self.set_candidates(track_id, None)
            for index, track in enumerate(score.tracks if score else []):
                active = track.id == self.active_track_id
                color = theme.track_color(track.color, index)
                layer = self._layers.get(track.id)
                if layer is None:
                    self._layers[track.id] = self._build_layer(track, color, active)
                elif layer.color != color or layer.style.active != active:
                    self._restyle(layer, color, active)

    def _build_layer(self, track, color, active: bool) -> _TrackLayer:
        layer = _TrackLayer(track.id, color, NoteStyle(color, active))
        self._add_items(layer, track.notes)
        return layer

    def _add_items(self, layer: _TrackLayer, notes: np.ndarray) -> None:
        style = layer.style
        z = Z_ACTIVE if style.active else Z_INACTIVE
        selectable = NoteItem.GraphicsItemFlag.ItemIsSelectable
        for nid, start, end, pitch, vel in zip(notes["id"].tolist(), notes["start"].tolist(),
                                               notes["end"].tolist(), notes["pitch"].tolist(),
                                               notes["velocity"].tolist()):
            item = NoteItem(layer.track_id, style)
            item.set_note(nid, start, end, pitch, vel)
            item.setZValue(z)
            if style.active:
                item.setFlag(selectable, True)
            self.addItem(item)
            layer.items[nid] = item

    def _restyle(self, layer: _TrackLayer, color, active: bool) -> None:
        layer.color = color
        layer.style = NoteStyle(color, active)
        z = Z_ACTIVE if active else Z_INACTIVE
        for item in layer.items.values():
            item.set_style(layer.style)
            item.setZValue(z)

    def set_active_track(self, track_id: int | None) -> None:
        """Make ``track_id``'s notes editable and bring them to the front; dim the others."""
        if track_id == self.active_track_id:
            return
        if self.score is not None and track_id is not None:
            self.score.track(track_id)  # raises ScoreError for an unknown id
        self.active_track_id = track_id
        if self.score is not None:
            self._sync_tracks()
        self.active_track_changed.emit(track_id)

    def track_color(self, track_id: int):
        """A track's color; candidates for new tracks (ids -1, -2, ...) get the colors those
        tracks will have once added."""
        layer = self._layers.get(track_id)
        if layer:
            return layer.color
        existing = len(self.score.tracks) if self.score is not None else 0
        return theme.track_color("", existing + max(-track_id - 1, 0))

    # ----------------------------------------------------------------- items
    def note_items(self, track_id: int | None = None) -> dict[int, NoteItem]:
        """``note_id -> item`` of a track (the active track by default). Do not modify."""
        track_id = self.active_track_id if track_id is None else track_id
        layer = self._layers.get(track_id)
        return layer.items if layer else {}

    def note_item(self, track_id: int, note_id: int) -> NoteItem | None:
        return self.note_items(track_id).get(note_id)

    def active_note_at(self, scene_pos) -> NoteItem | None:
        """The topmost note of the active track under ``scene_pos`` (a QPointF), if any.

        A note narrower than ``MIN_WIDTH_PX`` on screen is painted that wide, and hit that wide.
        """
        for item in self.items(scene_pos):
            if self._is_active_note(item):
                return item
        reach = MIN_WIDTH_PX / self.px_per_tick  # ticks a short note's painted block spans
        x, y = scene_pos.x(), scene_pos.y()
        for item in self.items(QRectF(x - reach, y, reach, 1e-6)):  # (an empty rect finds nothing)
            if self._is_active_note(item):
                rect = item.rect().translated(item.pos())
                if rect.top() <= y < rect.bottom() and rect.left() <= x < rect.left() + reach:
                    return item
        return None

    def _is_active_note(self, item) -> bool:
        return (isinstance(item, NoteItem) and item.track_id == self.active_track_id
                and item is not self._draft and item.isVisible())

    def active_notes_in(self, shape) -> list[NoteItem]:
        """Active-track notes intersecting ``shape`` (a QRectF or QPainterPath)."""
        return [item for item in self.items(shape)
                if isinstance(item, NoteItem) and item.track_id == self.active_track_id
                and item is not self._draft]

    # ----------------------------------------------------------------- selection
    @contextmanager
    def selection_batch(self):
        """Group selection changes so ``note_selection_changed`` is emitted once."""
        self._selection_batch += 1
        try:
            yield
        finally:
            self._selection_batch -= 1
            if not self._selection_batch and self._selection_dirty:
                self._selection_dirty = False
                self.note_selection_changed.emit()

    def _on_qt_selection_changed(self) -> None:
        if self._selection_batch:
            self._selection_dirty = True
        else:
            self.note_selection_changed.emit()

    def selected_note_items(self) -> list[NoteItem]:
        return [i for i in self.selectedItems() if isinstance(i, NoteItem)]

    def selected_ids(self) -> np.ndarray:
        """Ids of the selected notes of the active track, sorted, shape (n,)."""
        ids = [i.note_id for i in self.selectedItems()
               if isinstance(i, NoteItem) and i.track_id == self.active_track_id]
        return np.array(sorted(ids), dtype=np.int64)

    def set_selected(self, items, add: bool = False) -> None:
        """Select exactly ``items`` (or add them to the selection)."""
        wanted = set(items)
        with self.selection_batch():
            if not add:
                for item in self.selected_note_items():
                    if item not in wanted:
                        item.setSelected(False)
            for item in wanted:
                if not item.isSelected():
                    item.setSelected(True)

    def select_ids(self, ids, add: bool = False) -> None:
        """Select the active track's notes with the given ids."""
        items = self.note_items()
        self.set_selected([items[i] for i in np.asarray(ids, dtype=np.int64).tolist() if i in items], add)

    def select_all(self) -> None:
        self.set_selected(self.note_items().values())

    def clear_note_selection(self) -> None:
        self.set_selected(())

    # ----------------------------------------------------------------- score signals
    def _alive(self) -> bool:
        return shiboken6.isValid(self) and self.score is not None

    def _layer_for(self, track_id: int) -> _TrackLayer | None:
        layer = self._layers.get(track_id)
        if layer is None:  # a track we have not seen yet: catch up
            self._sync_tracks()
            layer = self._layers.get(track_id)
        return layer

    def _on_notes_added(self, track_id: int, ids) -> None:
        if not self._alive():
            return
        layer = self._layer_for(track_id)
        if layer is not None:
            fresh = [i for i in np.asarray(ids).tolist() if i not in layer.items]
            if fresh:
                self._add_items(layer, self.score.track(track_id).get(fresh))
        self._update_extent()
        self.notes_updated.emit(track_id)

    def _on_notes_removed(self, track_id: int, ids) -> None:
        if not self._alive():
            return
        layer = self._layers.get(track_id)
        if layer is not None:
            with self.selection_batch():
                for nid in np.asarray(ids).tolist():
                    item = layer.items.pop(nid, None)
                    if item is not None:
                        self.removeItem(item)
        self._update_extent()
        self.notes_updated.emit(track_id)

    def _on_notes_changed(self, track_id: int, ids) -> None:
        if not self._alive():
            return
        layer = self._layer_for(track_id)
        if layer is not None:
            notes = self.score.track(track_id).get(ids)
            for nid, start, end, pitch, vel in zip(
                    notes["id"].tolist(), notes["start"].tolist(), notes["end"].tolist(),
                    notes["pitch"].tolist(), notes["velocity"].tolist()):
                item = layer.items.get(nid)
                if item is not None:
                    item.set_note(nid, start, end, pitch, vel)
        self._update_extent()
        self.notes_updated.emit(track_id)

    def _on_tracks_changed(self) -> None:
        if not self._alive():
            return
        before = self.active_track_id
        self._sync_tracks()
        if self.active_track_id != before:
            self.active_track_changed.emit(self.active_track_id)
        self.notes_updated.emit(self.active_track_id if self.active_track_id is not None else -1)

    def _on_timing_changed(self) -> None:
        if not self._alive():
            return
        self._bars = None
        if self.score.ppq != self._ppq:
            self._ppq = self.score.ppq  # px_per_tick changes: the view re-scales
        self._update_extent(force=True)
        self.timing_changed.emit()

    # ----------------------------------------------------------------- candidates
    def set_candidates(self, track_id: int, notes: np.ndarray | None) -> None:
        """Show generated notes for ``track_id`` in the candidate style, or clear them (None)."""
        for item in self._candidates.pop(track_id, []):
            self.removeItem(item)
        if notes is None or len(notes) == 0:
            return
        style = CandidateStyle(self.track_color(track_id))
        items = []
        for start, end, pitch in zip(notes["start"].tolist(), notes["end"].tolist(),
                                     notes["pitch"].tolist()):
            item = CandidateItem(start, end, pitch, style)
            item.setZValue(Z_CANDIDATE)
            self.addItem(item)
            items.append(item)
        self._candidates[track_id] = items

    def candidate_items(self, track_id: int | None = None) -> list[CandidateItem]:
        if track_id is not None:
            return list(self._candidates.get(track_id, []))
        return [item for items in self._candidates.values() for item in items]

    # ----------------------------------------------------------------- drawing draft
    def show_draft(self, start: int, end: int, pitch: int) -> NoteItem:
        """Show (or move) the note being drawn, before it becomes an edit."""
        if self._draft is None:
            self._draft = NoteItem(-1, self._layers[self.active_track_id].style)
            self._draft.setZValue(Z_DRAFT)
            self._draft.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self.addItem(self._draft)
        self._draft.set_note(-1, start, end, pitch, self._draft.velocity)
        return self._draft

    def hide_draft(self) -> None:
        if self._draft is not None:
            self.removeItem(self._draft)
            self._draft = None

    # ----------------------------------------------------------------- playhead and loop
    def set_playhead(self, tick: int | None) -> None:
        self.playhead = None if tick is None else max(int(tick), 0)
        self._place_playhead()
        self._update_extent()
        self.overlay_changed.emit()

    def _place_playhead(self) -> None:
        item = self._playhead_item
        if item.isVisible():
            # A zero-width line's own update region can miss the pixel column it was painted on
            # (seen after a scroll blit on X11): repaint a few pixels around the old place.
            margin = 4 / max(self.px_per_tick, 1e-9)
            old = item.line().x1()
            self.update(QRectF(old - margin, 0, 2 * margin, ROWS))
        if self.playhead is None:
            item.setVisible(False)
            return
        x = self.tick_to_x(self.playhead)
        item.setLine(QLineF(x, 0, x, ROWS))
        item.setVisible(True)

    def set_loop(self, start: int | None, end: int | None) -> None:
        """Show the loop region [start, end) in ticks; ``None`` clears it."""
        old = self._loop_rect()
        self.loop = None if start is None or end is None or end <= start else (int(start), int(end))
        margin = 2 / self.px_per_tick  # the edge lines, two pixels either side
        for rect in (old, self._loop_rect()):
            if rect is not None:
                self.invalidate(rect.adjusted(-margin, 0, margin, 0),
                                QGraphicsScene.SceneLayer.BackgroundLayer)
        self._update_extent()
        self.overlay_changed.emit()

    def _loop_rect(self) -> QRectF | None:
        if self.loop is None:
            return None
        x0, x1 = self.tick_to_x(self.loop[0]), self.tick_to_x(self.loop[1])
        return QRectF(x0, 0, x1 - x0, ROWS)

    # ----------------------------------------------------------------- background grid
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        """Key rows, loop shading and grid lines, for the exposed ``rect`` only.

        Drawn in device pixels through the painter's transform (the view's zoom and scroll):
        every line and row edge falls on the pixel :func:`.geometry.pixel` gives, like the notes.
        Lines are one-pixel rectangles: the raster engine fills those several times faster than
        it strokes cosmetic lines, which matters when a zoom repaints the whole view.
        """
        transform = painter.worldTransform()
        painter.resetTransform()
        try:
            self._draw_background(painter, transform, rect)
        finally:
            painter.setWorldTransform(transform)

    def _draw_background(self, painter: QPainter, transform, rect: QRectF) -> None:
        sx, dx, sy, dy = transform.m11(), transform.dx(), transform.m22(), transform.dy()
        exposed = transform.mapRect(rect).toAlignedRect()
        area = rect.intersected(QRectF(0, 0, self.sceneRect().width(), ROWS))
        if area.isEmpty() or sx <= 0 or sy <= 0:
            painter.fillRect(exposed, theme.BACKGROUND)
            return
        # Device pixels of the exposed part of the scene, [left, right) x [top, bottom).
        left = max(exposed.left(), pixel(dx))
        right = min(exposed.right() + 1, pixel(self.sceneRect().width() * sx + dx))
        top = max(exposed.top(), pixel(dy))
        bottom = min(exposed.bottom() + 1, pixel(ROWS * sy + dy))
        inside = QRect(left, top, right - left, bottom - top)
        if not inside.contains(exposed):  # the key rows cover the rest
            painter.fillRect(exposed, theme.BACKGROUND)
        if inside.isEmpty():
            return
        painter.setPen(Qt.PenStyle.NoPen)
        self._draw_rows(painter, sy, dy, left, right, top, bottom)
        loop = None
        if self.loop is not None:
            loop = (pixel(self.loop[0] * sx + dx), pixel(self.loop[1] * sx + dx))
            x0, x1 = max(loop[0], left), min(loop[1], right)
            if x1 > x0:
                painter.fillRect(QRect(x0, top, x1 - x0, bottom - top), theme.LOOP_FILL)
        self._draw_time_lines(painter, sx, dx, area.left(), area.right(), left, right, top, bottom)
        if loop is not None:
            _fill_columns(painter, [x for x in loop if left <= x < right], top, bottom,
                          theme.LOOP_EDGE)

    def _draw_rows(self, painter: QPainter, sy: float, dy: float, left: int, right: int,
                   top: int, bottom: int) -> None:
        """Key rows between device rows ``top`` and ``bottom`` (exclusive), ``sy`` pixels each."""
        first = max(int((top - dy) // sy) - 1, 0)
        last = min(int((bottom - dy) // sy) + 1, 127)
        separators, octaves = [], []
        width = right - left
        for row in range(first, last + 1):
            pitch = 127 - row
            y0, y1 = pixel(row * sy + dy), pixel((row + 1) * sy + dy)
            if y1 <= top or y0 >= bottom:
                continue
            painter.fillRect(QRect(left, y0, width, y1 - y0),
                             theme.ROW_BLACK if theme.is_black_key(pitch) else theme.ROW_WHITE)
            # The line under C (the row's last pixel row) marks the octave; the others only
            # separate the rows.
            if top <= y1 - 1 < bottom:
                (octaves if pitch % 12 == 0 else separators).append(QRect(left, y1 - 1, width, 1))
        if sy >= 7 and separators:
            painter.setBrush(theme.ROW_SEPARATOR)
            painter.drawRects(separators)
        if octaves:
            painter.setBrush(theme.OCTAVE_LINE)
            painter.drawRects(octaves)

    def _draw_time_lines(self, painter: QPainter, ppt: float, dx: float, t0: float, t1: float,
                         left: int, right: int, top: int, bottom: int) -> None:
        """Sub-beat, beat and bar lines for ticks ``t0``-``t1`` at ``ppt`` pixels per tick."""
        bars = self.bar_starts()
        i0 = max(int(np.searchsorted(bars, t0, side="right")) - 1, 0)
        i1 = min(int(np.searchsorted(bars, t1, side="right")), len(bars) - 1)
        sub = self.grid_ticks or max(self._ppq // 4, 1)
        bar_px = (bars[1] - bars[0]) * ppt if len(bars) > 1 else 1e9
        bar_every = max(1, math.ceil(6 / max(bar_px, 1e-6)))  # thin out bars when zoomed far out
        bar_lines, beat_lines, sub_lines = [], [], []
        for i in range(i0, i1 + 1):
            b = int(bars[i])
            if i % bar_every == 0:
                bar_lines.append(b)
            if i + 1 >= len(bars):
                break
            nxt = int(bars[i + 1])
            beat = self.beat_ticks_at(b)
            if beat * ppt >= 6:
                beat_lines.extend(range(b + beat, nxt, beat))
            if sub < beat and sub * ppt >= 6:
                sub_lines.extend(t for t in range(b + sub, nxt, sub) if (t - b) % beat)
        for ticks, color in ((sub_lines, theme.LINE_SUB), (beat_lines, theme.LINE_BEAT),
                             (bar_lines, theme.LINE_BAR)):
            xs = [x for x in (pixel(t * ppt + dx) for t in ticks) if left <= x < right]
            _fill_columns(painter, xs, top, bottom, color)


def _fill_columns(painter: QPainter, xs: list[int], top: int, bottom: int, color) -> None:
    """One-pixel vertical lines at device columns ``xs`` from row ``top`` to ``bottom`` (exclusive)
    (the painter's pen must be NoPen)."""
    if xs:
        painter.setBrush(color)
        painter.drawRects([QRect(x, top, 1, bottom - top) for x in xs])
