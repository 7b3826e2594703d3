"""Randomness of a training loop under torchrun: what every process shares, what is its own.

A training step uses two kinds of random numbers, and DDP needs them kept apart:

- **Shared draws** define the *global* batch: which clips, crops and captions (a numpy
  ``Generator``), and the diffusion timesteps, noise and condition drops (a CPU
  ``torch.Generator``).  Every process draws the whole global batch from the same state
  and keeps its rows ``rank::world_size``, so the draws are the same whatever the number
  of processes and a checkpoint written by N processes continues under any other N.
- **Each process's own stream** is the default torch generator of its device, which
  dropout consumes on its local rows.  Rank 0 continues exactly the stream a
  single-process run has (so one process is bit-identical to before); other ranks start
  from seeds derived from ``(seed, rank)``, so their dropout masks are independent.

:meth:`TrainingRandomness.state` is a collective under DDP (it gathers every process's
own stream into the checkpoint); :meth:`TrainingRandomness.restore` gives each process its
saved stream when the process count is unchanged (a bit-identical resume) and a seed
derived from ``(seed, rank, step)`` to processes the checkpoint did not have.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from .checkpoints import rng_state
from .distributed import DistContext, gather_objects

__all__ = ["TrainingRandomness", "derived_seed"]

_SHARED, _PROCESS = 1, 2  # purposes mixed into derived seeds


def derived_seed(*parts: int) -> int:
    """A 32-bit seed from integers (numpy's SeedSequence: well-mixed, stable across versions)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint32)[0])


def _own_state(device: torch.device) -> dict:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_own_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


class TrainingRandomness:
    """The shared numpy/torch generators of a run and the bookkeeping of per-process streams.

    Create it after the model is built from ``torch.manual_seed(seed)`` (every process
    builds the same initial weights), then draw batches from :attr:`numpy` and diffusion
    draws from :attr:`shared` (``generator=`` argument of ``torch.randn`` and friends).
    """

    def __init__(self, seed: int, ctx: DistContext):
        self.seed, self.ctx = int(seed), ctx
        self.numpy = np.random.default_rng(seed)
        self.shared = torch.Generator().manual_seed(derived_seed(seed, _SHARED))
        if ctx.rank > 0:
            torch.manual_seed(derived_seed(seed, _PROCESS, ctx.rank))

    def state(self) -> dict:
        """Everything to continue the run (a collective under DDP: call it on every process)."""
        processes = gather_objects(_own_state(self.ctx.device), self.ctx)
        return {**rng_state(self.numpy), "shared_torch": self.shared.get_state(), "processes": processes}

    def restore(self, state: dict, *, step: int) -> None:
        self.numpy.bit_generator.state = json.loads(state["numpy"])
        if "shared_torch" in state:
            self.shared.set_state(state["shared_torch"])
        else:  # a checkpoint from before the shared generator existed
            self.shared.manual_seed(derived_seed(self.seed, _SHARED, step))
        processes = state.get("processes") or []
        if self.ctx.rank < len(processes):
            _set_own_state(processes[self.ctx.rank], self.ctx.device)
        elif self.ctx.rank == 0:
            torch.set_rng_state(state["torch"])
        else:
            torch.manual_seed(derived_seed(self.seed, _PROCESS, self.ctx.rank, step))
