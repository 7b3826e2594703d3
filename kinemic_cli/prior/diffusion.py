"""Noise schedule, training loss and samplers, kept apart from any model or dataset.

As in diffusers, the schedule is a plain object holding only the noise schedule
(:class:`CosineSchedule`: ``add_noise`` for training, posterior coefficients for
sampling), and each sampler is a small object with ``set_timesteps`` / ``step``
(:class:`DDPMSampler` ancestral over every trained step, :class:`DDIMSampler` over fewer).
:func:`sample` owns the loop.  Models predict ``x0`` (MDM's parameterisation), so a
sampler's ``step`` takes the predicted clean clip.

Classifier-free guidance is a function of the model output (:func:`guided_x0`): ONE batched
forward pass over the conditional and unconditional halves, then
``x0 = x0_uncond + scale * (x0_cond - x0_uncond)``.

Noise comes from one ``torch.Generator`` per clip (:class:`ClipNoise`), so a clip's
numbers depend only on its own seed, never on its batch-mates or the batch size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from ..errors import KinemicError
from .losses import masked_mse_per_sample

__all__ = [
    "CosineSchedule",
    "DDPMSampler",
    "DDIMSampler",
    "SamplerStep",
    "ClipNoise",
    "create_sampler",
    "diffusion_loss",
    "guided_x0",
    "sample",
]


class CosineSchedule:
    """The cosine schedule of improved DDPM (``s = 0.008``, betas capped at 0.999) over ``num_steps``."""

    def __init__(self, num_steps: int = 50, *, s: float = 0.008):
        if num_steps < 1:
            raise KinemicError(f"diffusion steps must be at least 1, got {num_steps}")
        self.num_steps, self.s = int(num_steps), float(s)

        def alpha_bar(u: float) -> float:
            return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

        betas = [min(1 - alpha_bar((i + 1) / num_steps) / alpha_bar(i / num_steps), 0.999) for i in range(num_steps)]
        self.betas = torch.tensor(betas, dtype=torch.float64)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self.alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]])

    def config(self) -> dict:
        return {"kind": "cosine", "num_steps": self.num_steps, "s": self.s}

    @classmethod
    def from_config(cls, config: dict) -> "CosineSchedule":
        if config.get("kind", "cosine") != "cosine":
            raise KinemicError(f"unknown noise schedule {config.get('kind')!r}")
        return cls(int(config["num_steps"]), s=float(config.get("s", 0.008)))

    def snr(self) -> torch.Tensor:
        """``[num_steps]`` signal-to-noise ratio ``a_t / (1 - a_t)`` of each step (float64)."""
        return self.alphas_cumprod / (1.0 - self.alphas_cumprod)

    def _at(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return values.to(like.device)[t.long()].to(like.dtype).view(-1, *([1] * (like.dim() - 1)))

    def add_noise(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``q(x_t | x0)``: ``sqrt(a_t) x0 + sqrt(1 - a_t) noise`` per sample."""
        a = self._at(self.alphas_cumprod, t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise


@dataclass
class SamplerStep:
    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class ClipNoise:
    """Per-clip Gaussian noise streams: clip ``i`` draws only from ``torch.Generator(seed_i)``."""

    def __init__(self, seeds: Sequence[int], shape: tuple[int, ...], device: torch.device | str = "cpu"):
        self.shape, self.device = tuple(shape), torch.device(device)
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]

    def draw(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``[B, *shape]`` drawn on the CPU (identical on every device), then moved."""
        return torch.stack([torch.randn(self.shape, generator=g, dtype=dtype) for g in self.generators]).to(self.device)


class DDPMSampler:
    """Ancestral sampling over every trained step, from the x0 prediction."""

    name = "ddpm"

    def __init__(self, schedule: CosineSchedule):
        self.schedule = schedule
        self.timesteps = list(range(schedule.num_steps - 1, -1, -1))

    def set_timesteps(self, steps: int | None = None) -> None:
        if steps not in (None, self.schedule.num_steps):
            raise KinemicError(f"ddpm runs every trained step ({self.schedule.num_steps}); use --sampler ddim for {steps}")
        self.timesteps = list(range(self.schedule.num_steps - 1, -1, -1))

    def step(self, x0: torch.Tensor, t: int, sample: torch.Tensor, noise: torch.Tensor | None) -> SamplerStep:
        sch = self.schedule
        a_bar, a_prev, beta = float(sch.alphas_cumprod[t]), float(sch.alphas_cumprod_prev[t]), float(sch.betas[t])
        coef_x0 = math.sqrt(a_prev) * beta / (1 - a_bar)
        coef_xt = math.sqrt(1 - beta) * (1 - a_prev) / (1 - a_bar)
        mean = coef_x0 * x0 + coef_xt * sample
        if t == 0 or noise is None:
            return SamplerStep(mean, x0)
        variance = beta * (1 - a_prev) / (1 - a_bar)
        return SamplerStep(mean + math.sqrt(variance) * noise, x0)


class DDIMSampler:
    """Deterministic (``eta = 0``) or stochastic DDIM over ``steps`` evenly spaced timesteps."""

    name = "ddim"

    def __init__(self, schedule: CosineSchedule, *, eta: float = 0.0):
        self.schedule, self.eta = schedule, float(eta)
        self.set_timesteps(min(20, schedule.num_steps))

    def set_timesteps(self, steps: int | None = None) -> None:
        total = self.schedule.num_steps
        steps = min(20, total) if steps is None else int(steps)
        if not 1 <= steps <= total:
            raise KinemicError(f"ddim steps must be between 1 and {total}, got {steps}")
        grid = torch.linspace(total - 1, 0, steps).round().long().tolist()
        self.timesteps = sorted(set(grid), reverse=True)
        self._prev = {t: (self.timesteps[i + 1] if i + 1 < len(self.timesteps) else -1)
                      for i, t in enumerate(self.timesteps)}

    def step(self, x0: torch.Tensor, t: int, sample: torch.Tensor, noise: torch.Tensor | None) -> SamplerStep:
        sch = self.schedule
        prev = self._prev[t]
        a_bar = float(sch.alphas_cumprod[t])
        a_prev = float(sch.alphas_cumprod[prev]) if prev >= 0 else 1.0
        eps = (sample - math.sqrt(a_bar) * x0) / math.sqrt(1 - a_bar)
        sigma = self.eta * math.sqrt((1 - a_prev) / (1 - a_bar) * (1 - a_bar / a_prev)) if prev >= 0 else 0.0
        direction = math.sqrt(max(1 - a_prev - sigma ** 2, 0.0)) * eps
        prev_sample = math.sqrt(a_prev) * x0 + direction
        if sigma > 0 and noise is not None:
            prev_sample = prev_sample + sigma * noise
        return SamplerStep(prev_sample, x0)


def create_sampler(name: str, schedule: CosineSchedule, steps: int | None = None):
    """``ddpm`` (every trained step) or ``ddim`` (``steps``, default 20)."""
    if name == "ddpm":
        sampler = DDPMSampler(schedule)
    elif name == "ddim":
        sampler = DDIMSampler(schedule)
    else:
        raise KinemicError(f"unknown sampler {name!r}; known: ddpm, ddim")
    sampler.set_timesteps(steps)
    return sampler


def diffusion_loss(model: Callable[..., torch.Tensor], schedule: CosineSchedule, x0: torch.Tensor, mask: torch.Tensor,
                   t: torch.Tensor, noise: torch.Tensor, **condition) -> torch.Tensor:
    """Mean over samples of each sample's masked MSE between ``x0`` and the prediction from ``x_t``.

    The caller draws ``t [B]`` and ``noise [B, T, F]`` (so a global batch split over
    processes sees exactly the draws of the single-process run).  Per-sample averaging
    makes the loss of a batch the mean of its parts' losses.
    """
    prediction = model(schedule.add_noise(x0, t, noise), t, mask=mask, **condition)
    return masked_mse_per_sample(prediction, x0, mask).mean()


def guided_x0(model: Callable[..., torch.Tensor], x: torch.Tensor, t: torch.Tensor, *, text: torch.Tensor | None,
              action: torch.Tensor | None, mask: torch.Tensor | None, scale: float) -> torch.Tensor:
    """Classifier-free guided ``x0``: conditional and unconditional halves in ONE forward pass."""
    if scale == 1.0:
        return model(x, t, text=text, action=action, mask=mask)
    b = x.shape[0]
    keep = torch.cat([torch.ones(b, dtype=torch.bool, device=x.device), torch.zeros(b, dtype=torch.bool, device=x.device)])

    def twice(v: torch.Tensor | None) -> torch.Tensor | None:
        return None if v is None else torch.cat([v, v])

    both = model(twice(x), twice(t), text=twice(text), action=twice(action), mask=twice(mask),
                 text_keep=keep, action_keep=keep)
    cond, uncond = both[:b], both[b:]
    return uncond + scale * (cond - uncond)


def sample(model: Callable[..., torch.Tensor], sampler, *, noise: ClipNoise, text: torch.Tensor | None = None,
           action: torch.Tensor | None = None, mask: torch.Tensor | None = None, guidance: float = 2.5,
           progress: Callable[[int], None] | None = None,
           start: tuple[torch.Tensor, float] | None = None, guidance_above: float = 0.0,
           refine: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None) -> torch.Tensor:
    """Run ``sampler`` from pure noise to ``x0 [B, T, F]`` under (guided) conditioning.

    ``guidance_above = F`` applies the guidance only at the steps above ``F`` of the schedule
    (``t >= F (T - 1)``) and the plain conditional prediction below: guidance limited to the
    noisy steps (Kynkaanniemi et al., 2024, "Applying guidance in a limited interval").  Why:
    the class is decided at high noise, while guidance at low noise shrinks motion (the speed
    ratio falls with the scale).  ``0`` guides every step (MDM's sampler).

    ``refine(x0, x_t, t)``, when given, replaces each step's (guided) prediction before the
    sampler's update (``generate --shot-guidance``: :mod:`kinemic_cli.generate.shot_posterior`).

    ``start = (x_clean, strength)`` starts instead from ``x_clean`` noised to the sampler's
    first timestep at or below ``strength`` of the schedule (SDEdit: 1 is pure noise in
    all but name, smaller keeps more of ``x_clean``); the skipped steps count as done.
    """
    if not 0.0 <= guidance_above < 1.0:
        raise KinemicError(f"the guidance interval's lower end must be in [0, 1), got {guidance_above}")
    timesteps = list(sampler.timesteps)
    if start is None:
        x = noise.draw()
    else:
        clean, strength = start
        if not 0.0 < strength <= 1.0:
            raise KinemicError(f"the start strength must be in (0, 1], got {strength}")
        limit = strength * (sampler.schedule.num_steps - 1)
        skipped = [t for t in timesteps if t > limit]
        timesteps = timesteps[len(skipped):] or timesteps[-1:]
        t0 = torch.full((clean.shape[0],), timesteps[0], dtype=torch.long, device=clean.device)
        x = sampler.schedule.add_noise(clean, t0, noise.draw())
        if progress is not None and skipped:
            progress(len(skipped))
    b = x.shape[0]
    with torch.no_grad():
        for t in timesteps:
            t_batch = torch.full((b,), t, dtype=torch.long, device=x.device)
            scale = guidance if t >= guidance_above * (sampler.schedule.num_steps - 1) else 1.0
            x0 = guided_x0(model, x, t_batch, text=text, action=action, mask=mask, scale=scale)
            if refine is not None:
                x0 = refine(x0, x, t)
            fresh = noise.draw() if t > 0 else None
            x = sampler.step(x0, t, x, fresh).prev_sample
            if progress is not None:
                progress(1)
    return x
