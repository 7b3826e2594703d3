"""The text-to-motion prior as one bundle: denoiser, schedule, features, normaliser, text encoder.

A prior lives in a folder (a ``kinemic pretrain`` run folder, an imported MDM, or a prior
shipped inside the package) as two files written by :func:`save_prior`:

- ``prior.json``: what is needed to rebuild it (denoiser config, schedule config, feature
  space, skeleton, fps, longest sequence, text encoder name, preset, the collection it was
  trained on) and its provenance, inside a :mod:`kinemic_cli.checkpoints` document;
- ``prior.safetensors``: the denoiser weights and the normaliser's mean/std.

``builtin:NAME`` names a prior shipped in ``kinemic_cli/assets/priors/NAME`` (the demo
prior, so the quickstart needs no long pretraining run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checkpoints import load_state, save_state, state_exists
from .diffusion import CosineSchedule
from .errors import KinemicError
from .models.denoiser import DenoiserConfig, MotionDenoiser
from .motion import FeatureSpace, Normaliser, create_feature_space
from .skeletons import Skeleton
from .text import TextEncoder, load_text_encoder

__all__ = ["PriorBundle", "save_prior", "load_prior", "resolve_prior_folder", "is_prior_folder", "PRIOR_FILE",
           "BUILTIN_PRIORS"]

PRIOR_FILE = "prior"
BUILTIN_PRIORS = Path(__file__).parent / "assets" / "priors"


@dataclass
class PriorBundle:
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

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    def describe(self) -> dict:
        """The JSON half of the saved prior."""
        return {
            "format": "kinemic-prior-1",
            "denoiser": self.model.config.to_dict(),
            "schedule": self.schedule.config(),
            "features": self.features.name,
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


def save_prior(folder: str | Path, bundle: PriorBundle, *, provenance: dict | None = None) -> Path:
    """Write ``prior.safetensors`` + ``prior.json`` (atomically; the JSON names the tensors)."""
    state = {"model": bundle.model.state_dict(), "mean": bundle.normaliser.mean, "std": bundle.normaliser.std}
    meta = {**bundle.describe(), "provenance": provenance or bundle.provenance}
    return save_state(Path(folder) / PRIOR_FILE, state, meta=meta)


def load_prior(folder: str | Path, device: str | torch.device = "cpu", *, with_text_encoder: bool = True,
               store=None) -> PriorBundle:
    """Rebuild a saved prior (eval mode) on ``device``; ``store`` enables the embedding cache."""
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
    return PriorBundle(
        model=model, schedule=CosineSchedule.from_config(meta["schedule"]),
        normaliser=Normaliser(state["mean"], state["std"]), skeleton=skeleton,
        features=create_feature_space(meta["features"], skeleton), text_encoder=encoder,
        text_encoder_name=meta["text_encoder"], fps=float(meta["fps"]), max_frames=int(meta["max_frames"]),
        preset=str(meta["preset"]), source_collection=meta.get("source_collection"), folder=folder,
        provenance=meta.get("provenance", {}))
