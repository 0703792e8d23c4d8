"""Errors and warnings shared by every layer.

Every error a user can cause derives from :class:`ComposerError`; the command line and the GUI show
its message as it is, without a traceback, so messages must name the file or object and the reason.
"""


class ComposerError(Exception):
    """A problem the user can understand and fix; shown without a traceback."""


class ScoreError(ComposerError, ValueError):
    """An invalid score, track or note."""


class ComposerWarning(UserWarning):
    """Something was repaired or skipped; the result is usable."""
