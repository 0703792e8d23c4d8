"""Every registered family with its tiny preset: loss, learning, checkpoints, seeded generation."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from composer.models.base import SamplingOptions, build_model, load_model, preset_config, save_model
from composer.models.checkpoint import CheckpointError, read_metadata, save_checkpoint
from composer.models.registry import FAMILIES, UnknownFamily, family_spec, load_family

PIANO_ROLL_FAMILIES = ["pianoroll_lstm", "pianoroll_seq2seq", "bar_lstm"]
INFO = {"codec": {"kind": "pianoroll", "steps_per_beat": 4, "fps": None, "include_drums": False},
        "pitch_range": [48, 72]}


def make_pieces(n=6, length=96, seed=0):
    """Small (T, 128) rolls: arpeggios in C major, so there is something to learn."""
    rng = np.random.default_rng(seed)
    pieces = []
    for _ in range(n):
        roll = np.zeros((length, 128), np.uint8)
        base = int(rng.choice([48, 50, 52, 53, 55]))
        for t in range(length):
            roll[t, base + (0, 4, 7, 12)[(t // 2) % 4]] = 1
        pieces.append(roll)
    return pieces


def tiny(family, head=None):
    """The family's tiny model; ``head`` "nade" for the piano-roll families' NADE output head."""
    torch.manual_seed(0)
    return build_model(family, preset_config(family, "tiny", head=head), INFO)


#: The piano-roll families with each output head (composer.models.output_heads).
FAMILY_HEADS = [(family, head) for family in PIANO_ROLL_FAMILIES for head in ("independent", "nade")]


@pytest.mark.parametrize("family", PIANO_ROLL_FAMILIES)
def test_every_family_is_registered_with_presets(family):
    spec = family_spec(family)
    module = load_family(family)
    assert set(spec.presets) == set(module.PRESETS)
    assert spec.default_preset in module.PRESETS


def test_unknown_family_is_a_clear_error():
    with pytest.raises(UnknownFamily, match="known families"):
        family_spec("no_such_family")


@pytest.mark.parametrize("family, head", FAMILY_HEADS)
def test_loss_is_finite_and_training_overfits_one_batch(family, head):
    model = tiny(family, head)
    dataset = model.make_dataset([p for p in make_pieces()], augment=False, training=False)
    batch = torch.stack([dataset[i] for i in range(min(8, len(dataset)))])
    loss, metrics = model.loss(batch)
    assert torch.isfinite(loss) and all(np.isfinite(v) for v in metrics.values())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    first = float(loss.detach())
    for _ in range(150):
        optimizer.zero_grad()
        loss, _ = model.loss(batch)
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < first * 0.5, (first, float(loss.detach()))


@pytest.mark.parametrize("family, head", FAMILY_HEADS)
def test_save_load_gives_identical_outputs(family, head, tmp_path):
    model = tiny(family, head).eval()
    path = tmp_path / "m.safetensors"
    save_model(path, model, {"name": "test", "preset": "tiny"})
    loaded, meta = load_model(path)
    assert meta["family"] == family and meta["info"] == INFO
    batch = torch.stack([model.make_dataset(make_pieces(2), False, False)[0]] * 2)
    with torch.no_grad():
        assert torch.equal(model.loss(batch)[0], loaded.loss(batch)[0])


@pytest.mark.parametrize("family, head", FAMILY_HEADS)
def test_same_seed_same_generation_and_variations_differ(family, head):
    model = tiny(family, head).eval()
    primer = make_pieces(1, 32)[0][:, 48:72]
    options = SamplingOptions(temperature=1.5)

    def run(seed):
        items = list(model.generate(primer, 32, 3, options, torch.Generator().manual_seed(seed)))
        assert all(isinstance(x, float) for x in items[:-1])
        return items[-1]

    a, b = run(1), run(1)
    assert a.shape == (3, 32 + 32, 24) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.array_equal(a[:, :32], np.broadcast_to(primer, (3, 32, 24)))
    assert not np.array_equal(a[0, 32:], a[1, 32:]) or not np.array_equal(a[0, 32:], a[2, 32:])


@pytest.mark.parametrize("head", ["independent", "nade"])
def test_pitch_constraints_are_respected(head):
    model = tiny("pianoroll_lstm", head).eval()
    options = SamplingOptions(temperature=3.0, pitch_classes=frozenset({0, 4, 7}), pitch_range=(55, 70))
    result = list(model.generate(np.zeros((0, 24), np.uint8), 64, 2, options, torch.Generator().manual_seed(0)))[-1]
    pitches = np.nonzero(result.any(axis=(0, 1)))[0] + 48
    assert len(pitches) and all(p % 12 in (0, 4, 7) and 55 <= p < 70 for p in pitches)


# ----------------------------------------------------------------------------- checkpoints

def test_metadata_reads_without_torch(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, tiny("pianoroll_lstm"), {"name": "x"})
    code = ("import sys; from composer.models.checkpoint import read_metadata; "
            "m = read_metadata(sys.argv[1]); assert m['family'] == 'pianoroll_lstm'; "
            "sys.exit('torch imported' if 'torch' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_checkpoint_of_another_family_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, tiny("bar_lstm"), {})
    with pytest.raises(CheckpointError, match="'bar_lstm' model, not 'pianoroll_lstm'"):
        load_model(path, expected_family="pianoroll_lstm")


def test_truncated_and_corrupt_checkpoints(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, tiny("pianoroll_lstm"), {})
    data = path.read_bytes()
    for cut, message in ((4, "truncated"), (100, "truncated"), (len(data) - 10, "truncated")):
        broken = tmp_path / f"cut{cut}.safetensors"
        broken.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=message):
            load_model(broken)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(CheckpointError, match="not a Composer checkpoint"):
        read_metadata(garbage)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_posing_as_a_checkpoint_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    for name, writer in (("p.safetensors", lambda f: pickle.dump(_Exploit(str(marker)), f)),
                         ("t.safetensors", lambda f: torch.save({"x": _Exploit(str(marker))}, f))):
        path = tmp_path / name
        with open(path, "wb") as handle:
            writer(handle)
        with pytest.raises(CheckpointError, match="never loads pickles"):
            load_model(path)
    assert not marker.exists()


def test_newer_format_and_unknown_family_and_foreign_config(tmp_path):
    model = tiny("pianoroll_lstm")
    newer = tmp_path / "newer.safetensors"
    save_checkpoint(newer, model.state_dict(), {"family": "pianoroll_lstm", "format_version": 99})
    with pytest.raises(CheckpointError, match="newer"):
        load_model(newer)
    unknown = tmp_path / "unknown.safetensors"
    save_checkpoint(unknown, model.state_dict(), {"family": "future_family", "config": {}, "info": {}})
    with pytest.raises(UnknownFamily):
        load_model(unknown)
    foreign = tmp_path / "foreign.safetensors"
    save_checkpoint(foreign, model.state_dict(), {"family": "pianoroll_lstm", "config": {"warp": 9}, "info": INFO})
    with pytest.raises(CheckpointError, match="does not know"):
        load_model(foreign)


def test_weights_that_do_not_fit_are_a_clear_error(tmp_path):
    small = tiny("pianoroll_lstm")
    path = tmp_path / "m.safetensors"
    save_model(path, small, {})
    meta_info = {**INFO, "pitch_range": [40, 80]}
    save_checkpoint(path, small.state_dict(), {"family": "pianoroll_lstm",
                                               "config": read_metadata(path)["config"], "info": meta_info})
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(path)


def test_registry_lists_every_family_without_torch():
    code = ("import sys; from composer.models.registry import FAMILIES; "
            "assert {'pianoroll_lstm', 'pianoroll_seq2seq', 'bar_lstm'} <= set(FAMILIES); "
            "sys.exit('torch imported' if 'torch' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(FAMILIES) >= 3
