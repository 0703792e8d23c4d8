"""The data layer: scanning folders, parallel encoding, skip reasons, splits, the cache, the
benchmark .mat loader, transposition and ``composer preprocess``."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import composer.data.cache as data_cache
import composer.data.dataset as dataset_module
from composer.core import ComposerError, Score, Track, make_notes
from composer.data import (
    DataError,
    EncodedSet,
    FolderError,
    NoMidiFilesError,
    NoUsableFilesError,
    encode_folder,
    find_midi_files,
    load_benchmark_mat,
    load_cache,
    load_source,
    split_of,
    transpose_roll,
    transposition_range,
)
from composer.training import preprocess_cli
from composer.io.midi import write_midi
from composer.representations.codecs import PianoRollCodec, SkipFile

CODEC = PianoRollCodec(steps_per_beat=4)
Q = 480


def tune(path: Path, pitches, *, program: int = 0, drum: bool = False) -> Path:
    """Write a one-track file of quarter notes with these pitches."""
    n = len(pitches)
    notes = make_notes(np.arange(n) * Q, np.arange(n) * Q + Q, pitches)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_midi(Score([Track("t", program, drum, notes)], ppq=Q), path)
    return path


def many_tunes(folder: Path, n: int, start: int = 0) -> list[Path]:
    return [tune(folder / f"tune{i:03d}.mid", [48 + i % 24, 50 + i % 24, 55 + i % 24][: 1 + i % 3])
            for i in range(start, start + n)]


def same_sets(a: EncodedSet, b: EncodedSet) -> None:
    assert a.names == b.names
    assert a.split == b.split
    assert a.codec == b.codec
    assert [tuple(x) for x in a.skipped] == [tuple(x) for x in b.skipped]
    assert a.summary == b.summary
    assert len(a.pieces) == len(b.pieces)
    for x, y in zip(a.pieces, b.pieces):
        assert x.dtype == y.dtype == np.uint8 and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------------- scanning


def test_find_midi_files_sorted_hidden_skipped(tmp_path):
    for rel in ["b.mid", "a.MID", "sub/c.midi", "sub/deeper/d.kar", "z.txt", ".hidden.mid",
                ".git/e.mid", "sub/._f.mid"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "folder.mid").mkdir()  # a folder with a MIDI name is not a file
    found = [p.relative_to(tmp_path).as_posix() for p in find_midi_files(tmp_path)]
    assert found == ["a.MID", "b.mid", "sub/c.midi", "sub/deeper/d.kar"]
    assert [p.name for p in find_midi_files(tmp_path, recursive=False)] == ["a.MID", "b.mid"]


def test_find_midi_files_errors(tmp_path):
    with pytest.raises(FolderError, match="folder not found"):
        find_midi_files(tmp_path / "missing")
    (tmp_path / "file.mid").write_bytes(b"x")
    with pytest.raises(FolderError, match="not a folder"):
        find_midi_files(tmp_path / "file.mid")
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no music")
    with pytest.raises(NoMidiFilesError, match=r"no MIDI files in .*empty \(searched recursively\)"):
        find_midi_files(empty)
    with pytest.raises(DataError):  # every data error is a DataError, a ComposerError
        encode_folder(empty, CODEC, cache_dir=tmp_path / "cache")


# --------------------------------------------------------------------------------- encoding


@pytest.fixture
def mixed_folder(tmp_path, fixtures) -> Path:
    """Good and bad files: three usable, five skipped for different reasons."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ["song.mid", "type0.mid", "tempo_too_fast.mid", "no_notes.mid", "not_midi.mid",
                 "truncated.mid", "type2.mid"]:
        shutil.copy(fixtures / name, folder / name)
    tune(folder / "kit" / "drums.mid", [36, 38, 42, 36], drum=True)
    return folder


