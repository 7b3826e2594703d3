"""The MDM-style motion denoiser: a transformer encoder that predicts the clean clip ``x0``.

Layout (as MDM, so its public checkpoint imports one to one, see :mod:`kinemic_cli.prior.mdm_import`):
one *conditioning token* = timestep embedding (sinusoid row ``t`` -> Linear-SiLU-Linear)
+ projected text embedding + action embedding, prepended to the projected frames;
sinusoidal positions added to the whole sequence; post-norm encoder layers (GELU); padded
frames masked as keys (the conditioning token never); the first output position dropped.
With ``x0_skip`` (off for MDM and ``builtin:demo``, on for ``builtin:demo-skip``) the output is
mixed with the input by the schedule (:meth:`MotionDenoiser.use_schedule`).  With
``action_frames`` (a student option, ``adapt --action-every-frame``) the action row is also
added to every projected frame, not only to the conditioning token: the class then reaches
each frame directly instead of only through attention to one token of ~100.

Conditioning switches for classifier-free guidance: ``text_keep`` zeroes a sample's text
embedding *before* its projection (MDM's convention, so the unconditional token keeps the
projection's bias) and ``action_keep`` replaces its action by the null action, whose
embedding row is fixed at zero (``padding_idx``).  A fresh action table is zero too, so
a student made by :meth:`MotionDenoiser.reset_action_embedding` starts exactly as the
text-conditioned prior.

Tensor layout: ``x [B, T, F]`` batch-first; ``mask [B, T]`` True on real frames; latents
``[B, T, D]`` are the last layer's outputs at the frame positions (what MIC reads).

Module names are part of the contract: LoRA targets ``input_proj``, ``output_proj``,
``time_mlp``, ``layers.*.attn.qkv``, ``layers.*.attn.out``, ``layers.*.ff1``, ``layers.*.ff2``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import KinemicError

__all__ = ["DenoiserConfig", "MotionDenoiser", "PRESETS", "create_denoiser", "sinusoid_table"]


@dataclass
class DenoiserConfig:
    """Everything that shapes the weights; saved as JSON beside them."""

    features: int
    text_dim: int = 384
    latent_dim: int = 256
    layers: int = 4
    heads: int = 4
    ff_dim: int = 512
    dropout: float = 0.1
    num_actions: int = 0
    max_positions: int = 5000
    x0_skip: bool = False
    action_frames: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DenoiserConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise KinemicError(f"denoiser config has unknown keys {unknown}")
        return cls(**data)


#: Size presets: ``tiny`` for tests, ``small`` for CPU runs, ``paper`` = the paper's MDM.
PRESETS: dict[str, dict] = {
    "tiny": {"latent_dim": 64, "layers": 2, "heads": 4, "ff_dim": 128},
    "small": {"latent_dim": 192, "layers": 4, "heads": 4, "ff_dim": 384},
    "paper": {"latent_dim": 512, "layers": 8, "heads": 4, "ff_dim": 1024},
}


def sinusoid_table(positions: int, dim: int) -> torch.Tensor:
    """MDM's fixed table ``[positions, dim]``: sin on even columns, cos on odd ones."""
    position = torch.arange(positions, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(positions, dim)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)
    return table


