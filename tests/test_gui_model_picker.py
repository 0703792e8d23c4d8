"""The model picker lists the bundled checkpoints from their headers, without loading torch weights."""

import shutil
from pathlib import Path

from composer.gui.model_picker import ModelPicker
from composer.models.library import BUNDLED

BUNDLED_NAMES = sorted(p.name for p in BUNDLED.glob("*.safetensors"))


def _paths(picker):
    return [Path(picker.list.item(i).data(0x0100)).name for i in range(picker.list.count())]


def test_lists_every_bundled_model_with_details(qtbot):
    picker = ModelPicker()
    qtbot.addWidget(picker)
    assert set(BUNDLED_NAMES) <= set(_paths(picker))
    with qtbot.waitSignal(picker.model_chosen) as chosen:
        picker.select_path(str(BUNDLED / "pianoroll_lstm-jsb.safetensors"))
    assert chosen.args == [str(BUNDLED / "pianoroll_lstm-jsb.safetensors")]
    text = picker.details.text()
    assert "Piano-roll LSTM" in text and "Docevski" in text and "JSB" in text and "Metrics" in text


def test_add_model_file_and_unusable_files(qtbot, tmp_path):
    copy = tmp_path / "mine.safetensors"
    shutil.copy(BUNDLED / "bar_lstm-jsfakes.safetensors", copy)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint at all")
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.add_model_file(str(copy))
    assert picker.current_path() == str(copy)
    picker.add_model_file(str(broken))
    assert "broken.safetensors" in _paths(picker)
    row = _paths(picker).index("broken.safetensors")
    picker.list.setCurrentRow(row)
    assert "cannot be used" in picker.details.text()


def test_user_model_folder_is_listed(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("COMPOSER_MODELS", str(tmp_path))
    shutil.copy(BUNDLED / "pianoroll_seq2seq-jsfakes.safetensors", tmp_path / "user_model.safetensors")
    picker = ModelPicker()
    qtbot.addWidget(picker)
    assert "user_model.safetensors" in _paths(picker)


def test_a_new_user_starts_with_a_model_that_continues_a_tune(qtbot):
    """With a drum and a band model among the bundled ones, the first model chosen for someone
    who has chosen none is one that continues one part (a drawn melody goes on as a melody)."""
    from composer.models.checkpoint import read_metadata
    from composer.models.registry import MULTITRACK, family_spec

    picker = ModelPicker()
    qtbot.addWidget(picker)
    chosen = picker.current_path()
    assert chosen is not None
    assert MULTITRACK not in family_spec(read_metadata(chosen)["family"]).capabilities
