"""An order-preserving, memory-bounded parallel map for readers of many files (``--workers N``).

Why not ``Pool.imap``: its feeder thread queues every task at once and keeps results that
the consumer has not taken yet, so a slow consumer on 114,480 files grows without bound.
Here at most ``4 * workers`` batches are in flight; results come back in input order, so
the clips of a collection are in the same order whatever ``N`` is.

Worker processes are forked on Linux: a spawned worker would re-import the ``kinemic``
entry script and with it the whole CLI (PyTorch included) before reading one file.  Forked
workers only run the reader function; they never touch the parent's progress bar or HDF5
files.  Elsewhere (macOS, Windows) the spawn method is used.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

__all__ = ["ordered_map"]

T = TypeVar("T")
R = TypeVar("R")


def _run_batch(fn: Callable[[T], R], batch: Sequence[T]) -> list[R]:
    return [fn(x) for x in batch]


def _context():
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


def ordered_map(fn: Callable[[T], R], items: Sequence[T], workers: int = 1, *, batch: int = 8,
                in_flight_per_worker: int = 4) -> Iterator[R]:
    """``fn(x)`` for every item, in input order; ``workers > 1`` reads in that many processes.

    ``fn`` must be picklable (a module-level function or a ``functools.partial`` of one) and
    should turn bad inputs into values rather than raise: an exception in a worker stops
    the whole map (the pool is terminated when the generator is closed).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1 or len(items) <= batch:
        for x in items:
            yield fn(x)
        return
    batches = (items[i : i + batch] for i in range(0, len(items), batch))
    with _context().Pool(workers) as pool:
        pending: deque = deque()
        for b in batches:
            pending.append(pool.apply_async(_run_batch, (fn, b)))
            if len(pending) >= workers * in_flight_per_worker:
                break
        while pending:
            results = pending.popleft().get()
            nxt = next(batches, None)
            if nxt is not None:
                pending.append(pool.apply_async(_run_batch, (fn, nxt)))
            yield from results
