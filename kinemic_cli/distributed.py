"""Devices and process groups: one code path for a laptop CPU and ``torchrun`` on a cluster.

Training loops call :func:`setup_distributed` once.  Without ``torchrun`` it returns a
single-process context; under ``torchrun`` (``WORLD_SIZE > 1``) it joins the process
group (gloo on CPU, nccl on CUDA).  Only the main process (rank 0) writes checkpoints,
logs and the store: loops guard those with ``ctx.is_main``.  A *global* batch means the
same thing whatever the number of processes: :func:`local_batch_size` splits it.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from dataclasses import dataclass

import torch

from .errors import KinemicError

__all__ = [
    "DistContext",
    "resolve_device",
    "setup_distributed",
    "teardown_distributed",
    "local_batch_size",
    "all_reduce_mean",
    "launch_torchrun",
]


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N``, checked against what this machine has."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise KinemicError(f"--device {name!r}: expected cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise KinemicError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise KinemicError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type != "cpu":
        raise KinemicError(f"--device {name!r}: expected cpu, cuda or cuda:N")
    return device


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str = "cpu", *, timeout_s: float = 120.0) -> DistContext:
    """Join the ``torchrun`` process group if there is one; pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(0, 1, 0, resolve_device(device))
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    return DistContext(rank, world, local_rank, dev, backend)


def teardown_distributed(ctx: DistContext) -> None:
    if ctx.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def local_batch_size(global_batch: int, ctx: DistContext) -> int:
    """This process's share of a global batch (the global batch must divide evenly)."""
    if global_batch % ctx.world_size:
        raise KinemicError(
            f"--batch-size {global_batch} is the global batch and must be divisible by the {ctx.world_size} processes"
        )
    return global_batch // ctx.world_size


def all_reduce_mean(value: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Mean of a tensor over processes (identity when not distributed)."""
    if not ctx.distributed:
        return value
    import torch.distributed as dist

    out = value.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / ctx.world_size


def launch_torchrun(nproc: int, argv: list[str]) -> int:
    """``kinemic ... --nproc N``: re-run the same command under torchrun with N processes."""
    if nproc < 1:
        raise KinemicError(f"--nproc must be at least 1, got {nproc}")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "kinemic_cli", *argv]
    return subprocess.call(cmd)
