"""The model picker: every bundled and user model, described from checkpoint headers only.

Listing reads metadata (no torch, no weights), so it opens at once; the chosen model is loaded
later, in the background, by whoever generates with it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from composer.core.errors import ComposerError
from composer.models.checkpoint import read_metadata
from composer.models.library import ModelEntry, list_models
from composer.models.registry import FAMILIES

_PATH_ROLE = Qt.ItemDataRole.UserRole


def describe(entry: ModelEntry) -> str:
    """Rich text for the details pane: family, paper, data, instruments, size, metrics."""
    if entry.error:
        return f"<b>{entry.path.name}</b><br>This file cannot be used: {entry.error}"
    meta = entry.metadata
    spec = FAMILIES.get(meta["family"])
    data = meta.get("data", {})
    metrics = meta.get("metrics", {})
    lines = [f"<h3>{entry.name}</h3>"]
    if spec:
        lines += [f"<b>{spec.name}</b> ({meta.get('preset', '')})", f"<i>{spec.paper}</i>", spec.description]
    else:
        lines.append(f"family {meta['family']!r} (not known to this Composer)")
    hours = (data.get("duration_seconds") or 0) / 3600
    trained_on = data.get("source", "?")
    used = data.get("files_used")
    lines.append(f"<b>Trained on</b> {trained_on}" + (f": {used} files" if used else "")
                 + (f", {hours:.1f} hours" if hours else ""))
    instruments = data.get("instruments") or {}
    if instruments:
        lines.append("<b>Instruments</b> " + ", ".join(sorted(instruments)))
    pitch_range = meta.get("info", {}).get("pitch_range")
    if pitch_range:
        lines.append(f"<b>Pitches</b> {pitch_range[0]}-{pitch_range[1] - 1}")
    shown = [f"{k.replace('_', ' ')} {v:.3f}" for k, v in metrics.items() if isinstance(v, float)]
    if shown:
        lines.append("<b>Metrics</b> " + ", ".join(shown))
    size_mb = entry.path.stat().st_size / 1e6 if entry.path.exists() else 0
    lines.append(f"<b>File</b> {entry.path.name}, {size_mb:.1f} MB" + (" (bundled)" if entry.bundled else ""))
    return "<br>".join(lines)


class ModelPicker(QWidget):
    """A list of models with a details pane and "Add model file..."; emits ``model_chosen(path)``."""

    model_chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget(self)
        self.list.setSpacing(3)
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
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        scroller = QScrollArea(self)  # metrics lists can be long; the dock stays compact
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        scroller.setWidget(self.details)
        layout.addWidget(scroller, 2)
        layout.addLayout(buttons)
        self.list.currentItemChanged.connect(self._show_current)
        self.refresh()

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
        self.select_path(keep) if keep else self.list.setCurrentRow(0)

    def _add_entry(self, entry: ModelEntry) -> None:
        family = FAMILIES.get(entry.family or "")
        label = entry.name if entry.error is None else f"{entry.path.name} (unusable)"
        item = QListWidgetItem(f"{label}\n{family.name if family else entry.family or ''}")
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
        if entry.error is None:
            self.model_chosen.emit(str(entry.path))
