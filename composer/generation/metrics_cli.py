"""``composer metrics FILE.mid [--reference DIR|MODEL]``: objective measures of a piece
(:mod:`composer.representations.music_metrics`), next to those of reference music: a folder of
MIDI files, or the training data of a model (recorded in its checkpoint)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.mid", help="the piece to measure")
    parser.add_argument("--reference", metavar="DIR|MODEL",
                        help="a folder of MIDI files, or a model (its training data) to compare with")
    parser.add_argument("--from-bar", type=int, default=1, metavar="N",
                        help="measure from bar N on (e.g. where a generation starts; default 1)")


def reference_measures(reference: str) -> tuple[dict, str]:
    """(summary of each measure, a description) of a MIDI folder or of a model's training data."""
    from composer.core.errors import ComposerError

    path = Path(reference).expanduser()
    if path.is_dir():
        from composer.data.dataset import encode_folder
        from composer.representations.codecs import PianoRollCodec

        data = encode_folder(path, PianoRollCodec(steps_per_beat=4), valid_fraction=0.0,
                             test_fraction=0.0, write_cache=False)
        return data.summary["music_metrics"], f"{path.name} ({data.summary['files_used']} files)"
    from composer.models.checkpoint import read_metadata
    from composer.models.library import resolve_model

    meta = read_metadata(resolve_model(reference))
    measures = (meta.get("data") or {}).get("music_metrics")
    if not measures:
        raise ComposerError(f"{reference} does not record its training data's measures (it was trained "
                            f"before Composer recorded them, or on a benchmark .mat file)")
    return measures, f"the training data of {meta.get('name') or path.stem}"


def run(args: argparse.Namespace) -> int:
    from composer.core.errors import ComposerError
    from composer.io.midi import read_midi
    from composer.models.metric_info import format_measure, format_reference
    from composer.representations.music_metrics import METRICS, measure

    score = read_midi(args.file)
    lines = score.bar_starts(score.end_tick)
    if not 1 <= args.from_bar <= len(lines):
        raise ComposerError(f"--from-bar must be between 1 and {len(lines)} for this piece")
    values = measure(score, int(lines[args.from_bar - 1]))
    reference, described = reference_measures(args.reference) if args.reference else (None, "")
    print(f"{args.file.name}" + (f" from bar {args.from_bar}" if args.from_bar > 1 else ""))
    header = f"  {'measure':<30}{'this piece':>12}"
    if reference:
        header += f"   {described}: mean ± sd"
    print(header)
    for name, label in METRICS.items():
        row = f"  {label:<30}{format_measure(name, values[name]):>12}"
        if reference:  # (the same figures as the app's measures table)
            row += f"   {format_reference(name, reference.get(name)) or '-'}"
        print(row)
    return 0
