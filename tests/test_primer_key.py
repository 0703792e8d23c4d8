"""Issue 13 item 5: "Primer's key" in the app and ``composer generate --key auto``, and the
variation measured against its primer in the Generate panel's table.

The key is the Krumhansl-Schmuckler key of the notes the plan continues (pitched notes before
the generated part, of the target track when there is one); "minor" is the key's scale, natural
minor with its raised seventh. A primer with no clear key gives no lock and says so."""

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from composer.cli import main
from composer.core import ComposerError, Score, TimeSignature, Track, make_notes
from composer.core.edits import AddNotes
from composer.generation.plan import (
    CandidatePart,
    EditorState,
    GenerationSettings,
    candidate_notes,
    plan_generation,
    planned_primer_key,
    primer_measures,
)
from composer.generation.request import (
    PRIMER_KEY,
    SCALES,
    GenerateRequest,
    scale_pitch_classes,
)
from composer.gui.generation_panel import GenerationPanel
from composer.gui.undo import push_edit
from composer.io.midi import read_midi, write_midi
from composer.models.library import BUNDLED
from composer.models.metric_info import PRIMER_MEASURES, format_measure
from composer.representations.keys import Key
from composer.representations.music_metrics import METRICS

Q = 480
BAR = 4 * Q
NOTTINGHAM = BUNDLED / "pianoroll_lstm-nottingham.safetensors"
FIXTURES = Path(__file__).parent / "fixtures"
LOAD_TIMEOUT_MS = 60_000
#: The table's row of the in-key share: the training-data measures, a heading, then it.
IN_KEY_ROW = len(METRICS) + 1
# Scale steps of a major key and of a minor one (natural minor plus the raised seventh).
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10, 11)


def tune(tonic: int, mode: str) -> np.ndarray:
    """Two bars in a key: its scale up in quarters over the tonic, then the fifth, in the bass."""
    steps = (0, 2, 4, 5, 7, 9, 11, 12) if mode == "major" else (0, 2, 3, 5, 7, 8, 11, 12)
    starts = np.arange(8) * Q
    melody = make_notes(starts, starts + Q, [60 + tonic + s for s in steps])
    bass = make_notes([0, BAR], [BAR, 2 * BAR], [48 + tonic, 48 + tonic + 7])
    notes = np.concatenate([melody, bass])
    return notes[np.argsort(notes["start"], kind="stable")]


def score_of(notes: np.ndarray, **kwargs) -> Score:
    return Score([Track("Lead", 0, notes=notes)], **kwargs)


def primer_key_settings(**request) -> GenerationSettings:
    return GenerationSettings("playhead", None, GenerateRequest(key=PRIMER_KEY, bars=1, **request))


# ----------------------------------------------------------------------------- the plan
@pytest.mark.parametrize("tonic, mode, name", [(0, "major", "C major"), (2, "minor", "D minor"),
                                               (10, "major", "Bb major"), (6, "minor", "F# minor"),
                                               (4, "minor", "E minor")])
def test_the_plan_locks_to_the_primers_key(tonic, mode, name):
    score = score_of(tune(tonic, mode))
    plan = plan_generation(score, primer_key_settings(), EditorState(playhead=0))
    assert plan.key_from_primer and plan.primer_key.name == name
    scale = {(tonic + step) % 12 for step in (MAJOR if mode == "major" else MINOR)}
    assert plan.request.pitch_classes() == scale == Key(tonic, mode).pitch_classes()
    assert plan.request.key != PRIMER_KEY and plan.request.scale == f"{mode} key"


def test_the_key_is_read_before_the_playhead_with_a_late_time_signature():
    # D minor up to the playhead, then an F# major scale that is not the primer; the first time
    # signature (3/4) comes at bar 3, so bars 1-2 are 4/4 (the plan's rule).
    later = make_notes(np.arange(8) * Q + 2 * BAR, np.arange(1, 9) * Q + 2 * BAR,
                       [66, 68, 70, 71, 73, 75, 77, 78])
    score = score_of(np.concatenate([tune(2, "minor"), later]), time_signatures=[TimeSignature(2 * BAR, 3, 4)])
    plan = plan_generation(score, primer_key_settings(), EditorState(playhead=2 * BAR))
    assert plan.primer_key.name == "D minor"
    assert plan.end - plan.start == 3 * Q  # one bar of 3/4
    assert planned_primer_key(score, primer_key_settings(), EditorState(playhead=2 * BAR)).name == "D minor"
    # With the playhead at the start, the primer is everything: no longer D minor.
    assert planned_primer_key(score, primer_key_settings(), EditorState(playhead=0)).name != "D minor"


