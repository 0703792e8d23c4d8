"""``composer generate``: continue a primer MIDI file (or start from silence) and write the result."""

from __future__ import annotations

import argparse
from pathlib import Path

from .controls import add_control_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a checkpoint path or a model name (see composer models)")
    parser.add_argument("--primer", type=Path, help="MIDI file to continue (default: start from silence)")
    parser.add_argument("--track", type=int, help="1-based track of the primer to continue (default: all pitched)")
    length = parser.add_mutually_exclusive_group()
    add_control_options(length, ("bars", "seconds"))
    add_control_options(parser, ("temperature", "sampling", "threshold", "top_p", "noise", "density", "polyphony"))
    parser.add_argument("--start-token", help="token families without a primer: the first note or "
                        "chord, e.g. C4 or C4.E4.G4 (default: one of the most frequent)")
    parser.add_argument("--from-bar", type=int, metavar="N",
                        help="start generating at bar N of the primer (1-based; default: after its end)")
    parser.add_argument("--interpolate", action="store_true",
                        help="multitrack_vae: fill the bars from --from-bar on (--bars of them) with "
                             "points between the bar before and the bar after them")
    parser.add_argument("--infill", action="store_true",
                        help="rewrite the bars from --from-bar on (--bars of them) so that they lead "
                             "into the music after them (every family; see the README)")
    parser.add_argument("--accompany", metavar="TRACK",
                        help="multitrack_vae: keep this track of the primer (1-based number or name) as "
                             "it is and write the model's other instruments under it, over the whole "
                             "piece, or with --from-bar N over --bars (or --seconds) from bar N")
    parser.add_argument("--drums-for-song", action="store_true",
                        help="a drum model (e.g. multitrack_vae-groove): write a drum track for the whole "
                             "--primer song in its tempo and meter (after the drums it already has), or with "
                             "--from-bar N over --bars (or --seconds) from bar N, as the app's \"Drums for "
                             "this song\" does")
    add_control_options(parser, ("missing_slots",))
    parser.add_argument("--program", action="append", default=[], metavar="SLOT=N",
                        help="multitrack_vae: the General MIDI program of a slot's new track, e.g. "
                             "guitar=27 (default: piano 0, guitar 24, bass 32, strings 48); repeatable")
    add_control_options(parser, ("variations", "seed"))
    parser.add_argument("--key", help="key of a scale constraint, e.g. D or Bb; auto: the primer's key "
                        "(its major or minor scale, found from the primer's notes)")
    parser.add_argument("--scale", help="scale of the constraint: major, minor, dorian, ... (not with "
                        "--key auto)")
    parser.add_argument("--free", action="store_true",
                        help="do not keep to the primer's grid, register and number of voices (the "
                             "model writes in its own texture; the key still follows the primer)")
    parser.add_argument("--pitch-min", type=int)
    parser.add_argument("--pitch-max", type=int)
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--out", required=True, type=Path, metavar="OUT.mid",
                        help="result; with several variations, OUT-1.mid, OUT-2.mid, ...")
    parser.add_argument("--wav", type=Path, metavar="OUT.wav", help="also render the result to WAV")


def run(args: argparse.Namespace) -> int:
    import time

    from composer.io.midi import read_midi, write_midi
    from composer.models.base import load_model
    from composer.models.library import resolve_model
    from composer.models.device import choose_device

    from .generate import generate
    from .request import is_primer_key

    if is_primer_key(args.key):
        _check_primer_key(args)
    model, meta = load_model(resolve_model(args.model))
    model.to(choose_device(args.device))
    primer = read_midi(args.primer) if args.primer else None
    started = time.perf_counter()
    if args.drums_for_song:
        scores, counts = _drums_for_song(args, model, meta, primer)
    else:
        request = _request(args, primer, meta["family"], meta.get("info"))
        if is_primer_key(args.key):
            request, found = request.with_primer_key()
            print(f"key: {found.name} (from the primer)" if found else
                  "key: none found (the primer has no clear key), so the result is not held to one")
        result = generate(model, request)
        scores, counts = result.scores, [len(notes) for notes in result.continuations]
    took = time.perf_counter() - started
    outputs = [args.out] if len(scores) == 1 else [
        args.out.with_name(f"{args.out.stem}-{i}{args.out.suffix}") for i in range(1, len(scores) + 1)]
    for score, path, count in zip(scores, outputs, counts):
        write_midi(score, path)
        print(f"wrote {path}: {count} new notes")
    if args.wav:
        from composer.io.audio import render_wav

        render_wav(scores[0], args.wav)
        print(f"wrote {args.wav}")
    print(f"generated with {meta.get('name')} ({meta['family']}) in {took:.2f} s")
    return 0


