"""Training progress: JSON lines for the GUI, a one-line bar for terminals, or nothing.

Each event is a dict with an ``event`` key: ``start``, ``step``, ``epoch`` (its ``checkpoint``
is the model file, written when the epoch was the best so far), ``done`` (with ``undertrained``,
``continue_epochs`` and ``continue_command`` when the run ended probably under-trained),
``stopped``, ``error``, ``measure`` (``--measure``), and ``stage`` when a family trained in
stages starts its next stage (``step`` and ``epoch`` events of such families carry the
``stage`` too).
With ``--progress json`` each is printed as one JSON object per
line on stdout, flushed at once, so a parent process (the training wizard) can follow; the
same events are also written as readable lines on stderr (what the terminal bar would say), so
a log of stderr (the wizard's run log) reads like a terminal's.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import TextIO


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Progress:
    def __init__(self, mode: str = "bar", stream: TextIO | None = None, enabled: bool = True):
        if mode not in ("bar", "json", "none"):
            raise ValueError(f"progress mode must be bar, json or none, not {mode!r}")
        self.mode = mode if enabled else "none"
        self.stream = stream or sys.stdout
        self.started = time.monotonic()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        #: Where JSON mode echoes readable lines (steps left out: a log wants epochs).
        self.echo = sys.stderr if self.mode == "json" else None

    def __call__(self, event: str, **fields) -> None:
        fields = {k: _clean(v) for k, v in fields.items()}
        if self.mode == "json":
            print(json.dumps({"event": event, "time": round(time.monotonic() - self.started, 3), **fields}),
                  file=self.stream, flush=True)
            if self.echo is not None and event != "step":
                self._bar(event, fields, self.echo)
        elif self.mode == "bar":
            self._bar(event, fields, self.stream)

    def _bar(self, event: str, f: dict, out: TextIO) -> None:
        cr = "\r" if self._tty and out is self.stream else ""  # (overwrites a step line on a terminal)
        if event == "start":
            print(f"training {f['family']} ({f['preset']}) on {f['device']}"
                  f"{' x' + str(f['world_size']) if f.get('world_size', 1) > 1 else ''}: "
                  f"{f['parameters']:,} parameters, {f['train_examples']} training / "
                  f"{f['valid_examples']} validation examples, up to {f['epochs']} epochs", file=out)
        elif event == "step" and self._tty:
            eta = f.get("eta")
            print(f"\r  epoch {f['epoch']} step {f['step']}/{f['steps']}  loss {f['loss']:.4f}"
                  f"{'' if eta is None else f'  ETA {eta / 60:.1f} min'}   ", end="", file=out, flush=True)
        elif event == "epoch":
            valid = f.get("valid_loss")
            mark = " *best*" if f.get("best") else ""
            print(f"{cr}  epoch {f['epoch']}: train loss {f['train_loss']:.4f}"
                  f"{'' if valid is None else f', valid loss {valid:.4f}'}{mark}          ", file=out, flush=True)
        elif event == "stage":
            print(f"{cr}  stage {f['stage']} from epoch {f['epoch']}          ", file=out, flush=True)
        elif event in ("done", "stopped"):
            print(f"{event}: {f.get('reason', '')} best checkpoint {f.get('checkpoint')}", file=out, flush=True)
            if f.get("undertrained"):
                print(f"{f['undertrained']}\nTo train on from where it ended (up to epoch {f['continue_epochs']}):\n"
                      f"  {f['continue_command']}", file=out, flush=True)
        elif event == "measure":
            from .preprocess_cli import time_text

            print(f"{f['seconds_per_step'] * 1000:.0f} ms a step, {f['steps_per_epoch']} steps an epoch: "
                  f"about {time_text(f['seconds_per_epoch'])} an epoch, {time_text(f['seconds_per_epoch'] * f['epochs'])} "
                  f"for {f['epochs']} epochs", file=out, flush=True)
        elif event == "error":
            print(f"error: {f.get('message')}", file=sys.stderr, flush=True)
