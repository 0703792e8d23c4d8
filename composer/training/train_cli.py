"""``composer train``: the same command runs alone, from the training wizard, or under torchrun."""

from __future__ import annotations

import argparse
from pathlib import Path

from composer.models.registry import FAMILIES

from .options import TRAIN_OPTIONS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", required=True, choices=sorted(FAMILIES), help="model family")
    parser.add_argument("--preset", help="a preset of the family (default: the paper's main one)")
    parser.add_argument("--data", required=True, metavar="DIR|FILE",
                        help="a folder of MIDI files, one MIDI file, a benchmark .mat file, or a cache .npz")
    parser.add_argument("--out", required=True, type=Path, metavar="MODEL.safetensors",
                        help="where the best model is written (the resume state goes beside it)")
    parser.add_argument("--name", default="", help="a display name for the model")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override any field of the preset's configuration, e.g. --set dropout=0.5")
    for option in TRAIN_OPTIONS:
        option.add_to(parser)
    parser.add_argument("--no-key-normalize", action="store_true",
                        help="keep every piece in its own key (by default each is transposed to C major / "
                             "A minor, and at generation the primer too and the result back, so the model "
                             "follows the primer's key); same as --set key_normalize=false")
    parser.add_argument("--track-name", action="append", default=[], metavar="NAME",
                        help="read only the tracks of this name from each file (case aside; repeat for "
                             "several), e.g. --track-name MELODY for POP909's lead line; files without "
                             "one are skipped; same as --set track_names=NAME,...")
    parser.add_argument("--no-augment", action="store_true",
                        help="no random transposition of the training windows (which applies only with "
                             "--no-key-normalize, where it would not undo the normalisation, or within "
                             "--set normalized_shifts=N semitones)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--workers", type=int, help="processes that read MIDI files")
    parser.add_argument("--resume", action="store_true", help="continue a stopped or crashed run")
    parser.add_argument("--stop-file", type=Path, help="stop (saving) when this file appears")
    parser.add_argument("--no-recursive", action="store_true", help="do not read the data folder's subfolders")
    parser.add_argument("--measure", type=int, metavar="STEPS",
                        help="only time STEPS training steps and print the time per epoch; writes nothing")
    parser.add_argument("--progress", default="bar", choices=["bar", "json", "none"],
                        help="terminal progress bar, JSON lines (for the GUI), or nothing")


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    """``--set`` pairs, with ``--no-key-normalize`` as ``key_normalize=false``."""
    from .trainer import parse_overrides

    overrides = parse_overrides(args.set)
    if args.no_key_normalize:
        overrides["key_normalize"] = "false"
    if args.track_name:
        overrides["track_names"] = ",".join(args.track_name)
    return overrides


def run(args: argparse.Namespace) -> int:
    from .progress import Progress
    from .trainer import TrainRequest, command_line, train

    request = TrainRequest(
        family=args.family, data=args.data, out=args.out, preset=args.preset,
        **{option.field: getattr(args, option.field) for option in TRAIN_OPTIONS},
        augment=not args.no_augment, device=args.device,
        resume=args.resume, workers=args.workers, stop_file=args.stop_file, name=args.name,
        measure_steps=args.measure, command=command_line(), overrides=_overrides(args),
        recursive=not args.no_recursive)
    progress = Progress(args.progress)
    try:
        train(request, progress)
    except Exception as exc:
        if args.progress == "json":
            progress("error", message=str(exc))
        raise
    return 0
