"""`adapt --feature-balance`: a feature whose shots span more than the corpus counts in the shots' units."""

import numpy as np
import pytest
import torch
from adapt_support import tiny_denoiser

from kinemic_cli.adapt.losses import AdaptBatch, AdaptObjective, LossSwitches, shot_feature_weights
from kinemic_cli.prior.diffusion import CosineSchedule


def test_weights_divide_only_the_features_wider_than_the_corpus():
    rng = np.random.default_rng(0)
    clips = [rng.normal(0, 0.5, (20, 4)).astype(np.float32) for _ in range(3)]
    for clip in clips:
        clip[:, 1] = rng.choice([-10.0, 10.0], size=20)  # z^2 = 100 exactly: a feature the corpus never moves
        clip[:, 3] = rng.choice([-2.0, 2.0], size=20)  # z^2 = 4
    weights = shot_feature_weights(clips)
    assert weights[1].item() == pytest.approx(0.01) and weights[3].item() == pytest.approx(0.25)
    assert weights[0].item() == 1.0 and weights[2].item() == 1.0  # inside the corpus's range: unchanged


def _rec(weight: torch.Tensor | None) -> tuple[float, torch.Tensor, torch.Tensor]:
    """The finetune objective's L_rec on one fixed clip, with the clip and the student's prediction."""
    torch.manual_seed(0)
    model = tiny_denoiser(6).eval()
    model.reset_action_embedding(2)
    schedule = CosineSchedule(50)
    seen = {}

    def recording(x, t, **kw):
        out = model(x, t, **kw)
        seen["prediction"] = out[0]
        return out

    objective = AdaptObjective(recording, add_noise=schedule.add_noise, num_timesteps=50, mining=False,
                               switches=LossSwitches(), generator=torch.Generator().manual_seed(3),
                               feature_weight=weight)
    g = torch.Generator().manual_seed(1)
    target = torch.randn(1, 9, 6, generator=g)
    batch = AdaptBatch(target=target, target_mask=torch.ones(1, 9, dtype=torch.bool), labels=torch.tensor([1]),
                       class_text=torch.randn(1, 384, generator=g))
    with torch.no_grad():
        rec = objective(batch)["rec"].item()
    return rec, seen["prediction"], target


def test_the_weighted_loss_is_the_weighted_mean_of_squared_errors():
    weight = torch.tensor([1.0, 0.01, 1.0, 0.25, 1.0, 1.0])
    plain, prediction, target = _rec(None)
    weighted, same_prediction, _ = _rec(weight)
    assert torch.equal(prediction, same_prediction)
    squared = ((prediction - target) ** 2).mean(dim=(0, 1))  # per feature, over the frames
    assert plain == pytest.approx(squared.mean().item(), rel=1e-5)
    assert weighted == pytest.approx((squared * weight).mean().item(), rel=1e-5)
    assert _rec(torch.ones(6))[0] == pytest.approx(plain, rel=1e-6)
