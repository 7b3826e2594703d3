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

from .errors import KinemicError
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


def _bundle_field(bundle: Any, folder: Path, *names: str) -> Any:
    for name in names:
        if hasattr(bundle, name):
            return getattr(bundle, name)
        if isinstance(bundle, dict) and name in bundle:
            return bundle[name]
    raise KinemicError(f"--prior {folder}: the prior bundle has no {names[0]!r}")


def load_prior_handle(folder: Path, device: torch.device | str = "cpu") -> PriorHandle:
    """Load a ``kinemic pretrain`` run folder (or an imported MDM) as a :class:`PriorHandle`."""
    folder = Path(folder)
    if not folder.exists():
        raise KinemicError(f"--prior {folder}: folder not found")
    try:
        from .prior import load_prior
    except ImportError as exc:  # the prior module is issue 4's; name it clearly if absent
        raise KinemicError(f"--prior {folder}: the prior module is not available in this install ({exc})") from None
    device = torch.device(device)
    bundle = load_prior(folder, device)
    model = _bundle_field(bundle, folder, "model")
    schedule = _bundle_field(bundle, folder, "schedule")
    normaliser = _bundle_field(bundle, folder, "normaliser")
    skeleton = _bundle_field(bundle, folder, "skeleton")
    features = _bundle_field(bundle, folder, "features")
    encoder = _bundle_field(bundle, folder, "text_encoder")

    def to_features(joints: np.ndarray) -> np.ndarray:
        return np.asarray(normaliser.normalise(features.from_joints(joints)), dtype=np.float32)

    return PriorHandle(
        model=model.to(device), device=device, add_noise=schedule.add_noise, num_timesteps=int(schedule.num_steps),
        skeleton=skeleton, fps=float(_bundle_field(bundle, folder, "fps")),
        max_frames=int(_bundle_field(bundle, folder, "max_frames")), to_features=to_features,
        encode_text=lambda texts: np.asarray(encoder.encode(list(texts)), dtype=np.float32),
        latent_dim=int(_bundle_field(bundle, folder, "latent_dim")), preset=str(_bundle_field(bundle, folder, "preset")),
        source_collection=getattr(bundle, "source_collection", None), weights_hash=weights_hash(model),
        folder=folder, bundle=bundle)
