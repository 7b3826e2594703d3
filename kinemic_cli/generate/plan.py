"""What a ``generate`` run will produce, decided before any model runs.

Every synthetic clip is named by ``(class, index)`` and gets its own seed and length from
``(seed, class, index)`` alone.  Sharding splits this list; batching groups clips of equal
length (no padding, so a clip's numbers never depend on its batch-mates); resuming skips
the sample ids already stored.  That is why the union of shards equals the unsharded run,
whatever ``--batch-size``, ``--shard i/n`` or the number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from ..errors import KinemicError

__all__ = ["PlannedClip", "plan_generation", "parse_shard", "shard_plan", "length_batches"]


@dataclass(frozen=True)
class PlannedClip:
    label: int
    index: int
    length: int
    seed: int
    text: str | None = None
    shot: int = -1  # position of the clip's length in the class's sorted shot lengths (which shot it mirrors)

    @property
    def sample_id(self) -> str:
        return f"gen-c{self.label:04d}-{self.index:06d}"


def _clip_seed(seed: int, label: int, index: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(label), int(index)]).generate_state(1, dtype=np.uint32)[0])


def plan_generation(
    *,
    counts: dict[int, int],
    lengths_per_class: dict[int, Sequence[int]],
    seed: int,
    fixed_length: int | None = None,
    text: str | None = None,
) -> list[PlannedClip]:
    """The full plan, in sample-id order.

    Lengths are drawn per clip from ``lengths_per_class[label]`` (the lengths of the clips
    the model was adapted on, never of clips it did not see) unless ``fixed_length``; the
    position drawn is kept as ``shot`` (with the shots sorted as the lengths are, by length
    then sample id, it names the shot a ``--from-shots`` clip starts from).
    """
    plan = []
    for label in sorted(counts):
        n = int(counts[label])
        if n < 0:
            raise KinemicError(f"negative clip count {n} for class {label}")
        pool = list(lengths_per_class.get(label, []))
        if fixed_length is None and not pool:
            raise KinemicError(f"class {label} has no known clip lengths; pass --length")
        for index in range(n):
            shot = -1
            if fixed_length is not None:
                length = int(fixed_length)
            else:
                rng = np.random.default_rng([int(seed), int(label), int(index), 1])
                shot = int(rng.integers(len(pool)))
                length = int(pool[shot])
            plan.append(PlannedClip(label, index, length, _clip_seed(seed, label, index), text, shot))
    return plan


def parse_shard(spec: str | None) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; ``None`` -> ``(0, 1)``."""
    if spec is None:
        return 0, 1
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise KinemicError(f"--shard expects i/n (e.g. 0/4), got {spec!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise KinemicError(f"--shard {spec}: need 0 <= i < n")
    return i, n


def shard_plan(plan: list[PlannedClip], shard: int, num_shards: int) -> list[PlannedClip]:
    """Contiguous slice ``shard`` of ``num_shards`` (the union over shards is the plan)."""
    lo = len(plan) * shard // num_shards
    hi = len(plan) * (shard + 1) // num_shards
    return plan[lo:hi]


def length_batches(items: list[PlannedClip], batch_size: int) -> Iterator[list[PlannedClip]]:
    """Batches of equal-length clips (in first-seen order within each length)."""
    if batch_size < 1:
        raise KinemicError(f"--batch-size must be at least 1, got {batch_size}")
    by_length: dict[int, list[PlannedClip]] = {}
    for item in items:
        by_length.setdefault(item.length, []).append(item)
    for length in sorted(by_length):
        group = by_length[length]
        for k in range(0, len(group), batch_size):
            yield group[k : k + batch_size]
