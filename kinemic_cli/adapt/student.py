"""The adapted generator: what is trained, what is saved, and how ``generate`` loads it back.

The student is the prior's own denoiser with a new action table for the ``K`` target
classes (+ null) and, for ``kinemic`` and ``lora``, LoRA adapters on a frozen base; for
``finetune`` every weight trains.  Only what changed is saved (``model.safetensors``:
adapters + action table, or the full state for ``finetune``).

The run folder is not self-contained on purpose: ``adapted.json`` records the prior
folder's absolute path and the SHA-256 of its weights, and :func:`load_adapted` rebuilds
the prior and refuses (one clear line) when the prior moved or changed.  A LoRA run
folder is then a few MB instead of a copy of the prior per adaptation (one per dataset,
shot count and seed in a paper table), and a changed prior can never silently be
combined with adapters trained on another one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import KinemicError
from ..models.lora import LoRAAdapters, attach_lora, freeze, trainable_parameter_count
from ..models.mic import EmbeddingMemoryBank, MICModule
from ..prior.bundle import Prior, load_prior
from ..runtime.atomic import atomic_write_text
from ..runtime.checkpoints import load_state, save_state
from ..skeletons import Skeleton
from ..store.splits import FewShotSplit
from .config import AdaptConfig

__all__ = ["Student", "build_student", "adapt_optimizer", "save_adapted", "load_adapted", "AdaptedModel"]

MANIFEST = "adapted.json"
WEIGHTS = "model"


class Student:
    """The trainable side of a run, over the prior's (shared, single) denoiser."""

    def __init__(self, model: nn.Module, *, method: str, lora: LoRAAdapters | None, mic: MICModule | None,
                 memory_bank: EmbeddingMemoryBank | None):
        self.model, self.method, self.lora, self.mic, self.memory_bank = model, method, lora, mic, memory_bank

    def modules(self) -> list[nn.Module]:
        return [m for m in (self.model, self.lora, self.mic) if m is not None]

    def train(self) -> None:
        for m in self.modules():
            m.train()

    def trainable_parameters(self) -> list[nn.Parameter]:
        seen, out = set(), []
        for m in self.modules():
            for p in m.parameters():
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
        return out

    def trainable_count(self) -> int:
        return trainable_parameter_count(*self.modules())

    def weights_state(self) -> dict:
        """What the adapted model needs at generation time."""
        if self.method == "finetune":
            return {"full": self.model.state_dict()}
        return {"lora": self.lora.state_dict(), "action_embed": self.model.action_embed.state_dict()}

    def training_state(self) -> dict:
        state = {"weights": self.weights_state()}
        if self.mic is not None:
            state["mic"] = self.mic.state_dict()
            state["memory_bank"] = self.memory_bank.state()
        return state

    def load_weights_state(self, state: dict) -> None:
        if self.method == "finetune":
            self.model.load_state_dict(state["full"])
        else:
            self.lora.load_state_dict(state["lora"])
            self.model.action_embed.load_state_dict(state["action_embed"])

    def load_training_state(self, state: dict) -> None:
        self.load_weights_state(state["weights"])
        if self.mic is not None:
            self.mic.load_state_dict(state["mic"])
            self.memory_bank.load_state(state["memory_bank"])


def _student_for(model: nn.Module, method: str, num_classes: int, *, rank: int, alpha: float, dropout: float,
                 mic: MICModule | None = None, memory_bank: EmbeddingMemoryBank | None = None,
                 action_frames: bool = False) -> Student:
    if not hasattr(model, "reset_action_embedding"):
        raise KinemicError(f"the prior's denoiser ({type(model).__name__}) has no reset_action_embedding(k)")
    model.reset_action_embedding(num_classes, every_frame=action_frames)
    if method == "finetune":
        for p in model.parameters():
            p.requires_grad_(True)
        return Student(model, method=method, lora=None, mic=None, memory_bank=None)
    freeze(model)
    lora = attach_lora(model, rank=rank, alpha=alpha, dropout=dropout)
    for p in model.action_embed.parameters():
        p.requires_grad_(True)
    return Student(model, method=method, lora=lora, mic=mic, memory_bank=memory_bank)


def build_student(prior: Prior, config: AdaptConfig, *, num_classes: int) -> Student:
    mic = bank = None
    if config.method == "kinemic":
        mic = MICModule(prior.latent_dim, hidden=config.mic_hidden, embed_dim=config.mic_embed).to(prior.device)
        bank = EmbeddingMemoryBank(config.memory_bank, config.mic_embed)
    return _student_for(prior.model, config.method, num_classes, rank=config.lora_rank, alpha=config.lora_alpha,
                        dropout=config.lora_dropout, mic=mic, memory_bank=bank, action_frames=config.action_every_frame)