def test_encode_folder_used_and_skipped(mixed_folder, tmp_path):
    calls = []
    enc = encode_folder(mixed_folder, CODEC, workers=1, cache_dir=tmp_path / "cache",
                        progress=lambda done, total: calls.append((done, total)))
    assert enc.names == ["song.mid", "tempo_too_fast.mid", "type0.mid"]
    skipped = dict(enc.skipped)
    assert list(skipped) == ["kit/drums.mid", "no_notes.mid", "not_midi.mid", "truncated.mid", "type2.mid"]
    assert skipped["kit/drums.mid"] == "only drum tracks"
    assert skipped["no_notes.mid"] == "no notes"
    assert skipped["not_midi.mid"] == "not a MIDI file (it does not start with a MIDI header)"
    assert skipped["truncated.mid"].startswith("the file is truncated")
    assert "type 2" in skipped["type2.mid"]
    assert enc.warnings == [("tempo_too_fast.mid", "clamped tempos outside 10-1000 BPM")]
    assert calls[0] == (0, 8) and calls[-1] == (8, 8)

    s = enc.summary
    assert (s["files_found"], s["files_used"], s["files_skipped"]) == (8, 3, 5)
    assert s["total_frames"] == sum(p.shape[0] for p in enc.pieces)
    assert s["total_notes"] == 35 + 1 + 3  # song (melody, bass, drums), tempo_too_fast, type0
    assert s["duration_seconds"] == pytest.approx(5.314284 + 0.06 + 1.333334, abs=1e-3)
    assert s["instruments"] == {"Acoustic Grand Piano": 3, "Drums": 1, "Electric Bass (finger)": 1,
                                "Violin": 1}
    cols = np.flatnonzero(np.logical_or.reduce([p.any(axis=0) for p in enc.pieces]))
    assert (s["pitch_min"], s["pitch_max"]) == (cols[0], cols[-1]) == (36, 79)
    assert enc.pitch_span() == (36, 80)
    for piece in enc.pieces:
        assert piece.dtype == np.uint8 and piece.shape[1] == 128 and piece.max() == 1

    # the pieces are exactly what the codec gives for each file
    from composer.io.midi import read_midi
    np.testing.assert_array_equal(enc.pieces[0], CODEC.encode(read_midi(mixed_folder / "song.mid")))

    text = enc.report()
    assert "3 used, 5 skipped" in text
    for name, reason in enc.skipped:
        assert f"{name}: {reason}" in text


@dataclass(frozen=True)
class ExplodingCodec:
    """A codec with a bug: it raises on 3-note scores (type0.mid)."""

    kind = "exploding"

    def params(self) -> dict:
        return {"kind": self.kind}

    def encode(self, score):
        if score.note_count == 3:
            raise ValueError("boom")
        if not score.note_count:
            raise SkipFile("no notes")
        return CODEC.encode(score)


def test_unexpected_errors_skip_the_file(mixed_folder, tmp_path):
    enc = encode_folder(mixed_folder, ExplodingCodec(), workers=1, cache_dir=tmp_path / "c")
    assert dict(enc.skipped)["type0.mid"] == "unexpected error: ValueError: boom"
    assert "type0.mid" not in enc.names


@dataclass(frozen=True)
class CrashingCodec:
    """A codec that kills its process on a violin (type0.mid), like a native reader crash."""

    kind = "crashing"

    def params(self) -> dict:
        return {"kind": self.kind}

    def encode(self, score):
        if any(t.program == 40 for t in score.tracks):
            os._exit(3)
        return CODEC.encode(score)


def test_a_crashing_worker_loses_only_its_file(mixed_folder, tmp_path):
    for p in many_tunes(tmp_path / "tunes", 8):
        shutil.copy(p, mixed_folder / p.name)
    enc = encode_folder(mixed_folder, CrashingCodec(), workers=2, use_cache=False, write_cache=False)
    assert dict(enc.skipped)["type0.mid"] == "unexpected error: the MIDI reader crashed on this file"
    assert len(enc.names) == 2 + 8 and len(enc.skipped) == 6


