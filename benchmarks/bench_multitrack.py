"""``multitrack_vae`` (paper 004): generation latency and training throughput.

    OMP_NUM_THREADS=1 python benchmarks/bench_multitrack.py [--skip-generation] [--skip-training]
        [--threads 1,2] [--steps 12] [--rounds 3]

1. Generating a 3-minute song (120 bpm, 4/4: 90 bars) of the five LPD-5 slots (drums, piano,
   guitar, bass, strings) on the CPU through ``composer.generation.generate.generate``, from
   scratch and after a 2-bar five-track primer, threshold 0.3 (paper 004), one variation; median of
   5 runs after one warm-up (goal: 0.5 s or less; paper 004 reports 5-15 s). The model has the
   paper's sizes (the ``lpd5`` preset: convolutions 64, 128, 256, latent 16) and *untrained*
   weights: speed does not depend on them, but the notes do (random weights put every cell near
   0.5, so threshold 0.3 turns every pitch on and the song is 128 held notes per slot), so the
   note extraction and score assembly are also timed alone on rolls of realistic density. Then a
   profile (where the time goes).
   Generation runs with one torch thread (composer.generation's setting); two are also timed (by
   swapping that setting here; 3 runs). ``--threads 1`` skips them: with a job on the other core
   of a 2-core machine, a 2-thread run took 1.5-30 s (threads waiting on each other per call).
2. Training throughput in bar pairs per second, the real ``composer.training.trainer.train``
   (``satb`` preset: four slots, the paper's sizes, batch 64, JS Fake Chorales) against a bare
   torch loop (pre-stacked batches, the same ELBO / MSE written out, Adam, clip), for both stages
   ("vae", "predictors"), goal: the trainer >= 0.9 of bare. ``train()`` runs 2 epochs of
   ``--steps`` steps (epoch 1 trains the VAEs, epoch 2 the predictors); its throughput comes from
   its own ``step`` events (examples_per_second = batch x steps / seconds since the epoch
   started), from step 1 to the last step, so loading data, validation and checkpoints are not
   counted, nor is the first step (warm-up) in either loop. Median of ``--rounds`` rounds, the two
   loops alternating to share the machine's noise.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import composer.generation.generate as generation
from composer.core.notes import make_notes
from composer.core.score import Score, Track
from composer.core.timing import TempoChange, TimeSignature
from composer.generation.request import GenerateRequest
from composer.models.base import build_model, preset_config
from composer.models.multitrack_adapter import codec_for
from composer.models.multitrack_vae import PRESETS
from summary import report

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
JS_FAKES = DATASETS / "js_fakes"
FAMILY = "multitrack_vae"
GOAL_SECONDS, GOAL_RATIO = 0.5, 0.9
PPQ, BAR = 480, 4 * 480


# ---------------------------------------------------------------------------- generation
def lpd5_model():
    """An untrained model of the lpd5 preset, built as load_model / the trainer build it."""
    config = PRESETS["lpd5"]
    codec = codec_for(config)
    info = {"codec": codec.params(), "slots": list(codec.slot_names),
            "vae_epochs": int(round(config.epochs * config.vae_fraction))}
    torch.manual_seed(0)
    return build_model(FAMILY, config, info).eval()


def five_track_primer(bars: int = 2) -> Score:
    """``bars`` bars of 4/4 at 120 bpm: piano chords, guitar eighths, bass roots, string pads and
    a drum beat (programs 0, 24, 32, 48 and a drum track), ending on a bar line."""
    steps = np.arange(bars * 8) * PPQ // 2  # eighth notes
    beats = np.arange(bars * 4) * PPQ
    whole = np.arange(bars) * BAR
    root = np.array([60, 65] * bars)[:bars]
    tracks = [
        Track("Piano", 0, notes=make_notes(np.repeat(beats, 3), np.repeat(beats + PPQ, 3),
                                           np.tile([60, 64, 67], len(beats)), 80)),
        Track("Guitar", 24, notes=make_notes(steps, steps + PPQ // 2, np.tile([64, 67, 72, 67], bars * 2), 70)),
        Track("Bass", 32, notes=make_notes(beats, beats + PPQ, np.repeat(root - 24, 4), 90)),
        Track("Strings", 48, notes=make_notes(np.repeat(whole, 2), np.repeat(whole + BAR, 2),
                                              np.stack([root + 12, root + 16], 1).ravel(), 60)),
        Track("Drums", 0, True, make_notes(steps, steps + PPQ // 4, np.tile([36, 42, 38, 42], bars * 2), 100)),
    ]
    return Score(tracks, PPQ, [TempoChange(0, 120.0)], [TimeSignature(0, 4, 4)])


def _request(primer: Score | None, seed: int = 0) -> GenerateRequest:
    return GenerateRequest(primer=primer, start_tick=None if primer is None else primer.end_tick,
                           seconds=180, sampling="threshold", threshold=0.3, variations=1, seed=seed)


def _bars_of(model, request: GenerateRequest) -> int:
    score = request.primer if request.primer is not None else Score()
    start = score.end_tick if request.primer is not None else 0
    request.validate()
    return model.adapter.steps_for(score, start, request.end_tick(score, start))


def _threads(n: int):
    """composer.generation's CPU thread setting, with ``n`` threads instead of one."""
    original = generation.cpu_threads

    def patched(device, _=1):
        return original(device, n)
    return patched


