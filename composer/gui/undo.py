"""Undo for the GUI: a thin QUndoCommand around each Qt-free core edit.

Core edits (``composer.core.edits``) hold ids and plain values and know how to apply and revert
themselves; this module only adapts them to Qt's undo stack. Qt objects never go into core edits.
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QKeySequence, QUndoCommand, QUndoStack

from composer.core.edits import Edit
from composer.core.score import Score


class EditCommand(QUndoCommand):
    """A QUndoCommand whose redo applies ``edit`` to ``score`` and whose undo reverts it.

    With ``applied=True`` the first ``redo`` (the one ``QUndoStack.push`` makes) is skipped
    because the caller has already applied the edit (see :func:`push_edit`).
    """

    def __init__(self, score: Score, edit: Edit, parent: QUndoCommand | None = None, *,
                 applied: bool = False):
        super().__init__(edit.text, parent)
        self.score = score
        self.edit = edit
        self._skip_redo = applied

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self.edit.apply(self.score)

    def undo(self) -> None:
        self.edit.revert(self.score)


def push_edit(stack: QUndoStack, score: Score, edit: Edit) -> EditCommand:
    """Apply ``edit`` to ``score`` and push it onto ``stack`` as one undo step.

    The edit is applied before the push so that an invalid edit raises (e.g. ``ScoreError``) and
    leaves both the score and the stack untouched, instead of failing inside Qt's ``redo``.
    """
    edit.apply(score)
    command = EditCommand(score, edit, applied=True)
    stack.push(command)
    return command


#: Redo keys people expect besides their platform's standard one: Ctrl+Y (Windows, and most Linux
#: apps: LibreOffice, MuseScore, browsers) and Ctrl+Shift+Z (GNOME, KDE, macOS).
EXTRA_REDO_KEYS = ("Ctrl+Y", "Ctrl+Shift+Z")


def redo_shortcuts(standard: list[QKeySequence] | None = None) -> list[QKeySequence]:
    """The platform's Redo keys (``standard``, default ``QKeySequence.keyBindings(Redo)``) plus
    :data:`EXTRA_REDO_KEYS`, each once: a key bound twice to one action is "ambiguous" and
    Qt then ignores it. On macOS the standard keys are kept as they are (Ctrl there is Cmd,
    and Cmd+Y is not Redo)."""
    keys = list(QKeySequence.keyBindings(QKeySequence.StandardKey.Redo) if standard is None else standard)
    if sys.platform != "darwin":
        keys += [QKeySequence(text) for text in EXTRA_REDO_KEYS]
    unique: list[QKeySequence] = []
    for key in keys:
        if not key.isEmpty() and key not in unique:
            unique.append(key)
    return unique
