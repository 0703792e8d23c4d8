"""``composer preprocess DIR --family F``: encode a folder of MIDI files for a model family.

Reads every MIDI file in parallel, caches the encoded arrays (the training command and the wizard
then load them at once), and prints what was used and skipped. ``composer.cli`` wires it in with
:func:`add_arguments` and :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from .dataset import SPLITS, EncodedSet, encode_folder
from .errors import DataError

#: Codec parameters per model family. The model registry will replace this table: each family's
#: spec will name its codec, and this command will ask the registry.
FAMILY_CODECS: dict[str, dict] = {
    "pianoroll_lstm": {"kind": "pianoroll", "fps": 16.0},        # paper 000: 16 Hz real time
    "pianoroll_seq2seq": {"kind": "pianoroll", "fps": 16.0},     # paper 000
    "bar_lstm": {"kind": "pianoroll", "steps_per_beat": 4},      # paper 002: sixteenth notes
}

_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the preprocess arguments to ``parser`` (a subcommand parser)."""
    parser.add_argument("folder", type=Path, metavar="DIR", help="folder of MIDI files")
    parser.add_argument("--family", required=True, metavar="F",
                        help=f"model family to encode for: {', '.join(sorted(FAMILY_CODECS))}")
    parser.add_argument("--no-recursive", action="store_true", help="do not read subfolders")
    parser.add_argument("--valid-fraction", type=float, default=0.1, metavar="X",
                        help="share of files for validation (default 0.1)")
    parser.add_argument("--test-fraction", type=float, default=0.1, metavar="X",
                        help="share of files for test (default 0.1)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes (default: one per CPU core)")
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="where encoded data is cached (default: the user cache folder)")
    parser.add_argument("--rebuild", action="store_true",
                        help="read every file again even when a cache exists")
    parser.add_argument("--report", type=Path, default=None, metavar="FILE",
                        help="write the full report (every skipped file and why) to FILE")


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

    Errors a user can cause (no such folder, no usable files, unknown family) are raised as
    :class:`~composer.core.errors.ComposerError` for the command line to print.
    """
    from composer.representations.codecs import codec_from_params

    if args.family not in FAMILY_CODECS:
        raise DataError(f"unknown model family {args.family!r}; expected one of "
                        f"{', '.join(sorted(FAMILY_CODECS))}")
    codec = codec_from_params(FAMILY_CODECS[args.family])
    encoded = encode_folder(args.folder, codec, recursive=not args.no_recursive,
                            valid_fraction=args.valid_fraction, test_fraction=args.test_fraction,
                            workers=args.workers, cache_dir=args.cache_dir,
                            use_cache=not getattr(args, "rebuild", False),
                            progress=_ProgressLine(sys.stderr))
    if args.report is not None:
        try:
            args.report.write_text(encoded.report(), encoding="utf-8")
        except OSError as exc:
            raise DataError(f"{args.report}: cannot write the report ({exc.strerror or exc})") from None
    print(summary_text(encoded, args.family, report=args.report))
    return 0


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
        reasons = Counter(r for _, r in encoded.skipped).most_common(3)
        lines.append("  skipped      " + "; ".join(f"{n} x {r}" for r, n in reasons)
                     + ("" if report else " (--report FILE lists every file)"))
    if encoded.warnings:
        lines.append(f"  repaired     {len({n for n, _ in encoded.warnings})} files (see the report)")
    if encoded.cache_path:
        state = "loaded from" if encoded.from_cache else "saved to"
        lines.append(f"  cache        {state} {encoded.cache_path}")
    if report is not None:
        lines.append(f"  report       {report}")
    return "\n".join(lines)
