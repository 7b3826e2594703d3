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

The input streams built from the same bone list are in :mod:`.streams`.
"""

from __future__ import annotations

import numpy as np

from ..errors import KinemicError
from ..skeletons import Skeleton

__all__ = ["SkeletonGraph"]


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
        """``A`` as a torch tensor."""
        import torch

        return torch.from_numpy(self.A.copy())


def _normalise_columns(adjacency: np.ndarray) -> np.ndarray:
    degree = adjacency.sum(axis=0)
    inv = np.where(degree > 0, 1.0 / np.maximum(degree, 1e-12), 0.0)
    return adjacency * inv[None, :]
