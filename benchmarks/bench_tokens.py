"""Token families: tokenization throughput, generation latency, training throughput.

    python benchmarks/bench_tokens.py [--skip-training] [--model TRAINED_CHORD_MODEL ...]
        [--repeats 5] [--rounds 3] [--steps 8] [--no-untrained]

1. Tokenizing POP909 (909 files; read + encode in worker processes, no cache) with both token
   codecs and each preset's settings, then ids through a vocabulary built from the training split
   (goal: 500 files/s or more).
2. Generating 500 tokens, 4 variations at once, with the chord_token_lstm "paper" preset
   (3x512, on the POP909 vocabulary) on the CPU, through composer.generation's thread setting
   (goal: 1 s or less).
3. Training throughput of ``composer train``'s loop (Trainer internals: the family's dataset
   assembling batches, loss, backward, clip, step) against a bare torch loop on the same model and
   batch (goal: within 10%), for chord_token_lstm "timed" (batch 64) and note_symbol_lstm "grid"
   (batch 64). Both run alternately in this process to share the machine's noise.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from composer.data.dataset import encode_folder
from composer.generation.generate import cpu_threads
from composer.models.base import SamplingOptions, build_model, preset_config
from composer.models.registry import load_family
from summary import report

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
POP909 = DATASETS / "pop909"


def bench_tokenization() -> dict:
    sets = {}
    for family, preset in (("chord_token_lstm", "paper"), ("chord_token_lstm", "timed"),
                           ("note_symbol_lstm", "paper"), ("note_symbol_lstm", "grid")):
        module = load_family(family)
        config = preset_config(family, preset)
        codec = module.Model.adapter_class.default_codec(config)
        start = time.perf_counter()
        data = encode_folder(POP909, codec, use_cache=False, write_cache=False)
        took = time.perf_counter() - start
        start = time.perf_counter()
        info = module.Model.adapter_class.data_info(data, config)
        model = build_model(family, config, info)
        ids = [model.adapter.piece_ids(p) for p in data.pieces]
        vocab_took = time.perf_counter() - start
        print(f"tokenize POP909 {family}/{preset}: {len(data)} files in {took:.2f} s = "
              f"{len(data) / took:.0f} files/s (goal >= 500); {sum(len(i) for i in ids):,} tokens, "
              f"vocabulary {len(info['vocab'])}, vocabulary + ids {vocab_took:.2f} s "
              f"({len(data) / (took + vocab_took):.0f} files/s all in)")
        report(f"tokenize POP909, {family}/{preset}", len(data) / took, "files/s", 500, "higher",
               f"{len(data) / (took + vocab_took):.0f} files/s with vocabulary + ids")
        sets[(family, preset)] = (data, info)
    return sets


def bench_generation(info: dict, repeats: int = 5, model=None, label: str = "untrained") -> None:
    """``model``: a trained chord_token_lstm (its own vocabulary); by default an untrained one of
    the paper preset on ``info``'s vocabulary, whose flat predictions make top-p sort everything."""
    torch.manual_seed(0)
    if model is None:
        model = build_model("chord_token_lstm", preset_config("chord_token_lstm", "paper"), info).eval()
    info = model.info
    primer = np.arange(100) % min(len(info["vocab"]), 50)
    for threads in (1, 2):
        times = []
        for rep in range(repeats):
            start = time.perf_counter()
            with cpu_threads(torch.device("cpu"), threads), torch.inference_mode():
                result = list(model.generate(primer, 500, 4, SamplingOptions(temperature=1.0, top_p=0.95),
                                             torch.Generator().manual_seed(rep)))[-1]
            times.append(time.perf_counter() - start)
        assert result.shape == (4, 600)
        print(f"generate 500 tokens x 4 variations, chord_token_lstm {label} ({model.config.layers}x"
              f"{model.config.hidden}, vocabulary {len(info['vocab'])}), {threads} thread(s): "
              f"median {statistics.median(times):.3f} s, "
              f"best {min(times):.3f} s (goal <= 1 s)")
        report(f"generate 500 tokens x 4, chord_token_lstm {label} ({model.config.layers}x{model.config.hidden}, "
               f"vocab {len(info['vocab'])}), {threads} thread(s)", statistics.median(times), "s",
               None if label == "untrained" else 1.0, "lower",
               f"median of {repeats}" + ("; untrained: flat predictions, no goal" if label == "untrained" else ""))