def time_generate(model, primer: Score | None, threads: int = 1, repeats: int = 5) -> tuple[float, float, int]:
    """Median and best seconds of ``repeats`` generate() calls after one warm-up; and the notes."""
    original = generation.cpu_threads
    generation.cpu_threads = _threads(threads)
    try:
        result = generation.generate(model, _request(primer))
        times = []
        for rep in range(repeats):
            start = time.perf_counter()
            result = generation.generate(model, _request(primer, seed=rep))
            times.append(time.perf_counter() - start)
    finally:
        generation.cpu_threads = original
    notes = sum(len(t.notes) for t in result.slot_tracks[0])
    return statistics.median(times), min(times), notes


def time_assembly(model, density: float, repeats: int = 5) -> tuple[float, int]:
    """generate() with the model's loop replaced by a ready roll: what is left is note extraction
    (codec.decode_notes through decode_slots) and score assembly. The roll is random, each cell on
    with probability ``density``, most held for a second step (notes of 1-3 steps)."""
    bars = _bars_of(model, _request(None))
    rng = np.random.default_rng(0)
    shape = (1, bars, len(model.slot_names), model.config.steps_per_bar, 128)
    on = rng.random(shape) < density
    held = np.roll(on, 1, axis=3) & (rng.random(shape) < 0.5)
    rolls = (on | held).astype(np.uint8)

    def ready(primer, n_steps, n_variations, options, generator):
        yield np.concatenate([np.broadcast_to(primer, (1,) + primer.shape), rolls[:, :n_steps]], axis=1)

    model.generate = ready  # an instance attribute hides the method until deleted
    try:
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            result = generation.generate(model, _request(None))
            times.append(time.perf_counter() - start)
    finally:
        del model.generate
    return statistics.median(times[1:]), sum(len(t.notes) for t in result.slot_tracks[0])


def profile_generate(model, primer: Score | None) -> None:
    """Where one generate() call spends its time (cProfile; totals include profiling overhead)."""
    profiler = cProfile.Profile()
    profiler.enable()
    generation.generate(model, _request(primer))
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(v[2] for v in stats.values())  # own time of everything

    def cumulative(name: str, file_part: str = "") -> float:
        return sum(v[3] for (f, _, fn), v in stats.items() if fn == name and file_part in f)

    def own(name: str) -> float:
        return sum(v[2] for (f, _, fn), v in stats.items() if name in fn)

    rows = [
        ("whole generate()", cumulative("generate", "generation/generate.py")),
        ("  latent loop + decode + threshold (Model.generate)", cumulative("generate", "multitrack_vae.py")),
        ("    VAE decoders (BarVAE.decode)", cumulative("decode", "multitrack_networks.py")),
        ("      of which conv_transpose2d", own("conv_transpose2d")),
        ("    MelodyNN + ConditionalNNs", cumulative("forward", "multitrack_networks.py")),
        ("  note extraction (codec.decode_notes)", cumulative("decode_notes")),
        ("  score assembly (_assemble_slots, incl. decode_notes)", cumulative("_assemble_slots")),
    ]
    print(f"  profile of one call (cProfile, {total:.3f} s profiled):")
    for label, seconds in rows:
        print(f"  | {label} | {seconds:.3f} s |")