def test_the_key_comes_from_the_target_track_alone():
    lead = tune(7, "major")  # G major
    score = Score([Track("Lead", 0, notes=lead), Track("Other", 0, notes=tune(1, "minor"))])
    settings = GenerationSettings("playhead", score.tracks[0].id, GenerateRequest(key=PRIMER_KEY, bars=1))
    assert plan_generation(score, settings, EditorState(playhead=2 * BAR)).primer_key.name == "G major"


@pytest.mark.parametrize("notes, drums", [
    (make_notes(np.arange(12) * Q, np.arange(1, 13) * Q, list(range(60, 72))), False),  # atonal
    (make_notes([0], [BAR], [62]), False),  # one note
    (make_notes(np.arange(8) * Q, np.arange(8) * Q + 120, [36, 38] * 4), True),  # drums only
    (make_notes([], [], []), False),  # empty
], ids=["atonal", "one note", "drums only", "empty"])
def test_no_clear_key_means_no_lock(notes, drums):
    score = Score([Track("Part", 0, drums, notes)])
    plan = plan_generation(score, primer_key_settings(), EditorState(playhead=0))
    assert plan.key_from_primer and plan.primer_key is None
    assert plan.request.key is None and plan.request.scale is None and plan.request.pitch_classes() is None


def test_request_scales_old_and_new():
    assert scale_pitch_classes("D", "minor key") == {2, 4, 5, 7, 9, 10, 0, 1}  # and its C#
    assert scale_pitch_classes("D", "minor") == {2, 4, 5, 7, 9, 10, 0}  # natural minor, as before
    assert set(SCALES) >= {"major", "minor", "harmonic minor", "dorian", "blues", "chromatic"}
    with pytest.raises(ComposerError, match="minor key"):
        scale_pitch_classes("D", "lydian")
    # Unresolved, the request still locks to the primer's key when generation asks it.
    request = GenerateRequest(primer=score_of(tune(2, "minor")), key="AUTO")
    request.validate()
    assert request.pitch_classes() == Key(2, "minor").pitch_classes()
    with pytest.raises(ComposerError, match="needs a primer"):
        GenerateRequest(key=PRIMER_KEY).validate()
    with pytest.raises(ComposerError, match="own scale"):
        GenerateRequest(primer=Score(), key=PRIMER_KEY, scale="dorian").validate()


