"""Helpers for the torchrun tests: reading run folders and finding a worker process to kill."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import numpy as np

# one thread per process: the 1-process reference and each torchrun worker get the same
# share of the cores, and two workers do not oversubscribe a small CI machine
SINGLE_THREAD = {"OMP_NUM_THREADS": "1"}


def metrics(folder: Path) -> list[dict[str, str]]:
    with open(Path(folder) / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def column(folder: Path, name: str) -> np.ndarray:
    return np.array([float(r[name]) for r in metrics(folder)])


def files_of(folder: Path) -> list[str]:
    """Every file below ``folder`` (relative paths, sorted): what a run wrote."""
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry))
    return tree


def descendant_with_rank(root: int, rank: int) -> int | None:
    """The pid of the torchrun worker of ``rank`` below process ``root`` (read from its environment)."""
    tree, todo = _children(), [root]
    while todo:
        pid = todo.pop()
        for child in tree.get(pid, []):
            try:
                env = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"RANK={rank}".encode() in env and b"LOCAL_RANK=" + str(rank).encode() in env:
                return child
            todo.append(child)
    return None


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)