class SelfAttention(nn.Module):
    """Multi-head self-attention over one fused qkv projection, through PyTorch's SDPA kernels."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        if dim % heads:
            raise KinemicError(f"latent_dim {dim} is not divisible by heads {heads}")
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, attend: torch.Tensor | None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attend,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, n, d))


class EncoderLayer(nn.Module):
    """Post-norm transformer encoder layer (PyTorch's default layout, as MDM trained it)."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.attn = SelfAttention(dim, heads, dropout)
        self.ff1, self.ff2 = nn.Linear(dim, ff_dim), nn.Linear(ff_dim, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.drop1, self.drop2, self.drop_ff = nn.Dropout(dropout), nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, attend: torch.Tensor | None) -> torch.Tensor:
        x = self.norm1(x + self.drop1(self.attn(x, attend)))
        return self.norm2(x + self.drop2(self.ff2(self.drop_ff(F.gelu(self.ff1(x))))))


class MotionDenoiser(nn.Module):
    """x0-predicting denoiser conditioned on timestep, text embedding and (optionally) action."""

    def __init__(self, config: DenoiserConfig):
        super().__init__()
        self.config = config
        d = config.latent_dim
        self.input_proj = nn.Linear(config.features, d)
        self.output_proj = nn.Linear(d, config.features)
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.text_proj = nn.Linear(config.text_dim, d)
        self.action_embed = self._action_table(config.num_actions)
        self.layers = nn.ModuleList(EncoderLayer(d, config.heads, config.ff_dim, config.dropout)
                                    for _ in range(config.layers))
        self.input_dropout = nn.Dropout(config.dropout)
        self.register_buffer("positions", sinusoid_table(config.max_positions, d), persistent=False)
        self.register_buffer("skip_signal", None, persistent=False)
        self.register_buffer("skip_output", None, persistent=False)

    def use_schedule(self, alphas_cumprod: torch.Tensor) -> None:
        """The noise schedule an ``x0_skip`` denoiser reads (one ``a_t`` per diffusion step).

        With ``x0_skip`` the prediction is ``sqrt(a_t) x_t + sqrt(1 - a_t) F(x_t)`` (the
        v-parameterisation of Salimans & Ho, 2022, written as an x0 prediction): a nearly clean
        input passes through almost unchanged, so the last sampling steps keep the detail the
        trajectory built instead of pulling every pose onto what the network can reproduce.
        Plain x0 output (MDM) cannot hand back even a clean clip it has not learnt
        (``bench/domain_gap.py``).  The schedule is not part of the weights: whoever pairs the
        denoiser with a schedule (pretraining, the prior bundle) sets it, whether ``x0_skip`` is
        on or not (unused when off).  On the demo world it closed the low-noise gap but let the
        sampler's last-step noise through as jitter (README, "The domain gap"), so it is off by default.
        """
        a = torch.as_tensor(alphas_cumprod, dtype=torch.float64)
        device = self.input_proj.weight.device
        self.skip_signal = a.sqrt().float().to(device)
        self.skip_output = (1.0 - a).sqrt().float().to(device)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def _action_table(self, num_actions: int) -> nn.Embedding:
        """``num_actions`` rows + the null row (last, fixed at zero); all rows start at zero."""
        table = nn.Embedding(num_actions + 1, self.config.latent_dim, padding_idx=num_actions)
        nn.init.zeros_(table.weight)
        return table

    def reset_action_embedding(self, num_actions: int, *, every_frame: bool = False) -> None:
        """A new, zero action table for ``num_actions`` classes (few-shot adaptation).

        ``every_frame``: the table's rows also enter every frame token (``action_frames``); set
        with the table, so a student never inherits where an earlier student's actions entered.
        """
        device = self.input_proj.weight.device
        self.action_embed = self._action_table(num_actions).to(device)
        self.config.num_actions = int(num_actions)
        self.config.action_frames = bool(every_frame)

    def condition(self, t: torch.Tensor, text: torch.Tensor | None, action: torch.Tensor | None,
                  text_keep: torch.Tensor | None, action_keep: torch.Tensor | None, batch: int) -> torch.Tensor:
        """The conditioning token ``[B, D]``."""
        cond = self.time_mlp(self.positions[t.long()])
        if text is not None:
            keep = torch.ones(batch, device=text.device, dtype=text.dtype) if text_keep is None else text_keep.to(text.dtype)
            cond = cond + self.text_proj(text * keep[:, None])
        if action is not None:
            cond = cond + self.action_vector(action, action_keep)
        return cond

    def action_vector(self, action: torch.Tensor, action_keep: torch.Tensor | None) -> torch.Tensor:
        """``[B, D]``: each sample's action row, the null (zero) row where ``action_keep`` is False."""
        null = self.action_embed.num_embeddings - 1
        index = action.long()
        if action_keep is not None:
            index = torch.where(action_keep.bool(), index, torch.full_like(index, null))
        return self.action_embed(index)

    def forward(self, x: torch.Tensor, t: torch.Tensor, *, text: torch.Tensor | None = None,
                action: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                text_keep: torch.Tensor | None = None, action_keep: torch.Tensor | None = None,
                return_latents: bool = False):
        b, n, _ = x.shape
        if n + 1 > self.config.max_positions:
            raise KinemicError(f"clip of {n} frames exceeds the denoiser's {self.config.max_positions - 1}")
        cond = self.condition(t, text, action, text_keep, action_keep, b)
        frames = self.input_proj(x)
        if action is not None and self.config.action_frames:
            frames = frames + self.action_vector(action, action_keep)[:, None]
        h = torch.cat([cond[:, None], frames], dim=1) + self.positions[: n + 1]
        h = self.input_dropout(h)
        attend = None
        if mask is not None and not bool(mask.all()):
            valid = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=x.device), mask.bool()], dim=1)
            attend = valid[:, None, None, :]
        for layer in self.layers:
            h = layer(h, attend)
        latents = h[:, 1:]
        out = self.output_proj(latents)
        if self.config.x0_skip:
            if self.skip_signal is None:
                raise KinemicError("this denoiser predicts x0 with a skip (x0_skip) and needs its schedule: "
                                   "call use_schedule(alphas_cumprod) first")
            step = t.long().to(self.skip_signal.device)
            signal = self.skip_signal[step].to(out.dtype)[:, None, None]
            out = signal * x.to(out.dtype) + self.skip_output[step].to(out.dtype)[:, None, None] * out
        return (out, latents) if return_latents else out


def create_denoiser(preset: str, *, features: int, text_dim: int, **overrides) -> MotionDenoiser:
    """A denoiser of a named size preset; unknown names list the known ones (timm's habit)."""
    if preset not in PRESETS:
        raise KinemicError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    values = {**PRESETS[preset], **overrides}
    return MotionDenoiser(DenoiserConfig(features=features, text_dim=text_dim, **values))
