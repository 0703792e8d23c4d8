"""The data the bundled models learnt from: licences and credits (README, the app's About box).

A model is credited to a data set when its file name or its header's data source names it
(``pop909``, ``groove``, ...), so a newly bundled model is listed without editing this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataCredit:
    name: str
    licence: str
    credit: str
    #: Words, any of which in a model's file name or data source (lower case) mean this data set.
    keys: tuple[str, ...]


DATA_CREDITS = (
    DataCredit("JSB Chorales", "public domain",
               "J. S. Bach's chorales in the split of Boulanger-Lewandowski, Bengio and Vincent (2012)",
               ("jsb",)),
    DataCredit("Nottingham", "GPL-3.0 data set", "traditional folk tunes", ("nottingham",)),
    DataCredit("JS Fake Chorales", "CC BY 4.0", "Omar Peracha (2021)", ("jsfakes", "js_fakes")),
    DataCredit("POP909", "MIT", "Wang, Chen, Jiang, Zhang, Xu, Dai, Bin and Xia (2020), \"POP909: A "
               "Pop-song Dataset for Music Arrangement Generation\", ISMIR", ("pop909",)),
    DataCredit("Groove MIDI Dataset", "CC BY 4.0", "Gillick, Roberts, Engel, Eck and Bamman (2019), "
               "\"Learning to Groove with Inverse Sequence Transformations\", ICML", ("groove",)),
)


def trained_on(credit: DataCredit, models: list[tuple[str, str]]) -> list[str]:
    """The names of ``models`` ((file stem, data source) pairs) trained on ``credit``'s data."""
    return [stem for stem, source in models
            if any(key in stem.lower() or key in (source or "").lower() for key in credit.keys)]


def bundled_models(folder: Path) -> list[tuple[str, str]]:
    """(file stem, data source) of the checkpoints in ``folder``; unreadable files are left out."""
    from .checkpoint import CheckpointError, read_metadata

    found = []
    for path in sorted(Path(folder).glob("*.safetensors")):
        try:
            source = str((read_metadata(path).get("data") or {}).get("source") or "")
        except CheckpointError:
            continue
        found.append((path.stem, source))
    return found


def credits_text(models: list[tuple[str, str]]) -> str:
    """One line for each data set: its licence, its authors and the bundled models it trained."""
    lines = []
    for credit in DATA_CREDITS:
        names = trained_on(credit, models)
        used = f" Trained: {', '.join(names)}." if names else " (No bundled model uses it now.)"
        lines.append(f"{credit.name} ({credit.licence}): {credit.credit}.{used}")
    return "\n".join(lines)


def about_text(version: str, folder: Path | None = None) -> str:
    """The About box's text: the version, and the data the bundled models learnt from."""
    from .library import BUNDLED

    models = bundled_models(BUNDLED if folder is None else folder)
    return (f"Composer {version}\nCompose music with AI help.\n\n"
            f"The bundled models learnt from freely licensed data:\n{credits_text(models)}")
