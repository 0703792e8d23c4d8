"""The Generate panel offers "Drums for this song" only for a model with a drum slot (issue 16
part 2), and greys out Bars for it (the loop region or the song sets the length)."""

import pytest

pytest.importorskip("pytestqt")

from composer.generation.plan import model_capabilities  # noqa: E402
from composer.models.registry import FAMILIES  # noqa: E402


def test_drums_mode_only_for_a_model_with_a_drum_slot(qtbot):
    from composer.gui.generation_panel import GenerationPanel

    panel = GenerationPanel()
    qtbot.addWidget(panel)
    vae = FAMILIES["multitrack_vae"]
    row = panel.mode.findData("drums")
    assert row >= 0 and panel.mode.itemText(row) == "Drums for this song"
    chorales = model_capabilities(vae.capabilities, {"codec": {"names": ["S", "A", "T", "B"]}})
    panel.set_model("Chorales", chorales, vae.controls, "", vae.sampling_defaults)
    assert not panel.mode.model().item(row).isEnabled()
    drums = model_capabilities(vae.capabilities, {"codec": {"names": ["Drums"], "drums": ["Drums"]}})
    panel.set_model("Drums", drums, vae.controls, "", vae.sampling_defaults)
    assert panel.mode.model().item(row).isEnabled()
    panel.mode.setCurrentIndex(row)
    assert panel.settings().mode == "drums" and not panel.bars.isEnabled()
