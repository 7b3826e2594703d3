"""Resampling clips in time (between frame rates, or to a planned length)."""

from __future__ import annotations

import numpy as np

__all__ = ["resample_time"]


def resample_time(joints: np.ndarray, frames: int) -> np.ndarray:
    """Linear interpolation of ``[T, J, C]`` to ``frames`` frames (end points kept)."""
    frames = max(2, int(frames))
    src = np.linspace(0.0, len(joints) - 1, frames)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, len(joints) - 1)
    frac = (src - lo)[:, None, None]
    return ((1 - frac) * joints[lo] + frac * joints[hi]).astype(np.float32)
