"""The model picker: every bundled and user model, described from checkpoint headers only.

Listing reads metadata (no torch, no weights), so it opens at once; the chosen model is loaded
later, in the background, by whoever generates with it.
"""

from __future__ import annotations

from pathlib import Path

from html import escape

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from composer.core.errors import ComposerError
from composer.gui.pianoroll import theme
from composer.models.checkpoint import read_metadata
from composer.models.library import ModelEntry, list_models
from composer.models.metric_info import MetricRow, metric_rows
from composer.models.readiness import header_warning
from composer.models.registry import FAMILIES, MULTITRACK

_PATH_ROLE = Qt.ItemDataRole.UserRole
_WARNING_COLOR = "#f2cf4e"
#: The details card keeps at least this many lines of text when the list takes its share.
CARD_MIN_LINES = 6
#: Per-count metrics the card leaves out (how much was evaluated, not how well).
_NOT_SHOWN = ("epoch", "frames", "tokens")


def describe(entry: ModelEntry) -> str:
    """Rich text for the details pane: name, a warning when under-trained, family, paper,
    the loaded model's size, data, instruments and its metrics in words."""
    if entry.error:
        return f"<b>{escape(entry.path.name)}</b><br>This file cannot be used: {escape(entry.error)}"
    meta = entry.metadata
    spec = FAMILIES.get(meta["family"])
    data = meta.get("data", {})
    lines = [f"<h3 style='margin:0'>{escape(entry.name)}</h3>"]
    warning = header_warning(meta)
    if warning:
        lines.append(f"<span style='color:{_WARNING_COLOR}'>{escape(warning)}</span>")
    if spec:
        lines += [f"<b>{spec.name}</b> ({escape(str(meta.get('preset', '')))})", f"<i>{spec.paper}</i>"]
        size = spec.size_text(meta.get("config") or {})
        if size:
            lines.append(f"<b>Size</b> {escape(size)}")
        lines.append(escape(spec.description))
    else:
        lines.append(f"family {escape(repr(meta['family']))} (not known to this Composer)")
    hours = (data.get("duration_seconds") or 0) / 3600
    trained_on = data.get("source", "?")
    used = data.get("files_used")
    lines.append(f"<b>Trained on</b> {escape(str(trained_on))}" + (f": {used} files" if used else "")
                 + (f", {hours:.1f} hours" if hours else ""))
    lines += _training_lines(meta)
    instruments = data.get("instruments") or {}
    if instruments:
        lines.append("<b>Instruments</b> " + escape(", ".join(sorted(instruments))))
    pitch_range = meta.get("info", {}).get("pitch_range")
    if pitch_range:
        lines.append(f"<b>Pitches</b> {pitch_range[0]}-{pitch_range[1] - 1}")
    rows = [row for row in metric_rows(meta.get("metrics") or {}, meta["family"], pitch_range)
            if row.info.key not in _NOT_SHOWN]
    if rows:
        lines.append("<b>Metrics</b>" + "".join(f"<br>&nbsp;\u2022 {_metric_html(row)}" for row in rows))
    size_mb = entry.path.stat().st_size / 1e6 if entry.path.exists() else 0
    lines.append(f"<b>File</b> {escape(entry.path.name)}, {size_mb:.1f} MB" + (" (bundled)" if entry.bundled else ""))
    return lines[0] + "<br>".join(lines[1:])  # (a <br> after the heading block would add an empty line)


def _training_lines(meta: dict) -> list[str]:
    """"Training: saved at epoch 60, after 1,800 steps" when the header says."""
    training = meta.get("training") or {}
    epoch = (meta.get("metrics") or {}).get("epoch", training.get("epochs"))
    if not isinstance(epoch, int):
        return []
    steps = training.get("steps")
    return [f"<b>Training</b> saved at epoch {epoch}" + (f", after {steps:,} steps" if isinstance(steps, int) else "")]


def _metric_html(row: MetricRow) -> str:
    """"Note score (paper 002): 0.031 validation, 0.031 test <dim>(-1 to 1, higher is better)</dim>"."""
    info = row.info
    parts = []
    for split, values in row.values.items():
        if len(values) == 1 and not values[0][0]:
            parts.append(f"{info.format(values[0][1])} {split}".strip())
        else:  # one value a slot: "validation: S 0.46 · A 0.50"
            slots = " \u00b7 ".join(f"{escape(slot)} {info.format(v)}" for slot, v in values)
            parts.append(f"{split}: {slots}" if split else slots)
    joined = "; ".join(parts) if any(":" in part for part in parts) else ", ".join(parts)
    label = info.label[:1].upper() + info.label[1:]
    hint = info.hint()
    hint_html = f" <span style='color:{theme.TEXT_DIM.name()}'>({escape(hint)})</span>" if hint else ""
    return f"{escape(label)}: {joined}{hint_html}"