def bench_generation(threads: list[int]) -> None:
    model = lpd5_model()
    primer = five_track_primer()
    params = sum(p.numel() for p in model.parameters())
    print(f"generation: multitrack_vae lpd5 preset ({', '.join(model.slot_names)}; channels "
          f"{model.config.channels}, latent {model.config.latent}; {params:,} parameters), UNTRAINED "
          f"random weights (speed does not depend on them), 180 s at 120 bpm 4/4, threshold 0.3, "
          f"1 variation, CPU")
    for label, score in (("from scratch", None), ("after a 2-bar 5-track primer", primer)):
        bars = _bars_of(model, _request(score))
        for n in threads:
            median, best, notes = time_generate(model, score, n, repeats=5 if n == 1 else 3)
            print(f"  | {label}, {bars} bars, {n} thread(s) | median {median:.3f} s, best {best:.3f} s | "
                  f"goal <= {GOAL_SECONDS} s | ratio {GOAL_SECONDS / median:.2f} | {notes} notes |")
            report(f"multitrack_vae lpd5: 3-minute song ({bars} bars) {label}, {n} thread(s)", median, "s",
                   GOAL_SECONDS if n == 1 else None, "lower", "untrained weights" + ("" if n == 1 else
                                                                                       "; generation uses 1 thread"))
    for density in (0.02, 0.10):
        seconds, notes = time_assembly(model, density)
        print(f"  note extraction + assembly alone, 90 bars at {density:.0%} cell density: "
              f"{seconds:.3f} s for {notes:,} notes")
    profile_generate(model, None)


# ---------------------------------------------------------------------------- training
class _Recorder:
    """A Progress that keeps the events."""

    def __init__(self):
        self.events = []

    def __call__(self, event: str, **fields) -> None:
        self.events.append({"event": event, **fields})


def trainer_throughput(steps: int, seed: int) -> dict[str, float]:
    """Bar pairs per second of composer.training.trainer.train in each stage, from its step
    events, steps 2..N (the first step and everything outside the epoch's loop left out)."""
    from composer.training.trainer import TrainRequest, train

    recorder = _Recorder()
    with tempfile.TemporaryDirectory() as folder:
        train(TrainRequest(family=FAMILY, data=str(JS_FAKES), out=Path(folder) / "bench.safetensors",
                           preset="satb", epochs=2, steps_per_epoch=steps, batch_size=64, device="cpu",
                           seed=seed), recorder)
    out = {}
    for stage in ("vae", "predictors"):
        events = [e for e in recorder.events if e["event"] == "step" and e.get("stage") == stage]
        first, last = events[0], events[-1]
        if first["step"] != 1 or last["step"] != steps:
            raise RuntimeError(f"expected a step event after every step of {stage}")
        elapsed = {e["step"]: 64 * e["step"] / e["examples_per_second"] for e in (first, last)}
        out[stage] = 64 * (steps - 1) / (elapsed[steps] - elapsed[1])
    return out


