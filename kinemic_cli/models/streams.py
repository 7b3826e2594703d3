"""The input streams of a skeleton recogniser (multi-stream ST-GCN), made from the bone list.

Streams work on ``(..., T, V, C)`` numpy arrays or torch tensors alike (the same type comes
back): ``joint`` is the positions, ``bone`` the child-minus-parent vectors (zero at the
root), ``joint-motion`` / ``bone-motion`` their frame differences (last frame zero).  For 2D
skeletons with a score channel the score is kept as it is, so every stream has the same
channel count.

This module imports neither numpy nor torch, so the CLI can list :data:`STREAMS` in its help
without paying for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import KinemicError

if TYPE_CHECKING:
    from ..skeletons import Skeleton

__all__ = ["STREAMS", "make_stream", "bone_parents"]

STREAMS = ("joint", "bone", "joint-motion", "bone-motion")


def bone_parents(skeleton: Skeleton) -> list[int]:
    """Per-joint parent index with the root pointing to itself (bone = x - x[parents])."""
    return [p if p >= 0 else j for j, p in enumerate(skeleton.parents)]


def make_stream(x, skeleton: Skeleton, stream: str):
    """One input stream of ``x`` shaped ``(..., T, V, C)``."""
    if stream not in STREAMS:
        raise KinemicError(f"--stream {stream!r}: expected one of {', '.join(STREAMS)}")
    if stream == "joint":
        return x
    coords = x.shape[-1] - 1 if skeleton.is_2d else x.shape[-1]
    parents = bone_parents(skeleton)
    out = x.clone() if hasattr(x, "clone") else x.copy()  # a torch tensor, or a numpy array
    if stream.startswith("bone"):
        out[..., :coords] = x[..., :coords] - x[..., parents, :coords]
    if stream.endswith("motion"):
        moved = out[..., 1:, :, :coords] - out[..., :-1, :, :coords]
        out[..., :-1, :, :coords] = moved
        out[..., -1, :, :coords] = 0
    return out