def _drums_for_song(args: argparse.Namespace, model, meta: dict, song) -> tuple[list, list[int]]:
    """"Drums for this song" as the app does it, through the same plan
    (:mod:`composer.generation.plan`: where the part goes, its request, the parts accepted):
    the song with a drum part, one per variation, and the drum notes written into each."""
    from composer.core.errors import ComposerError
    from composer.models.registry import family_spec

    from .generate import generate
    from .plan import EditorState, GenerationSettings, candidate_parts, model_capabilities, plan_generation, \
        preview_score

    if "drums" not in model_capabilities(family_spec(meta["family"]).capabilities, meta.get("info")):
        raise ComposerError(f"--drums-for-song needs a drum model (one with a drum slot, such as "
                            f"multitrack_vae-groove); {meta.get('name') or args.model} writes no drums")
    if song is None or song.note_count == 0:
        raise ComposerError("--drums-for-song writes drums for a song: give the song as --primer, a MIDI "
                            "file with notes" + (f" ({args.primer} has none)" if song is not None else ""))
    if args.track is not None or args.accompany or args.infill or args.interpolate:
        raise ComposerError("--drums-for-song writes a drum track over the whole song (or --from-bar N "
                            "--bars M): leave out --track, --accompany, --infill and --interpolate")
    base = _request(args, song, meta["family"], meta.get("info"))
    loop = None if args.from_bar is None else (base.start_tick, base.end_tick(song, base.start_tick))
    plan = plan_generation(song, GenerationSettings(mode="drums", request=base), EditorState(loop=loop))
    result = generate(model, plan.request)
    parts = [candidate_parts(plan, result, i) for i in range(len(result.scores))]
    return [preview_score(song, plan, p) for p in parts], [sum(len(part.notes) for part in p) for p in parts]


def _request(args: argparse.Namespace, primer, family: str, info: dict | None = None):
    """The GenerateRequest the options ask for (the model's or its family's own sampling
    defaults where the options leave them), or a ComposerError naming the option in the way."""
    from dataclasses import replace

    from composer.models.registry import family_spec

    from .plan import model_sampling_defaults
    from .request import GenerateRequest, sampling_defaults

    track_id, accompany_id = _tracks(args, primer)
    start_tick = _start_tick(args, primer)
    sampling = sampling_defaults(model_sampling_defaults(family_spec(family).sampling_defaults, info))
    for name in ("sampling", "threshold", "noise"):
        if getattr(args, name) is not None:
            sampling[name] = getattr(args, name)
    request = GenerateRequest(
        primer=primer, track_id=track_id, bars=None if args.seconds else args.bars,
        seconds=args.seconds, temperature=args.temperature, sampling=sampling["sampling"],
        threshold=sampling["threshold"], top_p=args.top_p, noise=sampling["noise"], variations=args.variations,
        seed=args.seed,
        key=args.key, scale=args.scale, pitch_min=args.pitch_min, pitch_max=args.pitch_max,
        start_token=args.start_token, start_tick=start_tick, interpolate=args.interpolate, infill=args.infill,
        missing_slots=args.missing_slots, slot_programs=_slot_programs(args.program),
        follow_primer=not args.free, accompany=accompany_id, density=args.density, polyphony=args.polyphony)
    if accompany_id is not None and start_tick is None:  # the whole piece
        request = replace(request, bars=None, seconds=None)
    return request


def _tracks(args: argparse.Namespace, primer) -> tuple[int | None, int | None]:
    """The ids of the track to continue (``--track``) and of the track to accompany."""
    from composer.core.errors import ComposerError

    track_id = accompany_id = None
    if args.track is not None:
        if primer is None or not 1 <= args.track <= len(primer.tracks):
            raise ComposerError("--track must be between 1 and the primer's track count")
        track_id = primer.tracks[args.track - 1].id
    if args.accompany is not None:
        from .accompany import find_track

        if primer is None:
            raise ComposerError("--accompany needs the --primer MIDI file that holds the melody")
        if track_id is not None:
            raise ComposerError("--accompany names the track to keep; leave out --track")
        accompany_id = find_track(primer, args.accompany).id
    return track_id, accompany_id


def _start_tick(args: argparse.Namespace, primer) -> int | None:
    """The tick of ``--from-bar`` (None: after the primer), required by the gap modes."""
    from composer.core.errors import ComposerError

    if (args.infill or args.interpolate) and args.from_bar is None:
        raise ComposerError(f"--{'infill' if args.infill else 'interpolate'} rewrites bars of the primer: "
                            f"say where the gap starts with --from-bar N (and its length with --bars)")
    if args.from_bar is None:
        return None
    if primer is None:
        raise ComposerError("--from-bar needs a --primer")
    lines = primer.bar_starts(primer.end_tick)
    if not 1 <= args.from_bar <= len(lines):
        raise ComposerError(f"--from-bar must be between 1 and {len(lines)} for this primer")
    return int(lines[args.from_bar - 1])


def _check_primer_key(args: argparse.Namespace) -> None:
    """``--key auto`` reads the key of a primer and brings its own scale."""
    from composer.core.errors import ComposerError

    if args.primer is None:
        raise ComposerError("--key auto takes the key of the primer: give a --primer MIDI file, or "
                            "name a key (e.g. --key D --scale minor)")
    if args.scale is not None:
        raise ComposerError("--key auto brings the primer's own scale (its major or minor): leave out "
                            "--scale, or name the key (e.g. --key D --scale dorian)")


def _slot_programs(pairs: list[str]) -> dict[str, int] | None:
    """["guitar=27", ...] -> {"guitar": 27}."""
    from composer.core.errors import ComposerError

    programs = {}
    for pair in pairs:
        slot, _, number = pair.partition("=")
        if not slot.strip() or not number.strip().isdigit():
            raise ComposerError(f"--program takes SLOT=N with a program number 0-127, e.g. guitar=27, not {pair!r}")
        programs[slot.strip()] = int(number)
    return programs or None