def _trainer_loop(model, dataset, batch: int, steps: int) -> float:
    """The steps of the trainer's inner loop (composer.training.epochs), tokens per second."""
    from torch import nn

    from composer.training.epochs import LossModule, batches

    wrapped = LossModule(model)
    optimizer = model.make_optimizer(model.config.learning_rate)
    scheduler = model.make_scheduler(optimizer, steps)
    model.train()
    start = time.perf_counter()
    for b in batches(dataset, batch, steps):
        loss, _ = wrapped(b.to("cpu", non_blocking=True))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), model.config.grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss.item()
    return steps * batch * (dataset.length - 1) / (time.perf_counter() - start)


def _bare_loop(model, windows: torch.Tensor, batch: int, steps: int) -> float:
    """The same model, loss and optimizer on pre-made batches: no dataset, no wrapper."""
    from torch import nn

    optimizer = model.make_optimizer(model.config.learning_rate)
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        b = windows[(step * batch) % (len(windows) - batch):][:batch]
        logits, _ = model(b[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), b[:, 1:].reshape(-1),
                                           ignore_index=-1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), model.config.grad_clip)
        optimizer.step()
        loss.item()
    return steps * batch * (windows.shape[1] - 1) / (time.perf_counter() - start)


def bench_training(sets: dict, rounds: int = 3, steps: int = 8) -> None:
    for family, preset, batch in (("chord_token_lstm", "timed", 64), ("note_symbol_lstm", "grid", 64)):
        data, info = sets[(family, preset)]
        config = preset_config(family, preset, batch_size=batch)
        torch.manual_seed(0)
        model = build_model(family, config, info)
        dataset = model.make_dataset(data.split_pieces("train"), augment=True, training=True)
        windows = dataset.sample_batch(batch * 8)
        ours, bare = [], []
        for _ in range(rounds):
            bare.append(_bare_loop(model, windows, batch, steps))
            ours.append(_trainer_loop(model, dataset, batch, steps))
        b, o = statistics.median(bare), statistics.median(ours)
        print(f"train {family}/{preset} batch {batch} x {config.seq_len}: bare torch {b:,.0f} tokens/s, "
              f"composer loop {o:,.0f} tokens/s = {o / b:.2f} of bare (goal >= 0.90)")
        report(f"{family}/{preset} training: composer loop / bare torch loop", o / b, "x", 0.9, "higher",
               f"{o:,.0f} / {b:,.0f} tokens/s, median of {rounds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--model", action="append", default=[],
                        help="also time generation with this trained chord_token_lstm checkpoint")
    parser.add_argument("--repeats", type=int, default=5, help="generation runs per thread count")
    parser.add_argument("--rounds", type=int, default=3, help="training rounds (median)")
    parser.add_argument("--steps", type=int, default=8, help="training steps per loop and round")
    parser.add_argument("--no-untrained", action="store_true",
                        help="time generation only with the --model checkpoints, not the untrained paper preset")
    args = parser.parse_args()
    sets = bench_tokenization()
    if not args.no_untrained:
        bench_generation(sets[("chord_token_lstm", "paper")][1], repeats=args.repeats)
    for path in args.model:
        from composer.models.base import load_model

        model, meta = load_model(path, expected_family="chord_token_lstm")
        bench_generation({}, repeats=args.repeats, model=model, label=f"trained {Path(path).stem}")
    if not args.skip_training:
        bench_training(sets, rounds=args.rounds, steps=args.steps)


if __name__ == "__main__":
    main()
