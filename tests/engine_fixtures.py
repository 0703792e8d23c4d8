"""Self-made training data for engine tests: small MIDI files of arpeggios and scales."""

from pathlib import Path

import numpy as np

from composer.core import Score, TempoChange, Track, make_notes
from composer.io.midi import write_midi

PPQ = 480


def arpeggio_song(root: int, bars: int = 8, seed: int = 0) -> Score:
    """Eighth-note arpeggios over I-IV-V-I in the key of ``root``, with a held bass note."""
    rng = np.random.default_rng(seed)
    starts, ends, pitches = [], [], []
    for bar in range(bars):
        chord = root + (0, 5, 7, 0)[bar % 4]
        pattern = [0, 4, 7, 12, 7, 4, 0, 4] if chord == root else [0, 4, 7, 4, 0, 7, 12, 7]
        for i, step in enumerate(pattern):
            t = bar * 4 * PPQ + i * PPQ // 2
            starts.append(t)
            ends.append(t + PPQ // 2)
            pitches.append(chord + step + int(rng.integers(0, 2)) * 12 * (i == 7))
        starts.append(bar * 4 * PPQ)
        ends.append((bar + 1) * 4 * PPQ)
        pitches.append(chord - 12)
    track = Track("Piano", 0, notes=make_notes(starts, ends, pitches, 90))
    return Score([track], PPQ, [TempoChange(0, 120.0)])


def write_training_folder(folder: Path, n_files: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_files):
        write_midi(arpeggio_song(55 + (i * 5) % 12, seed=i), folder / f"song{i:02d}.mid")
    return folder
