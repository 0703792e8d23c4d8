"""Which torch device to run on: CUDA when present, then Apple MPS, else the CPU."""

from __future__ import annotations

import torch

from composer.core.errors import ComposerError

DEVICES = ("auto", "cpu", "cuda", "mps")


def detect_devices() -> list[str]:
    """Accelerators present here, best first, always ending with "cpu"."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def choose_device(requested: str = "auto", local_rank: int = 0) -> torch.device:
    """CUDA when present, then Apple MPS, else the CPU; or the device the user forced."""
    if requested not in DEVICES:
        raise ComposerError(f"unknown device {requested!r}; choose one of {', '.join(DEVICES)}")
    available = detect_devices()
    name = available[0] if requested == "auto" else requested
    if name not in available:
        raise ComposerError(f"device {requested!r} is not available here (found: {', '.join(available)})")
    if name == "cuda":
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device(name)
