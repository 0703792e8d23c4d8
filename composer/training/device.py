"""torchrun/DDP set-up (device choice itself lives in composer.models.device).

Under ``torchrun --nproc_per_node=N`` the environment carries RANK, LOCAL_RANK and WORLD_SIZE;
the same ``composer train`` command then trains with DistributedDataParallel (NCCL on CUDA, gloo
on the CPU), as nanoGPT does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from composer.models.device import choose_device, detect_devices  # noqa: F401  (re-exported)

@dataclass
class Distributed:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def all_mean(self, value: float) -> float:
        """The mean of ``value`` over all processes."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        torch.distributed.all_reduce(tensor)
        return float(tensor.item()) / self.world_size

    def any(self, flag: bool) -> bool:
        """True on every process when ``flag`` is true on any (e.g. a stop request)."""
        if not self.enabled:
            return flag
        tensor = torch.tensor([1.0 if flag else 0.0])
        torch.distributed.all_reduce(tensor)
        return bool(tensor.item() > 0)

    def close(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def init_distributed(device_request: str = "auto") -> Distributed:
    """Join the process group when launched by torchrun; a no-op for a plain run."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_request in ("auto", "cuda") and torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Distributed(rank, local_rank, world_size)
