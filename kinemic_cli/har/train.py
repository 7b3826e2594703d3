"""One ST-GCN training run (one seed): SGD recipe, validation-based selection, test at the end.

Recipe (pyskl's ST-GCN defaults, scaled): SGD, momentum 0.9, Nesterov, weight decay 5e-4,
cosine decay to 0 over all steps, ``lr = base_lr * batch_size / 128`` (pyskl: 0.1 for 8 GPUs
x 16 clips).  Few-shot sets are tiny, so an "epoch" is ``max(len(train), min_epoch_clips)``
clips drawn as consecutive shuffles of the training set (like pyskl's RepeatDataset): every
setting gets a comparable number of optimisation steps.

Selection: after each epoch the model is scored on the validation carve (training side,
never the test split); the best epoch's weights are kept (ties: the later epoch).  The test
split is read once, at the end, for both the last and the selected weights.

Under torchrun (``ctx``) every process draws the same global batch (the epoch order and the
frame sampling come from one Generator seeded by the seed) and trains on its rows
``rank::world_size``; a final partial batch is cut to a multiple of the process count.
BatchNorm: with ``sync_bn`` (the default) its training statistics are the global batch's
(:class:`~kinemic_cli.models.global_batchnorm.GlobalBatchNorm`), so the numbers do not
depend on the process count; without it each process normalises its own rows (cheaper,
what plain DDP does) and rank 0's running statistics are copied to the others before
scoring.  Scoring is sharded over processes and gathered, so every process ends with the
same results.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..models.global_batchnorm import convert_to_global_batchnorm
from ..models.stgcn import STGCN, create_stgcn, stgcn_from_config
from ..models.streams import make_stream
from ..runtime.checkpoints import load_state, save_state
from ..runtime.distributed import (
    DistContext,
    all_reduce_mean,
    broadcast_buffers,
    gather_ragged_rows,
    resolve_device,
    wrap_ddp,
)
from ..runtime.precision import autocast
from ..runtime.progress import progress_task
from ..runtime.training_rng import TrainingRandomness
from ..skeletons import Skeleton
from .data import ClipBank
from .metrics import accuracy, confusion_matrix, per_class_accuracy

__all__ = ["TrainConfig", "train_recogniser", "predict", "extract_features", "save_recogniser", "load_recogniser"]


@dataclass(frozen=True)
class TrainConfig:
    model: str = "stgcn-small"
    width: float | None = None
    stream: str = "joint"
    clip_len: int = 48
    epochs: int = 30
    batch_size: int = 32
    base_lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    min_epoch_clips: int = 1024
    dropout: float = 0.0
    sync_bn: bool = True
    device: str = "cpu"
    precision: str = "fp32"
    synthetic_weight: float = 1.0  # loss weight of a generated clip relative to a real one (see weighted_loss)

    @property
    def lr(self) -> float:
        return self.base_lr * self.batch_size / 128

    def as_dict(self) -> dict:
        return {**asdict(self), "lr": self.lr}


def _to_input(batch: np.ndarray, skeleton: Skeleton, stream: str, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(make_stream(batch, skeleton, stream)).to(device)


def _single(device: torch.device) -> DistContext:
    return DistContext(0, 1, 0, device)


@torch.no_grad()
def _run(model: STGCN, bank: ClipBank, cfg: TrainConfig, skeleton: Skeleton, features: bool,
         ctx: DistContext | None = None) -> np.ndarray:
    """Outputs for every clip of ``bank``; under torchrun each process runs rows ``rank::world_size``."""
    model.eval()
    device = next(model.parameters()).device
    ctx = ctx or _single(device)
    mine = np.arange(ctx.rank, len(bank), ctx.world_size)
    out = []
    for start in range(0, len(mine), 128):
        rows = mine[start:start + 128]
        x = _to_input(bank.batch(rows, cfg.clip_len, None), skeleton, cfg.stream, device)
        with autocast(device, cfg.precision):
            feats = model.forward_features(x)
            out.append((feats if features else model.forward_head(feats)).float().cpu().numpy())
    width = model.num_features if features else model.fc.out_features
    local = np.concatenate(out) if out else np.zeros((0, width), np.float32)
    return gather_ragged_rows(local, len(bank), ctx)


def predict(model: STGCN, bank: ClipBank, cfg: TrainConfig, skeleton: Skeleton,
            ctx: DistContext | None = None) -> np.ndarray:
    """Logits ``(N, classes)`` with test-time (segment-centre) sampling."""
    return _run(model, bank, cfg, skeleton, features=False, ctx=ctx)


def extract_features(model: STGCN, bank: ClipBank, cfg: TrainConfig, skeleton: Skeleton) -> np.ndarray:
    """Pooled features ``(N, D)`` (the FID space)."""
    return _run(model, bank, cfg, skeleton, features=True)


def score(model: STGCN, bank: ClipBank, cfg: TrainConfig, skeleton: Skeleton, num_classes: int,
          ctx: DistContext | None = None) -> dict:
    pred = predict(model, bank, cfg, skeleton, ctx).argmax(axis=1)
    return {
        "accuracy": accuracy(pred, bank.labels),
        "per_class": [None if math.isnan(a) else float(a) for a in per_class_accuracy(pred, bank.labels, num_classes)],
        "confusion": confusion_matrix(pred, bank.labels, num_classes).tolist(),
    }


def weighted_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor,
                  ctx: DistContext | None = None) -> torch.Tensor:
    """``sum_i w_i CE_i / sum_i w_i`` over the GLOBAL batch (each process returns its share).

    ``w_i`` is ``--synthetic-weight`` for a generated clip and 1 for a real one (or a copy
    of one), so a weight below 1 lets synthetic clips teach less than the shots without
    changing the size of a step.  Under torchrun the denominator is summed over processes
    and each process's numerator divided by it times the world size, so DDP's gradient
    average is the gradient of the global weighted mean.  All weights 1 is plain cross entropy.
    """
    per_sample = F.cross_entropy(logits, labels, reduction="none")
    total = weights.sum().detach()
    world = 1
    if ctx is not None and ctx.world_size > 1:
        total = all_reduce_mean(total, ctx) * ctx.world_size
        world = ctx.world_size
    return (weights * per_sample).sum() * world / total.clamp(min=1e-12)


def _epoch_order(n: int, epoch_clips: int, rng: np.random.Generator) -> np.ndarray:
    reps = -(-epoch_clips // n)
    return np.concatenate([rng.permutation(n) for _ in range(reps)])[:epoch_clips]


def train_recogniser(train: ClipBank, val: ClipBank | None, *, skeleton: Skeleton, num_classes: int,
                     cfg: TrainConfig, seed: int, description: str = "train-har",
                     ctx: DistContext | None = None) -> tuple[STGCN, STGCN, dict]:
    """Train one model; returns ``(last_model, selected_model, history)``.

    ``selected_model`` is the epoch with the best validation accuracy (the last model when
    there is no validation set).  ``history`` has per-epoch loss / train / val accuracy.
    ``ctx``: the torchrun process group (``cfg.batch_size`` is the global batch).
    """
    ctx = ctx or _single(resolve_device(cfg.device))
    device = ctx.device
    torch.manual_seed(seed)
    kwargs = {"width": cfg.width} if cfg.width is not None else {}
    model = create_stgcn(cfg.model, skeleton=skeleton, num_classes=num_classes, in_channels=train.data.shape[-1],
                         persons=train.data.shape[2], dropout=cfg.dropout, **kwargs).to(device)
    rng = TrainingRandomness(seed, ctx).numpy  # shared epoch order and frame sampling; own dropout stream
    if ctx.distributed and cfg.sync_bn:
        convert_to_global_batchnorm(model, ctx)
    trained = wrap_ddp(model, ctx)
    local = slice(ctx.rank, None, ctx.world_size)
    optimiser = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
                                weight_decay=cfg.weight_decay)
    epoch_clips = max(len(train), cfg.min_epoch_clips)
    steps_per_epoch = -(-epoch_clips // cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))
    history: list[dict] = []
    best = (-1.0, -1, None)
    with progress_task(description, total_steps) as bar:
        for epoch in range(cfg.epochs):
            model.train()
            t0, losses, correct = time.perf_counter(), [], 0
            order = _epoch_order(len(train), epoch_clips, rng)
            for start in range(0, epoch_clips, cfg.batch_size):
                rows = order[start : start + cfg.batch_size]
                rows = rows[: rows.size - rows.size % ctx.world_size]  # every process gets as many rows
                if rows.size < 2:  # BatchNorm needs two samples
                    continue
                x = _to_input(train.batch(rows, cfg.clip_len, rng, keep=local), skeleton, cfg.stream, device)
                y = torch.from_numpy(train.labels[rows][local]).to(device)
                with autocast(device, cfg.precision):
                    logits = trained(x).float()
                weights = torch.from_numpy(np.where(train.origin[rows][local] == "synth", cfg.synthetic_weight,
                                                    1.0).astype(np.float32)).to(device)
                loss = weighted_loss(logits, y, weights, ctx)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                scheduler.step()
                hits = (logits.argmax(1) == y).sum().to(loss.dtype)
                step_loss, step_hits = all_reduce_mean(torch.stack([loss.detach(), hits]), ctx).tolist()
                losses.append(step_loss)
                correct += int(round(step_hits * ctx.world_size))
                bar.advance(1, info=f"epoch {epoch + 1}/{cfg.epochs} loss {losses[-1]:.3f}")
            record = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "train_accuracy": correct / epoch_clips,
                      "lr": scheduler.get_last_lr()[0], "seconds": time.perf_counter() - t0}
            broadcast_buffers(model, ctx)  # per-process BatchNorm statistics: score rank 0's model everywhere
            if val is not None and len(val):
                record["val_accuracy"] = score(model, val, cfg, skeleton, num_classes, ctx)["accuracy"]
                if record["val_accuracy"] >= best[0]:
                    best = (record["val_accuracy"], epoch + 1, copy.deepcopy(model.state_dict()))
            history.append(record)
    selected = model
    if best[2] is not None:
        selected = copy.deepcopy(model)
        selected.load_state_dict(best[2])
    return model, selected, {"epochs": history, "selected_epoch": best[1] if best[2] is not None else cfg.epochs,
                             "selected_val_accuracy": best[0] if best[2] is not None else None,
                             "steps": total_steps, "epoch_clips": epoch_clips}


def save_recogniser(base: Path, model: STGCN, *, cfg: TrainConfig, class_names: list[str], extra: dict | None = None) -> None:
    """Weights (safetensors) + model config, training config and class names (JSON)."""
    save_state(base, {"model": model.state_dict()},
               meta={"model_config": model.config, "train_config": cfg.as_dict(), "class_names": class_names,
                     **(extra or {})})


def load_recogniser(base: Path, device: str = "cpu") -> tuple[STGCN, TrainConfig, dict]:
    """Rebuild a saved recogniser (no pickle); returns ``(model, train_config, meta)``."""
    state, meta = load_state(base, map_location=device)
    model = stgcn_from_config(meta["model_config"])
    model.load_state_dict(state["model"])
    train_cfg = {k: v for k, v in meta["train_config"].items() if k != "lr"}
    return model.to(device).eval(), TrainConfig(**train_cfg), meta
