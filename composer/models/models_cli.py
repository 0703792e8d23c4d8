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
    for entry in entries:
        where = "bundled" if entry.bundled else str(entry.path.parent)
        if entry.error:
            print(f"{entry.path.name:<32} unusable: {entry.error}")
            continue
        meta = entry.metadata
        metrics = meta.get("metrics", {})
        shown = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float))[:80]
        print(f"{entry.name:<32} {meta['family']:<18} {meta.get('preset', ''):<10} {where}  {shown}")
    return 0
