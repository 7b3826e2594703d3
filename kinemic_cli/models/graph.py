"""The skeleton graph that ST-GCN convolves over, and the input streams derived from it.

:class:`SkeletonGraph` is built from any :class:`~kinemic_cli.skeletons.Skeleton` (its
parent list is the bone graph), so the recogniser never hard-codes the joint indices of
one dataset.  The adjacency uses the *spatial* partition of ST-GCN (as in mmaction2's graph
utilities): three ``V x V`` matrices stacked as ``A[3, V, V]``:

- ``A[0]`` self: the identity (each joint with itself);
- ``A[1]`` centripetal: joint ``i`` gathers from its neighbour ``j`` that is closer to the
  root (its parent);
- ``A[2]`` centrifugal: joint ``i`` gathers from its neighbours farther from the root (its
  children).

``A[1]`` and ``A[2]`` are column-normalised (each source's outgoing weights sum to one,
``A @ D^-1``), which keeps feature magnitudes stable whatever a joint's degree.

Streams (the inputs of multi-stream ST-GCN) work on ``(..., T, V, C)`` arrays or tensors:
``joint`` is the positions, ``bone`` the child-minus-parent vectors (zero at the root),
``joint-motion``/``bone-motion`` their frame differences (last frame zero).
"""

from __future__ import annotations

import numpy as np

from ..errors import KinemicError
from ..skeletons import Skeleton

__all__ = ["SkeletonGraph", "STREAMS", "make_stream"]

#: Input streams of the recogniser (:func:`make_stream`).  This module imports no torch, so
#: the CLI can name the streams in its help cheaply.
STREAMS = ("joint", "bone", "joint-motion", "bone-motion")


class SkeletonGraph:
    """Spatial-partition adjacency ``A[3, V, V]`` of a skeleton (float32 numpy)."""

    def __init__(self, skeleton: Skeleton):
        self.skeleton = skeleton
        self.num_joints = skeleton.num_joints
        self.root = skeleton.root
        self.hop_to_root = self._hops_to_root(skeleton.parents)
        self.A = self._spatial_partition()

    @staticmethod
    def _hops_to_root(parents: tuple[int, ...]) -> np.ndarray:
        hops = np.zeros(len(parents), dtype=np.int64)
        for j in range(len(parents)):
            n, p = 0, parents[j]
            while p >= 0:
                n, p = n + 1, parents[p]
                if n > len(parents):
                    raise KinemicError("skeleton parent list has a cycle")
            hops[j] = n
        return hops

    @property
    def edges(self) -> list[tuple[int, int]]:
        """(child, parent) pairs, the bones of the skeleton."""
        return self.skeleton.bones

    def _spatial_partition(self) -> np.ndarray:
        v = self.num_joints
        inward = np.zeros((v, v), dtype=np.float64)  # inward[i, j] = 1: i gathers from j closer to the root
        for child, parent in self.edges:
            inward[child, parent] = 1.0
        outward = inward.T.copy()
        return np.stack([np.eye(v), _normalise_columns(inward), _normalise_columns(outward)]).astype(np.float32)

    def tensor(self):
        """``A`` as a torch tensor (torch is imported here only, see :data:`STREAMS`)."""
        import torch

        return torch.from_numpy(self.A.copy())

    def bone_parents(self) -> np.ndarray:
        """Per-joint parent index with the root pointing to itself (bone = x - x[parents])."""
        parents = np.array(self.skeleton.parents, dtype=np.int64)
        parents[parents < 0] = np.flatnonzero(parents < 0)
        return parents


def _normalise_columns(adjacency: np.ndarray) -> np.ndarray:
    degree = adjacency.sum(axis=0)
    inv = np.where(degree > 0, 1.0 / np.maximum(degree, 1e-12), 0.0)
    return adjacency * inv[None, :]


def make_stream(x, skeleton: Skeleton, stream: str):
    """One input stream of ``x`` shaped ``(..., T, V, C)`` (numpy or torch; same type back).

    For 2D skeletons with a score channel the score is kept as is (bone/motion apply to
    the coordinates only), so every stream has the same channel count.
    """
    if stream not in STREAMS:
        raise KinemicError(f"--stream {stream!r}: expected one of {', '.join(STREAMS)}")
    if stream == "joint":
        return x
    coords = x.shape[-1] - 1 if skeleton.is_2d else x.shape[-1]
    parents = SkeletonGraph(skeleton).bone_parents()
    out = np.array(x, copy=True) if isinstance(x, np.ndarray) else x.clone()
    if stream.startswith("bone"):
        out[..., :coords] = x[..., :coords] - x[..., parents, :coords]
    if stream.endswith("motion"):
        moved = out[..., 1:, :, :coords] - out[..., :-1, :, :coords]
        out[..., :-1, :, :coords] = moved
        out[..., -1, :, :coords] = 0
    return out
