"""Data-parallel training through ``torchrun``: the process group from its environment variables.

One process per device (``torchrun --nproc_per_node N -m sargeo train ...``); gloo on CPUs, NCCL on GPUs.
Without torchrun's variables everything runs in one process and these helpers do nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place: rank, world size, its device."""

    rank: int = 0
    size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        """Whether this process writes files and prints."""
        return self.rank == 0


def init_world() -> World:
    """Join the process group torchrun describes, or a one-process world."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if size <= 1:
        return World(0, 1, device)
    if cuda:
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), device)


def barrier(world: World) -> None:
    """Wait for every process (no-op alone)."""
    if world.size > 1:
        dist.barrier()


def broadcast_flag(world: World, value: bool) -> bool:
    """Rank 0's boolean, on every process (e.g. "the run folder is fine")."""
    if world.size <= 1:
        return value
    t = torch.tensor([1 if value else 0], device=world.device)
    dist.broadcast(t, 0)
    return bool(t.item())


def close_world(world: World) -> None:
    """Leave the process group."""
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()