# ----------------------------------------------------------------------------- the panel
def test_primers_key_is_the_default_and_the_users_choice_is_remembered(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    panel = GenerationPanel()
    qtbot.addWidget(panel)
    panel.use_settings(settings)
    assert panel.key.currentData() == PRIMER_KEY and panel.scale.isHidden()  # the key brings its scale
    request = panel.settings().request
    assert (request.key, request.scale) == (PRIMER_KEY, None)
    panel.set_primer_key("D minor")
    assert panel.key.currentText() == "Primer's key (D minor)"
    panel.set_primer_key(None)
    assert panel.key.currentText() == "Primer's key (none found)"
    panel.set_primer_key(None, has_notes=False)
    assert panel.key.currentText() == "Primer's key"
    panel.key.setCurrentIndex(0)  # Any key
    again = GenerationPanel()
    qtbot.addWidget(again)
    again.use_settings(settings)
    assert again.key.currentData() is None and again.settings().request.key is None
    again.key.setCurrentIndex(again.key.findData(PRIMER_KEY))
    third = GenerationPanel()
    qtbot.addWidget(third)
    third.use_settings(settings)
    assert third.key.currentData() == PRIMER_KEY


def _draw(win, notes: np.ndarray) -> None:
    track = win.score.tracks[0]
    notes = notes.copy()
    notes["id"] = track.new_note_ids(len(notes))
    push_edit(win.undo_stack, win.score, AddNotes(track.id, notes, text="Draw"))


def test_the_key_list_names_the_primers_key_as_the_score_and_playhead_change(qtbot, window):
    panel = window.generation_panel
    qtbot.waitUntil(lambda: panel.key.itemText(1) == "Primer's key")  # a new, empty song: no notes yet
    _draw(window, tune(2, "minor"))
    qtbot.waitUntil(lambda: panel.key.itemText(1) == "Primer's key (D minor)")
    _draw(window, make_notes(np.arange(8) * Q + 2 * BAR, np.arange(1, 9) * Q + 2 * BAR,
                             [66, 68, 70, 71, 73, 75, 77, 78]))  # F# major after bar 2
    window.editor.set_playhead(2 * BAR)
    qtbot.waitUntil(lambda: panel.key.itemText(1) == "Primer's key (D minor)")
    window.editor.set_playhead(4 * BAR)
    qtbot.waitUntil(lambda: panel.key.itemText(1) != "Primer's key (D minor)")


def _generate(qtbot, win) -> None:
    assert win.model_picker.select_path(str(NOTTINGHAM))
    win._choose_model(str(NOTTINGHAM))
    panel = win.generation_panel
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=LOAD_TIMEOUT_MS)
    panel.generate_button.click()
    qtbot.waitUntil(lambda: not win.generation.busy, timeout=LOAD_TIMEOUT_MS)


def test_generate_in_the_primers_key_stays_in_it(qtbot, window):
    _draw(window, tune(2, "minor"))
    _generate(qtbot, window)
    panel, controller = window.generation_panel, window.generation
    assert panel.key.currentText() == "Primer's key (D minor)"
    assert "D minor" in panel.status.text()
    scale = Key(2, "minor").pitch_classes()
    for parts in controller.candidates:
        assert set((parts[0].notes["pitch"] % 12).tolist()) <= scale
    assert panel.measures.item(IN_KEY_ROW, 0).text() == "In D minor"
    assert panel.measures.item(IN_KEY_ROW, 1).text() == "1.00"  # every note in the key


def test_generate_on_a_primer_without_a_key_runs_unlocked_and_says_so(qtbot, window):
    _draw(window, make_notes(np.arange(12) * Q, np.arange(1, 13) * Q, list(range(60, 72))))
    _generate(qtbot, window)
    panel = window.generation_panel
    assert panel.key.currentText() == "Primer's key (none found)"
    assert "The primer has no clear key" in panel.status.text()
    assert panel.candidates.count() >= 1 and window.generation.plan.request.pitch_classes() is None
    assert panel.measures.item(IN_KEY_ROW, 1).text() == "-"  # no key to be in
    assert panel.measures.item(IN_KEY_ROW - 1, 0).text() == "Against the primer (it has no clear key)"


