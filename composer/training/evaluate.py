"""Frame-level negative log-likelihood on the polyphonic-music benchmarks.

As in the benchmark code of Bai, Kolter and Koltun (2018): every frame after the first is
predicted from the frames before it; its loss is the binary cross-entropy summed over the 88
piano pitches (MIDI 21-108), averaged over all predicted frames of all pieces, in nats. Pitches
outside the model's range count with a fixed probability of :data:`OUTSIDE_PROBABILITY`, so a
model cropped to its data is charged for notes it cannot play.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from composer.models.base import FamilyModel

PIANO = (21, 109)
OUTSIDE_PROBABILITY = 1e-4


@torch.no_grad()
def frame_nll(model: FamilyModel, pieces: list[np.ndarray], pitch_span=PIANO) -> dict[str, float]:
    """NLL per frame (nats) and paper 002's note score over ``pieces`` of shape (T, 128).

    The note score is the slides' "accuracy metric", (TP - FP) / N over the N keys of
    ``pitch_span`` (see composer.models.pianoroll_common.frame_metrics): -1 to 1, 0 for silence.

    Returns
    -------
    dict with ``nll_per_frame``, ``note_score`` and ``frames`` (the number of predicted frames).
    """
    model.eval()
    lo, hi = model.info["pitch_range"]
    span_lo, span_hi = pitch_span
    inside = np.zeros(128, dtype=bool)
    inside[lo:hi] = True
    counted = np.zeros(128, dtype=bool)
    counted[span_lo:span_hi] = True
    log_in, log_out = math.log(OUTSIDE_PROBABILITY), math.log1p(-OUTSIDE_PROBABILITY)
    device = next(model.parameters()).device
    total_nll = total_score = 0.0
    frames = 0
    for piece in pieces:
        if len(piece) < 2:
            continue
        roll = torch.as_tensor(piece[:, lo:hi], dtype=torch.float32, device=device)[None]
        logits, target = model.frame_predictions(roll)
        keep = torch.as_tensor(counted[lo:hi], device=device)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        nll = bce[:, keep].sum()
        predicted = (logits > 0).float()
        tp_minus_fp = (target * predicted - (1 - target) * predicted)[:, keep].sum()
        # Frames the model predicted, and the notes of each outside its range (probability fixed).
        n = target.shape[0]
        first = piece.shape[0] - n
        outside_cols = counted & ~inside
        on_outside = int(piece[first:, outside_cols].sum())
        off_outside = n * int(outside_cols.sum()) - on_outside
        nll += -(on_outside * log_in + off_outside * log_out)
        total_nll += float(nll)
        total_score += float(tp_minus_fp) / (span_hi - span_lo)
        frames += n
    if frames == 0:
        return {"nll_per_frame": float("nan"), "note_score": float("nan"), "frames": 0}
    return {"nll_per_frame": total_nll / frames, "note_score": total_score / frames, "frames": frames}


@torch.no_grad()
def token_metrics(model: FamilyModel, pieces: list[np.ndarray]) -> dict[str, float]:
    """Next-token accuracy and perplexity of a token family over whole pieces.

    Each piece (the codec's array) becomes ids through the model's vocabulary (unknown tokens
    become their nearest known ones, as in training); every token after the first is predicted
    from all tokens before it in its piece. Accuracy counts the most likely token; perplexity is
    exp of the mean cross-entropy (nats) over all predicted tokens of all pieces.

    Returns
    -------
    dict with ``accuracy``, ``perplexity``, ``nll_per_token`` and ``tokens`` (predicted tokens).
    """
    model.eval()
    total_nll = 0.0
    correct = 0
    count = 0
    for piece in pieces:
        ids = model.adapter.piece_ids(piece)
        if len(ids) < 2:
            continue
        logits, target = model.sequence_predictions(ids)
        total_nll += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(-1) == target).sum())
        count += len(target)
    if count == 0:
        return {"accuracy": float("nan"), "perplexity": float("nan"), "nll_per_token": float("nan"), "tokens": 0}
    nll = total_nll / count
    return {"accuracy": correct / count, "perplexity": math.exp(nll), "nll_per_token": nll, "tokens": count}
