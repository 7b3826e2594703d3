"""Kinematic supervision: the differentiable decoder and the velocity loss (pretrain and adapt)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from adapt_support import tiny_denoiser

from kinemic_cli.motion.differentiable import FeatureDecoder, joints_from_features
from kinemic_cli.motion.features import HumanML3DFeatures, RootRelativeFeatures
from kinemic_cli.motion.normaliser import Normaliser
from kinemic_cli.prior.diffusion import CosineSchedule
from kinemic_cli.prior.losses import VelocityScales, VelocityTerm, masked_mse_per_sample, velocity_loss
from kinemic_cli.skeletons import SMPL22


def walking_turning_clip(frames: int = 40, seed: int = 0) -> np.ndarray:
    """smpl22 joints of a body that walks forward while turning and swings its arms."""
    from har_support import standing_pose

    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 20.0
    pose = np.repeat(standing_pose()[None].astype(np.float64), frames, axis=0)
    pose[:, [18, 20], 2] += 0.3 * np.sin(2 * np.pi * t)[:, None]
    pose[:, [19, 21], 2] -= 0.3 * np.sin(2 * np.pi * t)[:, None]
    yaw = 0.6 * t
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.stack([np.stack([c, 0 * c, s], -1), np.tile([0.0, 1, 0], (frames, 1)), np.stack([-s, 0 * c, c], -1)], 1)
    joints = np.einsum("tij,tkj->tki", rot, pose)
    joints[..., 2] += 0.9 * t[:, None]
    return joints + rng.normal(scale=0.002, size=joints.shape)


@pytest.mark.parametrize("space_cls", [RootRelativeFeatures, HumanML3DFeatures])
def test_the_torch_decoder_equals_to_joints(space_cls):
    space = space_cls(SMPL22)
    clips = [space.from_joints(walking_turning_clip(seed=k)) for k in range(2)]
    batch = torch.from_numpy(np.stack(clips)).double()
    decoded = joints_from_features(space, batch).numpy()
    for k, clip in enumerate(clips):
        np.testing.assert_allclose(decoded[k], space.to_joints(clip), atol=1e-5)


def _scales_and_decoder(space, clips):
    normaliser = Normaliser(np.zeros(space.dim, np.float32), np.full(space.dim, 0.5, np.float32))
    normalised = [normaliser.normalise(c) for c in clips]
    scales = VelocityScales.measure(normalised, lambda f: space.to_joints(normaliser.denormalise(f)))
    return normalised, scales, FeatureDecoder(space, normaliser), normaliser


def test_a_frozen_prediction_scores_one_and_the_truth_zero():
    space = RootRelativeFeatures(SMPL22)
    normalised, scales, decoder, _ = _scales_and_decoder(space, [space.from_joints(walking_turning_clip())])
    target = torch.from_numpy(normalised[0])[None]
    mask = torch.ones(1, target.shape[1], dtype=torch.bool)
    frozen = target[:, :1].expand_as(target).clone()
    # repeated features still move the root at the first frame's velocity: only the feature half is 1
    features_only = float(velocity_loss(frozen, target, mask, scales=scales, joints_of=None))
    assert features_only == pytest.approx(1.0, rel=1e-4)
    frozen[..., :3] = 0.0  # no yaw rate, no root velocity (normaliser mean 0): the decoded body stands still
    assert float(velocity_loss(frozen, target, mask, scales=scales, joints_of=decoder)) == pytest.approx(1.0, rel=1e-4)
    assert float(velocity_loss(target, target, mask, scales=scales, joints_of=decoder)) == 0.0
    # padded frames count for nothing
    padded = torch.cat([target, torch.full_like(target[:, :5], 9.0)], dim=1)
    pmask = torch.cat([mask, torch.zeros(1, 5, dtype=torch.bool)], dim=1)
    assert float(velocity_loss(padded, padded * 0 + padded, pmask, scales=scales, joints_of=decoder)) == 0.0


def test_the_term_is_off_at_weight_zero_finite_and_decreases_when_trained():
    space = RootRelativeFeatures(SMPL22)
    clips = [space.from_joints(walking_turning_clip(seed=k)) for k in range(4)]
    normalised, _, _, normaliser = _scales_and_decoder(space, clips)
    off = VelocityTerm.for_clips(normalised, space, normaliser, 0.0)
    x = torch.from_numpy(np.stack(normalised))
    mask = torch.ones(x.shape[:2], dtype=torch.bool)
    assert not off.enabled and float(off(x * 0, x, mask)) == 0.0
    term = VelocityTerm.for_clips(normalised, space, normaliser, 1.0)
    torch.manual_seed(0)
    model = tiny_denoiser(features=space.dim).train()
    schedule = CosineSchedule(50)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    t, noise = torch.randint(0, 10, (4,), generator=g), torch.randn(x.shape, generator=g)  # one fixed tiny batch
    history = []
    for _ in range(40):
        prediction = model(schedule.add_noise(x, t, noise), t, mask=mask)
        vel = term(prediction, x, mask)
        loss = masked_mse_per_sample(prediction, x, mask).mean() + vel
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(vel.detach()))
    assert np.mean(history[-5:]) < 0.5 * np.mean(history[:5])
