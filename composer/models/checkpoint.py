"""The checkpoint format: one ``.safetensors`` file, metadata as JSON in its header.

Loading never executes code: weights come from safetensors, metadata is JSON, and the resume state
(optimizer, epoch, RNG) beside it is read with ``torch.load(weights_only=True)``. Pickles posing as
checkpoints are recognised and refused with a clear message. :func:`read_metadata` parses only the
header, so model lists need neither torch nor the weights.

Metadata keys: ``format``, ``format_version``, ``family``, ``preset``, ``config`` (the family's
config dataclass as a dict), ``info`` (what the model learned about its data: codec parameters,
pitch range, ...), ``data`` (training-data summary), ``metrics``, ``training`` (epochs, device,
command), ``versions``, ``created``, ``name``, and ``weights_dtype`` where the float weights are
stored in half precision (``"float16"``: half the file; :func:`load_state_dict` gives them back as
float32, and a file without the key holds float32 as written).
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

from composer import __version__
from composer.core.errors import ComposerError
from composer.io.files import atomic_write_bytes, read_problem

FORMAT = "composer-model"
FORMAT_VERSION = 1
METADATA_KEY = "composer"
SUFFIX = ".safetensors"
RESUME_SUFFIX = ".resume.pt"
_MAX_HEADER = 100 * 1024 * 1024
#: The metadata key that says how float weights are stored; :data:`HALF` or absent (float32).
WEIGHTS_DTYPE = "weights_dtype"
HALF = "float16"


class CheckpointError(ComposerError):
    """A checkpoint that cannot be used: corrupt, truncated, foreign, newer or of another family."""


def resume_path(path: str | os.PathLike) -> Path:
    """Where the resume state of the checkpoint at ``path`` lives (``NAME.resume.pt``)."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(SUFFIX) + RESUME_SUFFIX)


def _describe_foreign(head: bytes) -> str | None:
    if head[:1] == b"\x80" or head[:2] in (b"(d", b"(l", b"]q", b"}q"):
        return "a Python pickle"
    if head[:2] == b"PK":
        return "a zip archive (the format torch.save writes, which holds pickles)"
    if head[:4] == b"MThd":
        return "a MIDI file"
    return None


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata dict of a checkpoint, read from its header without torch.

    Raises
    ------
    CheckpointError
        Missing file, not a safetensors file (a pickle is named as such), truncated or corrupt
        header, not a Composer checkpoint, or a format version newer than this Composer.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(9)
            handle.seek(0, os.SEEK_END)
            file_size = handle.tell()
            size = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else 0
            # A safetensors file is an 8-byte header length, then the JSON header itself.
            if head[8:9] != b"{" or size > min(_MAX_HEADER, file_size):
                foreign = _describe_foreign(head)
                if foreign:
                    raise CheckpointError(f"{path.name} is {foreign}, not a Composer checkpoint; "
                                          "Composer never loads pickles, which can run code")
                if len(head) < 9 or head[8:9] == b"{":
                    raise CheckpointError(f"{path.name} is truncated or empty")
                raise CheckpointError(f"{path.name} is not a safetensors checkpoint")
            handle.seek(8)
            raw = handle.read(size)
            if len(raw) < size:
                raise CheckpointError(f"{path.name} is truncated (the header is incomplete)")
    except OSError as exc:
        raise CheckpointError(read_problem(path, exc, "a checkpoint")) from None
    try:
        header = json.loads(raw)
        meta = json.loads(header["__metadata__"][METADATA_KEY])
        data_end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"),
                       default=0)
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"{path.name} is not a Composer checkpoint (no Composer metadata)") from None
    if 8 + size + data_end > file_size:
        raise CheckpointError(f"{path.name} is truncated (weights are missing)")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is not a Composer checkpoint")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path.name} has checkpoint format {version}, newer than this Composer "
                              f"reads ({FORMAT_VERSION}); update Composer to use it")
    return meta


def _json_safe(value):
    """Metadata as JSON allows it: NaN and infinities (a diverged loss) become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _stored(tensor, half: bool):
    """``tensor`` as it is written: float32 in half precision when ``half``, unless a value would
    not survive it (beyond float16's range, about 65504)."""
    import torch

    tensor = tensor.detach().to("cpu").contiguous()
    if half and tensor.dtype == torch.float32:
        small = tensor.to(torch.float16)
        if bool(torch.isfinite(small).all()) or not bool(torch.isfinite(tensor).all()):
            return small
    return tensor


def save_checkpoint(path: str | os.PathLike, state_dict: dict, metadata: dict) -> Path:
    """Write tensors and metadata atomically; returns the path. ``metadata`` must be JSON-safe
    apart from non-finite floats, which are stored as null. With ``metadata["weights_dtype"]``
    ``"float16"``, float32 tensors are stored in half precision (a tensor with a value beyond
    float16's range stays float32)."""
    import torch
    from safetensors.torch import save

    meta = _json_safe({"format": FORMAT, "format_version": FORMAT_VERSION,
                       "versions": {"composer": __version__, "torch": torch.__version__}, **metadata})
    dtype = meta.get(WEIGHTS_DTYPE)
    if dtype not in (None, HALF, "float32"):
        raise CheckpointError(f"weights can be stored as {HALF} or float32, not {dtype!r}")
    tensors = {k: _stored(v, dtype == HALF) for k, v in state_dict.items()}
    data = save(tensors, metadata={METADATA_KEY: json.dumps(meta, allow_nan=False)})
    atomic_write_bytes(Path(path), data)
    return Path(path)


def load_state_dict(path: str | os.PathLike) -> dict:
    """The tensors of a checkpoint (on the CPU), after its metadata checked out; weights stored
    in half precision come back as float32."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    read_metadata(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{Path(path).name}: the weights cannot be read ({exc})") from None
    return {k: v.float() if v.dtype in (torch.float16, torch.bfloat16) else v for k, v in tensors.items()}


def store_weights_as(path: str | os.PathLike, dtype: str) -> tuple[int, int]:
    """Rewrite the checkpoint at ``path`` with its float weights stored as ``dtype``
    (:data:`HALF` or "float32"; the header records it), its other metadata unchanged; returns
    its size in bytes before and after."""
    path = Path(path)
    before = path.stat().st_size
    meta = read_metadata(path)
    meta.pop(WEIGHTS_DTYPE, None)
    if dtype != "float32":
        meta[WEIGHTS_DTYPE] = dtype
    save_checkpoint(path, load_state_dict(path), meta)
    return before, path.stat().st_size


def save_resume_state(path: str | os.PathLike, state: dict) -> None:
    """Write the resume state (tensors, numbers, strings, lists, dicts only) atomically."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(resume_path(path), buffer.getvalue())


def load_resume_state(path: str | os.PathLike) -> dict | None:
    """The resume state saved beside checkpoint ``path``, or None when there is none."""
    import pickle

    import torch

    target = resume_path(path)
    if not target.exists():
        return None
    try:
        return torch.load(target, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{target.name}: the resume state cannot be read safely ({exc}); "
                              "delete it to start training afresh") from None
