"""Store bundled checkpoints' float weights in half precision (or back in float32).

    python checkpoints/half_precision.py MODEL.safetensors ...            # float16
    python checkpoints/half_precision.py --float32 MODEL.safetensors ...  # float32 again

The header records the stored type (``weights_dtype``); loading gives float32 back either way
(composer.models.checkpoint), so the models run as before. Converting back to float32 does not
restore the bits float16 rounded away: retrain (the commands in README.md) for those.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from composer.models.checkpoint import HALF, store_weights_as

    dtype = "float32" if "--float32" in argv else HALF
    files = [a for a in argv if a != "--float32"]
    if not files:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    for name in files:
        before, after = store_weights_as(name, dtype)
        print(f"{name}: {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB ({dtype})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
