"""Per-feature normalisation of generator features, measured on a corpus and saved with the prior."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import KinemicError

__all__ = ["Normaliser"]


@dataclass
class Normaliser:
    """Per-feature mean/std measured on the prior's training collection and saved with it.

    ``std`` is floored (features that barely vary, e.g. a constant contact flag, would
    otherwise be blown up and dominate the loss).
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, sums: np.ndarray, squares: np.ndarray, count: int, *, floor: float = 1e-2) -> "Normaliser":
        """From running sums (so statistics stream over any corpus size)."""
        if count < 2:
            raise KinemicError("feature statistics need at least two frames")
        mean = sums / count
        var = np.maximum(squares / count - mean ** 2, 0.0)
        std = np.sqrt(var)
        std = np.maximum(std, floor * max(float(np.median(std)), 1e-6))
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def normalise(self, features: np.ndarray) -> np.ndarray:
        return ((np.asarray(features, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def denormalise(self, features: np.ndarray) -> np.ndarray:
        return (np.asarray(features, dtype=np.float32) * self.std + self.mean).astype(np.float32)
