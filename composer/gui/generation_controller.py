"""Generate, audition, accept: ties the generation panel, the editor and the model worker together.

The flow: the model picker's choice is loaded by the worker (in the background); Generate turns
the panel's settings and the editor's state into a :class:`~composer.generation.plan.Plan`,
sends a private copy of the score to the worker, and shows the returned variations as candidate
notes in the editor (dashed, not part of the score). Accept applies one as a single undoable edit.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from composer.core.errors import ComposerError
from composer.core.score import Score, Track
from composer.generation.plan import (
    CandidatePart,
    EditorState,
    Plan,
    accept_edit,
    candidate_parts,
    plan_generation,
    planned_primer_key,
    preview_score,
    primer_measures,
)
from composer.generation.plan import model_capabilities, model_sampling_defaults
from composer.gui.generation_panel import GenerationPanel
from composer.gui.generation_worker import LoadedModel, ModelService
from composer.gui.pianoroll import PianoRollEditor
from composer.gui.undo import push_edit
from composer.io.midi_parts import clip_score
from composer.models.registry import FAMILIES
from composer.representations.music_metrics import measure

#: Where candidates for new tracks are shown: -1, -2, ... (no real track has a negative id).
NEW_TRACK_CANDIDATES = -1
#: Auditions start this many bars before the generated part, so the join can be heard.
AUDITION_LEAD_IN_BARS = 1
#: The primer's key shown in the Key list is found again at most this often while the score,
#: the playhead (it moves during playback), the selection or the mode change.
PRIMER_KEY_DELAY_MS = 300
#: The status line when "Primer's key" finds none.
NO_PRIMER_KEY = "The primer has no clear key, so the variations are not held to one."


def show_error(parent: QWidget, title: str, text: str) -> QMessageBox:
    """A window-modal message that does not block the event loop (workers keep reporting)."""
    from composer.gui.dialogs import show_error as show_message  # the title in full, and logged

    return show_message(parent, title, text, object_name="generationError")


class GenerationController(QObject):
    """Signals: audition_requested(Score preview, int start_tick), accepted()."""

    audition_requested = Signal(object, int)
    accepted = Signal()

    def __init__(self, panel: GenerationPanel, editor: PianoRollEditor, service: ModelService | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.panel, self.editor = panel, editor
        self.service = service or ModelService(self)
        self.plan: Plan | None = None
        #: The loaded model's training data measures (music_metrics summary), or None.
        self.reference_measures: dict | None = None
        #: One list of parts per variation (see composer.generation.plan.candidate_parts).
        self.candidates: list[list[CandidatePart]] = []
        self._shown: list[int] = []  # editor tracks showing candidate notes
        self._job: int | None = None
        self._loading: str | None = None
        #: The undo stack's index right after an accept (None: no accept to speak of).
        self._accepted_at: int | None = None
        self._accepted_text = self._accepted_status = ""
        self._watched_stack = None
        worker = self.service
        worker.model_loaded.connect(self._on_loaded)
        worker.model_failed.connect(self._on_load_failed)
        worker.started.connect(self._on_started)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        panel.generate_clicked.connect(self.generate)
        panel.cancel_clicked.connect(self.service.cancel)
        panel.candidate_changed.connect(self._show_candidate)
        panel.audition_clicked.connect(self.audition)
        panel.accept_clicked.connect(self.accept)
        panel.discard_clicked.connect(self.discard)
        self._key_timer = QTimer(self)
        self._key_timer.setSingleShot(True)
        self._key_timer.setInterval(PRIMER_KEY_DELAY_MS)
        self._key_timer.timeout.connect(self._refresh_primer_key_if_shown)
        self._key_note = ""  # what the status says about the primer's key during a generation
        panel.primer_key_wanted.connect(self.refresh_primer_key)
        roll = editor.view.roll
        for signal in (roll.notes_updated, roll.timing_changed, roll.overlay_changed,
                       roll.active_track_changed, editor.selection_changed,
                       panel.mode.currentIndexChanged, panel.target.currentIndexChanged):
            signal.connect(self._primer_changed)

    # ----------------------------------------------------------------- model
    def choose_model(self, path: str) -> None:
        """Load ``path`` in the background; Generate waits until it is ready."""
        if str(path) == self._loading:
            return  # already loaded or loading
        if self._job is not None:  # its variations would show under the new model's name
            self._job = None
            self.service.cancel()
            self.panel.set_busy(False)
        self.discard()
        self._loading = str(path)
        self.panel.set_model(None, status="Loading the model...")
        self.panel.set_status("")
        self.service.load(str(path))

    def _on_loaded(self, loaded: LoadedModel) -> None:
        if loaded.path != self._loading:
            return  # the user has picked another model meanwhile
        meta = loaded.metadata
        self.reference_measures = (meta.get("data") or {}).get("music_metrics")
        spec = FAMILIES.get(meta.get("family"))
        name = meta.get("name") or loaded.path.rsplit("/", 1)[-1]
        where = "the GPU" if loaded.device.startswith(("cuda", "mps")) else "the CPU"
        self.panel.set_model(name, model_capabilities(spec.capabilities if spec else (), meta.get("info")),
                             spec.controls if spec else ("temperature",), f"Ready, runs on {where}",
                             model_sampling_defaults(spec.sampling_defaults if spec else (), meta.get("info")),
                             model_key=loaded.path)

    def _on_load_failed(self, path: str, message: str) -> None:
        if path != self._loading:
            return
        self._loading = None  # choosing it again retries
        self.panel.set_model(None, status="The model could not be loaded.")
        show_error(self.editor.window(), "Cannot load the model", message)

    # ----------------------------------------------------------------- the primer's key
    def _primer_changed(self, *_args) -> None:
        """Find the primer's key again soon (not at every step of a drag or of playback)."""
        if not self._key_timer.isActive():
            self._key_timer.start()

    def _refresh_primer_key_if_shown(self) -> None:
        if self.panel.isVisible():  # (a hidden panel asks again when it appears)
            self.refresh_primer_key()

    def refresh_primer_key(self) -> None:
        """Show in the Key list the key that "Primer's key" would lock to now."""
        self._key_timer.stop()
        score = self.editor.score
        if score is None:
            return
        key = planned_primer_key(score, self.panel.settings(), self.editor_state())
        self.panel.set_primer_key(key.name if key else None,
                                  has_notes=any(len(t) for t in score.tracks if not t.is_drum))

    # ----------------------------------------------------------------- generate
    def editor_state(self) -> EditorState:
        track = self.editor.view.active_track
        ids = self.editor.selected_note_ids()
        selection = (track.id, track.get(ids)) if track is not None and len(ids) else None
        roll = self.editor.view.roll
        return EditorState(playhead=roll.playhead or 0, selection=selection, loop=roll.loop,
                           active_track=track.id if track is not None else None)

    def generate(self) -> None:
        score = self.editor.score
        if score is None or self._job is not None:
            return
        try:
            plan = plan_generation(score, self.panel.settings(), self.editor_state())
        except ComposerError as exc:
            show_error(self.editor.window(), "Cannot generate", str(exc))
            return
        self.discard()
        self.plan = plan
        self._job = self.service.generate(plan.request)
        self._key_note = ""
        if plan.key_from_primer:
            has_notes = len(plan.request.primer_notes()) > 0  # (from scratch: no key to find)
            self.panel.set_primer_key(plan.primer_key.name if plan.primer_key else None, has_notes)
            self._key_note = (f"In {plan.primer_key.name}, the primer's key." if plan.primer_key
                              else NO_PRIMER_KEY if has_notes else "")
        self.panel.set_busy(True, f"{self._key_note} Generating with seed {plan.request.seed}...".lstrip())

    def _on_started(self, job: int) -> None:
        if job == self._job:
            self.panel.set_progress(0.0)

    def _on_progress(self, job: int, fraction: float) -> None:
        if job == self._job:
            self.panel.set_progress(fraction)

    def _on_finished(self, job: int, generation_job, result) -> None:
        if job != self._job:
            return
        self._job = None
        self.candidates = [candidate_parts(self.plan, result, i) for i in range(len(result.scores))]
        counts = [sum(len(part.notes) for part in parts) for parts in self.candidates]
        tracks = [len(parts) for parts in self.candidates]
        status = "Listen to each variation, then accept the one you like."
        if generation_job.warnings:
            notes = dict.fromkeys(w.strip() for w in generation_job.warnings)  # (interpolation reads two bars)
            status = " ".join(w[0].upper() + w[1:] + ("" if w.endswith(".") else ".") for w in notes if w) \
                + " " + status
        if not any(counts):
            status = ("Every variation came out silent: try a higher temperature, Sample mode, or a "
                      "lower threshold.")
        status = f"{self._key_note} {status}".lstrip()
        self.panel.set_busy(False, status)
        self.panel.set_candidates([f"Variation {i + 1}: {n} notes" + (f" in {t} tracks" if t > 1 else "")
                                   for i, (n, t) in enumerate(zip(counts, tracks))])

    def _on_failed(self, job: int, message: str) -> None:
        if job != self._job:
            return
        self._job = None
        self.panel.set_busy(False, "")
        show_error(self.editor.window(), "Generation failed", message)

    def _on_cancelled(self, job: int) -> None:
        if job != self._job:
            return
        self._job = None
        self.panel.set_busy(False, "Cancelled.")

    @property
    def busy(self) -> bool:
        return self._job is not None

    # ----------------------------------------------------------------- candidates
    def _clear_shown(self) -> None:
        for track_id in self._shown:
            self.editor.set_candidates(track_id, None)
        self._shown = []

    def _show_candidate(self, index: int) -> None:
        """Draw variation ``index`` (-1: none), each part in its track's color."""
        if self.plan is None:
            return
        self._clear_shown()
        if not 0 <= index < len(self.candidates):
            self.panel.set_measures(None, None)
            return
        key = self.plan.request.primer_key()
        self.panel.set_measures(self.candidate_measures(index), self.reference_measures,
                                self.candidate_primer_measures(index), key.name if key else None)
        new_tracks = 0
        for part in self.candidates[index]:
            if part.track_id is None:
                track_id = NEW_TRACK_CANDIDATES - new_tracks
                new_tracks += 1
            else:
                track_id = part.track_id
            self.editor.set_candidates(track_id, part.notes)
            self._shown.append(track_id)
        self._bring_into_view(self.candidates[index])

    def _bring_into_view(self, parts: list[CandidatePart]) -> None:
        """Scroll the editor to the generated range and the candidate notes' pitches."""
        pitches = np.concatenate([part.notes["pitch"] for part in parts if not part.is_drum]
                                 or [np.zeros(0, np.int64)])
        low, high = (int(pitches.min()), int(pitches.max())) if len(pitches) else (None, None)
        self.editor.view.ensure_region_visible(self.plan.start, self.plan.end, low, high)

    def candidate_measures(self, index: int) -> dict[str, float]:
        """The objective measures of variation ``index`` alone (its notes in its tracks)."""
        score = self.editor.score
        tracks = [Track(part.name or "", part.program, part.is_drum, part.notes) for part in self.candidates[index]]
        alone = Score(tracks, score.ppq, score.tempos, score.time_signatures)
        return measure(alone, self.plan.start, self.plan.end)

    def variation_score(self, index: int) -> Score | None:
        """Variation ``index`` alone as a clip from the bar it starts at, with the song's tempo
        and meter (what dragging it out of the window writes); None without one."""
        if self.plan is None or not 0 <= index < len(self.candidates):
            return None
        score = self.editor.score
        known = {track.id: track for track in score.tracks}
        tracks = []
        for part in self.candidates[index]:
            track = known.get(part.track_id)
            name, program, is_drum = ((track.name, track.program, track.is_drum) if track is not None
                                      else (part.name or "Generated", part.program, part.is_drum))
            tracks.append(Track(name, program, is_drum, part.notes.copy()))
        return clip_score(score, tracks, self.plan.start, self.plan.end)

    def candidate_primer_measures(self, index: int) -> dict[str, float]:
        """Variation ``index`` against the primer it continues: in-key share of the primer's
        key, onsets on its grid, density ratio, register jump at the seam (NaN: not measurable)."""
        return primer_measures(self.editor.score, self.plan, self.candidates[index])

    def audition(self, index: int) -> None:
        """Ask for the score with variation ``index`` accepted to be played, from a bar before it."""
        if self.plan is None or not 0 <= index < len(self.candidates):
            return
        score = self.editor.score
        preview = preview_score(score, self.plan, self.candidates[index])
        bars = score.bar_starts(self.plan.start)
        lead_in = bars[max(int((bars < self.plan.start).sum()) - AUDITION_LEAD_IN_BARS, 0)]
        self.audition_requested.emit(preview, int(min(lead_in, self.plan.start)))

    def accept(self, index: int) -> bool:
        """Add variation ``index`` to the score as one undo step; the candidates are cleared."""
        if self.plan is None or not 0 <= index < len(self.candidates):
            return False
        score = self.editor.score
        replaced = _replaced_note_count(score, self.plan, self.candidates[index])
        edit = accept_edit(score, self.plan, self.candidates[index],
                           new_track_name=f"Generated {index + 1}")
        try:
            push_edit(self.editor.undo_stack, score, edit)
        except ComposerError as exc:  # e.g. the target track was deleted meanwhile
            show_error(self.editor.window(), "Cannot accept", str(exc))
            return False
        self.discard()
        stack = self.editor.undo_stack
        if stack is not self._watched_stack:
            stack.indexChanged.connect(self._on_undo_index)
            self._watched_stack = stack
        self._accepted_at = stack.index()
        self._accepted_text = stack.text(self._accepted_at - 1)
        lost = f" It replaced {replaced} note{'s' * (replaced != 1)} in its range." if replaced else ""
        self._accepted_status = f"Accepted.{lost} Undo (Ctrl+Z) takes it back."
        self.panel.set_status(self._accepted_status)
        self.accepted.emit()
        return True

    def _on_undo_index(self, index: int) -> None:
        """Keep the note about the last accept true while the user undoes and redoes it; any
        other edit ends it."""
        if self._accepted_at is None:
            return
        stack = self.editor.undo_stack
        if index == self._accepted_at - 1:
            self.panel.set_status("The accepted variation was undone. Redo (Ctrl+Y) brings it back.")
        elif index == self._accepted_at and stack.text(index - 1) == self._accepted_text:
            self.panel.set_status(self._accepted_status)
        else:
            self._accepted_at = None
            self.panel.set_status("")

    def discard(self) -> None:
        """Clear the candidates (and the status that spoke about them)."""
        if self.candidates or self._accepted_at is not None:
            self.panel.set_status("")
        self._accepted_at = None
        self._clear_shown()
        self.plan, self.candidates = None, []
        self.panel.set_candidates([])


def _replaced_note_count(score: Score, plan: Plan, parts: list[CandidatePart]) -> int:
    """How many of the score's notes accepting ``parts`` replaces (notes starting in the range)."""
    count = 0
    for part in parts:
        if part.track_id is not None:
            starts = score.track(part.track_id).notes["start"]
            count += int(((starts >= plan.start) & (starts < plan.end)).sum())
    return count
