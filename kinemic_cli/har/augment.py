"""Classic geometric augmentation of real shots: the no-generator baseline of the uplift table.

The per-clip transform (rotation, per-axis scale, shear, time warp; :class:`AugmentConfig`,
:func:`augment_clip`) lives in :mod:`kinemic_cli.motion.geometric_augment`, where the prior
and the student use it too; this module applies it to clip banks.  The real clip itself is
kept too: :func:`augment_bank` returns the originals followed by ``copies`` augmented
versions of each.
"""

from __future__ import annotations

import numpy as np

from ..errors import KinemicError
from ..motion.geometric_augment import AugmentConfig, augment_clip
from .data import ClipBank

__all__ = ["augment_each", "AugmentConfig", "augment_clip", "augment_bank"]


def augment_each(bank: ClipBank, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig(), *,
                 is_2d: bool = False) -> ClipBank:
    """Every clip of ``bank`` replaced by one augmented version of itself (origin and labels kept).

    For generated clips: they get the camera yaw, scale, shear and speed variation the real
    target clips have, without changing how many there are.
    """
    clips = [augment_clip(bank.data[i, : bank.lengths[i]], rng, cfg, is_2d=is_2d) for i in range(len(bank))]
    if not clips:
        return bank
    out = ClipBank.from_clips(clips, bank.labels, "augment", source_index=bank.source_index)
    out.origin = bank.origin.copy()
    return out


def augment_bank(bank: ClipBank, copies: int, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig(), *,
                 is_2d: bool = False) -> ClipBank:
    """The clips of ``bank`` followed by ``copies`` augmented versions of each (labels kept)."""
    if copies < 0:
        raise KinemicError(f"--augment-copies must be >= 0, got {copies}")
    clips, labels, sources = [], [], []
    for _ in range(copies):
        for i in range(len(bank)):
            clip = bank.data[i, : bank.lengths[i]]
            clips.append(augment_clip(clip, rng, cfg, is_2d=is_2d))
            labels.append(bank.labels[i])
            sources.append(bank.source_index[i])
    if not clips:
        return bank
    return ClipBank.concat([bank, ClipBank.from_clips(clips, labels, "augment", source_index=np.array(sources))])
