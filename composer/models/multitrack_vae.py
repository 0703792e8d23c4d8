"""``multitrack_vae``: paper 004's multitrack VAE: one convolutional VAE per instrument slot, a
MelodyNN that steps the lead slot's latent from bar to bar, and one ConditionalNN per other slot.

Data: :class:`~composer.representations.multitrack.MultitrackBarCodec` pieces of shape
(bars, slots, steps_per_bar, 128). Each training example is two consecutive bars of every slot,
shape (2, slots, steps, 128).

Training has two stages in one run (the trainer's stage hook, :meth:`FamilyModel.stage_for_epoch`):

1. ``vae``: every slot's VAE on single bars (both bars of each pair), ELBO = binary cross-entropy
   of the roll (summed over the bar's cells) + ``kl_weight`` x KL to N(0, I), per slot, summed.
2. ``predictors``: the VAEs are frozen; the latent means of both bars are the data. MelodyNN maps
   the lead's latent of bar t to bar t+1's; the ConditionalNN of slot k maps (slot k at t, lead at
   t+1) to slot k at t+1; mean squared error, Adam with exponential learning-rate decay per epoch.

The first ``vae_fraction`` of the epochs are the VAE stage, the rest the predictor stage (the
boundary is fixed in ``info["vae_epochs"]`` when training starts; a resumed run with more epochs
gives them to the predictors). The checkpoint holds the VAEs as they were at the end of their
stage and the predictors of the best predictor epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from composer.core.errors import ComposerError
from composer.representations.keys import MODE_STEPS
from composer.representations.multitrack import N_PITCHES

from .base import FamilyModel, SamplingOptions, TrainConfig
from .multitrack_adapter import MultitrackAdapter
from .multitrack_networks import BarPairs, BarVAE, ConditionalNN, MelodyNN
from .pianoroll_common import allowed_pitch_mask

STAGES = ("vae", "predictors")
#: Bars decoded in one batch while generating (progress is reported after each batch).
DECODE_CHUNK_BARS = 16


@dataclass
class Config(TrainConfig):
    latent: int = 16
    #: Channels of the three encoder convolutions, comma-separated (paper: 64, 128, 256).
    channels: str = "64,128,256"
    hidden: int = 128
    dropout: float = 0.2
    kl_weight: float = 1.0
    #: Share of the epochs spent on the VAEs; the rest trains MelodyNN and the ConditionalNNs.
    vae_fraction: float = 0.5
    #: Learning rate of the predictor stage (Adam), decayed by ``lr_decay`` every epoch.
    predictor_learning_rate: float = 1e-3
    lr_decay: float = 0.95
    #: Codec: "lpd5", "order" or "names"; names comma-separated (e.g. "S,A,T,B").
    slots: str = "order"
    slot_names: str = "S,A,T,B"
    lead: str = ""
    steps_per_bar: int = 32
    #: Slots that play one note at a time (comma-separated names, e.g. the four voices of a
    #: chorale): decoding keeps each step's most likely pitch instead of every likely one.
    monophonic: str = ""
    #: How likely a monophonic slot is to sound at a step: "max", its most likely pitch's
    #: probability; "sum", the sum over its pitches (the expected number of notes: where the
    #: decoder is unsure between neighbouring pitches, "max" leaves a line silent too often).
    voice_sounds: str = "max"
    #: Slots that hold drum tracks (comma-separated names; "order" and "names" slots).
    drum_slots: str = ""
    #: "SOURCE>TARGET": the lowest line of slot SOURCE's tracks goes to slot TARGET (POP909's
    #: PIANO as chords over a bass: "PIANO>BASS"); empty: none.
    lowest_line: str = ""
    #: GM program of each slot's generated track, comma-separated in slot order (empty: 0);
    #: the user changes them with slot programs (``--program SLOT=N``).
    programs: str = ""
    #: "TARGET<SOURCE": in training bars where slot TARGET is silent, it plays SOURCE's top line
    #: (POP909's BRIDGE, silent in a third of the bars: "BRIDGE<PIANO"); empty: none.
    fill_silent: str = ""


PRESETS = {
    # JS Fake Chorales as four voices, soprano leading.
    # Both as long and in batches as the data allows (schedule "auto").
    "satb": Config(epochs=40, batch_size=64, learning_rate=1e-3, patience=5, lead="S", monophonic="S,A,T,B",
                   schedule="auto"),
    "lpd5": Config(epochs=40, batch_size=64, learning_rate=1e-3, patience=5, slots="lpd5",
                   slot_names="", lead="piano", schedule="auto"),
    # The Groove MIDI Dataset as one drum slot: every drum track, as hits on 16 steps a bar.
    "groove": Config(epochs=30, batch_size=64, learning_rate=1e-3, patience=6, slot_names="Drums",
                     lead="Drums", drum_slots="Drums", steps_per_bar=16, latent=32, channels="32,64,128",
                     hidden=256, key_normalize=False, schedule="auto"),
    "tiny_drums": Config(epochs=4, batch_size=8, learning_rate=3e-3, predictor_learning_rate=1e-2,
                         patience=4, steps_per_epoch=6, latent=4, channels="4,8,16", hidden=16,
                         slot_names="Drums", lead="Drums", drum_slots="Drums", steps_per_bar=16,
                         key_normalize=False),
    # POP909 as a band: its MELODY leading, BRIDGE, the PIANO's chords and its lowest line as
    # the bass; synth lead, clean guitar, electric piano, fingered bass. 16 steps a bar (its
    # notes lie on sixteenths), and a small VAE so a 3-minute song decodes in well under 0.2 s.
    # One-note slots sound by the sum of their pitches' probabilities, and BRIDGE (silent in a
    # third of POP909's bars) plays the chords' top line where it is silent: a song's BRIDGE
    # sounded in 0.28 of its bars by the most likely pitch, 0.60 by the sum, 1.00 with the fill
    # (benchmarks/RESULTS.md, "Pop multitrack VAE").
    "pop": Config(epochs=40, batch_size=64, learning_rate=1e-3, patience=6, slots="names",
                  slot_names="MELODY,BRIDGE,PIANO,BASS", lead="MELODY", lowest_line="PIANO>BASS",
                  fill_silent="BRIDGE<PIANO", monophonic="MELODY,BRIDGE,BASS", voice_sounds="sum",
                  programs="80,27,4,33",
                  steps_per_bar=16, latent=32, channels="32,64,128", hidden=256, schedule="auto"),
    "tiny_pop": Config(epochs=4, batch_size=8, learning_rate=3e-3, predictor_learning_rate=1e-2,
                       patience=4, steps_per_epoch=6, latent=4, channels="4,8,16", hidden=16, slots="names",
                       slot_names="MELODY,BRIDGE,PIANO,BASS", lead="MELODY", lowest_line="PIANO>BASS",
                       monophonic="MELODY,BRIDGE,BASS", programs="80,27,4,33", steps_per_bar=16),
    "tiny": Config(epochs=4, batch_size=8, learning_rate=3e-3, predictor_learning_rate=1e-2,
                   patience=4, steps_per_epoch=6, latent=4, channels="4,8,16", hidden=16,
                   lead="S"),
}


#: How much less likely (in logits) the decoder's off-scale pitches are when following the primer.
KEY_PRIOR = 1.0
#: Accompanying a lead: how much less likely (in logits) a pitch is at a step where it would
#: sound a dissonance under the lead: a second, a seventh or a tritone below a lead pitch, and
#: for the bass also a fourth (the lead a fourth above the bass: a 6/4 chord); following a key,
#: a pitch off it (and off what the lead plays in the bar) is as unlikely again. Without it the
#: decoder, which draws a whole bar from 16 numbers, put 0.58-0.61 of held-out melodies' notes
#: over a consonant bass, against 0.88-0.91 in the chorales; at 4 the bass reaches 0.85-0.87
#: and the alto and tenor are within 0.06 of the chorales' (benchmarks/RESULTS.md, "Accompany").
HARMONY_PRIOR = 4.0
DISSONANT_BELOW = (1, 2, 6, 10, 11)
DISSONANT_BELOW_BASS = DISSONANT_BELOW + (5,)
#: Slots that are the bass (their fourths under the lead are dissonant): S/A/T/B's B, LPD-5's bass.
BASS_NAMES = ("b", "bass")


def _toward(predicted: torch.Tensor, home: torch.Tensor, pull: float) -> torch.Tensor:
    """``predicted`` moved the share ``pull`` of the way to ``home`` (the primer bar's latent)."""
    return predicted if pull <= 0 else (1 - pull) * predicted + pull * home


def _never_silent(chosen: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """A drum model's bars (B, steps, 128) with the likeliest hit of each bar that sampling left
    without one: a drum part keeps time in every bar."""
    empty = ~chosen.flatten(1).any(dim=1)
    if not bool(empty.any()):
        return chosen
    flat = probs.flatten(1)
    top = torch.zeros_like(flat, dtype=torch.bool)
    top[torch.arange(len(flat), device=flat.device), flat.argmax(dim=1)] = True
    return chosen | (top.view_as(chosen) & empty[:, None, None])


class Model(FamilyModel):
    family = "multitrack_vae"
    adapter_class = MultitrackAdapter

    def __init__(self, config: Config, info: dict):
        super().__init__(config, info)
        codec = self.adapter.codec
        self._drum_slots = [codec.slot_is_drum(k) for k in range(len(codec.slot_names))]
        monophonic = {name.strip().lower() for name in config.monophonic.split(",") if name.strip()}
        self._monophonic = [name.lower() in monophonic for name in codec.slot_names]
        self._bass = [name.lower() in BASS_NAMES for name in codec.slot_names]
        self.slot_names = list(codec.slot_names)
        keys = info.get("drum_keys")  # a drum slot plays only the keys its data plays
        self._drum_keys = None if not keys else torch.zeros(N_PITCHES).index_fill_(0, torch.tensor(keys), 1.0)
        self.lead = codec.lead_index
        self.vaes = nn.ModuleList(BarVAE(config.steps_per_bar, config.latent, tuple(int(c) for c in config.channels.split(",")))
                                  for _ in self.slot_names)
        self.melody = MelodyNN(config.latent, config.hidden, config.dropout)
        self.conditional = nn.ModuleList(ConditionalNN(config.latent, config.hidden)
                                         for _ in self.slot_names)  # the lead's entry is unused
        self.stage = STAGES[0]

    # ------------------------------------------------------------------ training hooks
    def make_dataset(self, pieces, augment: bool, training: bool) -> BarPairs:
        return BarPairs(pieces)

    def stage_for_epoch(self, epoch: int) -> str:
        """The stage of ``epoch``: "vae" for the first ``info["vae_epochs"]``, then "predictors"."""
        return STAGES[0] if epoch <= int(self.info.get("vae_epochs", 1)) else STAGES[1]

    def set_stage(self, stage: str) -> None:
        if stage not in STAGES:
            raise ComposerError(f"unknown training stage {stage!r}; stages: {', '.join(STAGES)}")
        self.stage = stage
        for p in self.vaes.parameters():
            p.requires_grad_(stage == "vae")
        self.train(self.training)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.stage == "predictors":
            self.vaes.eval()  # frozen: the latents are data
        return self

    def stage_parameters(self):
        if self.stage == "vae":
            return list(self.vaes.parameters())
        return list(self.melody.parameters()) + [p for k, m in enumerate(self.conditional)
                                                 if k != self.lead for p in m.parameters()]

    def make_optimizer(self, learning_rate: float) -> torch.optim.Optimizer:
        lr = learning_rate if self.stage == "vae" else self.config.predictor_learning_rate
        return torch.optim.Adam(self.stage_parameters(), lr=lr, weight_decay=self.config.weight_decay)

    def make_scheduler(self, optimizer, steps_per_epoch: int):
        if self.stage == "vae":
            return None
        decay = self.config.lr_decay
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: decay ** (step / max(steps_per_epoch, 1)))

    def loss(self, batch: torch.Tensor, metrics: bool = True):
        """``batch`` (B, 2, slots, steps, 128): the loss of the current stage."""
        if self.stage == "vae":
            return self._vae_loss(batch, metrics)
        return self._predictor_loss(batch, metrics)

    def _vae_loss(self, batch, metrics):
        bars = batch.flatten(0, 1)  # both bars of each pair
        total = 0.0
        out = {}
        for k, vae in enumerate(self.vaes):
            x = bars[:, k]
            mu, logvar = vae.encode(x)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
            logits = vae.decode(z)
            recon = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2)).mean()
            kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)).mean()
            total = total + recon + self.config.kl_weight * kl
            if metrics:
                with torch.no_grad():
                    name = self.slot_names[k]
                    out[f"recon_{name}"] = float(recon)
                    out[f"kl_{name}"] = float(kl)
                    predicted = logits > 0
                    truth = x > 0.5
                    tp = float((predicted & truth).sum())
                    denominator = float(predicted.sum() + truth.sum())
                    out[f"f1_{name}"] = 2 * tp / denominator if denominator else 1.0
        return total, out

    def latents(self, bars: torch.Tensor) -> torch.Tensor:
        """bars (B, slots, steps, 128) -> latent means (B, slots, K)."""
        return torch.stack([vae.encode(bars[:, k])[0] for k, vae in enumerate(self.vaes)], dim=1)

    def _predictor_loss(self, batch, metrics):
        with torch.no_grad():
            now = self.latents(batch[:, 0])
            nxt = self.latents(batch[:, 1])
        lead = self.lead
        losses = {self.slot_names[lead]: nn.functional.mse_loss(self.melody(now[:, lead]), nxt[:, lead])}
        for k, net in enumerate(self.conditional):
            if k != lead:
                losses[self.slot_names[k]] = nn.functional.mse_loss(net(now[:, k], nxt[:, lead]), nxt[:, k])
        total = sum(losses.values())
        return total, ({f"mse_{name}": float(v) for name, v in losses.items()} if metrics else {})

    # ------------------------------------------------------------------ generation
    def _key_prior(self, options: SamplingOptions, device) -> torch.Tensor | None:
        """Logit offsets (128,) that favour the reference key's scale when following the primer
        with a key-normalised model (whose primer is moved to C major / A minor), else None.

        The decoder reconstructs a bar from 16 numbers; where it is unsure between neighbouring
        pitches, a tenth of the duration fell a semitone off the key in every primer set. The
        offset is soft, not a scale lock: a chromatic note the decoder is sure of still sounds."""
        if not (options.follow_primer and self.key_normalized):
            return None
        # C major / A minor: the key a key-normalised model works in.
        off_scale = torch.tensor([(p % 12) not in MODE_STEPS["major"] for p in range(N_PITCHES)], device=device)
        return off_scale.float() * -KEY_PRIOR

    def _bars_from(self, z: torch.Tensor, options: SamplingOptions, mask, generator,
                   offsets: torch.Tensor | None = None, skip: int | None = None) -> torch.Tensor:
        """Latents (V, slots, K) -> binary bars (V, slots, steps, 128); slot ``skip`` is not
        decoded (its bars come back silent). ``offsets`` (V, slots, steps, 128): logits added
        to the pitched slots' (the harmony prior), or None; a monophonic slot then sounds at a
        step as likely as it would without them, at the pitch most likely with them (so the
        prior moves a voice to a consonant pitch instead of silencing it)."""
        bars = []
        prior = self._key_prior(options, z.device)
        temperature = max(options.temperature, 1e-3)
        for k, vae in enumerate(self.vaes):
            if k == skip:
                bars.append(torch.zeros((len(z), self.config.steps_per_bar, N_PITCHES), dtype=torch.bool,
                                        device=z.device))
                continue
            logits = vae.decode(z[:, k])
            if prior is not None and not self._drum_slots[k]:
                logits = logits + prior
            probs = torch.sigmoid(logits / temperature)
            if mask is not None and not self._drum_slots[k]:
                probs = probs * mask
            if self._drum_slots[k] and self._drum_keys is not None:
                probs = probs * self._drum_keys.to(probs.device)
            choice = probs
            if offsets is not None and not self._drum_slots[k]:
                choice = torch.sigmoid((logits + offsets[:, k]) / temperature)
                choice = choice * mask if mask is not None else choice
                if not self._monophonic[k]:
                    probs = choice
            if self._monophonic[k]:  # one pitch a step: the most likely, if it is likely enough
                sounds = probs.sum(dim=-1, keepdim=True).clamp(max=1) if self.config.voice_sounds == "sum" \
                    else probs.amax(dim=-1, keepdim=True)
                probs = sounds * (choice == choice.amax(dim=-1, keepdim=True))
            if options.mode == "threshold":
                chosen = probs >= options.threshold
            else:
                chosen = torch.bernoulli(probs, generator=generator) > 0
            if self._drum_slots[k] and self._drum_keys is not None:
                chosen = _never_silent(chosen, probs)
            bars.append(chosen)
        return torch.stack(bars, dim=1)

    def _harmony_prior(self, lead_bars: np.ndarray, options: SamplingOptions, device) -> torch.Tensor:
        """Logit offsets (N, slots, steps, 128) against the lead's bars (N, steps, 128): at each
        step, -HARMONY_PRIOR for every pitch a dissonant interval below a sounding lead pitch
        (:data:`DISSONANT_BELOW`, the bass :data:`DISSONANT_BELOW_BASS`), by pitch class: soft,
        like the key prior. The lead slot's own row is 0 (its bars are given)."""
        octaves = -(-N_PITCHES // 12)
        lead = np.zeros(np.shape(lead_bars)[:2] + (octaves * 12,), np.float32)
        lead[..., :N_PITCHES] = np.asarray(lead_bars) > 0
        classes = torch.as_tensor(lead.reshape(*lead.shape[:2], octaves, 12).max(axis=2), device=device)
        pitch_class = torch.arange(N_PITCHES, device=device) % 12

        def offsets(intervals) -> torch.Tensor:
            below = torch.zeros(12, 12, device=device)  # [lead class, pitch class]: dissonant
            for step in intervals:
                below[torch.arange(12), (torch.arange(12) - step) % 12] = 1
            return -HARMONY_PRIOR * ((classes @ below) > 0).float()[..., pitch_class]

        upper, bass = offsets(DISSONANT_BELOW), offsets(DISSONANT_BELOW_BASS)
        key = self._key_prior(options, device)
        if key is not None:  # off the key, but for what the lead plays in the bar (a minor key's leading note)
            heard = classes.amax(dim=1, keepdim=True)[..., pitch_class]  # (N, 1, 128)
            off_key = key * (HARMONY_PRIOR / KEY_PRIOR) * (1 - heard)
            upper, bass = upper + off_key, bass + off_key
        rows = [torch.zeros_like(upper) if k == self.lead else bass if self._bass[k] else upper
                for k in range(len(self.slot_names))]
        return torch.stack(rows, dim=1)

    def anchor(self, options: SamplingOptions) -> float:
        """The pull toward the primer bar's latents: ``options.anchor``, else the model's own
        default (``info.sampling_defaults``: the drum model's 0.25, whose free walk drifted from
        a drawn beat), else 0 (paper 004's walk; the chorale and pop models)."""
        if options.anchor is not None:
            return float(options.anchor)
        return float(dict(self.info.get("sampling_defaults") or ()).get("anchor", 0.0))

    def _noisy(self, z: torch.Tensor, options: SamplingOptions, generator) -> torch.Tensor:
        if options.noise <= 0:
            return z
        return z + options.noise * torch.randn(z.shape, generator=generator, device=z.device)

    @torch.no_grad()
    def generate(self, primer: np.ndarray, n_steps: int, n_variations: int, options: SamplingOptions,
                 generator: torch.Generator):
        """Paper 004's loop: encode the primer bar of every slot (or sample the prior for the first
        bar), then per bar step the lead with MelodyNN and every other slot with its
        ConditionalNN, move each prediction the share :meth:`anchor` of the way back to the
        primer bar's latent (0: the paper's walk), add Gaussian noise of size ``options.noise``
        to each latent, decode and threshold (``mode="threshold"``, paper: 0.3) or sample each cell. Slots silent in the
        primer bar keep its silence's latent, or draw one from the prior when
        ``options.missing_slots == "prior"``; following the primer (``options.follow_primer``)
        with "silence", they stay silent: a melody goes on as a melody, not as four voices
        (a part under it is what "prior" asks for). Yields progress, then
        (V, T0 + n_steps, slots, steps, 128) uint8."""
        device = next(self.parameters()).device
        S, K = len(self.slot_names), self.config.latent
        mask = allowed_pitch_mask(options, (0, N_PITCHES), device)
        primer = np.asarray(primer, dtype=np.uint8)
        latents = []
        silent = None
        if len(primer):
            seed = torch.as_tensor(primer[-1:], dtype=torch.float32, device=device)
            z = self.latents(seed).expand(n_variations, S, K).clone()
            silent = torch.as_tensor(~primer[-1].reshape(S, -1).any(axis=1), device=device)
            if options.missing_slots == "prior" and bool(silent.any()):
                drawn = torch.randn((n_variations, S, K), generator=generator, device=device)
                z[:, silent] = drawn[:, silent]
        else:  # from scratch: the first bar comes from the prior
            z = torch.randn((n_variations, S, K), generator=generator, device=device)
            latents.append(z)
        lead, home = self.lead, z  # the primer bar's latents, which ``anchor`` pulls toward
        pull = self.anchor(options) if len(primer) else 0.0  # (from scratch it lowered groove consistency)
        # The latents never depend on decoded bars, so all are stepped first and every slot's
        # bars are decoded in a few large batches (2.4x faster than bar by bar).
        while len(latents) < n_steps:
            nxt = torch.empty_like(z)
            nxt[:, lead] = self._noisy(_toward(self.melody(z[:, lead]), home[:, lead], pull), options, generator)
            for k, net in enumerate(self.conditional):
                if k != lead:
                    nxt[:, k] = self._noisy(_toward(net(z[:, k], nxt[:, lead]), home[:, k], pull), options, generator)
            z = nxt
            latents.append(z)
        new = yield from self._decode_bars(torch.stack(latents, dim=1), options, mask, generator)
        if silent is not None and options.follow_primer and options.missing_slots == "silence":
            new[:, :, silent.cpu().numpy()] = 0
        old = np.broadcast_to(primer, (n_variations,) + primer.shape)
        yield np.concatenate([old, new], axis=1)

    def _decode_bars(self, z: torch.Tensor, options: SamplingOptions, mask, generator,
                     offsets: torch.Tensor | None = None, skip: int | None = None):
        """Latents (V, N, slots, K) -> bars (V, N, slots, steps, 128) uint8, decoded in chunks
        of bars; yields progress after each chunk and returns the bars. ``offsets`` (N, slots,
        steps, 128): logits added in every variation's bar, ``skip``: a slot left silent (see
        :meth:`_bars_from`)."""
        V, N = z.shape[:2]
        chunks = []
        for start in range(0, N, DECODE_CHUNK_BARS):
            part = z[:, start:start + DECODE_CHUNK_BARS]
            n = part.shape[1]
            added = None if offsets is None else offsets[start:start + n].repeat(V, 1, 1, 1)
            bars = self._bars_from(part.reshape(V * n, *part.shape[2:]), options, mask, generator, added, skip)
            chunks.append(bars.reshape(V, n, *bars.shape[1:]))
            yield min(start + n, N) / N
        return torch.cat(chunks, dim=1).to("cpu").numpy().astype(np.uint8)

    @torch.no_grad()
    def interpolate(self, before: np.ndarray, after: np.ndarray, n_steps: int, n_variations: int,
                    options: SamplingOptions, generator: torch.Generator):
        """MusicVAE's interpolation: the ``n_steps`` bars between two bars decode evenly spaced
        points on the line between their latents, per slot.

        ``before``, ``after``: (1, slots, steps, 128) bars (from the adapter's ``encode_primer``). Bar i
        of the result decodes (1 - a) z_before + a z_after with a = i / (n_steps + 1), plus
        noise of size ``options.noise``. Yields progress, then (V, n_steps, slots, steps, 128)
        uint8."""
        if len(before) == 0 or len(after) == 0:
            raise ComposerError("interpolation needs notes in the bar before the gap and in the bar after it")
        device = next(self.parameters()).device
        mask = allowed_pitch_mask(options, (0, N_PITCHES), device)
        pair = torch.as_tensor(np.concatenate([before[-1:], after[-1:]]), dtype=torch.float32, device=device)
        z = self.latents(pair)  # (2, slots, K)
        a = torch.arange(1, n_steps + 1, device=device, dtype=torch.float32)[:, None, None] / (n_steps + 1)
        line = (1 - a) * z[0] + a * z[1]  # (n_steps, slots, K)
        points = self._noisy(line.expand(n_variations, *line.shape).clone(), options, generator)
        yield (yield from self._decode_bars(points, options, mask, generator))

    @torch.no_grad()
    def accompany(self, lead_bars: np.ndarray, first_bars: np.ndarray | None, n_variations: int,
                  options: SamplingOptions, generator: torch.Generator):
        """Paper 004's accompaniment: the lead's bars are given, the other slots written under them.

        The lead slot's VAE encodes ``lead_bars`` (N, steps, 128); those latent means take the
        place of MelodyNN's predictions, and each other slot's ConditionalNN maps (its latent
        of the bar before, the lead's latent of this bar) to its latent of this bar, plus noise
        of size ``options.noise``; the bars are decoded as :meth:`generate` decodes them
        (temperature, threshold or Bernoulli, the key prior, monophonic slots), and, following
        the primer, with the harmony prior (:meth:`_harmony_prior`) against the lead.

        ``first_bars`` (slots, steps, 128): the bar before the first one (from the adapter's
        ``encode_accompaniment``), whose latents start the chain; None, or a slot silent in it,
        starts from a silent bar's latent, or from a draw of the prior when
        ``options.missing_slots == "prior"``. Unlike a continuation, a slot that starts silent
        is not kept silent: writing it is the point. Yields progress, then
        (V, N, slots, steps, 128) uint8 whose lead slot is ``lead_bars`` as given."""
        lead_bars = np.asarray(lead_bars, dtype=np.uint8)
        if lead_bars.ndim != 3 or not len(lead_bars):
            raise ComposerError("accompaniment needs at least one bar of the lead")
        device = next(self.parameters()).device
        S, K, lead = len(self.slot_names), self.config.latent, self.lead
        mask = allowed_pitch_mask(options, (0, N_PITCHES), device)
        before = np.zeros((S,) + lead_bars.shape[1:], np.uint8) if first_bars is None else np.asarray(first_bars)
        z = self.latents(torch.as_tensor(before[None], dtype=torch.float32, device=device))
        z = z.expand(n_variations, S, K).clone()
        silent = torch.as_tensor(~before.reshape(S, -1).any(axis=1), device=device)
        if options.missing_slots == "prior" and bool(silent.any()):
            drawn = torch.randn((n_variations, S, K), generator=generator, device=device)
            z[:, silent] = drawn[:, silent]
        lead_z = self.vaes[lead].encode(torch.as_tensor(lead_bars, dtype=torch.float32, device=device))[0]
        latents = []
        for t in range(len(lead_bars)):
            nxt = torch.empty_like(z)
            nxt[:, lead] = lead_z[t]
            for k, net in enumerate(self.conditional):
                if k != lead:
                    nxt[:, k] = self._noisy(net(z[:, k], nxt[:, lead]), options, generator)
            z = nxt
            latents.append(z)
        offsets = self._harmony_prior(lead_bars, options, device) if options.follow_primer else None
        bars = yield from self._decode_bars(torch.stack(latents, dim=1), options, mask, generator, offsets, lead)
        bars[:, :, lead] = lead_bars  # the lead as it was given, not as its VAE redraws it
        yield bars
