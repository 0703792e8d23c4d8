"""The lossless project file: exact round trip, atomic saves, bad files."""

import json

import pytest

from composer.core import Score, TempoChange, TimeSignature, Track, make_notes
from composer.core.edits import RemoveNotes
from composer.io.project import ProjectError, load_project, save_project


def _score() -> Score:
    lead = Track("Lead", 81, notes=make_notes([0, 240, 480], [240, 480, 960], [60, 64, 67], [90, 80, 70]),
                 color="#e0a030", solo=True)
    drums = Track("Drums", 0, True, make_notes([0, 480], [60, 540], [36, 38]), muted=True)
    score = Score([lead, drums], 480, [TempoChange(0, 123.5), TempoChange(960, 90.0)],
                  [TimeSignature(0, 5, 4)], "My song")
    RemoveNotes(lead.id, lead.notes["id"][:1]).apply(score)  # ids now have a gap: 1, 2
    return score


def test_round_trip_is_exact_with_ids_and_settings(tmp_path):
    score = _score()
    settings = {"model": "pianoroll_lstm/jsb", "temperature": 0.9, "loop": [0, 1920]}
    path = tmp_path / "song.composer.json"
    save_project(path, score, settings)
    loaded, loaded_settings = load_project(path)
    assert loaded.same_content(score)
    assert [t.id for t in loaded.tracks] == [t.id for t in score.tracks]
    assert [(t.color, t.muted, t.solo) for t in loaded.tracks] == [("#e0a030", False, True), ("", True, False)]
    assert loaded.title == "My song"
    assert loaded_settings == settings
    # A note added after loading gets a new id, never one that was deleted before saving.
    assert loaded.tracks[0].new_note_ids(1)[0] == score.tracks[0].new_note_ids(1)[0]


def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "song.composer.json"
    save_project(path, _score())
    before = path.read_bytes()
    with pytest.raises(ProjectError, match="JSON"):
        save_project(path, _score(), {"bad": object()})
    assert path.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("content, message", [
    ("", "not a Composer project"),
    ("{not json", "not a Composer project"),
    ('{"format": "something-else"}', "not a Composer project file"),
    ('{"format": "composer-project", "version": 99, "score": {}}', "newer than this"),
    ('{"format": "composer-project", "version": 1}', "no score"),
    ('{"format": "composer-project", "version": 1, "score": {"ppq": 480}}', "damaged: score has no .tracks."),
])
def test_bad_project_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.composer.json"
    path.write_text(content)
    with pytest.raises(ProjectError, match=message):
        load_project(path)


def test_out_of_range_notes_in_a_project_are_refused(tmp_path):
    path = tmp_path / "p.composer.json"
    save_project(path, _score())
    doc = json.loads(path.read_text())
    doc["score"]["tracks"][0]["notes"]["pitch"][0] = 200
    path.write_text(json.dumps(doc))
    with pytest.raises(ProjectError, match=r"pitch.*200, outside 0-127"):
        load_project(path)


def test_missing_project_file(tmp_path):
    with pytest.raises(ProjectError, match="not found"):
        load_project(tmp_path / "nope.composer.json")
