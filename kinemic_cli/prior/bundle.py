"""The text-to-motion prior as one object: denoiser, schedule, features, normaliser, text encoder.

Everything downstream (pretraining's output, adaptation, generation, the MDM importer)
uses :class:`Prior`; it is the only place that knows how the pieces fit together, e.g.
that a clip's features are the prior's feature space followed by the prior's
normaliser, or that adaptation and generation use the prior's own noise schedule (so a
student can never disagree with its prior on 100 vs 50 steps).

A prior lives in a folder (a ``kinemic pretrain`` run folder, an imported MDM, or a prior
shipped inside the package) as two files written by :func:`save_prior`:

- ``prior.json``: what is needed to rebuild it (denoiser config, schedule config, feature
  space, skeleton, fps, longest sequence, text encoder name, preset, the collection it was
  trained on) and its provenance, inside a :mod:`kinemic_cli.runtime.checkpoints` document;
- ``prior.safetensors``: the denoiser weights and the normaliser's mean/std.

``builtin:NAME`` names a prior shipped in ``kinemic_cli/assets/priors/NAME`` (the demo
prior, so the quickstart needs no long pretraining run).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..errors import KinemicError
from ..models.denoiser import DenoiserConfig, MotionDenoiser
from ..motion.features import FeatureSpace, create_feature_space
from ..motion.normaliser import Normaliser
from ..runtime.checkpoints import load_state, save_state, state_exists
from ..skeletons import Skeleton
from ..text import TextEncoder, load_text_encoder
from .diffusion import CosineSchedule

__all__ = ["Prior", "save_prior", "load_prior", "resolve_prior_folder", "is_prior_folder", "weights_hash",
           "PRIOR_FILE", "BUILTIN_PRIORS"]

PRIOR_FILE = "prior"
BUILTIN_PRIORS = Path(__file__).resolve().parent.parent / "assets" / "priors"


def weights_hash(module: nn.Module) -> str:
    """SHA-256 over the state dict (names, shapes, bytes): identifies the exact prior weights."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


