"""``composer models``: the families and every installed model, from checkpoint headers only."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--families", action="store_true", help="list the model families and presets")


def run(args: argparse.Namespace) -> int:
    from .library import list_models, user_models_dir
    from .registry import FAMILIES

    if args.families:
        for spec in FAMILIES.values():
            print(f"{spec.id:<20} {spec.name} — {spec.paper}")
            print(f"{'':<20} presets: {', '.join(spec.presets)}; can: {', '.join(sorted(spec.capabilities))}")
        return 0
    entries = list_models()
    if not entries:
        print(f"no models found (bundled folder or {user_models_dir()})")
    rows = []
    for entry in entries:
        if entry.error:
            rows.append((entry.path.name, f"unusable: {entry.error}"))
            continue
        meta = entry.metadata
        where = "bundled" if entry.bundled else str(entry.path.parent)
        rows.append((entry.name, meta["family"], meta.get("preset", ""), where, _metrics_text(meta)))
    widths = [max((len(row[i]) for row in rows if len(row) > i + 1), default=0) for i in range(4)]
    for row in rows:
        print("  ".join(f"{cell:<{widths[i]}}" if i < len(row) - 1 else cell for i, cell in enumerate(row)))
    return 0


def _metrics_text(meta: dict, room: int = 80) -> str:
    """The header's metrics as "name value" pairs, whole ones only, within ``room`` characters."""
    text = ""
    for key, value in (meta.get("metrics") or {}).items():
        if not isinstance(value, float):
            continue
        pair = f"{key} {value:.3f}"
        if len(text) + len(pair) + 2 > room:
            break
        text = f"{text}, {pair}" if text else pair
    return text
