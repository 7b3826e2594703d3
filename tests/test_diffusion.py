"""Schedule, samplers and guidance: the public contract every sampler keeps."""

from __future__ import annotations

import math

import pytest
import torch

from kinemic_cli.errors import KinemicError
from kinemic_cli.prior.diffusion import (
    ClipNoise,
    CosineSchedule,
    DDIMSampler,
    DDPMSampler,
    create_sampler,
    diffusion_loss,
    guided_x0,
    sample,
)


def test_cosine_schedule_is_monotone_and_matches_the_closed_form():
    sch = CosineSchedule(50)
    a = sch.alphas_cumprod
    assert torch.all(a[1:] < a[:-1]) and 0.99 < float(a[0]) < 1 and float(a[-1]) < 1e-3
    s = 0.008
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    assert math.isclose(float(a[24]), f(25 / 50) / f(0), rel_tol=1e-6)
    assert CosineSchedule.from_config(sch.config()).num_steps == 50
    with pytest.raises(KinemicError):
        CosineSchedule(0)


def test_add_noise_statistics():
    sch = CosineSchedule(50)
    x0 = torch.full((4000, 1, 1), 2.0)
    t = torch.full((4000,), 30)
    xt = sch.add_noise(x0, t, torch.randn(4000, 1, 1, generator=torch.Generator().manual_seed(0)))
    a = float(sch.alphas_cumprod[30])
    assert abs(float(xt.mean()) - 2 * math.sqrt(a)) < 0.05 and abs(float(xt.std()) - math.sqrt(1 - a)) < 0.05


@pytest.mark.parametrize("name, steps", [("ddpm", None), ("ddim", 10), ("ddim", 50)])
def test_an_oracle_model_is_recovered(name, steps):
    """A model that always predicts the true x0 must lead every sampler to x0."""
    target = torch.randn(3, 8, 5, generator=torch.Generator().manual_seed(1))
    sampler = create_sampler(name, CosineSchedule(50), steps)
    out = sample(lambda x, t, **kw: target.clone(), sampler, noise=ClipNoise([1, 2, 3], (8, 5)), guidance=1.0)
    torch.testing.assert_close(out, target)
    assert len(sampler.timesteps) == (steps or 50) and sampler.timesteps[-1] == 0


def test_ddpm_refuses_fewer_steps_and_ddim_checks_its_range():
    with pytest.raises(KinemicError, match="ddim"):
        DDPMSampler(CosineSchedule(50)).set_timesteps(10)
    with pytest.raises(KinemicError):
        DDIMSampler(CosineSchedule(50)).set_timesteps(60)
    with pytest.raises(KinemicError, match="known: ddpm, ddim"):
        create_sampler("euler", CosineSchedule(50))


def test_guidance_is_one_batched_pass_with_the_documented_formula():
    calls = []

    def model(x, t, *, text=None, action=None, mask=None, text_keep=None, action_keep=None):
        calls.append(x.shape[0])
        keep = text_keep.float()[:, None, None] if text_keep is not None else 1.0
        return x * 0 + keep * 3.0 + 1.0  # conditional 4, unconditional 1

    x = torch.zeros(2, 4, 3)
    out = guided_x0(model, x, torch.zeros(2, dtype=torch.long), text=torch.zeros(2, 6), action=None, mask=None, scale=2.5)
    assert calls == [4]  # one forward over both halves
    torch.testing.assert_close(out, torch.full_like(x, 1.0 + 2.5 * 3.0))


def test_each_clip_draws_only_from_its_own_seed():
    a = ClipNoise([5, 6], (3, 2)).draw()
    b = ClipNoise([9, 6, 5], (3, 2)).draw()
    assert torch.equal(a[0], b[2]) and torch.equal(a[1], b[1])


def test_loss_is_masked_and_per_sample():
    sch = CosineSchedule(10)
    x0 = torch.zeros(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])

    def model(x, t, *, mask=None, **kw):
        out = torch.zeros_like(x)
        out[:, 2:] = 10.0  # wrong only on the padding of sample 0 and the tail of sample 1
        return out

    loss = diffusion_loss(model, sch, x0, mask, torch.zeros(2, dtype=torch.long), torch.randn(2, 4, 3))
    assert math.isclose(float(loss), (0.0 + 100.0 * 2 / 4) / 2)


def test_starting_from_a_noised_clip_skips_the_noisier_steps():
    """``start=(clean, 0.5)`` on DDPM-50: the first model call sees ``clean`` noised to t=24 with
    the clip's first noise draw, 25 steps run, the progress still counts all 50."""
    schedule = CosineSchedule(50)
    clean = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(3))
    seen, ticks = [], []

    def model(x, t, **kw):
        seen.append((x.clone(), int(t[0])))
        return clean.clone()

    out = sample(model, create_sampler("ddpm", schedule), noise=ClipNoise([5, 6], (6, 4)), guidance=1.0,
                 start=(clean, 0.5), progress=ticks.append)
    first_noise = ClipNoise([5, 6], (6, 4)).draw()
    assert [t for _, t in seen] == list(range(24, -1, -1)) and sum(ticks) == 50
    torch.testing.assert_close(seen[0][0], schedule.add_noise(clean, torch.full((2,), 24), first_noise))
    torch.testing.assert_close(out, clean)
    with pytest.raises(KinemicError, match=r"\(0, 1\]"):
        sample(model, create_sampler("ddpm", schedule), noise=ClipNoise([5], (6, 4)), start=(clean[:1], 0.0))


def test_guidance_above_guides_only_the_noisier_steps():
    """``guidance_above=0.5`` on DDPM-50: the steps t >= 24.5 run the guided (two-half) pass, the
    rest the conditional prediction alone; the default guides every step."""
    rows = []

    def model(x, t, *, text=None, action=None, mask=None, text_keep=None, action_keep=None):
        rows.append((int(t[0]), x.shape[0]))
        return torch.zeros_like(x)

    sampler = create_sampler("ddpm", CosineSchedule(50))
    sample(model, sampler, noise=ClipNoise([1, 2], (5, 3)), text=torch.zeros(2, 6), guidance=2.5, guidance_above=0.5)
    assert rows == [(t, 4 if t >= 24.5 else 2) for t in range(49, -1, -1)]
    rows.clear()
    sample(model, sampler, noise=ClipNoise([1, 2], (5, 3)), text=torch.zeros(2, 6), guidance=2.5)
    assert {r for _, r in rows} == {4} and len(rows) == 50
    with pytest.raises(KinemicError, match=r"\[0, 1\)"):
        sample(model, sampler, noise=ClipNoise([1], (5, 3)), text=torch.zeros(1, 6), guidance_above=1.0)
