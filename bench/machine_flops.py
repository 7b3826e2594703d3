"""The machine's own arithmetic speed, and FLOP counts of a training step, for the benches.

A step's GFLOP/s means little alone: the benches print it beside what this machine's matrix
units reach on a large fp32 and bf16 matmul measured in the same run, so a reader sees how
much of the hardware a step uses (and whether bf16 is worth turning on here).
"""

from __future__ import annotations

import time
from typing import Callable


def matmul_gflops(dtype: str = "fp32", size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of a ``size``^3 matmul in ``dtype`` (fp32 or bf16) with torch's current threads."""
    import torch

    kind = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a, b = torch.randn(size, size, dtype=kind), torch.randn(size, size, dtype=kind)
    for _ in range(2):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return repeats * 2 * size ** 3 / (time.perf_counter() - start) / 1e9


def counted_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` (forward and backward both count), by torch's flop counter."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()
