"""Training from the wizard against the same `composer train` command run alone.

    python benchmarks/bench_wizard.py [--family pianoroll_lstm --preset 2x256] [--steps 60] [--rounds 2]

Both train the same model on the same files (the first 200 JS Fake Chorales, cached first) for
``--steps`` steps: once as a plain `composer train ... --progress json` child, once started by the
training wizard (its detached child, its progress file read every 250 ms, live curves drawn on
the training page). Throughput is training examples a second between the trainer's second and
last step events, from the trainer's own clock, so start-up does not count. Runs alternate
(alone, wizard, alone, wizard, ...) and the medians are compared (goal: the wizard reaches at
least 0.95 of alone). While the wizard trains, a 5 ms timer in the GUI thread records the
longest gap between its ticks (goal: no gap above 50 ms), once the main window has loaded its
model (that stall is bench_gui.py's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "")
if not os.environ["QT_QPA_PLATFORM"]:
    del os.environ["QT_QPA_PLATFORM"]

from summary import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "js_fakes" / "midi"


def throughput(events: list[dict], batch_size: int) -> float:
    """Examples a second between the second and the last step event (the trainer's clock)."""
    steps = [e for e in events if e.get("event") == "step"]
    if len(steps) < 3:
        raise RuntimeError("too few step events: raise --steps")
    first, last = steps[1], steps[-1]
    return batch_size * (last["step"] - first["step"]) / (last["time"] - first["time"])


def settings_for(args, data: Path, out: Path):
    from composer.training.runs import TrainSettings

    return TrainSettings(family=args.family, preset=args.preset, data=str(data), out=str(out), epochs=1,
                         batch_size=args.batch_size, seed=0, valid_split=0.1)


def run_alone(args, data: Path, out: Path) -> float:
    settings = settings_for(args, data, out)
    from composer.launcher import composer_command

    command = [*composer_command(), "train", *settings.train_args(),
               "--steps-per-epoch", str(args.steps), "--progress", "json"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return throughput([json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")],
                      args.batch_size)


def run_in_wizard(app, window, args, data: Path, out: Path) -> tuple[float, float]:
    from PySide6.QtCore import QElapsedTimer, QTimer

    from composer.gui.training.pages import TRAIN

    wizard = window.open_training_wizard()
    wizard.setStartId(TRAIN)
    wizard.restart()
    settings = settings_for(args, data, out)
    settings.overrides = {"steps_per_epoch": str(args.steps)}
    clock = QElapsedTimer()
    clock.start()
    gaps, last = [], [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    probe = QTimer(interval=5)
    probe.timeout.connect(tick)
    wizard.start_run(settings)
    last[0] = clock.nsecsElapsed()
    probe.start()
    while wizard.is_training() or wizard.monitor.timer.isActive():
        app.processEvents()
        time.sleep(0.001)
    probe.stop()
    events = wizard.run.all_events()
    if wizard.run.status() != "done":
        raise RuntimeError(f"the wizard's training ended {wizard.run.status()}: {wizard.run.log_tail()}")
    wizard.close()
    return throughput(events, args.batch_size), max(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="pianoroll_lstm")
    parser.add_argument("--preset", default="2x256")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_wizard_"))
    os.environ["COMPOSER_RUNS"] = str(work / "runs")
    os.environ["COMPOSER_MODELS"] = str(work / "models")
    data = work / "songs"
    data.mkdir()
    for path in sorted(DATA.glob("*.mid"))[:200]:
        shutil.copy(path, data)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from composer.gui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    window.show()
    # The window loads a model in the background when it opens (bench_gui.py measures that
    # stall); the wizard is measured after it.
    deadline = time.monotonic() + 120
    while window.generation.service.loaded is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    print(f"{args.family}/{args.preset}, batch {args.batch_size}, {args.steps} steps, 200 files; "
          f"{os.cpu_count()} cores; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    run_alone(args, data, work / "warmup.safetensors")  # fills the data cache for both
    alone, wizard, stalls = [], [], []
    for i in range(args.rounds):
        alone.append(run_alone(args, data, work / f"alone{i}.safetensors"))
        speed, stall = run_in_wizard(app, window, args, data, work / f"wizard{i}.safetensors")
        wizard.append(speed)
        stalls.append(stall)
        print(f"  round {i + 1}: alone {alone[-1]:.1f} examples/s, wizard {wizard[-1]:.1f} examples/s, "
              f"longest GUI gap {stall:.1f} ms")
    a, w = statistics.median(alone), statistics.median(wizard)
    print(f"| training throughput | alone {a:.1f} examples/s | in the wizard {w:.1f} examples/s | "
          f"ratio {w / a:.3f} | goal >= 0.95 |")
    print(f"| longest GUI-thread gap while the wizard trains | {max(stalls):.1f} ms | goal <= 50 ms |")
    report("training throughput: in the wizard / alone", w / a, "x", 0.95, "higher",
           f"{w:.1f} / {a:.1f} examples/s, median of {args.rounds}")
    report("longest GUI gap while the wizard trains", max(stalls), "ms", 50, "lower")
    window.generation.service.shutdown()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