# ----------------------------------------------------------------------------- the measures
def test_the_variation_against_the_primer_on_a_known_case():
    # Primer: one bar of C major quarters, C4 E4 G4 C5 (mean pitch 65.75), then a bar of eighths.
    primer = make_notes(np.arange(4) * Q, np.arange(1, 5) * Q, [60, 64, 67, 72])
    score = score_of(primer)
    plan = plan_generation(score, GenerationSettings("playhead", score.tracks[0].id, GenerateRequest(bars=1)),
                           EditorState(playhead=BAR))
    # Eight eighths (twice the primer's density), the last one off the grid and out of key (F#).
    starts = np.arange(8) * (Q // 2) + BAR
    starts[-1] += Q // 8
    candidate = candidate_notes(plan, make_notes(starts, starts + Q // 2, [72, 74, 76, 77, 79, 81, 83, 78]))
    values = primer_measures(score, plan, [CandidatePart(candidate, plan.track_id)])
    # The primer's grid is quarters: the eighths between the beats are off it.
    assert values["on_grid"] == pytest.approx(4 / 8)
    assert values["density_ratio"] == pytest.approx(2.0)
    assert values["register_jump"] == pytest.approx(77.5 - 65.75)  # the two bars' mean pitches
    assert candidate["end"][-1] == plan.end  # (cropped: 3/8 of a beat, as the table measures it)
    assert values["in_key"] == pytest.approx(1 - 180 / (7 * 240 + 180))
    assert format_measure("density_ratio", values["density_ratio"]) == "2.00\u00d7"
    assert format_measure("register_jump", 13.5) == "13.5"
    assert format_measure("pitch_class_entropy", -1e-16) == "0.00"  # (not "-0.00")
    assert PRIMER_MEASURES["density_ratio"].hint() == "0 and up, best near 1"
    assert PRIMER_MEASURES["in_key"].hint() == "0 to 1, higher is better"
    # Without pitched notes on one side, NaN (shown as "-").
    empty = primer_measures(score, plan, [CandidatePart(candidate[:0], plan.track_id)])
    assert all(math.isnan(v) for v in empty.values()) and format_measure("in_key", empty["in_key"]) == "-"


def test_the_table_shows_the_measures_against_the_primer(qtbot):
    panel = GenerationPanel()
    qtbot.addWidget(panel)
    values = {"in_key": 0.875, "density_ratio": 2.0, "register_jump": 13.5, "on_grid": 0.5}
    panel.set_measures({}, None, values, "C major")
    rows = {panel.measures.item(r, 0).text(): r for r in range(panel.measures.rowCount())}
    assert "Against the primer" in rows
    cells = {name: panel.measures.item(row, 1).text() for name, row in rows.items() if name != "Against the primer"}
    assert cells["In C major"] == "0.88" and cells["Notes per beat"] == "2.00\u00d7"
    assert cells["Jump at the seam"] == "13.5" and cells["On the grid"] == "0.50"
    assert panel.measures.item(rows["Notes per beat"], 2).text() == "best near 1"


# ----------------------------------------------------------------------------- the command line
def _d_minor_midi(path) -> None:
    write_midi(score_of(tune(2, "minor")), path)


@pytest.mark.parametrize("primer, key", [(None, Key(2, "minor")), (FIXTURES / "song.mid", Key(0, "major"))],
                         ids=["D minor tune", "song.mid with bass and drums"])
def test_cli_key_auto_follows_a_midi_primer(tmp_path, capsys, primer, key):
    if primer is None:
        primer = tmp_path / "d_minor.mid"
        _d_minor_midi(primer)
    end = read_midi(primer).end_tick
    out = tmp_path / "out.mid"
    rc = main(["generate", "--model", str(NOTTINGHAM), "--primer", str(primer), "--bars", "2",
               "--key", "auto", "--seed", "3", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0 and f"key: {key.name} (from the primer)" in printed
    result = read_midi(out)
    new = np.concatenate([t.notes[t.notes["start"] >= end] for t in result.tracks if not t.is_drum])
    assert len(new) and set((new["pitch"] % 12).tolist()) <= key.pitch_classes()


def test_cli_key_auto_on_a_primer_without_a_key(tmp_path, capsys):
    primer = tmp_path / "chromatic.mid"
    write_midi(score_of(make_notes(np.arange(12) * Q, np.arange(1, 13) * Q, list(range(60, 72)))), primer)
    rc = main(["generate", "--model", str(NOTTINGHAM), "--primer", str(primer), "--bars", "1",
               "--key", "auto", "--out", str(tmp_path / "out.mid")])
    assert rc == 0 and "key: none found (the primer has no clear key)" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    ([], "--key auto takes the key of the primer: give a --primer"),
    (["--primer", "PRIMER", "--scale", "dorian"], "leave out --scale"),
])
def test_cli_key_auto_mistakes_are_one_message(tmp_path, capsys, extra, message):
    primer = tmp_path / "d_minor.mid"
    _d_minor_midi(primer)
    extra = [str(primer) if arg == "PRIMER" else arg for arg in extra]
    rc = main(["generate", "--model", str(NOTTINGHAM), "--key", "auto", *extra, "--out", str(tmp_path / "o.mid")])
    err = capsys.readouterr().err
    assert rc != 0 and message in err and "Traceback" not in err
