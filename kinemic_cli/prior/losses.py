"""Losses of a motion denoiser's ``x0`` prediction: reconstruction, and velocity (kinematic supervision).

A denoiser trained on the masked MSE of ``x0`` alone learns poses better than motion: at
every noise level the cheapest error is a blurred, slower clip (frame-to-frame change is a
small part of each feature's variance), and guidance and adaptation on few clips make it
slower still (generated demo clips moved at 0.26 of the target's speed).  MDM's
action-to-motion recipe adds a velocity loss for that reason.  :func:`velocity_loss` is
ours, per sample and masked, with two halves:

- **feature velocity**: the squared error of the frame differences of the (normalised)
  features, over pairs of real frames;
- **joint velocity**: the squared error of the per-joint displacement between frames, on
  joints decoded from the features inside the graph
  (:func:`kinemic_cli.motion.differentiable.joints_from_features`), so the error is in the
  space where motion is seen.

Each half is divided by a fixed scale measured on the training data before training
(:class:`VelocityScales`: the mean squared frame difference of the real clips), so that 1.0
means "as wrong as a clip that does not move" whatever the feature space or skeleton, and
both halves weigh the same.  Scales are constants, not batch statistics, so a global batch
split over processes has the same loss as on one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch

__all__ = ["masked_mse_per_sample", "snr_step_weights", "VelocityScales", "velocity_loss", "VelocityTerm"]

JointsOf = Callable[[torch.Tensor], torch.Tensor]  # normalised features [B, T, F] -> joints [B, T, J, 3]


def masked_mse_per_sample(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[B]``: mean squared error over each sample's real frames and all features."""
    weight = mask.to(prediction.dtype)[..., None]
    squared = ((prediction - target) ** 2 * weight).sum(dim=(1, 2))
    return squared / (weight.sum(dim=(1, 2)) * prediction.shape[-1]).clamp(min=1.0)


def snr_step_weights(snr: torch.Tensor, cap: float) -> torch.Tensor:
    """``[num_steps]`` loss weight of each diffusion step: ``clamp(SNR(t), 1, cap) / mean``.

    With x0 prediction and uniform steps, the nearly clean steps hardly count: their errors
    are small next to the noisy steps', so a few hundred adaptation steps leave the student
    "correcting" even a clean shot towards the prior's poses (``bench/domain_gap.py``: the
    wrists of its own shots moved 12-17 cm at t = 0).  This is Salimans & Ho's truncated-SNR
    weighting, capped as in Min-SNR (Hang et al. 2023) so the cleanest steps do not swamp the
    rest; divided by its mean over steps so the loss keeps its scale.  In adaptation
    (``adapt --snr-weight-cap``, x0 students) it was measured on the demo world: more generated
    clips recognised, the wrists no closer, the recogniser trained on the clips no better.

    For an ``x0_skip`` denoiser (``x0 = sqrt(a) x_t + sqrt(1 - a) F``) the x0 error at step t
    is ``sqrt(1 - a)`` times F's, so with uniform weights F's error at the last steps counts
    only ``1 - a`` (0.002 at t = 0 of the 50-step cosine schedule).  An uncapped weight (a cap
    above the largest SNR) makes the loss uniform in F, i.e. v-prediction's loss
    (``pretrain --snr-weight-cap``).  Measured on the demo prior (600 more steps of the
    3,000-step x0-skip prior): the noise left at t = 0 fell only from 0.99 to 0.91 of the noise
    added, so this is not why the x0-skip students' clips jitter (README).
    """
    weights = snr.double().clamp(min=1.0, max=float(cap))
    return (weights / weights.mean()).float()


@dataclass(frozen=True)
class VelocityScales:
    """Mean squared frame difference of real clips: of normalised features, and of joints (m^2)."""

    features: float
    joints: float

    @classmethod
    def measure(cls, clips: Iterable[np.ndarray], joints_of: Callable[[np.ndarray], np.ndarray]) -> "VelocityScales":
        """From normalised feature clips ``[T, F]`` and ``joints_of(clip) -> [T, J, 3]``."""
        feature_sq, feature_n, joint_sq, joint_n = 0.0, 0, 0.0, 0
        for clip in clips:
            clip = np.asarray(clip, np.float64)
            if len(clip) < 2:
                continue
            d = np.diff(clip, axis=0)
            feature_sq, feature_n = feature_sq + float((d ** 2).sum()), feature_n + d.size
            j = np.diff(np.asarray(joints_of(clip), np.float64), axis=0)
            joint_sq, joint_n = joint_sq + float((j ** 2).sum(-1).sum()), joint_n + j.shape[0] * j.shape[1]
        floor = 1e-8
        return cls(max(feature_sq / max(feature_n, 1), floor), max(joint_sq / max(joint_n, 1), floor))

    def to_dict(self) -> dict:
        return {"features": self.features, "joints": self.joints}


def _pair_mask(mask: torch.Tensor) -> torch.Tensor:
    """``[B, T-1]``: both frames of a difference are real."""
    m = mask.bool()
    return m[:, 1:] & m[:, :-1]


def _mean_over_pairs(squared: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    weight = pairs.to(squared.dtype)
    return (squared * weight).sum(1) / weight.sum(1).clamp(min=1.0)


def velocity_loss(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, *, scales: VelocityScales,
                  joints_of: JointsOf | None) -> torch.Tensor:
    """``[B]``: (feature velocity + joint velocity) / 2, each relative to ``scales`` (see the module docstring).

    ``joints_of=None`` keeps the feature half only (a feature space with no decoder).
    """
    pairs = _pair_mask(mask)
    d_pred, d_true = prediction[:, 1:] - prediction[:, :-1], target[:, 1:] - target[:, :-1]
    features = _mean_over_pairs(((d_pred - d_true) ** 2).mean(-1), pairs) / scales.features
    if joints_of is None:
        return features
    j_pred, j_true = joints_of(prediction), joints_of(target)
    dj_pred, dj_true = j_pred[:, 1:] - j_pred[:, :-1], j_true[:, 1:] - j_true[:, :-1]
    joints = _mean_over_pairs(((dj_pred - dj_true) ** 2).sum(-1).mean(-1), pairs) / scales.joints
    return 0.5 * (features + joints)


class VelocityTerm:
    """The velocity loss of one training run: scales measured on its clips, the prior's feature decoder.

    Off (a zero that costs nothing) when its weight is 0, so runs without it compute
    exactly what they did before it existed.
    """

    def __init__(self, scales: VelocityScales | None, joints_of: JointsOf | None):
        self.scales, self.joints_of = scales, joints_of

    @classmethod
    def for_clips(cls, clips: Iterable[np.ndarray], space, normaliser, weight: float) -> "VelocityTerm":
        """``clips``: normalised features ``[T, F]`` of the run's training data; ``space``/``normaliser``: the prior's."""
        if weight <= 0:
            return cls(None, None)
        from ..motion.differentiable import FeatureDecoder

        scales = VelocityScales.measure(clips, lambda f: space.to_joints(normaliser.denormalise(f)))
        return cls(scales, FeatureDecoder(space, normaliser))

    @property
    def enabled(self) -> bool:
        return self.scales is not None

    def per_sample(self, prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return prediction.new_zeros(prediction.shape[0])
        return velocity_loss(prediction, target, mask, scales=self.scales, joints_of=self.joints_of)

    def __call__(self, prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The mean over samples (0 when off)."""
        return self.per_sample(prediction, target, mask).mean()
