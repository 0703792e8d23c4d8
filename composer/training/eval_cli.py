"""``composer eval``: on a data split, frame-level NLL (nats per frame) and paper 002's accuracy
for piano-roll families; next-token accuracy and perplexity for token families."""

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
    from composer.models.base import load_model
    from composer.models.library import resolve_model
    from composer.representations.codecs import codec_from_params

    from composer.models.device import choose_device
    from .evaluate import frame_nll, token_metrics

    model, meta = load_model(resolve_model(args.model))
    model.to(choose_device(args.device))
    data = load_source(args.data, codec_from_params(model.info["codec"]))
    pieces = data.split_pieces(args.split)
    if not pieces:
        raise ComposerError(f"{args.data} has no {args.split} split")
    print(f"model: {meta.get('name')} ({meta['family']}, {meta.get('preset')})")
    if hasattr(model, "sequence_predictions"):  # a token family
        result = token_metrics(model, pieces)
        print(f"data: {args.data} [{args.split}] {len(pieces)} pieces, {result['tokens']} predicted tokens")
        print(f"accuracy: {result['accuracy']:.4f}")
        print(f"perplexity: {result['perplexity']:.3f}")
        print(f"nll_per_token: {result['nll_per_token']:.4f}")
        return 0
    result = frame_nll(model, pieces)
    print(f"data: {args.data} [{args.split}] {len(pieces)} pieces, {result['frames']} predicted frames")
    print(f"nll_per_frame: {result['nll_per_frame']:.4f}")
    print(f"accuracy: {result['accuracy']:.4f}")
    return 0