def adapt_optimizer(student: Student, config: AdaptConfig) -> torch.optim.Optimizer:
    """AdamW over the trainable tensors, the action table at ``--action-lr-mult`` times ``--lr``.

    Why a rate of its own: the table starts at zero and is the only place a class exists apart
    from its caption; at the adapters' rate it stays small (generating with the action alone and
    the caption dropped, the demo world's classes were recognised 20-32 % of the time).  One
    group when the multiple is 1, so older checkpoints resume unchanged.
    """
    params = student.trainable_parameters()
    if config.action_lr_mult == 1.0:
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    table = {id(p) for p in student.model.action_embed.parameters()}
    groups = [{"params": [p for p in params if id(p) not in table]},
              {"params": [p for p in params if id(p) in table], "lr": config.lr * config.action_lr_mult}]
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def save_adapted(out: Path, student: Student, *, prior: Prior, config: AdaptConfig, class_names: list[str],
                 captions: list[list[str]], class_text: list[np.ndarray], shots, class_ids: np.ndarray,
                 collection, fewshot: FewShotSplit) -> Path:
    """Weights (``model.safetensors``) + manifest (``adapted.json``), the manifest written last."""
    lengths = {name: sorted(int(n) for n in shots.lengths[class_ids == k]) for k, name in enumerate(class_names)}
    save_state(out / WEIGHTS, {"weights": student.weights_state(),
                               "class_text": [np.asarray(t, np.float32) for t in class_text]},
               meta={"method": student.method})
    manifest = {
        "format": "kinemic-adapted-1",
        "method": student.method,
        "prior": {"folder": str(Path(prior.folder or config.prior).resolve()), "weights_sha256": prior.weights_sha256},
        "lora": {"rank": config.lora_rank, "alpha": config.lora_alpha, "dropout": config.lora_dropout},
        "action_every_frame": bool(config.action_every_frame),
        "class_names": class_names,
        "class_captions": captions,
        "lengths_per_class": lengths,
        "target": {"store": str(collection.store.path.resolve()), "collection": collection.name,
                   "skeleton": collection.skeleton.to_dict(), "fps": collection.fps, "fewshot_split": fewshot.split,
                   "class_names_all": list(collection.class_names),
                   "labels": [int(collection.class_names.index(n)) if n in collection.class_names else k
                              for k, n in enumerate(class_names)]},
        "fewshot": fewshot.to_dict(),
        "prior_skeleton": prior.skeleton.name,
        "prior_fps": prior.fps,
    }
    path = out / MANIFEST
    atomic_write_text(path, json.dumps(manifest, indent=1))
    return path


@dataclass
class AdaptedModel:
    """Everything ``generate`` needs: the student (eval mode) and what to condition it on.

    ``model`` is the prior's denoiser with the adapters attached and loaded (``prior`` has
    its schedule, normaliser, skeleton and text encoder); ``class_text[k]`` ``[C_k, E]``
    are the class caption embeddings; ``lengths_per_class`` the few-shot clip lengths
    (on the prior's fps) to draw generation lengths from.
    """

    model: nn.Module
    lora: LoRAAdapters | None
    prior: Prior
    method: str
    class_names: list[str]
    class_captions: list[list[str]]
    class_text: list[np.ndarray]
    lengths_per_class: dict[str, list[int]]
    target_skeleton: Skeleton
    target_fps: float
    target_collection: str
    target_labels: list[int]
    manifest: dict


def load_adapted(folder: str | Path, device: str | torch.device = "cpu", *, with_text_encoder: bool = True) -> AdaptedModel:
    """Rebuild the adapted generator of an ``adapt`` run folder (checks the prior's hash).

    Class captions are stored as embeddings, so the text encoder is only needed for new
    free-text prompts (``with_text_encoder=False`` saves loading it).
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise KinemicError(f"{folder}: not an adapted model folder (no {MANIFEST}; did `kinemic adapt` finish?)") from None
    if manifest.get("format") != "kinemic-adapted-1":
        raise KinemicError(f"{folder / MANIFEST}: unknown format {manifest.get('format')!r}")
    device = torch.device(device)
    prior_folder = Path(manifest["prior"]["folder"])
    if not prior_folder.exists():
        raise KinemicError(f"{folder / MANIFEST}: its prior folder {prior_folder} no longer exists")
    prior = load_prior(prior_folder, device, with_text_encoder=with_text_encoder)
    if prior.weights_sha256 != manifest["prior"]["weights_sha256"]:
        raise KinemicError(f"{folder}: the prior in {prior_folder} changed since this model was adapted (hash differs)")
    state, _ = load_state(folder / WEIGHTS, map_location=str(device))
    lora_cfg = manifest["lora"]
    student = _student_for(prior.model, manifest["method"], len(manifest["class_names"]), rank=lora_cfg["rank"],
                           alpha=lora_cfg["alpha"], dropout=lora_cfg["dropout"],
                           action_frames=bool(manifest.get("action_every_frame", False)))
    student.load_weights_state(state["weights"])
    prior.model.eval()
    freeze(prior.model)
    if student.lora is not None:
        student.lora.eval()
        freeze(student.lora)
    target = manifest["target"]
    return AdaptedModel(prior.model, student.lora, prior, manifest["method"], manifest["class_names"],
                        manifest["class_captions"], [np.asarray(t) for t in state["class_text"]],
                        manifest["lengths_per_class"], Skeleton.from_dict(target["skeleton"]), float(target["fps"]),
                        target["collection"], list(target["labels"]), manifest)
