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


def test_the_app_writes_drums_for_a_song_as_one_undo_step(qtbot, window):
    import numpy as np

    from composer.core import Score, TempoChange, Track, make_notes
    from composer.core.timing import TimeSignature
    from composer.models.library import BUNDLED

    starts = np.arange(24) * 480
    melody = Track("Melody", 0, False, make_notes(starts, starts + 480, 60 + np.arange(24) % 7))
    window._load(Score([melody], 480, [TempoChange(0, 96)], [TimeSignature(0, 3, 4)]), None)
    panel = window.generation_panel
    window.model_picker.add_model_file(str(BUNDLED / "multitrack_vae-groove.safetensors"))
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=60000)
    row = panel.mode.findData("drums")
    qtbot.waitUntil(lambda: panel.mode.model().item(row).isEnabled(), timeout=10000)
    panel.mode.setCurrentIndex(row)
    with qtbot.waitSignal(window.generation.service.finished, timeout=60000):
        panel.generate_button.click()
    qtbot.waitUntil(lambda: panel.candidates.count() > 0)
    depth = window.undo_stack.count()
    assert window.generation.accept(0)
    assert window.undo_stack.count() == depth + 1
    drums = window.score.tracks[1]
    assert drums.is_drum and len(drums) and window.score.tracks[0].same_content(melody)
    bar = 3 * 480  # the song's 3/4: 8 bars, each with a hit
    assert set((drums.notes["start"] + bar // 32) // bar) == set(range(8))  # half a step: hits played early
    window.undo_stack.undo()
    assert len(window.score.tracks) == 1
