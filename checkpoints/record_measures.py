"""Record the training data's objective measures in a checkpoint trained before Composer did.

    python checkpoints/record_measures.py MODEL.safetensors DATA

Training now records them itself (``data.music_metrics`` in the header: see
composer.representations.music_metrics), so a model retrained with the command in README.md
gets the same figures. This adds them to an older file from the data it was trained on (the
same codec and split), and leaves its weights untouched.
"""

from __future__ import annotations

import sys


def main() -> int:
    from composer.data.dataset import load_source
    from composer.models.checkpoint import load_state_dict, read_metadata, save_checkpoint
    from composer.representations.codecs import codec_from_params

    model, source = sys.argv[1], sys.argv[2]
    meta = read_metadata(model)
    data = load_source(source, codec_from_params(meta["data"]["codec"]),
                       valid_fraction=meta["config"].get("valid_fraction", 0.1), test_fraction=0.1)
    if data.summary["split_pieces"] != meta["data"].get("split_pieces", data.summary["split_pieces"]):
        raise SystemExit(f"{model}: the data's split differs from the one it was trained on")
    meta["data"]["music_metrics"] = data.summary["music_metrics"]
    for key in ("format", "format_version", "versions"):
        meta.pop(key, None)
    save_checkpoint(model, load_state_dict(model), meta)
    print(f"{model}: recorded the measures of {data.summary['split_pieces']['train']} training pieces")
    return 0


if __name__ == "__main__":
    sys.exit(main())
