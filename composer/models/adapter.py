"""The torch-free half of a model family: between scores and the family's arrays.

A family is two parts (DESIGN.md, "Model families"): this adapter, which knows the family's
codec, how a primer becomes the network's input, how many steps a length is and how generated
steps become notes in the caller's time base; and the network (:class:`~composer.models.base.FamilyModel`),
which learns (``loss``) and samples (``generate``). The adapter imports no torch (an import
contract says so), so it can be read, tested and used by tools that never build a network.

Every model holds its adapter as ``model.adapter``; a family's network class names its adapter
class in ``adapter_class``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from composer.core.errors import ComposerError
from composer.core.score import Score
from composer.data.encoded import EncodedSet
from composer.representations.codecs import codec_from_params

#: The data-info entry (in the checkpoint header) of a model trained on key-normalised data.
KEY_NORMALIZED = "key_normalized"


class FamilyAdapter(ABC):
    """Codec, primer encoding, length in steps and decoding of one family.

    ``config`` is the family's Config, ``info`` what the model learned about its data (the
    checkpoint header's JSON-safe dict, from :meth:`data_info`)."""

    #: Most frames of primer the network reads (families with a fixed context window), or None.
    context_frames: int | None = None

    def __init__(self, config, info: dict):
        self.config = config
        self.info = info

    @property
    def key_normalized(self) -> bool:
        """True when the model was trained on key-normalised data (its header says so), so
        generation moves the primer to C major / A minor and the result back."""
        return bool(self.info.get(KEY_NORMALIZED))

    @property
    def codec(self):
        """The codec the model's data was encoded with (from its header)."""
        return codec_from_params(self.info["codec"])

    # ----------------------------------------------------------------------------- data
    @classmethod
    @abstractmethod
    def default_codec(cls, config):
        """The codec that encodes training data for a model of ``config``."""

    @classmethod
    @abstractmethod
    def data_info(cls, data: EncodedSet, config) -> dict:
        """What the model must know about its data before it is built (JSON-safe)."""

    # ----------------------------------------------------------------------- generation
    # composer.generation.generate calls these, so it works for every family.
    @abstractmethod
    def encode_primer(self, part: Score, primer: Score, start_tick: int) -> np.ndarray:
        """The family's input for ``part`` (the primer's notes before ``start_tick``, the
        chosen track only; it may have no notes), shape (T0, ...). ``primer`` is the whole
        primer (for its tempo map and meter). Raises ComposerError for a primer it cannot use;
        warns (ComposerWarning) about what it had to change."""

    @abstractmethod
    def steps_for(self, primer: Score, start_tick: int, end_tick: int) -> int:
        """How many generated steps cover ticks [start_tick, end_tick) of ``primer``."""

    def steps_between(self, part: Score, primer: Score, start_tick: int, end_tick: int) -> int:
        """How many of the last steps of ``encode_primer(part, primer, end_tick)`` stand for
        ticks [start_tick, end_tick): the steps a likelihood of that span sums over (infill).
        The default, :meth:`steps_for`, is exact for families whose steps are fixed by time."""
        return self.steps_for(primer, start_tick, end_tick)

    def decode_continuation(self, steps: np.ndarray, primer: Score, start_tick: int) -> np.ndarray:
        """Single-track families: one variation's generated steps (N, ...) -> notes (NOTE_DTYPE)
        in ``primer``'s ticks (its PPQ, its tempo map), starting at ``start_tick``."""
        raise NotImplementedError(f"{type(self).__name__} decodes through decode_slots")

    def decode_slots(self, steps: np.ndarray, primer: Score, start_tick: int,
                     primer_grid: int | None = None):
        """Multitrack families: one variation's generated steps -> a list of (Track, target), one
        per instrument slot, the Track holding the slot's notes in ``primer``'s ticks from
        ``start_tick`` and target the id of the primer track that continues the slot (None: the
        Track is added as a new track); ``primer_grid``: the primer's grid in ticks, when
        following it. None (the default) for single-track families, whose result goes through
        :meth:`decode_continuation` into one track."""
        return None

    def encode_accompaniment(self, part: Score, lead_id: int, start_tick: int, n_bars: int):
        """Families with the "accompany" capability: the network's input for accompanying track
        ``lead_id`` of ``part`` over ``n_bars`` steps from ``start_tick``, and the track each
        slot goes into (see :class:`~composer.models.multitrack_adapter.Accompaniment`)."""
        raise ComposerError(f"{type(self).__name__} cannot accompany a track")
