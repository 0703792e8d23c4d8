"""Run every speed benchmark, print one table of figure, goal and ratio, update RESULTS.md.

    python benchmarks/run_all.py [--only NAME[,NAME]] [--skip NAME[,NAME]] [--timeout S]
                                 [--no-results | --write-results] [--list]

Each benchmark runs as its own subprocess (``python benchmarks/bench_X.py`` with the flags below,
``OMP_NUM_THREADS=1`` for those whose docstring asks for it) with ``COMPOSER_BENCH_SUMMARY`` naming
a file: the script appends a JSON line per headline figure there (benchmarks/summary.py). The
runner collects them and prints one table: benchmark, measure, figure, goal and ratio (goal /
figure when lower is better, figure / goal when higher is better: 1 or more means the goal is
met). A benchmark that fails or times out is a "failed" row with the last line of its stderr, and
the others still run. Each benchmark's full output is kept in a log folder (printed at the end).

A complete run replaces the section "## Summary of every benchmark — DATE" near the top of
benchmarks/RESULTS.md (after the machine paragraph) with the machine, the date, the command and
the table. A run of a subset (``--only``/``--skip``) leaves RESULTS.md alone unless
``--write-results`` is given; ``--no-results`` never writes.

Names: io, data, audio, engine, gui, playback, tokens, multitrack, wizard, music21, continuation,
accompany
(``--list`` shows them with their flags). Some run with quicker flags than their defaults (fewer
repeats or rounds, see NOTES); the table's notes say which. continuation is no speed benchmark:
its rows are issue 13's goals for every bundled model (in-key share of the primer's key, onsets on
the primer's grid, density ratio against the primer) with the real continuations' in-key share as
the reference; it takes about 5 minutes of CPU (8 minutes on the shared VM at load 4).

A complete run took 11.8 minutes on the project's 2-core VM when it was otherwise quiet (music21's
100 files alone 5.6 minutes, tokens and multitrack about 100 s each, engine 50 s, wizard 65 s, the
rest under 20 s each); with a PyInstaller build on the other core and tokens' default generation and
training flags it took 19.5 minutes. music21 must be installed (``pip install -e .[bench]``), or
that row fails and the rest still run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Summary of every benchmark"


@dataclass
class Bench:
    name: str
    script: str
    args: list[str] = field(default_factory=list)
    one_thread: bool = False  # OMP_NUM_THREADS=1, as the script's docstring says
    note: str = ""  # how the flags differ from the script's defaults


BENCHES = [
    Bench("io", "bench_io.py"),
    Bench("data", "bench_data.py", ["--repeat", "3"], note="median of 3 runs (script default 5)"),
    Bench("audio", "bench_audio.py"),
    Bench("engine", "bench_engine.py"),
    Bench("engine-nade", "bench_engine.py", ["--head", "nade"], note="the NADE output head (issue 17)"),
    Bench("gui", "bench_gui.py"),
    Bench("playback", "bench_playback.py"),
    Bench("tokens", "bench_tokens.py",
          ["--model", str(ROOT / "checkpoints" / "chord_token_lstm-jsfakes.safetensors"), "--no-untrained",
           "--repeats", "3", "--rounds", "2", "--steps", "4"],
          note="generation timed with the bundled chord_token_lstm-jsfakes only (no trained paper-preset "
               "checkpoint is bundled; the untrained paper preset, no goal, skipped), median of 3 (default "
               "5); training 4 steps a loop (default 8), median of 2 rounds (default 3)"),
    Bench("multitrack", "bench_multitrack.py", ["--threads", "1"], one_thread=True,
          note="1 torch thread only (the 2-thread timing, 1.5-30 s on a busy 2-core machine, skipped)"),
    Bench("wizard", "bench_wizard.py", ["--rounds", "3"], one_thread=True, note="3 rounds, as in issue 7"),
    Bench("music21", "bench_music21.py", ["--files", "100"]),
    Bench("continuation", "bench_continuation.py", one_thread=True),
    Bench("accompany", "bench_accompany.py", one_thread=True),
    Bench("pop", "bench_pop.py", one_thread=True),
]


@dataclass
class Outcome:
    bench: Bench
    seconds: float
    figures: list[dict]
    error: str = ""


# ----------------------------------------------------------------------------- running


def run(bench: Bench, log_dir: Path, timeout: float) -> Outcome:
    summary = log_dir / f"{bench.name}.jsonl"
    summary.unlink(missing_ok=True)
    env = dict(os.environ, COMPOSER_BENCH_SUMMARY=str(summary), PYTHONUNBUFFERED="1")
    if not env.get("DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if bench.one_thread:
        env["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, str(HERE / bench.script), *bench.args]
    start = time.perf_counter()
    error = ""
    with open(log_dir / f"{bench.name}.out", "w") as out, open(log_dir / f"{bench.name}.err", "w") as err:
        try:
            code = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=err, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code, error = None, f"timed out after {timeout:.0f} s"
    seconds = time.perf_counter() - start
    figures = []
    if summary.exists():
        figures = [json.loads(line) for line in summary.read_text().splitlines() if line.strip()]
    if code not in (0, None):
        error = f"exit {code}: {_last_line(log_dir / f'{bench.name}.err') or _last_line(log_dir / f'{bench.name}.out')}"
    elif code == 0 and not figures:
        error = f"no figures reported: {_last_line(log_dir / f'{bench.name}.out')}"
    return Outcome(bench, seconds, figures, error)


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


# ----------------------------------------------------------------------------- the table


def _num(value: float) -> str:
    a = abs(value)
    if a >= 100:
        return f"{value:,.0f}"
    if a >= 10:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _ratio(f: dict) -> float | None:
    goal, value = f.get("goal"), f["value"]
    if goal is None:
        return None
    if f["better"] == "higher":
        return value / goal
    return float("inf") if value <= 0 else goal / value


def rows_of(outcomes: list[Outcome]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        for f in o.figures:
            ratio = _ratio(f)
            goal = "" if f.get("goal") is None else \
                f"{'>=' if f['better'] == 'higher' else '<='} {_num(f['goal'])} {f['unit']}"
            # Rounded down, so a missed goal never shows as 1.00.
            ratio_text = "" if ratio is None else \
                f"{math.floor(ratio * 100) / 100:.2f}" + ("" if ratio >= 1 else " (missed)")
            rows.append([o.bench.name, f["measure"], f"{_num(f['value'])} {f['unit']}", goal, ratio_text,
                         f.get("note", "")])
        if o.error:
            rows.append([o.bench.name, "FAILED", "", "", "", o.error.replace("|", "/")])
    return rows


HEADER = ["benchmark", "measure", "figure", "goal", "ratio", "notes"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    widths[-1] = min(widths[-1], 60)
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for r in rows:
        lines.append("  ".join(c.ljust(w) if i < len(r) - 1 else c for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        cells = list(r)
        if cells[4] and cells[4].endswith("(missed)"):
            cells[4] = f"**{cells[4]}**"
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the machine


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpu = cpu or platform.processor() or platform.machine()
    ram = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f", {kb / 1024 ** 2:.0f} GB RAM"
    except (OSError, AttributeError):
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = f"; load average at the start {os.getloadavg()[0]:.2f}"
    return (f"{cpu}, {os.cpu_count()} cores{ram}; {platform.system()} {platform.release()}; Python "
            f"{platform.python_version()}, torch {_version('torch')}, numpy {_version('numpy')}, symusic "
            f"{_version('symusic')}, PySide6 {_version('PySide6-Essentials')}, music21 {_version('music21')}"
            f"{load}")


# ----------------------------------------------------------------------------- RESULTS.md


def section(date: str, machine_text: str, command: str, total: float, outcomes: list[Outcome],
            rows: list[list[str]]) -> str:
    notes = [f"- {o.bench.name}: {o.bench.note}" for o in outcomes if o.bench.note]
    timings = ", ".join(f"{o.bench.name} {o.seconds:.0f} s" for o in outcomes)
    met = [r for r in rows if r[4]]
    missed = [r for r in met if r[4].endswith("(missed)")]
    failed = [r for r in rows if r[1] == "FAILED"]
    parts = [
        f"{SECTION} — {date}",
        "",
        f"Machine: {machine_text}.",
        "",
        f"`{command}` ({total / 60:.1f} minutes: {timings}). Ratio: goal / figure when lower is "
        f"better, figure / goal when higher is better; 1 or more meets the goal. {len(met) - len(missed)} "
        f"of {len(met)} goals met" + (f", {len(failed)} benchmark(s) failed" if failed else "") +
        ". One run on a shared machine: the sections below say how each figure varies.",
        "",
        markdown_table(rows),
    ]
    if notes:
        parts += ["", "Flags that differ from the scripts' defaults, to keep the run short:", "", *notes]
    return "\n".join(parts) + "\n"


def update_results(text: str, path: Path = RESULTS) -> None:
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    start = old.find(SECTION)
    if start >= 0:  # replace the previous summary, up to the next second-level heading
        nxt = old.find("\n## ", start + len(SECTION))
        end = len(old) if nxt < 0 else nxt + 1
        new = old[:start] + text + ("\n" if nxt >= 0 else "") + old[end:]
    else:  # after the title and the machine paragraph: before the first section
        nxt = old.find("\n## ")
        if nxt < 0:
            new = old.rstrip("\n") + "\n\n" + text
        else:
            new = old[:nxt + 1] + text + "\n" + old[nxt + 1:]
    path.write_text(new)


# ----------------------------------------------------------------------------- main


def _names(value: str) -> list[str]:
    known = {b.name for b in BENCHES}
    names = [n.strip().removeprefix("bench_").removesuffix(".py") for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown benchmark(s) {', '.join(unknown)}; known: "
                                         f"{', '.join(sorted(known))}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", type=_names, action="extend", default=[], help="run only these (comma-separated)")
    parser.add_argument("--skip", type=_names, action="extend", default=[], help="skip these (comma-separated)")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per benchmark (default 1200)")
    write = parser.add_mutually_exclusive_group()
    write.add_argument("--no-results", action="store_true", help="do not touch RESULTS.md")
    write.add_argument("--write-results", action="store_true", help="update RESULTS.md for a subset too")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and their flags")
    args = parser.parse_args(argv)

    if args.list:
        for b in BENCHES:
            env = "OMP_NUM_THREADS=1 " if b.one_thread else ""
            print(f"{b.name:11s} {env}python benchmarks/{b.script} {' '.join(b.args)}")
        return 0
    chosen = [b for b in BENCHES if (not args.only or b.name in args.only) and b.name not in args.skip]
    if not chosen:
        parser.error("no benchmark left to run")
    complete = len(chosen) == len(BENCHES)

    date = dt.date.today().isoformat()
    machine_text = machine()
    log_dir = Path(tempfile.mkdtemp(prefix="composer_bench_"))
    print(f"{date}; {machine_text}\nlogs: {log_dir}", flush=True)
    outcomes = []
    started = time.perf_counter()
    for i, bench in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {bench.name}: python benchmarks/{bench.script} {' '.join(bench.args)}"
              f"{' (OMP_NUM_THREADS=1)' if bench.one_thread else ''} ...", end=" ", flush=True)
        outcome = run(bench, log_dir, args.timeout)
        outcomes.append(outcome)
        print(f"{outcome.seconds:.0f} s, {len(outcome.figures)} figure(s)"
              + (f", FAILED: {outcome.error}" if outcome.error else ""), flush=True)
    total = time.perf_counter() - started

    rows = rows_of(outcomes)
    print()
    print(text_table(rows))
    notes = [f"  {o.bench.name}: {o.bench.note}" for o in outcomes if o.bench.note]
    if notes:
        print("\nnotes (flags differ from the scripts' defaults):\n" + "\n".join(notes))
    print(f"\n{total / 60:.1f} minutes in all; logs in {log_dir}")

    command = "python benchmarks/run_all.py" + ("" if argv is None and len(sys.argv) == 1 else
                                                " " + " ".join(sys.argv[1:] if argv is None else argv))
    if args.no_results or not (complete or args.write_results):
        if not args.no_results:
            print("RESULTS.md not updated (a subset ran; --write-results to update it anyway)")
    else:
        update_results(section(date, machine_text, command, total, outcomes, rows))
        print(f"updated {RESULTS.relative_to(ROOT)}")
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
