"""Devices and process groups: one code path for a laptop CPU and ``torchrun`` on a cluster.

Training loops run inside :func:`process_group` (or call :func:`setup_distributed` once).  Without ``torchrun`` it returns a
single-process context; under ``torchrun`` (``WORLD_SIZE > 1``) it joins the process
group (gloo on CPU, nccl on CUDA).  Only the main process (rank 0) writes checkpoints,
logs and the store: loops guard those with ``ctx.is_main``.  A *global* batch means the
same thing whatever the number of processes: :func:`local_batch_size` splits it, and
every process takes the rows ``rank::world_size`` of the global batch it drew.

The helpers below are what the training loops need beyond that: :func:`gather_rows`
(an autograd-aware gather that puts the rows back in global order, for losses whose
candidates are the whole global batch), :func:`gather_ragged_rows` (scoring sharded over
processes), :func:`broadcast_buffers` and :func:`gather_objects`.  Launching ``torchrun``
from ``kinemic ... --nproc N`` lives in :mod:`kinemic_cli.runtime.launch`.
"""

from __future__ import annotations

import datetime
import inspect
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch

from ..errors import KinemicError
from .launch import is_main_process  # re-exported: one definition, torch-free

__all__ = [
    "DistContext",
    "resolve_device",
    "process_group",
    "setup_distributed",
    "teardown_distributed",
    "local_batch_size",
    "all_reduce_mean",
    "process_device",
    "is_main_process",
    "gather_rows",
    "all_gather_autograd",
    "gather_ragged_rows",
    "gather_objects",
    "broadcast_buffers",
    "wrap_ddp",
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


def process_device(name: str) -> torch.device:
    """This process's device: ``cuda`` means ``cuda:LOCAL_RANK`` under torchrun (one GPU per process)."""
    dev = resolve_device(name)
    if dev.type == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if local_rank >= torch.cuda.device_count():
            raise KinemicError(f"--device {name}: process with LOCAL_RANK {local_rank} has no GPU "
                               f"(only {torch.cuda.device_count()} here); start at most that many processes per node")
        dev = torch.device("cuda", local_rank)
    return dev


def setup_distributed(device: str = "cpu", *, timeout_s: float | None = None) -> DistContext:
    """Join the ``torchrun`` process group if there is one; pick this process's device.

    ``timeout_s`` bounds how long a collective waits for the other processes (default
    ``$KINEMIC_DIST_TIMEOUT`` or 600 s): rank 0 alone writes plots and checkpoints while
    the others wait at the next collective, so it must cover the slowest such write.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(0, 1, 0, resolve_device(device))
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = process_device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if timeout_s is None:
        try:
            timeout_s = float(os.environ.get("KINEMIC_DIST_TIMEOUT", "600"))
        except ValueError:
            raise KinemicError(f"KINEMIC_DIST_TIMEOUT={os.environ['KINEMIC_DIST_TIMEOUT']!r}: expected seconds, "
                               "e.g. 600") from None
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    return DistContext(rank, world, local_rank, dev, backend)


def teardown_distributed(ctx: DistContext) -> None:
    if ctx.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


@contextmanager
def process_group(device: str = "cpu", *, timeout_s: float | None = None) -> Iterator[DistContext]:
    """:func:`setup_distributed` for the block; on a clean exit every process meets at a
    barrier before the group is destroyed.

    Without the barrier, a process that finishes first tears gloo down while its peer still
    has a message in flight, and the peer dies with SIGABRT ("terminate called without an
    active exception") after its work is done, failing a run that succeeded.  After an
    error there is no barrier (the peer may never arrive); torchrun stops the others.
    """
    ctx = setup_distributed(device, timeout_s=timeout_s)
    try:
        yield ctx
        if ctx.distributed:
            import torch.distributed as dist

            dist.barrier()
    finally:
        teardown_distributed(ctx)


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


def gather_rows(local: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """The global batch's rows from every process's ``rows rank::world_size``, in global order.

    Autograd-aware (``torch.distributed.nn.functional.all_gather``): a loss on one process
    that uses another process's rows sends its gradient back to that process, so the
    gradients DDP averages are those of the global batch.  Every process must hold the
    same number of rows (the global batch divides evenly).
    """
    if not ctx.distributed:
        return local
    parts = all_gather_autograd(local, ctx)  # parts[r][j] is global row r + j * world
    return torch.stack(parts, dim=1).reshape(-1, *local.shape[1:])


def all_gather_autograd(tensor: torch.Tensor, ctx: DistContext) -> list[torch.Tensor]:
    """Every process's ``tensor`` (same shape everywhere), with gradients flowing back to their owners."""
    if not ctx.distributed:
        return [tensor]
    from torch.distributed.nn.functional import all_gather

    with warnings.catch_warnings():
        # deprecated in favour of a private module (torch.distributed._functional_collectives)
        warnings.simplefilter("ignore", FutureWarning)
        return list(all_gather(tensor.contiguous()))


def gather_ragged_rows(local: np.ndarray, total: int, ctx: DistContext) -> np.ndarray:
    """Inverse of taking ``rows[rank::world_size]`` of ``total`` rows, for arrays (no grad).

    Used to score a data set sharded over processes: process ``r`` computed rows
    ``r, r + W, ...``; every process gets all ``total`` rows back in order.
    """
    if not ctx.distributed:
        return local
    import torch.distributed as dist

    width = -(-total // ctx.world_size)
    padded = np.zeros((width, *local.shape[1:]), dtype=local.dtype)
    padded[: len(local)] = local
    tensor = torch.from_numpy(padded).to(ctx.device)
    parts = [torch.empty_like(tensor) for _ in range(ctx.world_size)]
    dist.all_gather(parts, tensor)
    stacked = torch.stack(parts, dim=1).reshape(-1, *local.shape[1:]).cpu().numpy()
    return stacked[:total]


def gather_objects(value: Any, ctx: DistContext) -> list[Any]:
    """``[value of rank 0, value of rank 1, ...]`` on every process (small Python values only)."""
    if not ctx.distributed:
        return [value]
    import torch.distributed as dist

    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, value)
    return out


def broadcast_buffers(module: torch.nn.Module, ctx: DistContext) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every process."""
    if not ctx.distributed:
        return
    import torch.distributed as dist

    for buffer in module.buffers():
        dist.broadcast(buffer.data, src=0)


def wrap_ddp(module: torch.nn.Module, ctx: DistContext, *, find_unused: bool = False) -> torch.nn.Module:
    """``DistributedDataParallel(module)`` under torchrun, the module itself otherwise.

    Buffers are synced once, when DDP is built (every process starts from rank 0's
    state), not at every forward: the loops here keep them identical themselves or sync
    them before use (:func:`broadcast_buffers`), and the denoiser's position table is
    constant.  ``find_unused``: some trainable parameters may get no gradient in a step.
    """
    if not ctx.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    kwargs: dict[str, Any] = {"find_unused_parameters": find_unused}
    if ctx.device.type == "cuda":
        kwargs["device_ids"] = [ctx.device.index]
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters:
        kwargs["forward_sync_buffers"] = False
    else:  # torch before the option was renamed
        kwargs["broadcast_buffers"] = False
    return DistributedDataParallel(module, **kwargs)
