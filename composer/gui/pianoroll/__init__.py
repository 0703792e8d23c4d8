"""The piano-roll editor: a reusable widget the main window embeds.

``PianoRollEditor`` composes a keyboard, a ruler, the note view and a velocity lane. The view edits
the Score only through core edits pushed onto the app's QUndoStack; the scene follows the
Score's change signals.
"""

from .editor import PianoRollEditor
from .grid import SNAP_NAMES, snap_ticks
from .items import CandidateItem, NoteItem
from .keyboard import KeyboardWidget
from .ruler import RulerWidget
from .scene import PianoRollScene
from .velocity import VelocityLane
from .view import TOOLS, PianoRollView

__all__ = [
    "PianoRollEditor", "PianoRollView", "PianoRollScene", "NoteItem", "CandidateItem",
    "KeyboardWidget", "RulerWidget", "VelocityLane", "SNAP_NAMES", "TOOLS", "snap_ticks",
]
