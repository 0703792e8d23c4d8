"""``composer preprocess DIR --family F``: encode a folder of MIDI files for a model family.

Reads every MIDI file in parallel with the family's codec (as the preset and ``--set`` configure
it), caches the encoded arrays (the training command then loads them at once), and reports what
was used and skipped, and whether the data is big enough for the preset. With ``--progress
json`` it prints JSON lines (``progress``, then ``summary`` or ``error``) for the training
wizard. ``composer.cli`` wires it in with :func:`add_arguments` and :func:`run`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from pathlib import Path

from composer.data.dataset import SPLITS, EncodedSet, encode_folder
from composer.models.registry import FAMILIES

from .options import DATA_OPTIONS

_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


#: Skip reasons named in the summary (the report names every one).
SHOWN_SKIP_REASONS = 3


def pitch_name(pitch: int) -> str:
    """Scientific pitch name, MIDI 60 = C4."""
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def duration_text(seconds: float) -> str:
    """"42 s", "12.5 minutes" or "63.1 hours"."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} minutes"
    return f"{seconds / 3600:.1f} hours"


def time_text(seconds: float) -> str:
    """A time to wait, never "0 s": "0.3 s", "4.5 s", "42 s", "4.2 minutes"."""
    if seconds < 10:  # a tiny model's epoch: tenths, not a rounded "0 s"
        return f"{max(seconds, 0.1):.1f} s"
    return duration_text(seconds)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the preprocess arguments to ``parser`` (a subcommand parser)."""
    parser.add_argument("folder", type=Path, metavar="DIR", help="folder of MIDI files")
    parser.add_argument("--family", required=True, choices=sorted(FAMILIES), metavar="F",
                        help=f"model family to encode for: {', '.join(sorted(FAMILIES))}")
    parser.add_argument("--preset", help="the family's preset (default: its main one)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a field of the preset's configuration, as for composer train")
    parser.add_argument("--no-recursive", action="store_true", help="do not read subfolders")
    for option in DATA_OPTIONS:
        option.add_to(parser)
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes (default: one per CPU core)")
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="where encoded data is cached (default: the user cache folder)")
    parser.add_argument("--rebuild", action="store_true",
                        help="read every file again even when a cache exists")
    parser.add_argument("--report", type=Path, default=None, metavar="FILE",
                        help="write the full report (every skipped file and why) to FILE")
    parser.add_argument("--progress", default="line", choices=["line", "json"],
                        help="progress lines on stderr, or JSON lines on stdout (for the GUI)")


class _ProgressLine:
    """``\\r``-updated line on a terminal; a plain line every 10% otherwise (logs, the GUI)."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        text = f"reading MIDI files: {done}/{total} ({percent}%)"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done >= total else ""))
        elif percent // 10 != self.last_tenth:
            self.last_tenth = percent // 10
            self.stream.write(text + "\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    """Encode ``args.folder`` for ``args.family``, print the summary, return 0.

    Errors a user can cause (no such folder, no usable files, too little data for the preset)
    are raised as :class:`~composer.core.errors.ComposerError` for the command line to print;
    with ``--progress json`` they are also printed as an ``error`` event.
    """
    try:
        return _run(args)
    except Exception as exc:
        if args.progress == "json":
            print(json.dumps({"event": "error", "message": str(exc)}), flush=True)
        raise


def _run(args: argparse.Namespace) -> int:
    from composer.data.errors import DataError

    from .trainer import check_data_size, family_config, parse_overrides

    from .schedule import given_fields

    overrides = parse_overrides(args.set)
    module, config = family_config(args.family, args.preset, overrides)
    valid_fraction = config.valid_fraction if args.valid_fraction is None else args.valid_fraction
    json_lines = args.progress == "json"
    encoded = encode_folder(args.folder, module.Model.adapter_class.default_codec(config), recursive=not args.no_recursive,
                            valid_fraction=valid_fraction, test_fraction=args.test_fraction,
                            workers=args.workers, cache_dir=args.cache_dir,
                            use_cache=not getattr(args, "rebuild", False), key_normalize=config.key_normalize,
                            progress=_JsonProgress() if json_lines else _ProgressLine(sys.stderr))
    size = check_data_size(args.family, config, encoded, valid_fraction, given_fields(overrides=overrides))
    config = size.pop("config")  # with the length and batch size planned for this data
    if args.report is not None:
        try:
            args.report.write_text(encoded.report(), encoding="utf-8")
        except OSError as exc:
            raise DataError(f"{args.report}: cannot write the report ({exc.strerror or exc})") from None
    if json_lines:
        from composer.models.device import detect_devices

        # The wizard's settings page starts from the preset's values on the devices found here.
        print(json.dumps({"event": "summary", **summary_fields(encoded), **size,
                          "config": dataclasses.asdict(config), "devices": detect_devices()}), flush=True)
    else:
        print(summary_text(encoded, args.family, report=args.report))
        print(f"  examples     {size['train_examples']:,} for training, {size['valid_examples']:,} "
              f"for validation")
        print(f"  training     {config.epochs} epochs of {config.steps_per_epoch or 'one pass of'} batches of "
              f"{config.batch_size}" + (" (planned for this data)" if config.schedule == "auto" else ""))
        if size["warning"]:
            print(f"warning: {size['warning']}", file=sys.stderr)
    return 0


class _JsonProgress:
    def __call__(self, done: int, total: int) -> None:
        print(json.dumps({"event": "progress", "done": done, "total": total}), flush=True)


def summary_fields(encoded: EncodedSet) -> dict:
    """The JSON-safe summary the wizard shows: the data summary, the split, every skipped file
    with its reason, the repaired files and the cache."""
    counts = Counter(encoded.split)
    return {"summary": encoded.summary, "split": {k: counts.get(k, 0) for k in SPLITS},
            "skipped": [[str(name), reason] for name, reason in encoded.skipped],
            "repaired": sorted({str(name) for name, _ in encoded.warnings}),
            "cache": str(encoded.cache_path) if encoded.cache_path else None}


def summary_text(encoded: EncodedSet, family: str = "", report: Path | None = None) -> str:
    """The few lines ``composer preprocess`` prints about an encoded set."""
    s = encoded.summary
    where = "" if not family else f" for {family}"
    lines = [f"{encoded.source}{where}"]
    lines.append(f"  files        {s['files_used']} used, {s['files_skipped']} skipped "
                 f"({s['files_found']} found)")
    music = "" if s.get("duration_seconds") is None else duration_text(s["duration_seconds"]) + ", "
    lines.append(f"  music        {music}{s['total_notes']:,} notes, {s['total_frames']:,} frames")
    if s.get("pitch_min") is not None:
        lo, hi = s["pitch_min"], s["pitch_max"]
        lines.append(f"  pitches      {lo}-{hi} ({pitch_name(lo)}-{pitch_name(hi)})")
    instruments = s.get("instruments") or {}
    if instruments:
        shown = [f"{name} {n}" for name, n in list(instruments.items())[:6]]
        more = f", +{len(instruments) - 6} more" if len(instruments) > 6 else ""
        lines.append(f"  instruments  {', '.join(shown)}{more} (tracks)")
    counts = Counter(encoded.split)
    lines.append("  split        " + ", ".join(f"{k} {counts.get(k, 0)}" for k in SPLITS) + " files")
    if encoded.skipped:
        reasons = Counter(r for _, r in encoded.skipped).most_common()
        shown = "; ".join(f"{n} x {r}" for r, n in reasons[:SHOWN_SKIP_REASONS])
        if len(reasons) > SHOWN_SKIP_REASONS:
            rest = reasons[SHOWN_SKIP_REASONS:]
            shown += f"; {sum(n for _, n in rest)} more for {len(rest)} other reason{'s' if len(rest) > 1 else ''}"
        lines.append("  skipped      " + shown + ("" if report else " (--report FILE lists every file)"))
    if encoded.warnings:
        lines.append(f"  repaired     {len({n for n, _ in encoded.warnings})} files (see the report)")
    if encoded.cache_path:
        state = "loaded from" if encoded.from_cache else "saved to"
        lines.append(f"  cache        {state} {encoded.cache_path}")
    if report is not None:
        lines.append(f"  report       {report}")
    return "\n".join(lines)
