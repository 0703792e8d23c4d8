"""Credits of the data the bundled models learnt from (issue 16 part 5): README and About box."""

from __future__ import annotations

from pathlib import Path

import torch

from composer.models.base import build_model, preset_config, save_model
from composer.models.credits import DATA_CREDITS, about_text, bundled_models, credits_text

ROOT = Path(__file__).resolve().parents[1]
INFO = {"codec": {"kind": "pianoroll", "steps_per_beat": 4, "fps": None, "include_drums": False},
        "pitch_range": [48, 72]}


def test_credits_name_the_licences_authors_and_the_models_each_trained():
    models = [("note_symbol_lstm-pop909", "pop909"), ("drums", "groove"), ("bar_lstm-jsfakes", "js_fakes")]
    text = credits_text(models)
    lines = {credit.name: line for credit, line in zip(DATA_CREDITS, text.splitlines())}
    assert "MIT" in lines["POP909"] and "Wang" in lines["POP909"] and "note_symbol_lstm-pop909" in lines["POP909"]
    groove = lines["Groove MIDI Dataset"]
    for word in ("CC BY 4.0", "Gillick", "Roberts", "Engel", "Eck", "Bamman", "2019",
                 "Learning to Groove with Inverse Sequence Transformations", "drums"):
        assert word in groove
    assert "bar_lstm-jsfakes" in lines["JS Fake Chorales"] and "No bundled model" in lines["Nottingham"]


def test_about_text_reads_the_bundled_folder(tmp_path):
    torch.manual_seed(0)
    model = build_model("pianoroll_lstm", preset_config("pianoroll_lstm", "tiny"), INFO)
    save_model(tmp_path / "pianoroll_lstm-pop909.safetensors", model, {"data": {"source": "pop909"}})
    (tmp_path / "broken.safetensors").write_bytes(b"not a model")
    assert bundled_models(tmp_path) == [("pianoroll_lstm-pop909", "pop909")]
    text = about_text("9.9", tmp_path)
    assert text.startswith("Composer 9.9") and "Trained: pianoroll_lstm-pop909" in text


def test_the_about_box_and_the_readme_credit_pop909_and_groove(window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append((title, text)))
    action = next(a for m in window.menuBar().actions() for a in m.menu().actions()
                  if a.text() == "&About Composer")
    action.trigger()
    assert shown and "POP909 (MIT)" in shown[0][1] and "Groove MIDI Dataset (CC BY 4.0)" in shown[0][1]
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Data and licenses"):]
    for word in ("POP909", "MIT", "Wang et al. 2020", "Groove MIDI Dataset", "CC BY 4.0", "Gillick",
                 "Learning to Groove with Inverse Sequence Transformations"):
        assert word in section
