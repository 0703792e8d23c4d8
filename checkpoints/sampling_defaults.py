"""Set a bundled checkpoint's own sampling defaults (``info.sampling_defaults`` in its header),
leaving its weights and the rest of its header as they are.

    python checkpoints/sampling_defaults.py MODEL.safetensors NAME=VALUE ...

A model trained now gets its defaults from training (a drum model: noise 0.1, anchor 0.25; see
composer.models.multitrack_adapter.drum_timing_info), so the commands in README.md reproduce
them; this gives a file trained before a default existed the one a retrain would write. The app,
``composer generate`` and the benchmarks use these in place of the family's defaults.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    import torch

    from composer.models.checkpoint import load_state_dict, read_metadata, save_checkpoint

    if len(argv) < 2 or not all("=" in a for a in argv[1:]):
        print(__doc__.strip().splitlines()[3].strip())
        return 2
    path = argv[0]
    meta = read_metadata(path)
    weights = load_state_dict(path)
    defaults = dict(meta["info"].get("sampling_defaults") or ())
    for item in argv[1:]:
        name, _, value = item.partition("=")
        defaults[name.strip()] = float(value)
    meta["info"]["sampling_defaults"] = [[name, value] for name, value in defaults.items()]
    for key in ("format", "format_version", "versions"):  # written afresh
        meta.pop(key, None)
    save_checkpoint(path, weights, meta)
    again = load_state_dict(path)
    if weights.keys() != again.keys() or not all(torch.equal(weights[k], again[k]) for k in weights):
        raise SystemExit(f"{path}: the weights changed on rewriting")  # (never expected)
    print(f"{path}: sampling defaults {meta['info']['sampling_defaults']}; weights unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