def test_no_usable_files_lists_reasons(tmp_path, fixtures):
    folder = tmp_path / "bad"
    folder.mkdir()
    shutil.copy(fixtures / "not_midi.mid", folder / "a.mid")
    shutil.copy(fixtures / "not_midi.mid", folder / "b.mid")
    shutil.copy(fixtures / "no_notes.mid", folder / "c.mid")
    with pytest.raises(NoUsableFilesError) as info:
        encode_folder(folder, CODEC, workers=1, cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert message.startswith(f"none of the 3 MIDI files in {folder.resolve()} could be used:")
    assert "2 files: not a MIDI file" in message
    assert "1 file: no notes" in message


def test_fractions_are_checked(tmp_path):
    many_tunes(tmp_path / "f", 2)
    with pytest.raises(DataError, match="together less than 1"):
        encode_folder(tmp_path / "f", CODEC, valid_fraction=0.5, test_fraction=0.5)


# --------------------------------------------------------------------------------- splits


def test_split_by_file_is_deterministic_and_stable(tmp_path):
    folder = tmp_path / "tunes"
    many_tunes(folder, 40)
    kw = dict(workers=1, use_cache=False, write_cache=False, valid_fraction=0.2, test_fraction=0.2)
    first = encode_folder(folder, CODEC, **kw)
    again = encode_folder(folder, CODEC, **kw)
    same_sets(first, again)
    assert first.split == [split_of(n, 0.2, 0.2) for n in first.names]
    assert set(first.split) == {"train", "valid", "test"}
    assert first.summary["split_pieces"] == dict(Counter(first.split))
    assert len(first.split_pieces("valid")) == first.split.count("valid")
    assert first.split_names("test") == [n for n, s in zip(first.names, first.split) if s == "test"]
    with pytest.raises(DataError, match="unknown split"):
        first.split_pieces("training")

    many_tunes(folder, 5, start=40)  # adding files leaves the others where they were
    grown = encode_folder(folder, CODEC, **kw)
    old = dict(zip(first.names, first.split))
    assert {n: s for n, s in zip(grown.names, grown.split) if n in old} == old
    assert len(grown.names) == 45


def test_split_of_thresholds():
    names = [f"piece{i}.mid" for i in range(2000)]
    counts = Counter(split_of(n, 0.1, 0.1) for n in names)
    assert 150 < counts["valid"] < 250 and 150 < counts["test"] < 250
    assert all(split_of(n, 0.0, 0.0) == "train" for n in names[:50])


# --------------------------------------------------------------------------------- parallel


def test_parallel_and_serial_give_identical_results(tmp_path, mixed_folder):
    for p in many_tunes(tmp_path / "tunes", 20):
        shutil.copy(p, mixed_folder / p.name)
    serial = encode_folder(mixed_folder, CODEC, workers=1, use_cache=False, write_cache=False)
    calls = []
    parallel = encode_folder(mixed_folder, CODEC, workers=2, use_cache=False, write_cache=False,
                             progress=lambda d, t: calls.append(d))
    same_sets(serial, parallel)
    assert serial.warnings == parallel.warnings
    assert len(calls) > 2 and calls == sorted(calls) and calls[-1] == 28


# --------------------------------------------------------------------------------- the cache


def test_second_run_loads_the_cache(mixed_folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache)
    assert not first.from_cache and Path(first.cache_path).is_file()
    assert Path(first.cache_path).parent == cache

    reads = []
    real_read = dataset_module.read_training_midi

    def counting_read(path):
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(dataset_module, "read_training_midi", counting_read)
    second = encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache)
    assert reads == []  # nothing was read again
    assert second.from_cache and second.cache_path == first.cache_path
    same_sets(first, second)
    assert second.warnings == first.warnings and second.source == first.source

    # other settings are another cache, and use_cache=False rebuilds: the files are read
    encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache, valid_fraction=0.3)
    assert len(reads) == 8
    encode_folder(mixed_folder, PianoRollCodec(fps=16), workers=1, cache_dir=cache)
    assert len(reads) == 16
    rebuilt = encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache, use_cache=False)
    assert len(reads) == 24 and not rebuilt.from_cache
    same_sets(first, rebuilt)


