"""Geometric copies of the shots for the student's reconstruction loss (``adapt --augment-shots K``).

Why: a prior trained on the source corpus does not reconstruct the target domain's poses
even from a lightly noised clip (demo world, the shipped prior at ``t = 1`` of 50: pose
error 6.5 cm on target clips against 0.8 cm on its own windows), and a student fitted to
ten clips per class reconstructs its shots better than the class's other clips
(fine-tuning: 2.6 against 4.7 cm; ``bench/domain_gap.py``).  Training it on proportion,
shear and timing variations of the shots is the classic remedy for a recogniser
(``train-har --augment-shots``) and uses no clip beyond the shots.  Measured with K = 5 on
the demo world it did not help (README, "The domain gap"): the prior cannot represent the
varied bodies either.

The copies are made once, before training, from the shots' joints with the recogniser's
own augmentation (:func:`kinemic_cli.motion.geometric_augment.augment_clip`: rotation, per-axis scale,
shear, time warp; the rotation about the vertical axis is undone by the canonical feature
space) from a generator seeded by the run's seed, so a run is reproducible.  Mining, pace
matching and the generated lengths keep using the original shots only.
"""

from __future__ import annotations

import numpy as np

from ..motion.geometric_augment import AugmentConfig, augment_clip
from .data import FewShotClips, JointsToFeatures

__all__ = ["with_augmented_copies"]


def with_augmented_copies(shots: FewShotClips, class_ids: np.ndarray, copies: int, *, seed: int, max_frames: int,
                          to_features: JointsToFeatures, cfg: AugmentConfig = AugmentConfig(),
                          min_frames: int = 4) -> tuple[FewShotClips, np.ndarray]:
    """The shots followed by ``copies`` augmented versions of each, and each clip's class id."""
    if copies <= 0:
        return shots, np.asarray(class_ids)
    rng = np.random.default_rng([int(seed), 0x5107])  # a stream of its own: the training draws do not move
    joints, features = list(shots.joints), list(shots.features)
    labels, ids, indices, classes = [shots.labels], list(shots.sample_ids), [shots.indices], [np.asarray(class_ids)]
    for copy in range(1, copies + 1):
        for j in shots.joints:
            new = augment_clip(j[:, None], rng, cfg)[:max_frames, 0]
            if len(new) < min_frames:  # a time warp never shortens below 2 frames; keep the shot's length floor
                new = j
            joints.append(new)
            features.append(np.asarray(to_features(new), dtype=np.float32))
        labels.append(shots.labels)
        ids += [f"{sid}~aug{copy}" for sid in shots.sample_ids]
        indices.append(shots.indices)
        classes.append(np.asarray(class_ids))
    out = FewShotClips(np.concatenate(indices), np.concatenate(labels).astype(np.int64), ids, joints, features)
    return out, np.concatenate(classes).astype(np.int64)