@dataclass
class Prior:
    """A text-to-motion prior and what every stage needs from it.

    ``weights_sha256`` is taken when the object is made (before any fine-tuning can change
    the weights in place), so an adapted model records the prior it started from.
    """

    model: MotionDenoiser
    schedule: CosineSchedule
    normaliser: Normaliser
    skeleton: Skeleton
    features: FeatureSpace
    text_encoder: TextEncoder | None
    text_encoder_name: str
    fps: float
    max_frames: int
    preset: str
    source_collection: str | None = None
    folder: Path | None = None
    provenance: dict = field(default_factory=dict)
    weights_sha256: str = ""

    def __post_init__(self) -> None:
        if not self.weights_sha256:
            self.weights_sha256 = weights_hash(self.model)

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def num_timesteps(self) -> int:
        return int(self.schedule.num_steps)

    def add_noise(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x_t`` of the prior's own schedule (``x0 [B, T, F]``, ``t [B]``, ``noise [B, T, F]``)."""
        return self.schedule.add_noise(x0, t, noise)

    def to_features(self, joints: np.ndarray) -> np.ndarray:
        """Joints ``[T, J, 3]`` on the prior's skeleton -> normalised features ``[T, F]``."""
        return self.normaliser.normalise(self.features.from_joints(joints))

    def stored_features(self, collection, index: int, *, start: int = 0, end: int | None = None) -> np.ndarray | None:
        """Normalised features a collection already stores for clip ``index`` (frames ``start:end``), if usable.

        A HumanML3D-layout collection carries each clip's own 263-d vectors
        (``frame_data["hml263"]``); an ``hml263`` prior then reads them as they are instead
        of recomputing them from the joints (the release's processing, not an approximation
        of it).  ``None`` when the prior's space, skeleton or frame rate differ.
        """
        if (self.features.name != "hml263" or collection.skeleton.name != self.skeleton.name
                or abs(float(collection.fps) - self.fps) > 1e-6 or "hml263" not in collection.frame_data_names()):
            return None
        return self.normaliser.normalise(collection.frame_data("hml263", int(index))[start:end])

    def to_joints(self, features: np.ndarray) -> np.ndarray:
        """Normalised features ``[T, F]`` -> joints ``[T, J, 3]`` (canonical frame)."""
        return self.features.to_joints(self.normaliser.denormalise(features))

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Captions -> ``[N, E]`` embeddings with the prior's text encoder."""
        if self.text_encoder is None:
            raise KinemicError("this prior was loaded without its text encoder")
        return self.text_encoder.encode(list(texts))

    def describe(self) -> dict:
        """The JSON half of the saved prior."""
        features = self.features.to_dict()
        return {
            "format": "kinemic-prior-1",
            "denoiser": self.model.config.to_dict(),
            "schedule": self.schedule.config(),
            "features": features if features.keys() - {"name", "skeleton"}
            else self.features.name,  # a plain name unless the space carries parameters (bone lengths)
            "skeleton": self.skeleton.to_dict(),
            "fps": self.fps,
            "max_frames": self.max_frames,
            "text_encoder": self.text_encoder_name,
            "preset": self.preset,
            "source_collection": self.source_collection,
        }


def resolve_prior_folder(spec: str | Path) -> Path:
    """A folder path, or ``builtin:NAME`` for a prior shipped with kinemic."""
    text = str(spec)
    if text.startswith("builtin:"):
        name = text.split(":", 1)[1]
        folder = BUILTIN_PRIORS / name
        if not is_prior_folder(folder):
            known = sorted(p.name for p in BUILTIN_PRIORS.iterdir()) if BUILTIN_PRIORS.exists() else []
            raise KinemicError(f"no built-in prior {name!r}; built in: {', '.join(known) or 'none'}")
        return folder
    return Path(text)


def is_prior_folder(folder: str | Path) -> bool:
    return state_exists(Path(folder) / PRIOR_FILE)


def save_prior(folder: str | Path, prior: Prior, *, provenance: dict | None = None) -> Path:
    """Write ``prior.safetensors`` + ``prior.json`` (atomically; the JSON names the tensors)."""
    state = {"model": prior.model.state_dict(), "mean": prior.normaliser.mean, "std": prior.normaliser.std}
    meta = {**prior.describe(), "provenance": provenance or prior.provenance}
    return save_state(Path(folder) / PRIOR_FILE, state, meta=meta)


def load_prior(folder: str | Path, device: str | torch.device = "cpu", *, with_text_encoder: bool = True,
               store=None) -> Prior:
    """Rebuild a saved prior (eval mode) on ``device``; ``store`` enables the text-embedding cache.

    ``with_text_encoder=False`` skips loading the sentence-transformers model where only
    stored embeddings are needed (generation of adapted classes).
    """
    folder = resolve_prior_folder(folder)
    if not folder.exists():
        raise KinemicError(f"--prior {folder}: folder not found")
    if not is_prior_folder(folder):
        raise KinemicError(f"--prior {folder}: not a prior folder (no {PRIOR_FILE}.json; run `kinemic pretrain`)")
    state, meta = load_state(folder / PRIOR_FILE, map_location="cpu")
    if meta.get("format") != "kinemic-prior-1":
        raise KinemicError(f"{folder / PRIOR_FILE}.json: unknown prior format {meta.get('format')!r}")
    skeleton = Skeleton.from_dict(meta["skeleton"], source=str(folder / PRIOR_FILE) + ".json")
    model = MotionDenoiser(DenoiserConfig.from_dict(meta["denoiser"]))
    missing, unexpected = model.load_state_dict(state["model"], strict=False)
    if missing or unexpected:
        raise KinemicError(f"{folder}: prior weights do not fit its config (missing {missing[:3]}, "
                           f"unexpected {unexpected[:3]})")
    model.to(device).eval()
    encoder = None
    if with_text_encoder:
        encoder = load_text_encoder(meta["text_encoder"], device=str(device))
        if encoder.dim != model.config.text_dim:
            raise KinemicError(f"{folder}: text encoder {meta['text_encoder']!r} gives {encoder.dim}-d embeddings, "
                               f"the prior expects {model.config.text_dim}")
        if store is not None:
            encoder.use_store_cache(store)
    schedule = CosineSchedule.from_config(meta["schedule"])
    model.use_schedule(schedule.alphas_cumprod)
    return Prior(
        model=model, schedule=schedule,
        normaliser=Normaliser(state["mean"], state["std"]), skeleton=skeleton,
        features=create_feature_space(meta["features"], skeleton), text_encoder=encoder,
        text_encoder_name=meta["text_encoder"], fps=float(meta["fps"]), max_frames=int(meta["max_frames"]),
        preset=str(meta["preset"]), source_collection=meta.get("source_collection"), folder=folder,
        provenance=meta.get("provenance", {}))