def test_corrupt_cache_is_rebuilt(mixed_folder, tmp_path):
    cache = tmp_path / "cache"
    first = encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache)
    path = Path(first.cache_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)  # damage the middle of the arrays
    path.write_bytes(bytes(data))
    rebuilt = encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache)
    assert not rebuilt.from_cache
    same_sets(first, rebuilt)
    path.write_bytes(b"not a zip file at all")
    assert not encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache).from_cache
    assert encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache).from_cache


def test_changed_file_invalidates_the_cache(mixed_folder, tmp_path):
    cache = tmp_path / "cache"
    first = encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache)
    song = mixed_folder / "song.mid"
    st = song.stat()
    os.utime(song, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    second = encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache)
    assert not second.from_cache and second.cache_path != first.cache_path
    assert [p.name for p in cache.glob("*.npz")] == [Path(second.cache_path).name]  # old one pruned
    assert encode_folder(mixed_folder, CODEC, workers=1, cache_dir=cache).from_cache


def test_unwritable_cache_is_a_warning(mixed_folder, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="could not write the data cache"):
        enc = encode_folder(mixed_folder, CODEC, workers=1, cache_dir=blocker / "cache")
    assert enc.cache_path is None and len(enc.names) == 3


@pytest.mark.parametrize("tail", [(128,), (13,), (4, 5)])
def test_packbits_round_trip_is_exact(tmp_path, tail):
    rng = np.random.default_rng(0)
    pieces = [(rng.random((t,) + tail) < 0.3).astype(np.uint8) for t in (0, 1, 7, 33)]
    enc = EncodedSet(pieces, ["a", "b", "c", "d"], ["train", "valid", "test", "train"],
                     {"kind": "test"}, [("e", "no notes")], {"files_found": 5}, "src")
    arrays = data_cache.cache_arrays(enc)
    assert arrays["data"].shape == (41, -(-int(np.prod(tail)) // 8))  # 8 columns per byte
    path = tmp_path / "set.npz"
    data_cache.save_cache(enc, path)
    back = load_cache(path)
    assert back.from_cache and back.skipped == [("e", "no notes")]
    same_sets(enc, back)


def test_non_binary_pieces_round_trip(tmp_path):
    pieces = [np.arange(12, dtype=np.uint8).reshape(4, 3), np.full((2, 3), 200, np.uint8)]
    enc = EncodedSet(pieces, ["a", "b"], ["train", "test"], {"kind": "v"}, [], {}, "src")
    data_cache.save_cache(enc, tmp_path / "v.npz")
    same_sets(enc, load_source(tmp_path / "v.npz"))


def test_load_cache_rejects_other_npz(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DataError, match="not a Composer data cache"):
        load_cache(tmp_path / "other.npz")
    with pytest.raises(DataError, match="file not found"):
        load_cache(tmp_path / "missing.npz")


# --------------------------------------------------------------------------------- sources


def test_load_source_dispatch(mixed_folder, tmp_path):
    folder_set = load_source(mixed_folder, CODEC, workers=1, cache_dir=tmp_path / "c")
    assert folder_set.names == ["song.mid", "tempo_too_fast.mid", "type0.mid"]
    assert load_source(folder_set.cache_path).from_cache

    single = load_source(mixed_folder / "type0.mid", CODEC, valid_fraction=0.5, workers=2)
    assert single.names == ["type0.mid"] and single.split == ["train"]
    np.testing.assert_array_equal(single.pieces[0], folder_set.pieces[2])
    assert single.summary["files_used"] == 1

    with pytest.raises(DataError, match="only drum tracks"):
        load_source(mixed_folder / "kit" / "drums.mid", CODEC)
    with pytest.raises(DataError, match="no such file or folder"):
        load_source(tmp_path / "nothing", CODEC)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="not a data source"):
        load_source(tmp_path / "notes.txt", CODEC)


def test_load_benchmark_mat_jsb(datasets):
    pytest.importorskip("scipy")
    enc = load_benchmark_mat(datasets / "pianoroll_benchmarks" / "tcn_mdata" / "JSB_Chorales.mat")
    assert [len(enc.split_pieces(s)) for s in ("train", "valid", "test")] == [229, 76, 77]
    assert sum(p.shape[0] for p in enc.split_pieces("train")) == 13807
    assert enc.summary["split_frames"] == {"train": 13807, "valid": 4602, "test": 4725}
    assert enc.names[0] == "JSB_Chorales/train/0" and enc.names[229] == "JSB_Chorales/valid/0"
    assert enc.codec == {"kind": "pianoroll", "steps_per_beat": 1, "fps": None, "include_drums": False}
    piece = enc.pieces[0]
    assert piece.dtype == np.uint8 and piece.shape[1] == 128
    assert not piece[:, :21].any() and not piece[:, 109:].any()
    lo, hi = enc.pitch_span()
    assert 21 <= lo < hi <= 109
    assert (enc.summary["pitch_min"], enc.summary["pitch_max"] + 1) == (lo, hi)
    # about 3.9 notes sound per step in JSB
    assert 3.5 < sum(int(p.sum()) for p in enc.pieces) / enc.summary["total_frames"] < 4.2
    mat = datasets / "pianoroll_benchmarks" / "tcn_mdata" / "JSB_Chorales.mat"
    assert load_source(mat, steps_per_beat=4).codec["steps_per_beat"] == 4
    # a training run passes the folder keywords and its codec whatever the source: ignored here
    again = load_source(mat, CODEC, valid_fraction=0.3, test_fraction=0.1, workers=2)
    assert again.split == enc.split and again.codec == enc.codec


def test_load_benchmark_mat_errors(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    with pytest.raises(DataError, match="file not found"):
        load_benchmark_mat(tmp_path / "missing.mat")
    (tmp_path / "x.npy").write_bytes(b"x")
    with pytest.raises(DataError, match="not a .mat file"):
        load_benchmark_mat(tmp_path / "x.npy")
    scipy_io.savemat(tmp_path / "other.mat", {"traindata": np.zeros((2, 88))})
    with pytest.raises(DataError, match="validdata, testdata missing"):
        load_benchmark_mat(tmp_path / "other.mat")
    (tmp_path / "junk.mat").write_bytes(b"junk" * 100)
    with pytest.raises(DataError, match="not a readable MATLAB file"):
        load_benchmark_mat(tmp_path / "junk.mat")


def test_load_benchmark_mat_layout(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    rolls = np.empty((1, 1), dtype=object)
    roll = np.zeros((3, 88), np.uint8)
    roll[0, 0] = roll[1, 87] = roll[2, 39] = 1
    rolls[0, 0] = roll
    scipy_io.savemat(tmp_path / "Nottingham.mat", {"traindata": rolls, "validdata": rolls,
                                                   "testdata": rolls})
    enc = load_benchmark_mat(tmp_path / "Nottingham.mat")
    assert enc.split == ["train", "valid", "test"]
    assert enc.codec["steps_per_beat"] == 2  # Nottingham: eighth notes
    expected = np.zeros((3, 128), np.uint8)
    expected[0, 21] = expected[1, 108] = expected[2, 60] = 1
    np.testing.assert_array_equal(enc.pieces[0], expected)
    assert enc.summary["total_notes"] == 9 and enc.pitch_span() == (21, 109)


# --------------------------------------------------------------------------------- augmentation


def test_transpose_roll_exact():
    roll = np.zeros((2, 6), np.uint8)
    roll[0, 0] = roll[0, 4] = roll[1, 5] = 1
    up = np.zeros_like(roll)
    up[0, 2] = 1
    np.testing.assert_array_equal(transpose_roll(roll, 2), up)  # 4 and 5 pushed past the top
    down = np.zeros_like(roll)
    down[0, 3] = down[1, 4] = 1
    np.testing.assert_array_equal(transpose_roll(roll, -1), down)  # 0 pushed below the bottom
    np.testing.assert_array_equal(transpose_roll(roll, 0), roll)
    assert transpose_roll(roll, 0) is not roll
    assert not transpose_roll(roll, 6).any() and not transpose_roll(roll, -9).any()
    with pytest.raises(DataError):
        transpose_roll(roll, 1.5)


def test_transposition_range():
    roll = np.zeros((4, 128), np.uint8)
    roll[0, 60] = roll[3, 72] = 1  # span (60, 73)
    assert transposition_range(roll, (0, 128)) == range(-6, 6)  # all 12 keys
    assert transposition_range((60, 73), (58, 76)) == range(-2, 4)
    assert transposition_range(roll, (60, 73)) == range(0, 1)
    assert transposition_range(roll, (62, 80)) == range(2, 6)
    assert transposition_range(roll, (62, 70)) == range(0)  # wider than the model's range
    assert transposition_range(roll, (0, 128), shifts=(-12, 12)) == range(-12, 13)
    assert transposition_range(np.zeros((3, 128), np.uint8), (40, 50)) == range(-6, 6)
    for s in transposition_range(roll, (55, 80)):  # every shift keeps every note
        assert transpose_roll(roll, s).sum() == roll.sum()
        assert not transpose_roll(roll, s)[:, :55].any() and not transpose_roll(roll, s)[:, 80:].any()


# --------------------------------------------------------------------------------- the command


def _parse(argv):
    parser = argparse.ArgumentParser()
    preprocess_cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_preprocess_cli_end_to_end(mixed_folder, tmp_path, capsys):
    report = tmp_path / "report.txt"
    args = _parse([str(mixed_folder), "--family", "bar_lstm", "--workers", "1",
                   "--cache-dir", str(tmp_path / "cache"), "--report", str(report)])
    assert preprocess_cli.run(args) == 0
    out, err = capsys.readouterr()
    assert "3 used, 5 skipped (8 found)" in out
    # Five reasons: three named, the rest counted (the report names every one).
    skipped = next(line for line in out.splitlines() if line.strip().startswith("skipped"))
    assert skipped.count(" x ") == 3 and "; 2 more for 2 other reasons" in skipped
    assert "pitches      36-79 (C2-G5)" in out
    assert "Acoustic Grand Piano 3" in out and "saved to" in out
    assert "reading MIDI files: 8/8 (100%)" in err
    text = report.read_text()
    assert "kit/drums.mid: only drum tracks" in text and "not_midi.mid: not a MIDI file" in text

    assert preprocess_cli.run(_parse([str(mixed_folder), "--family", "bar_lstm",
                                      "--cache-dir", str(tmp_path / "cache")])) == 0
    assert "loaded from" in capsys.readouterr().out

    with pytest.raises(SystemExit):
        _parse([str(mixed_folder), "--family", "nope"])  # not a family: a usage error
    with pytest.raises(SystemExit):
        _parse([str(mixed_folder)])  # --family is required


def test_preprocess_json_lines_report_every_skip_and_the_data_size(mixed_folder, tmp_path, capsys):
    """What the training wizard reads: progress, then a summary with every skipped file, and a
    warning when the data is small for the preset, or an error when it is too small."""
    args = _parse([str(mixed_folder), "--family", "bar_lstm", "--preset", "2x256", "--workers", "1",
                   "--cache-dir", str(tmp_path / "cache"), "--progress", "json"])
    assert preprocess_cli.run(args) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events[:-1]] == ["progress"] * (len(events) - 1)
    assert events[-2]["done"] == events[-2]["total"] == 8
    summary = events[-1]
    assert summary["event"] == "summary" and summary["summary"]["files_used"] == 3
    assert dict(summary["skipped"])["kit/drums.mid"] == "only drum tracks" and len(summary["skipped"]) == 5
    assert summary["train_examples"] > 0 and "learn them by heart" in summary["warning"]
    # Three short songs: the VAE's bars leave nothing to validate on.
    args = _parse([str(mixed_folder), "--family", "multitrack_vae", "--preset", "tiny", "--workers", "1",
                   "--cache-dir", str(tmp_path / "cache"), "--progress", "json"])
    with pytest.raises(ComposerError, match="too little data for a validation split"):
        preprocess_cli.run(args)
    error = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert error["event"] == "error" and "validation split" in error["message"]
    args = _parse([str(tmp_path / "cache"), "--family", "bar_lstm", "--progress", "json"])
    with pytest.raises(DataError, match="no MIDI files"):
        preprocess_cli.run(args)
