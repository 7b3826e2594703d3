"""The prior as adaptation sees it: one small handle over the prior run folder's bundle.

Adaptation needs a handful of things from the pretrained prior (issue 4): the denoiser,
its noise schedule's ``add_noise`` and step count (the SAME schedule for student and
prior, so the two can never disagree on 100 vs 50 steps), the skeleton, fps and longest
sequence, joints -> normalised features (with the PRIOR's normaliser), the text encoder,
the latent width, the preset, the training collection and a hash of the weights.
:func:`load_prior_handle` is the only place that knows the bundle's field names, so a
change on the prior side is absorbed here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .skeletons import Skeleton

__all__ = ["PriorHandle", "load_prior_handle", "weights_hash"]


@dataclass
class PriorHandle:
    """``to_features``: joints ``[T, J, 3]`` -> normalised features ``[T, F]``; ``encode_text``:
    captions -> ``[N, E]``; ``add_noise(x0 [B, T, F], t [B], noise [B, T, F]) -> x_t``."""

    model: nn.Module
    device: torch.device
    add_noise: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    num_timesteps: int
    skeleton: Skeleton
    fps: float
    max_frames: int
    to_features: Callable[[np.ndarray], np.ndarray]
    encode_text: Callable[[Sequence[str]], np.ndarray]
    latent_dim: int
    preset: str
    source_collection: str | None
    weights_hash: str
    folder: Path | None = None
    bundle: Any = field(default=None, repr=False)


def weights_hash(module: nn.Module) -> str:
    """SHA-256 over the state dict (names, shapes, bytes): identifies the exact prior weights."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


def _no_encoder(texts: Sequence[str]) -> np.ndarray:
    raise RuntimeError("this prior was loaded without its text encoder")


def load_prior_handle(folder: Path | str, device: torch.device | str = "cpu", *, store=None,
                      with_text_encoder: bool = True) -> PriorHandle:
    """Load a prior folder (``kinemic pretrain`` run, imported MDM, or ``builtin:NAME``) as a handle.

    ``store`` turns on the text-embedding cache in that store (mining encodes every source
    caption; a re-run then encodes nothing).  ``with_text_encoder=False`` skips loading the
    sentence-transformers model where only stored embeddings are needed (generation).
    """
    from .prior import load_prior, resolve_prior_folder

    folder = resolve_prior_folder(folder)
    device = torch.device(device)
    bundle = load_prior(folder, device, store=store, with_text_encoder=with_text_encoder)
    features, normaliser, encoder = bundle.features, bundle.normaliser, bundle.text_encoder

    def to_features(joints: np.ndarray) -> np.ndarray:
        return normaliser.normalise(features.from_joints(joints))

    return PriorHandle(
        model=bundle.model, device=device, add_noise=bundle.schedule.add_noise,
        num_timesteps=int(bundle.schedule.num_steps), skeleton=bundle.skeleton, fps=bundle.fps,
        max_frames=bundle.max_frames, to_features=to_features,
        encode_text=(lambda texts: encoder.encode(list(texts))) if encoder is not None else _no_encoder, latent_dim=bundle.latent_dim, preset=bundle.preset,
        source_collection=bundle.source_collection, weights_hash=weights_hash(bundle.model), folder=folder,
        bundle=bundle)
