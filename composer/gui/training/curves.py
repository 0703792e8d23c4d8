"""Live training curves: the loss (training, by step; validation, by epoch) and one of the
family's metrics (validation, by epoch), from the trainer's progress events. Metrics are listed
and titled in words, with their range and which way is better (composer.models.metric_info)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from composer.gui.pianoroll import theme
from composer.models.metric_info import describe_metric

TRAIN_PEN = pg.mkPen(theme.TRACK_PALETTE[0], width=1.5)
VALID_PEN = pg.mkPen(theme.TRACK_PALETTE[1], width=2)
METRIC_PEN = pg.mkPen(theme.TRACK_PALETTE[2], width=2)
METRIC_DELAY_MS = 60


def epoch_span(xs: list[float], first: float = 0.0) -> tuple[float, float]:
    """The x range of a plot of ``xs`` (epochs): from ``first`` to the last whole epoch reached,
    at least one epoch, so an empty plot or one point reads "epoch 0 to 1", not "-0.45 to 0.55"."""
    last = max(xs, default=first)
    return first, max(float(math.ceil(last)), first + 1.0)


def _plot(title: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background=theme.BACKGROUND)
    plot.setTitle(title, color=theme.TEXT.name(), size="9pt")
    plot.setLabel("bottom", "epoch")
    # Epochs are epochs: no "(x0.001)" when the first points all lie inside epoch 1.
    for side in ("bottom", "left"):
        plot.getAxis(side).enableAutoSIPrefix(False)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    return plot


class TrainingCurves(QWidget):
    """Feed it every event with :meth:`add_event`; :meth:`clear` for a new run."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = _plot("Loss")
        self.loss_plot.addLegend(offset=(-10, 10), labelTextColor=theme.TEXT.name())
        self.train_curve = self.loss_plot.plot([], [], pen=TRAIN_PEN, name="training")
        self.valid_curve = self.loss_plot.plot([], [], pen=VALID_PEN, name="validation",
                                               symbol="o", symbolSize=5, symbolBrush=VALID_PEN.color())
        self.metric_plot = _plot("Validation metric")
        self.metric_curve = self.metric_plot.plot([], [], pen=METRIC_PEN, symbol="o", symbolSize=5,
                                                  symbolBrush=METRIC_PEN.color())
        # Not ``self.metric``: that name would hide QWidget.metric(), which Qt calls to paint.
        self.metric_choice = QComboBox(self)
        self.metric_choice.setToolTip("The family's validation metrics, one per epoch")
        # A fixed width: the first epoch's items must not re-lay out the page while it trains.
        self.metric_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.metric_choice.setMinimumContentsLength(16)
        self.metric_choice.currentIndexChanged.connect(lambda _: self._draw_metric(self.metric_choice.currentData()))
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Metric", self))
        pick.addWidget(self.metric_choice, 1)
        right = QVBoxLayout()
        right.addLayout(pick)
        right.addWidget(self.metric_plot, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 3)
        layout.addLayout(right, 2)
        # Events come in bursts (a poll of the progress file, the replay of a long run): the
        # curves are drawn once per burst, not once per event, so the window stays fluid.
        self._redraw_timer = QTimer(self, singleShot=True, interval=0)
        self._redraw_timer.timeout.connect(self._redraw)
        self.family: str | None = None
        self.clear()

    def set_family(self, family: str | None) -> None:
        """The family whose metrics come (the same key can mean different things by family)."""
        self.family = family

    def clear(self) -> None:
        self.train_x: list[float] = []
        self.train_y: list[float] = []
        self.valid_x: list[float] = []
        self.valid_y: list[float] = []
        self.metrics: dict[str, list[tuple[int, float]]] = {}
        self.metric_choice.clear()
        for plot in (self.loss_plot, self.metric_plot):  # (empty: epochs 0 to 1, values 0 to 1)
            plot.disableAutoRange()
        self._spans: dict[int, tuple] = {}
        self._dirty = {"train", "valid"}
        self._log_y = False
        self.loss_plot.setLogMode(x=False, y=False)
        self._redraw()

    def add_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "step" and (event.get("loss") or 0) > 0:  # (a log scale shows positive losses)
            steps = max(int(event.get("steps") or 1), 1)
            x = event["epoch"] - 1 + event["step"] / steps
            # A resumed run repeats the epoch it was stopped in: drop the points it replaces.
            while self.train_x and self.train_x[-1] >= x:
                self.train_x.pop()
                self.train_y.pop()
            self.train_x.append(x)
            self.train_y.append(float(event["loss"]))
            self._dirty.add("train")
            self._redraw_timer.start()
        elif kind == "epoch":
            epoch = int(event["epoch"])
            if (event.get("valid_loss") or 0) > 0:
                self.valid_x.append(epoch)
                self.valid_y.append(float(event["valid_loss"]))
            for name, value in (event.get("metrics") or {}).items():
                if isinstance(value, (int, float)):
                    if name not in self.metrics:
                        self.metrics[name] = []
                        info = describe_metric(name, self.family)
                        self.metric_choice.addItem(info.label[:1].upper() + info.label[1:], name)
                        self.metric_choice.setItemData(self.metric_choice.count() - 1,
                                                       f"{info.about} ({info.hint()})" if info.about
                                                       else info.hint(), Qt.ItemDataRole.ToolTipRole)
                    self.metrics[name].append((epoch, float(value)))
            self._dirty.add("valid")
            self._redraw_timer.start()

    def _redraw(self) -> None:
        """Draw what changed: a step touches only the training curve (repainting the metric
        plot too doubled the time a step took on the GUI thread)."""
        losses = self.train_y + self.valid_y
        # A log scale once the losses span a decade, so every stage of a family trained in
        # stages stays visible (a VAE's ELBO in the thousands, then its predictors' MSE).
        wide = bool(losses) and max(losses) >= 10 * min(losses)
        if wide != self._log_y:
            self._log_y = wide
            self.loss_plot.setLogMode(x=False, y=wide)
            self._dirty.add("valid")
        if "train" in self._dirty:
            self.train_curve.setData(self.train_x, self.train_y)
        if "valid" in self._dirty:
            self.valid_curve.setData(self.valid_x, self.valid_y)
            # The metric plot after the loss plot has been painted: two short paints, not one long.
            QTimer.singleShot(METRIC_DELAY_MS, self, lambda: self._draw_metric(self.metric_choice.currentData()))
        if self._dirty:
            self._fit(self.loss_plot, self.train_x + self.valid_x, losses)
        self._dirty = set()

    def _fit(self, plot: pg.PlotWidget, xs: list[float], ys: list[float]) -> None:
        """x: whole epochs from 0 (see :func:`epoch_span`); y: the values, or 0 to 1 when none.
        Set only on a change: most steps leave the span as it was."""
        span = (epoch_span(xs), bool(ys))
        if self._spans.get(id(plot)) == span:
            return
        self._spans[id(plot)] = span
        plot.setXRange(*span[0], padding=0.02)
        if ys:
            plot.enableAutoRange(axis="y")
        else:
            plot.setYRange(0, 1, padding=0)

    def _draw_metric(self, name: str | None) -> None:
        points = self.metrics.get(name, []) if name and hasattr(self, "metrics") else []
        self.metric_curve.setData([p[0] for p in points], [p[1] for p in points])
        self._fit(self.metric_plot, [p[0] for p in points], [p[1] for p in points])
        info = describe_metric(name, self.family) if name else None
        # The title names it; the value axis says its range and which way is better (a long
        # title would widen the plot past the page).
        title = f"Validation {info.label}" if info else "Validation metric"
        hint = info.hint() if info else ""
        if hint != getattr(self, "_metric_hint", None):
            self._metric_hint = hint
            if hint:
                self.metric_plot.setLabel("left", hint, color=theme.TEXT_DIM.name())
            else:
                self.metric_plot.getAxis("left").showLabel(False)
        if title != getattr(self, "_metric_title", None):  # a new title re-lays the plot out
            self._metric_title = title
            self.metric_plot.setTitle(title, color=theme.TEXT.name(), size="9pt")
