"""Numbers about generated motion, as plain numpy functions.

Feature arrays are ``(N, D)`` (from :meth:`STGCN.forward_features` of the evaluator);
labels are ``(N,)`` ints.  Everything is computed in float64.

- FID (Heusel et al.): ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` between Gaussians
  fitted to two feature sets.  The trace of the matrix square root is computed from the
  eigenvalues of ``S1^(1/2) S2 S1^(1/2)`` (symmetric, so ``eigh`` is exact and stable),
  which avoids a general ``sqrtm`` and its complex round-off.
- Diversity (Action2Motion / MDM protocol): mean distance between ``pairs`` random pairs
  of clips of the whole set; multimodality: the same within each class (``pairs`` per
  class), averaged over classes.  Both depend on the random pairing, so they take a seed.
"""

from __future__ import annotations

import numpy as np

from ..errors import KinemicError

__all__ = ["gaussian_stats", "frechet_distance", "fid", "diversity", "multimodality"]


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise KinemicError(f"FID needs at least 2 feature vectors (N, D), got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise KinemicError(f"FID: feature sizes differ ({mu1.shape} vs {mu2.shape})")
    root1 = _sqrt_psd(s1)
    cross = np.linalg.eigvalsh((root1 @ s2 @ root1 + (root1 @ s2 @ root1).T) / 2)
    tr_sqrt = float(np.sqrt(np.clip(cross, 0, None)).sum())
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    return max(value, 0.0)


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID between two feature sets ``(N_a, D)`` and ``(N_b, D)``."""
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))


def diversity(features: np.ndarray, *, pairs: int = 200, seed: int = 0) -> float:
    """Mean L2 distance between ``pairs`` random pairs of rows (fewer if the set is small)."""
    f = np.asarray(features, dtype=np.float64)
    if f.shape[0] < 2:
        return float("nan")
    rng = np.random.default_rng(seed)
    n = min(pairs, f.shape[0])
    first = rng.choice(f.shape[0], size=n, replace=False)
    second = rng.choice(f.shape[0], size=n, replace=False)
    return float(np.linalg.norm(f[first] - f[second], axis=1).mean())


def multimodality(features: np.ndarray, labels: np.ndarray, *, pairs: int = 20, seed: int = 0) -> float:
    """Mean within-class diversity (``pairs`` pairs per class) over classes with >= 2 clips."""
    f, labels = np.asarray(features, dtype=np.float64), np.asarray(labels)
    rng = np.random.default_rng(seed)
    per_class = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        if rows.size < 2:
            continue
        first = rng.choice(rows, size=pairs, replace=True)
        second = rng.choice(rows, size=pairs, replace=True)
        per_class.append(np.linalg.norm(f[first] - f[second], axis=1).mean())
    return float(np.mean(per_class)) if per_class else float("nan")
