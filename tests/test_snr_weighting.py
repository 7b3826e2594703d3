"""`adapt --snr-weight-cap`: each step's reconstruction loss weighted by clamp(SNR(t), 1, G), mean 1."""

import pytest
import torch
from adapt_support import tiny_denoiser

from kinemic_cli.adapt.config import AdaptConfig, resolve_adapt_config
from kinemic_cli.adapt.losses import AdaptBatch, AdaptObjective, LossSwitches, snr_step_weights
from kinemic_cli.errors import KinemicError
from kinemic_cli.prior.diffusion import CosineSchedule


def test_step_weights_have_mean_one_fall_with_noise_and_span_the_cap():
    schedule = CosineSchedule(50)
    weights = snr_step_weights(schedule.snr(), 5.0)
    assert weights.shape == (50,)
    assert weights.mean().item() == pytest.approx(1.0, abs=1e-6)
    assert torch.all(weights[1:] <= weights[:-1])  # noisier steps never count more
    assert (weights.max() / weights.min()).item() == pytest.approx(5.0, rel=1e-6)  # SNR spans both clamps
    # a cap of 1 is every step alike
    assert torch.allclose(snr_step_weights(schedule.snr(), 1.0), torch.ones(50))


def _rec(cap: float, seed: int) -> tuple[float, int]:
    """The finetune objective's L_rec on one fixed clip, and the step it drew."""
    torch.manual_seed(0)
    model = tiny_denoiser(66).eval()  # no dropout: the two calls differ only by the weighting
    model.reset_action_embedding(2)
    schedule = CosineSchedule(50)
    objective = AdaptObjective(model, add_noise=schedule.add_noise, num_timesteps=50, mining=False,
                               switches=LossSwitches(snr_weight_cap=cap), generator=torch.Generator().manual_seed(seed),
                               snr=schedule.snr())
    g = torch.Generator().manual_seed(1)
    batch = AdaptBatch(target=torch.randn(1, 9, 66, generator=g), target_mask=torch.ones(1, 9, dtype=torch.bool),
                       labels=torch.tensor([1]), class_text=torch.randn(1, 384, generator=g))
    with torch.no_grad():
        rec = objective(batch)["rec"].item()
    step = int(torch.randint(0, 50, (1,), generator=torch.Generator().manual_seed(seed)))
    return rec, step


def test_weighted_loss_is_the_plain_loss_times_its_steps_weight():
    weights = snr_step_weights(CosineSchedule(50).snr(), 5.0)
    steps = set()
    for seed in range(6):
        plain, step = _rec(0.0, seed)
        weighted, same_step = _rec(5.0, seed)
        assert step == same_step
        assert weighted == pytest.approx(plain * weights[step].item(), rel=1e-5)
        steps.add(step)
    assert len(steps) > 1


def test_objective_refuses_a_cap_without_the_schedule():
    with pytest.raises(ValueError, match="SNR"):
        AdaptObjective(tiny_denoiser(66), add_noise=CosineSchedule(50).add_noise, num_timesteps=50, mining=False,
                       switches=LossSwitches(snr_weight_cap=5.0))


def test_config_refuses_a_cap_below_one():
    with pytest.raises(KinemicError, match="--snr-weight-cap"):
        resolve_adapt_config(AdaptConfig(dataset="demo", prior="p", snr_weight_cap=0.5), preset="tiny")
    assert resolve_adapt_config(AdaptConfig(dataset="demo", prior="p", snr_weight_cap=5), preset="tiny").snr_weight_cap == 5
