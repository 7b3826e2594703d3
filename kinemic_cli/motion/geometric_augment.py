"""Geometric augmentation of one skeleton clip: rotation, per-axis scale, shear and time warp.

The recogniser's classic augmentation (:mod:`kinemic_cli.har.augment` applies it to clip
banks), kept here, below the pipelines, because the prior's pretraining
(``pretrain --augment``) and the few-shot student (``adapt --augment-shots``) vary clips the
same way.  Each copy of a clip ``[T, M, V, C]`` gets one random draw of:

- rotation: about the vertical axis (y) by up to ``rotate_deg`` degrees and about x and z
  by up to a third of it (2D skeletons: in-plane rotation by up to a third);
- scaling: per-axis factors in ``[1 - scale, 1 + scale]``;
- shear: off-diagonal terms in ``[-shear, shear]`` (ST-GCN's classic "random shear");
- time warp: the clip is resampled along a random monotone time map (piecewise linear
  through ``warp_knots`` jittered knots) and to a length scaled by up to ``+-time_scale``.

The score channel of 2D skeletons is never transformed, and absent (all-zero) joints stay
absent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import KinemicError

__all__ = ["AugmentConfig", "augment_clip"]


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 30.0
    scale: float = 0.15
    shear: float = 0.15
    time_scale: float = 0.2
    warp_knots: int = 4
    warp_strength: float = 0.3

    def as_dict(self) -> dict:
        return asdict(self)


def _rotation(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def _spatial_matrix(rng: np.random.Generator, cfg: AugmentConfig, dims: int) -> np.ndarray:
    limit = np.deg2rad(cfg.rotate_deg)
    if dims == 3:
        rot = (_rotation(1, rng.uniform(-limit, limit)) @ _rotation(0, rng.uniform(-limit, limit) / 3)
               @ _rotation(2, rng.uniform(-limit, limit) / 3))
    else:
        a = rng.uniform(-limit, limit) / 3
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    shear = np.eye(dims) + rng.uniform(-cfg.shear, cfg.shear, (dims, dims)) * (1 - np.eye(dims))
    scale = np.diag(rng.uniform(1 - cfg.scale, 1 + cfg.scale, dims))
    return rot @ shear @ scale


def _time_warp(frames: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    t = frames.shape[0]
    if t < 2:
        return frames
    new_len = max(2, int(round(t * rng.uniform(1 - cfg.time_scale, 1 + cfg.time_scale))))
    knots = np.linspace(0, 1, cfg.warp_knots + 2)
    warped = knots + np.concatenate([[0], rng.uniform(-1, 1, cfg.warp_knots) * cfg.warp_strength / (cfg.warp_knots + 1), [0]])
    warped = np.maximum.accumulate(np.clip(warped, 0, 1))  # monotone, fixed ends
    src = np.interp(np.linspace(0, 1, new_len), knots, warped) * (t - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, t - 1)
    w = (src - lo)[:, None, None, None]
    return ((1 - w) * frames[lo] + w * frames[hi]).astype(np.float32)


def augment_clip(frames: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig(), *,
                 is_2d: bool = False) -> np.ndarray:
    """One augmented copy of ``frames [T, M, V, C]`` (the length may change by time warp)."""
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 4:
        raise KinemicError(f"augment expects [T, M, V, C] frames, got shape {frames.shape}")
    dims = 2 if is_2d else 3
    missing = np.all(frames == 0, axis=-1, keepdims=True)
    out = frames.copy()
    out[..., :dims] = frames[..., :dims] @ _spatial_matrix(rng, cfg, dims).T.astype(np.float32)
    out = np.where(missing, 0.0, out).astype(np.float32)
    return _time_warp(out, rng, cfg)
