"""`generate --shot-guidance`: the shots' posterior mean, and how it enters each sampling step."""

import numpy as np
import pytest
import torch

from kinemic_cli.errors import KinemicError
from kinemic_cli.generate.shot_posterior import ShotPosterior, shot_bank
from kinemic_cli.prior.diffusion import ClipNoise, CosineSchedule, create_sampler, sample


def _bank():
    g = torch.Generator().manual_seed(0)
    return torch.randn(3, 6, 4, generator=g, dtype=torch.float64).float()


def test_posterior_mean_is_the_class_mean_at_pure_noise_and_the_nearest_shot_when_clean():
    bank = _bank()
    alphas = torch.tensor([0.999999, 0.5, 1e-14], dtype=torch.float64)
    posterior = ShotPosterior([bank], 1.0, alphas)
    x = bank[1:2] + 0.01
    torch.testing.assert_close(posterior.mean(x, 0), bank[1:2], atol=1e-5, rtol=0)  # clean: the nearest shot
    torch.testing.assert_close(posterior.mean(x, 2), bank.mean(0, keepdim=True), atol=1e-5, rtol=0)  # noise: the mean
    # in between: the softmax over -|x - sqrt(a) s|^2 / (2 (1 - a)), written out
    d = ((x.double() - 0.5 ** 0.5 * bank.double()) ** 2).sum(dim=(1, 2))
    w = torch.softmax(-d / (2 * 0.5), dim=0)
    torch.testing.assert_close(posterior.mean(x, 1), (w[:, None, None] * bank.double()).sum(0, keepdim=True).float())


def test_weight_mixes_the_prediction_and_zero_leaves_it_alone():
    bank = _bank()
    alphas = CosineSchedule(10).alphas_cumprod
    x_t, x0 = torch.randn(1, 6, 4), torch.randn(1, 6, 4)
    assert torch.equal(ShotPosterior([bank], 0.0, alphas)(x0, x_t, 5), x0)
    mixed = ShotPosterior([bank], 0.3, alphas)(x0, x_t, 5)
    torch.testing.assert_close(mixed, 0.7 * x0 + 0.3 * ShotPosterior([bank], 1.0, alphas).mean(x_t, 5))
    with pytest.raises(KinemicError, match=r"\[0, 1\]"):
        ShotPosterior([bank], 1.5, alphas)


def test_above_leaves_the_lowest_steps_to_the_model():
    """`--shot-guidance-above F`: no pull at steps t < F (T - 1), the same pull as without it above."""
    bank = _bank()
    alphas = CosineSchedule(11).alphas_cumprod  # steps 0..10: F = 0.3 leaves t = 0, 1, 2 alone
    x_t, x0 = torch.randn(1, 6, 4), torch.randn(1, 6, 4)
    limited, everywhere = ShotPosterior([bank], 0.5, alphas, above=0.3), ShotPosterior([bank], 0.5, alphas)
    for t in range(11):
        if t < 3:
            assert torch.equal(limited(x0, x_t, t), x0)
        else:
            assert torch.equal(limited(x0, x_t, t), everywhere(x0, x_t, t))
    with pytest.raises(KinemicError, match=r"--shot-guidance-above must be in \[0, 1\)"):
        ShotPosterior([bank], 0.5, alphas, above=1.0)


def test_full_weight_samples_land_on_a_shot():
    """With W = 1 the model is ignored: DDPM on the shots' own denoiser ends on one of the shots."""
    bank = _bank()
    schedule = CosineSchedule(50)
    out = sample(lambda x, t, **kw: torch.zeros_like(x), create_sampler("ddpm", schedule),
                 noise=ClipNoise([4, 5], (6, 4)), guidance=1.0,
                 refine=ShotPosterior([bank, bank], 1.0, schedule.alphas_cumprod))
    for row in out:
        assert min(float((row - s).abs().max()) for s in bank) < 1e-3


def test_bank_keeps_a_shot_of_the_length_and_resamples_the_others():
    shots = [np.full((4, 2), 1.0, np.float32), np.arange(12, dtype=np.float32).reshape(6, 2)]
    bank = shot_bank(shots, 6, to_joints=lambda f: f[:, None, :], to_features=lambda j: j[:, 0, :])
    assert bank.shape == (2, 6, 2)
    assert np.array_equal(bank[1], shots[1]) and np.allclose(bank[0], 1.0)
    with pytest.raises(KinemicError, match="no"):
        shot_bank([], 6, to_joints=lambda f: f, to_features=lambda j: j)