def bare_loss(model, batch: torch.Tensor, stage: str) -> torch.Tensor:
    """The stage's loss written out: per-slot ELBO on both bars, or the predictors' MSE."""
    if stage == "vae":
        bars = batch.flatten(0, 1)
        total = 0.0
        for k, vae in enumerate(model.vaes):
            x = bars[:, k]
            mu, logvar = vae.encode(x)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            logits = vae.decode(z)
            recon = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2)).mean()
            kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)).mean()
            total = total + recon + model.config.kl_weight * kl
        return total
    with torch.no_grad():
        now = torch.stack([vae.encode(batch[:, 0, k])[0] for k, vae in enumerate(model.vaes)], 1)
        nxt = torch.stack([vae.encode(batch[:, 1, k])[0] for k, vae in enumerate(model.vaes)], 1)
    lead = model.lead
    total = nn.functional.mse_loss(model.melody(now[:, lead]), nxt[:, lead])
    for k, net in enumerate(model.conditional):
        if k != lead:
            total = total + nn.functional.mse_loss(net(now[:, k], nxt[:, lead]), nxt[:, k])
    return total


def bare_throughput(model, pairs: torch.Tensor, stage: str, steps: int, batch: int = 64) -> float:
    """A plain loop over pre-stacked bar pairs: loss, backward, clip, Adam; pairs/s, steps 2..N."""
    model.set_stage(stage)
    model.train()
    params = model.stage_parameters()
    lr = model.config.learning_rate if stage == "vae" else model.config.predictor_learning_rate
    optimizer = torch.optim.Adam(params, lr=lr)
    start = None
    for step in range(steps):
        if step == 1:
            start = time.perf_counter()
        b = pairs[(step * batch) % (len(pairs) - batch + 1):][:batch]
        loss = bare_loss(model, b, stage)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, model.config.grad_clip)
        optimizer.step()
        loss.item()
    return batch * (steps - 1) / (time.perf_counter() - start)


def bench_training(steps: int, rounds: int) -> None:
    from composer.data.dataset import load_source
    from composer.models.multitrack_vae import Model

    config = preset_config(FAMILY, "satb", batch_size=64)
    data = load_source(JS_FAKES, codec_for(config))
    info = Model.adapter_class.data_info(data, config)
    torch.manual_seed(0)
    model = build_model(FAMILY, config, info)
    pairs = model.make_dataset(data.split_pieces("train"), augment=False, training=True).sample_batch(64 * 4)
    ours = {"vae": [], "predictors": []}
    bare = {"vae": [], "predictors": []}
    started = time.perf_counter()
    for r in range(rounds):
        for stage in bare:
            bare[stage].append(bare_throughput(model, pairs, stage, steps))
        for stage, value in trainer_throughput(steps, seed=r).items():
            ours[stage].append(value)
    print(f"training: multitrack_vae satb preset (S, A, T, B; channels {config.channels}, latent "
          f"{config.latent}), batch 64 bar pairs, JS Fake Chorales ({len(data.split_pieces('train'))} "
          f"training pieces), CPU, {steps} steps per stage, median of {rounds} rounds "
          f"({time.perf_counter() - started:.0f} s):")
    for stage in bare:
        b, o = statistics.median(bare[stage]), statistics.median(ours[stage])
        print(f"  | {stage} | bare torch {b:,.1f} pairs/s | composer train() {o:,.1f} pairs/s | "
              f"ratio {o / b:.2f} (goal >= {GOAL_RATIO}) | rounds bare {_fmt(bare[stage])}, "
              f"train() {_fmt(ours[stage])} |")
        report(f"multitrack_vae satb training, {stage} stage: train() / bare torch loop", o / b, "x", GOAL_RATIO,
               "higher", f"{o:,.1f} / {b:,.1f} pairs/s, median of {rounds}")


def _fmt(values) -> str:
    return "/".join(f"{v:,.0f}" if v >= 100 else f"{v:.1f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-generation", action="store_true")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--threads", default="1,2", help="torch threads to time generation with")
    parser.add_argument("--steps", type=int, default=12, help="training steps per stage and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    if not args.skip_generation:
        bench_generation([int(n) for n in args.threads.split(",")])
    if not args.skip_training:
        bench_training(args.steps, args.rounds)
    print(f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
