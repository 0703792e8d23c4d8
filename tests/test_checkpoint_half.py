"""Half-precision checkpoints (issue 16 part 5): float weights stored as float16, loaded as float32."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from composer.models.base import build_model, load_model, preset_config, save_model
from composer.models.checkpoint import (
    HALF,
    WEIGHTS_DTYPE,
    CheckpointError,
    load_state_dict,
    read_metadata,
    save_checkpoint,
    store_weights_as,
)

INFO = {"codec": {"kind": "pianoroll", "steps_per_beat": 4, "fps": None, "include_drums": False},
        "pitch_range": [48, 72]}
ROOT = Path(__file__).resolve().parents[1]


def tiny():
    torch.manual_seed(0)
    return build_model("pianoroll_lstm", preset_config("pianoroll_lstm", "tiny"), INFO)


def stored_dtypes(path: Path) -> set[str]:
    with open(path, "rb") as handle:
        size = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(size))
    return {t["dtype"] for k, t in header.items() if k != "__metadata__"}


def test_half_file_is_smaller_says_so_and_loads_as_float32(tmp_path):
    model = tiny()
    full, half = tmp_path / "full.safetensors", tmp_path / "half.safetensors"
    save_model(full, model, {})
    save_model(half, model, {WEIGHTS_DTYPE: HALF})
    assert stored_dtypes(full) == {"F32"} and stored_dtypes(half) == {"F16"}
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert read_metadata(half)[WEIGHTS_DTYPE] == HALF and WEIGHTS_DTYPE not in read_metadata(full)
    state = load_state_dict(half)
    for name, tensor in model.state_dict().items():
        assert state[name].dtype == torch.float32
        assert torch.equal(state[name], tensor.half().float())
    loaded, _ = load_model(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    # The old float32 file loads exactly as written.
    assert all(torch.equal(load_state_dict(full)[k], v) for k, v in model.state_dict().items())


def test_store_weights_as_converts_keeps_metadata_and_a_resave_stays_half(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, tiny(), {"name": "tiny one", "metrics": {"x": 1.0}})
    before, after = store_weights_as(path, HALF)
    assert after < 0.6 * before
    meta = read_metadata(path)
    assert meta["name"] == "tiny one" and meta["metrics"] == {"x": 1.0} and meta[WEIGHTS_DTYPE] == HALF
    # Rewriting the header (as training does after its test metrics) keeps the stored type.
    save_checkpoint(path, load_state_dict(path), meta)
    assert stored_dtypes(path) == {"F16"}
    store_weights_as(path, "float32")
    assert stored_dtypes(path) == {"F32"} and WEIGHTS_DTYPE not in read_metadata(path)


def test_values_beyond_float16_stay_float32_and_other_dtypes_are_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    state = {"big": torch.tensor([1.0, 1e6]), "small": torch.tensor([0.5, 2.0]),
             "count": torch.tensor(3, dtype=torch.int64)}
    save_checkpoint(path, state, {"family": "x", WEIGHTS_DTYPE: HALF})
    loaded = load_state_dict(path)
    assert torch.equal(loaded["big"], state["big"]) and loaded["small"].dtype == torch.float32
    assert loaded["count"].dtype == torch.int64
    assert stored_dtypes(path) == {"F32", "F16", "I64"}
    with pytest.raises(CheckpointError, match="float16 or float32"):
        save_checkpoint(path, state, {"family": "x", WEIGHTS_DTYPE: "int8"})


def test_the_conversion_script(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, tiny(), {})
    done = subprocess.run([sys.executable, str(ROOT / "checkpoints" / "half_precision.py"), str(path)],
                          capture_output=True, text=True, check=True)
    assert "float16" in done.stdout and stored_dtypes(path) == {"F16"}


def test_eval_refuses_a_family_it_cannot_measure(capsys):
    """composer eval on the multitrack VAE (as the half-precision checks ran it) says it does not
    apply, instead of stopping with a KeyError."""
    from composer.cli import main

    assert main(["eval", "--model", "multitrack_vae-jsfakes", "--data", "nowhere"]) != 0
    assert "does not apply to multitrack_vae" in capsys.readouterr().err
