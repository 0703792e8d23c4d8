"""The ``composer`` command.

Every subcommand imports what it needs when it runs, so ``composer info`` never pays for torch or
Qt. Errors a user can cause (:class:`~composer.core.errors.ComposerError`) are printed as one line
without a traceback; warnings about repaired input are printed as ``warning: ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from composer import __version__
from composer.core.errors import ComposerError

# OpenMP threads that spin while they wait made training 100-500x slower whenever another
# process kept the cores busy (a second training, the app generating): 4.2 s a step instead of
# 8 ms for the note-symbol LSTM on 2 busy cores. Waiting threads that sleep cost nothing then.
# Read when torch starts its thread pool, so it is set before any subcommand imports torch.
# Not under torchrun: there it made a rank abort at exit ("terminate called without an active
# exception") in 3 of 6 two-process runs, against none of 6 without it.
if "LOCAL_RANK" not in os.environ:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _cmd_gui(args: argparse.Namespace) -> int:
    from composer.gui.launch import launch

    return launch(args.files, self_test=args.self_test)


def _cmd_info(args: argparse.Namespace) -> int:
    from composer.io.midi import read_midi
    from composer.representations.instruments import drum_name, program_name

    failed = 0
    for path in args.files:
        try:
            score = read_midi(path)
        except ComposerError as exc:  # report it and go on with the other files
            print(f"composer info: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}")
        minutes, seconds = divmod(score.duration_seconds, 60)
        print(f"  duration        {int(minutes)}:{seconds:04.1f} ({score.end_tick} ticks at {score.ppq} PPQ)")
        tempos = ", ".join(f"{c.qpm:.1f}" for c in score.tempos[:6])
        more = f" (+{len(score.tempos) - 6} more)" if len(score.tempos) > 6 else ""
        print(f"  tempo (BPM)     {tempos}{more}")
        sigs = ", ".join(f"{s.numerator}/{s.denominator}" for s in score.time_signatures[:6])
        print(f"  time signature  {sigs}")
        print(f"  notes           {score.note_count} in {len(score.tracks)} tracks")
        for i, track in enumerate(score.tracks, 1):
            instrument = "Drums" if track.is_drum else program_name(track.program)
            if len(track):
                lo, hi = int(track.notes["pitch"].min()), int(track.notes["pitch"].max())
                span = f"{drum_name(lo)}..{drum_name(hi)}" if track.is_drum else f"pitch {lo}-{hi}"
            else:
                span = "empty"
            name = track.name or "(unnamed)"
            print(f"  {i:>3}. {name:<20.20} {instrument:<28.28} {len(track):>6} notes  {span}")
    return EXIT_ERROR if failed else 0


def _cmd_render(args: argparse.Namespace) -> int:
    import time

    from composer.io.audio import render_wav
    from composer.io.midi import read_midi

    score = read_midi(args.input)
    started = time.perf_counter()
    render_wav(score, args.output, sample_rate=args.sample_rate, soundfont=args.soundfont)
    took = time.perf_counter() - started
    seconds = score.duration_seconds
    print(f"wrote {args.output}: {seconds:.1f} s of audio in {took:.2f} s")
    return 0


#: Subcommands implemented in their own packages: name -> (module, help, description).
_DELEGATED = {
    "preprocess": ("composer.training.preprocess_cli", "encode a MIDI folder for a model family",
                   "Read a folder of MIDI files in parallel, encode them for a model family, cache "
                   "the arrays and report every file skipped and why."),
    "train": ("composer.training.train_cli", "train a model",
              "Train a model of any family on a MIDI folder, a MIDI file or a benchmark .mat file. "
              "Runs on several GPUs under torchrun --nproc_per_node=N."),
    "generate": ("composer.generation.generate_cli", "continue a primer with a model",
                 "Continue a primer MIDI file (or start from silence) with a trained model and "
                 "write MIDI (and WAV)."),
    "eval": ("composer.training.eval_cli", "measure a model on a data split",
             "Frame-level negative log-likelihood (nats per frame, summed over the 88 piano "
             "pitches) and paper 002's note score (piano-roll families), or next-token accuracy "
             "and perplexity (token families), on a split of a benchmark .mat file or folder."),
    "metrics": ("composer.generation.metrics_cli", "objective measures of a piece",
                "Pitch-class entropy, scale consistency, polyphony, empty beats, pitches used, groove "
                "and drum-pattern consistency (as muspy defines them) of a MIDI file, next to those "
                "of a folder of MIDI files or of a model's training data."),
    "models": ("composer.models.models_cli", "list model families and installed models",
               "List installed models (bundled and in your model folder) from their headers."),
}


def _delegated(module_name: str):
    def run(args: argparse.Namespace) -> int:
        import importlib

        return importlib.import_module(module_name).run(args)
    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="composer",
        description="Compose music with AI help: a piano-roll editor, trainable models and "
                    "FluidSynth playback. Run 'composer gui' to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"composer {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = commands.add_parser("gui", help="open the desktop app",
                              description="Open the desktop app, optionally with MIDI or project files.")
    gui.add_argument("files", nargs="*", help="MIDI (.mid) or project (.composer.json) files to open")
    gui.add_argument("--self-test", action="store_true",
                     help="open the window, let it draw, close it and exit 0 (checks an install)")
    gui.set_defaults(run=_cmd_gui)

    info = commands.add_parser("info", help="describe MIDI files",
                               description="Print tracks, instruments, notes, duration, tempo and "
                                           "time signature of MIDI files.")
    info.add_argument("files", nargs="+", metavar="FILE", help="MIDI files")
    info.set_defaults(run=_cmd_info)

    render = commands.add_parser("render", help="render a MIDI file to WAV with FluidSynth",
                                 description="Render a MIDI file to a 16-bit stereo WAV file with "
                                             "FluidSynth and a General MIDI SoundFont.")
    render.add_argument("input", metavar="IN.mid")
    render.add_argument("output", metavar="OUT.wav")
    render.add_argument("--soundfont", metavar="SF2", help="SoundFont file (default: COMPOSER_SOUNDFONT, "
                                                          "then the bundled TimGM6mb, then system fonts)")
    render.add_argument("--sample-rate", type=int, default=44100, metavar="HZ", help="default 44100")
    render.set_defaults(run=_cmd_render)

    import importlib

    for name, (module_name, short, long) in _DELEGATED.items():
        sub = commands.add_parser(name, help=short, description=long)
        importlib.import_module(module_name).add_arguments(sub)
        sub.set_defaults(run=_delegated(module_name))
    return parser


def _print_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    warnings.showwarning = _print_warning
    try:
        return args.run(args)
    except ComposerError as exc:
        print(f"composer {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the output went into `head` or a pager that closed: not an error
        # Python would complain again at exit while flushing stdout: point it at devnull.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
