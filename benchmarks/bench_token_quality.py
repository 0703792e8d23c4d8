"""Do the bundled token models collapse into one note or chord repeated? (issue 5, part 4)

    python benchmarks/bench_token_quality.py [MODEL.safetensors ...]

For each token model (default: every bundled one), 500 tokens x 4 variations from nothing (a
start token), at temperature 1.0, 0.5 and 0.1 (nearly greedy), top-p 0.95: the share of distinct units (chords, or
pitches) and the longest run of one unit, with the repetition guard (as the app generates) and
without it (the guard's limit raised out of reach), next to the same figures for real pieces of
the model's training data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from composer.data.dataset import load_source
from composer.generation.generate import cpu_threads
from composer.models.base import SamplingOptions, load_model
from composer.models.token_adapter import TokenAdapter
from composer.models.library import BUNDLED
from composer.representations.metrics import token_check

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DATA_OF = {"js_fakes": DATASETS / "js_fakes", "nottingham": DATASETS / "nottingham"}
N_TOKENS, N_VARIATIONS = 500, 4


def figures(model, ids: np.ndarray) -> dict:
    return token_check(model.adapter.content_units(ids))


def summary(rows: list[dict]) -> str:
    share = np.mean([r["distinct_share"] for r in rows])
    run = max(r["longest_run"] for r in rows)
    return f"distinct share {share:5.3f}, longest run {run:3d}"


def real_data(model, meta: dict) -> str:
    source = next((path for key, path in DATA_OF.items() if key in str(meta.get("data", {}).get("source", ""))), None)
    if source is None or not source.exists():
        return "(training data not found)"
    data = load_source(source, model.adapter.default_codec(model.config), workers=1)
    rows = []
    for piece in data.split_pieces("valid")[:40]:
        ids = model.adapter.piece_ids(piece)
        if len(ids) >= 100:  # chorales are shorter than 500 tokens: take what there is
            rows.append(figures(model, ids[:N_TOKENS]))
    return summary(rows) if rows else "(no valid piece of 100 tokens or more)"


def main(paths: list[str]) -> None:
    paths = paths or [str(p) for p in sorted(BUNDLED.glob("*.safetensors"))]
    for path in paths:
        model, meta = load_model(path)
        if not isinstance(model.adapter, TokenAdapter):
            continue
        print(f"{Path(path).name} ({meta['family']}, {meta.get('preset')}), max_repeat {model.info.get('max_repeat')}")
        print(f"  real pieces (up to 500 tokens of each valid piece): {real_data(model, meta)}")
        for temperature in (1.0, 0.5, 0.1):
            for guard in (True, False):
                options = SamplingOptions(temperature=temperature, top_p=0.95,
                                          max_repeat=None if guard else 10**6)
                generator = torch.Generator().manual_seed(0)
                with cpu_threads(torch.device("cpu")), torch.inference_mode():
                    ids = list(model.generate(np.zeros(0, np.int64), N_TOKENS, N_VARIATIONS, options, generator))[-1]
                rows = [figures(model, row) for row in ids]
                print(f"  T={temperature:.1f} {'guard on ' if guard else 'guard off'}: {summary(rows)}")


if __name__ == "__main__":
    main(sys.argv[1:])
