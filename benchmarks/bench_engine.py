"""Engine speed: generation latency and training throughput against a bare torch loop.

    python benchmarks/bench_engine.py [--skip-training]

    python benchmarks/bench_engine.py --head nade   # the NADE output head (issue 17)

1. Generating 60 s at 16 Hz (960 steps), 4 variations at once, with the pianoroll_lstm 2x256
   preset on the CPU, with 1 and 2 torch threads (goal: 0.5 s or less; with the NADE head,
   1 s). The untrained network's output biases start at a pitch rate of 0.05 (as training
   starts them, at the data's rates), so frames hold a few notes, as a trained model's do.
2. Training throughput of `composer train`'s loop (pianoroll_lstm 2x256, batch 128, 32-frame
   windows, JSB Chorales) against a bare torch loop on the same model, batch and window
   (goal: at least 90%). Both run in this process, alternately, to share the machine's noise.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from composer.models.base import SamplingOptions, build_model, preset_config
from summary import report

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
JSB = DATASETS / "pianoroll_benchmarks" / "tcn_mdata" / "JSB_Chorales.mat"
INFO = {"codec": {"kind": "pianoroll", "steps_per_beat": None, "fps": 16, "include_drums": False},
        "pitch_range": [36, 108], "pitch_rates": [0.05] * 72}
#: Each head's goal for 960 steps x 4 variations on one thread (issue 3; issue 17 for NADE).
GENERATION_GOAL = {"independent": 0.5, "nade": 1.0}


def naive_generate(model, primer: np.ndarray, n_steps: int, n_variations: int, generator) -> np.ndarray:
    """The reference step loop: nn.LSTM called once per step, torch.bernoulli per frame."""
    seed = torch.as_tensor(primer, dtype=torch.float32).expand(n_variations, -1, -1)
    features, state = model(seed)
    logits = model.head(features[:, -1])
    frames = []
    for _ in range(n_steps):
        frame = torch.bernoulli(torch.sigmoid(logits), generator=generator)
        frames.append(frame)
        out, state = model.lstm(frame.unsqueeze(1), state)
        logits = model.head(out[:, 0])
    return torch.stack(frames, 1).numpy()


def bench_generation(head: str, repeats: int = 5) -> None:
    torch.manual_seed(0)
    model = build_model("pianoroll_lstm", preset_config("pianoroll_lstm", "2x256", head=head), INFO).eval()
    goal = GENERATION_GOAL[head]
    primer = (np.random.default_rng(0).random((80, 72)) < 0.05).astype(np.uint8)  # a 5-second primer
    for threads in (1, 2):
        torch.set_num_threads(threads)
        if head == "independent":  # (the reference loop samples independent pitches only)
            with torch.inference_mode():
                start = time.perf_counter()
                naive_generate(model, primer, 960, 4, torch.Generator().manual_seed(0))
                naive = time.perf_counter() - start
            print(f"naive step loop (nn.LSTM per step), {threads} thread(s): {naive:.3f} s "
                  f"({naive / 960 * 1000:.2f} ms/step)")
        times = []
        for rep in range(repeats):
            start = time.perf_counter()
            with torch.inference_mode():
                result = list(model.generate(primer, 960, 4, SamplingOptions(),
                                             torch.Generator().manual_seed(rep)))[-1]
            times.append(time.perf_counter() - start)
        best, median = min(times), statistics.median(times)
        notes = result[:, 80:].sum(axis=2).mean()
        print(f"generate 960 steps x 4 variations, {head} head, {threads} thread(s): best {best:.3f} s, median "
              f"{median:.3f} s ({median / 960 * 1000:.2f} ms/step; {notes:.1f} notes a frame)   "
              f"goal <= {goal} s  ratio {goal / median:.2f}")
        assert result.shape == (4, 80 + 960, 72)
        suffix = "" if head == "independent" else f", {head} head"
        report(f"pianoroll_lstm 2x256{suffix}: 960 steps x 4 variations, {threads} torch thread(s)", median, "s",
               goal if threads == 1 else None, "lower", "" if threads == 1 else "generation uses 1 thread")


def bare_loop_frames_per_second(model, batch: int, length: int, steps: int) -> float:
    """The reference: random binary windows already in memory, Adam, BCE, nothing else."""
    width = model.n_pitches
    data = (torch.rand(steps, batch, length + 1, width) < 0.05).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        x = data[step]
        features, _ = model(x[:, :-1])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model.head.logits(features, x[:, 1:]), x[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return steps * batch * length / (time.perf_counter() - start)


def composer_loop_frames_per_second(head: str, batch: int, length: int, steps: int) -> float:
    import tempfile

    from composer.training.progress import Progress
    from composer.training.trainer import TrainRequest, train

    rates = []

    class Collect(Progress):
        def __call__(self, event, **fields):
            if event == "step":
                rates.append(fields["examples_per_second"] * length)

    with tempfile.TemporaryDirectory() as folder:
        train(TrainRequest(family="pianoroll_lstm", preset="2x256", data=str(JSB),
                           out=Path(folder) / "m.safetensors", epochs=1, batch_size=batch, seq_len=length,
                           steps_per_epoch=steps, overrides={"head": head}), Collect("none"))
    return rates[-1]  # the whole epoch's average rate, data preparation included


def bench_training(head: str, rounds: int = 3, steps: int = 30) -> None:
    if not JSB.exists():
        print(f"training throughput: skipped, {JSB} not found")
        return
    torch.set_num_threads(2)
    info = dict(INFO, pitch_range=[36, 108])
    bare, ours = [], []
    for _ in range(rounds):
        model = build_model("pianoroll_lstm", preset_config("pianoroll_lstm", "2x256", head=head), info)
        bare.append(bare_loop_frames_per_second(model, 128, 32, steps))
        ours.append(composer_loop_frames_per_second(head, 128, 32, steps))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"training 2x256 ({head} head), batch 128 x 32 frames: bare torch loop {b:,.0f} frames/s, "
          f"composer train {o:,.0f} frames/s   goal >= 90%  ratio {o / b:.2f}")
    suffix = "" if head == "independent" else f", {head} head"
    report(f"pianoroll_lstm training{suffix}: composer train / bare torch loop", o / b, "x", 0.9, "higher",
           f"{o:,.0f} / {b:,.0f} frames/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--head", choices=("independent", "nade"), default="independent",
                        help="the output head of the piano-roll LSTM measured")
    args = parser.parse_args()
    bench_generation(args.head)
    if not args.skip_training:
        bench_training(args.head)


if __name__ == "__main__":
    main()
