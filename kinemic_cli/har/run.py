"""``train-har``: train ST-GCN recognisers for one setting over several seeds and report.

A run folder holds::

    config.json          resolved options + provenance
    data.json            dataset indices of the shots / validation carve / test clips (audit trail)
    seed<k>/last.*       final weights (safetensors + JSON), seed<k>/selected.* (best validation epoch)
    seed<k>/result.json  accuracies, per-class accuracy, confusion matrices, history
    seed<k>/metrics.csv  per-epoch loss and accuracies
    results.json         per seed + mean +- std (sample std over seeds) for "last" and "selected"

The headline is the **last epoch**: it uses no labelled clips beyond the training set (the
validation carve adds ``val_per_class`` labelled clips per class, which a true k-shot user
would not have).  The validation-selected number is reported beside it.  ``--resume``
reuses seeds whose ``result.json`` is already written.

Under ``torchrun`` every seed trains on all processes (a distributed split of each global
batch, see :mod:`kinemic_cli.har.train`); every process computes the same results and
only rank 0 writes the run folder.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import KinemicError
from ..runtime.atomic import atomic_write_text
from ..runtime.config_files import save_resolved_config
from ..runtime.distributed import DistContext, local_batch_size, process_group
from ..runtime.provenance import collect_provenance
from ..store import MotionStore
from .augment import AugmentConfig
from .metrics import mean_std
from .sets import HarSets, build_har_sets
from .train import TrainConfig, save_recogniser, score, train_recogniser

__all__ = ["HarRunConfig", "run_train_har", "HEADLINE"]

HEADLINE = "last"


@dataclass
class HarRunConfig:
    collection: str
    train: str = "real"
    out: str = "runs/har"
    protocol: str | None = None
    shots: int = 10
    fewshot_seed: int = 42
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    classes: str | None = None
    synthetic: str | None = None
    synthetic_per_class: int | None = None
    val_per_class: int = 5
    augment_copies: int = 5
    augment_shots: bool = False
    augment_synthetic: bool = False
    threads: int | None = None
    training: TrainConfig = field(default_factory=TrainConfig)

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "training"}
        return {**d, "training": self.training.as_dict(), "augment": AugmentConfig().as_dict(), "headline": HEADLINE}


def _write_metrics_csv(path: Path, history: list[dict]) -> None:
    keys = sorted({k for row in history for k in row}, key=lambda k: (k != "epoch", k))
    lines = [",".join(keys)] + [",".join(str(row.get(k, "")) for k in keys) for row in history]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _run_seed(sets: HarSets, cfg: HarRunConfig, seed: int, folder: Path, ctx: DistContext) -> dict:
    t0 = time.perf_counter()
    k = len(sets.class_names)
    last, selected, history = train_recogniser(sets.train, sets.val, skeleton=sets.skeleton, num_classes=k,
                                               cfg=cfg.training, seed=seed, description=f"train-har {cfg.train} seed {seed}",
                                               ctx=ctx)
    result = {
        "seed": seed,
        "last": score(last, sets.test, cfg.training, sets.skeleton, k, ctx),
        "selected": {**score(selected, sets.test, cfg.training, sets.skeleton, k, ctx),
                     "epoch": history["selected_epoch"], "val_accuracy": history["selected_val_accuracy"]},
        "steps": history["steps"],
        "epoch_clips": history["epoch_clips"],
        "seconds": time.perf_counter() - t0,
        "history": history["epochs"],
    }
    if not ctx.is_main:
        return result
    extra = {"setting": cfg.train, "seed": seed, "skeleton": sets.skeleton.name,
             "fewshot": sets.fewshot.to_dict() if sets.fewshot else None}
    save_recogniser(folder / "last", last, cfg=cfg.training, class_names=sets.class_names, extra=extra)
    save_recogniser(folder / "selected", selected, cfg=cfg.training, class_names=sets.class_names,
                    extra={**extra, "epoch": history["selected_epoch"]})
    _write_metrics_csv(folder / "metrics.csv", history["epochs"])
    atomic_write_text(folder / "result.json", json.dumps(result))
    return result


def summarise(per_seed: list[dict], class_names: list[str]) -> dict:
    out = {}
    for which in ("last", "selected"):
        per_class = [[r[which]["per_class"][c] for r in per_seed] for c in range(len(class_names))]
        out[which] = {
            "accuracy": mean_std(r[which]["accuracy"] for r in per_seed),
            "per_class": {name: mean_std(v for v in values if v is not None) for name, values in zip(class_names, per_class)},
        }
    return out


def run_train_har(cfg: HarRunConfig, store: MotionStore, *, resume: bool = False) -> dict:
    """Train ``len(cfg.seeds)`` recognisers for one setting; returns (and writes) results.json."""
    out = Path(cfg.out)
    if (out / "results.json").exists() and not resume:
        raise KinemicError(f"--out {out}: already holds results.json (use --resume or another folder)")
    if not cfg.seeds:
        raise KinemicError("--seeds: give at least one training seed")
    if cfg.training.synthetic_weight < 0:
        raise KinemicError(f"--synthetic-weight must not be negative, got {cfg.training.synthetic_weight}")
    if cfg.training.epochs < 1:
        raise KinemicError(f"--epochs must be >= 1, got {cfg.training.epochs}")
    if cfg.training.batch_size < 2:
        raise KinemicError(f"--batch-size must be >= 2 (BatchNorm), got {cfg.training.batch_size}")
    if cfg.training.clip_len < 4:
        raise KinemicError(f"--clip-len must be >= 4 frames, got {cfg.training.clip_len}")
    previous_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    try:
        with process_group(cfg.training.device) as ctx:
            local_batch_size(cfg.training.batch_size, ctx)
            return _run_all_seeds(cfg, store, resume=resume, ctx=ctx)
    finally:
        torch.set_num_threads(previous_threads)


def _run_all_seeds(cfg: HarRunConfig, store: MotionStore, *, resume: bool, ctx: DistContext) -> dict:
    out = Path(cfg.out)
    sets = build_har_sets(store, cfg.collection, train=cfg.train, protocol=cfg.protocol, shots=cfg.shots,
                          fewshot_seed=cfg.fewshot_seed, classes=cfg.classes, synthetic=cfg.synthetic,
                          synthetic_per_class=cfg.synthetic_per_class, val_per_class=cfg.val_per_class,
                          augment_copies=cfg.augment_copies, augment_shots=cfg.augment_shots,
                          augment_synthetic=cfg.augment_synthetic,
                          record_split=ctx.is_main)
    provenance = collect_provenance("train-har", cfg.as_dict(), inputs=[str(store.path)], seed=cfg.seeds[0],
                                    world_size=ctx.world_size)
    if ctx.is_main:
        save_resolved_config(out / "config.json", {**cfg.as_dict(), "provenance": provenance})
        atomic_write_text(out / "data.json", json.dumps({"test_split": sets.test_split, "class_ids": sets.class_ids,
                                                         "class_names": sets.class_names, **sets.indices}))
    per_seed = []
    for seed in cfg.seeds:
        folder = out / f"seed{seed}"
        if resume and (folder / "result.json").exists():
            per_seed.append(json.loads((folder / "result.json").read_text()))
            continue
        per_seed.append(_run_seed(sets, cfg, seed, folder, ctx))
    results = {
        "setting": cfg.train,
        "collection": cfg.collection,
        "synthetic": cfg.synthetic,
        "test_split": sets.test_split,
        "shots": cfg.shots,
        "fewshot_seed": cfg.fewshot_seed,
        "fewshot_split": sets.fewshot.split if sets.fewshot else None,
        "seeds": list(cfg.seeds),
        "classes": sets.class_names,
        "headline": HEADLINE,
        "clips": sets.counts(),
        "summary": summarise(per_seed, sets.class_names),
        "per_seed": [{k: v for k, v in r.items() if k != "history"} for r in per_seed],
        "out": str(out),
    }
    if ctx.is_main:
        atomic_write_text(out / "results.json", json.dumps(results, indent=1))
    return results
