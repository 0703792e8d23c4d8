"""``composer eval``: on a data split, frame-level NLL (nats per frame) and paper 002's note
score for piano-roll families; next-token accuracy and perplexity for token families. Each
figure is printed with its name in words, its range and which way is better
(composer.models.metric_info)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a checkpoint path or a model name")
    parser.add_argument("--data", required=True, metavar="FILE.mat|DIR", help="benchmark .mat file or MIDI folder")
    parser.add_argument("--split", default="test", choices=["train", "valid", "test"])
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])


def run(args: argparse.Namespace) -> int:
    from composer.core.errors import ComposerError
    from composer.data.dataset import load_source
    from composer.models.base import FamilyModel, load_model
    from composer.models.library import resolve_model
    from composer.representations.codecs import codec_from_params

    from composer.models.device import choose_device
    from composer.models.metric_info import metric_line
    from .evaluate import frame_nll, token_metrics

    model, meta = load_model(resolve_model(args.model))
    if model.evaluated_by == "frames" and type(model).frame_predictions is FamilyModel.frame_predictions:
        raise ComposerError(f"composer eval does not apply to {meta['family']} models: it predicts no "
                            "frames or tokens one by one (its benchmarks are in benchmarks/)")
    model.to(choose_device(args.device))
    # The tracks it was trained on (a POP909 melody model reads MELODY), where the data has them.
    tracks = {"track_names": model.config.track_names} if getattr(model.config, "track_names", "") else {}
    data = load_source(args.data, codec_from_params(model.info["codec"]), key_normalize=model.key_normalized,
                       **tracks)
    pieces = data.split_pieces(args.split)
    if not pieces:
        raise ComposerError(f"{args.data} has no {args.split} split")
    family = meta["family"]
    print(f"model: {meta.get('name')} ({family}, {meta.get('preset')})")
    if model.evaluated_by == "tokens":
        result = token_metrics(model, pieces)
        print(f"data: {args.data} [{args.split}] {len(pieces)} pieces, {result['tokens']} predicted tokens")
        shown = {"accuracy": "accuracy", "perplexity": "perplexity", "nll_per_token": "nll_per_token"}
    else:
        result = frame_nll(model, pieces)
        print(f"data: {args.data} [{args.split}] {len(pieces)} pieces, {result['frames']} predicted frames")
        # (Its NLL counts the 88 piano keys: the quantity headers store as nll_per_frame_88.)
        shown = {"nll_per_frame_88": "nll_per_frame", "note_score": "note_score"}
    for key, result_key in shown.items():
        print(metric_line(key, result[result_key], family))
    return 0