class ModelPicker(QWidget):
    """A list of models with a details pane and "Add model file..."; emits ``model_chosen(path)``."""

    model_chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget(self)
        self.list.setSpacing(1)
        # Names wrap to the dock's width (a long one takes two lines) instead of hiding behind
        # a horizontal scrollbar; the family and the file are in each entry's tooltip.
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)  # (a single over-long word)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)  # re-wrap when the dock resizes
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        add = QPushButton("Add model file...", self)
        add.clicked.connect(self.add_dialog)
        self._extra: list[Path] = []
        self._entries: dict[str, ModelEntry] = {}

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(add)
        self.card = QScrollArea(self)  # metrics lists can be long; the dock stays compact
        self.card.setWidgetResizable(True)
        self.card.setFrameShape(QScrollArea.Shape.NoFrame)
        self.card.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.card.setWidget(self.details)
        self.card.setMinimumHeight(CARD_MIN_LINES * self.fontMetrics().lineSpacing())
        # The user can give the list or the card more room; the list starts with what it needs.
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.list)
        self.splitter.addWidget(self.card)
        self.splitter.setStretchFactor(1, 1)
        self._user_sized = False  # once the user moves the splitter, it stays where they put it
        self.splitter.splitterMoved.connect(lambda *_: setattr(self, "_user_sized", True))
        self.splitter.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(buttons)
        self.list.currentItemChanged.connect(self._show_current)
        self.refresh()

    def list_height_wanted(self) -> int:
        """The height that shows every entry (names wrapped to the list's width)."""
        rows = sum(self.list.sizeHintForRow(r) + 2 * self.list.spacing() for r in range(self.list.count()))
        return rows + 2 * self.list.frameWidth() + 2

    def _share_space(self) -> None:
        """Give the list the room of all its entries when the card keeps its minimum, else
        what is left above the card's minimum (the list scrolls; the splitter moves)."""
        total = self.splitter.height() - self.splitter.handleWidth()
        if total <= 0:
            return
        card = self.card.minimumHeight()
        wanted = self.list_height_wanted()
        list_height = max(min(wanted, total - card), min(total // 2, wanted))
        self.splitter.setSizes([list_height, total - list_height])

    def eventFilter(self, watched, event) -> bool:
        if watched is self.splitter and event.type() == QEvent.Type.Resize and not self._user_sized:
            self._share_space()
        return super().eventFilter(watched, event)

    def refresh(self, select: str | None = None) -> None:
        """Re-read the model folders (headers only) and keep or set the selection."""
        keep = select or self.current_path()
        self.list.clear()
        self._entries = {}
        for entry in list_models():
            self._add_entry(entry)
        for path in self._extra:
            if str(path) not in self._entries:
                try:
                    self._add_entry(ModelEntry(path, read_metadata(path)))
                except ComposerError as exc:
                    self._add_entry(ModelEntry(path, None, str(exc)))
        self.select_path(keep) if keep else self.list.setCurrentRow(self._starter_row())

    def _starter_row(self) -> int:
        """The model a new user starts with: the first that continues one part (a drawn tune
        goes on as a tune), not a band or a drum model that happens to sort first."""
        for row in range(self.list.count()):
            entry = self._entries.get(self.list.item(row).data(_PATH_ROLE))
            family = FAMILIES.get(entry.family or "") if entry is not None and entry.error is None else None
            if family is not None and MULTITRACK not in family.capabilities:
                return row
        return 0

    def _add_entry(self, entry: ModelEntry) -> None:
        family = FAMILIES.get(entry.family or "")
        label = entry.name if entry.error is None else f"{entry.path.name} (unusable)"
        item = QListWidgetItem(label)
        item.setToolTip("\n".join(part for part in (label, family.name if family else entry.family or "",
                                                     str(entry.path)) if part))
        item.setData(_PATH_ROLE, str(entry.path))
        if entry.error:
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
        self.list.addItem(item)
        self._entries[str(entry.path)] = entry

    def add_model_file(self, path: str) -> None:
        """Add a checkpoint from anywhere (kept for this session) and select it."""
        resolved = Path(path)
        if resolved not in self._extra:
            self._extra.append(resolved)
        self.refresh(select=str(resolved))

    def add_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add model file", "", "Composer models (*.safetensors)")
        if path:
            self.add_model_file(path)

    def current_path(self) -> str | None:
        item = self.list.currentItem()
        return item.data(_PATH_ROLE) if item else None

    def select_path(self, path: str) -> bool:
        for row in range(self.list.count()):
            if self.list.item(row).data(_PATH_ROLE) == str(path):
                self.list.setCurrentRow(row)
                return True
        return False

    def _show_current(self, current, _previous) -> None:
        if current is None:
            self.details.setText("No models found.")
            return
        entry = self._entries[current.data(_PATH_ROLE)]
        self.details.setText(describe(entry))
        self.card.verticalScrollBar().setValue(0)  # a new card starts at its title
        if entry.error is None:
            self.model_chosen.emit(str(entry.path))
