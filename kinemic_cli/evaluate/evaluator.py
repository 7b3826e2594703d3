"""Generative metrics of a synthetic collection, in the feature space of an evaluator ST-GCN.

The evaluator is an ST-GCN trained once on **all** real training clips of the dataset
(every class; no validation carve, last epoch) and cached in a run folder
(``evaluator.safetensors/.json`` + ``config.json``).  ``ensure_evaluator`` trains it when the
folder has none, and refuses a cached one trained on another collection or class list.

Metrics of a synthetic collection (features = ``forward_features``, pooled ``(N, D)``):

- ``fid``: FID(synthetic, real test); reference: FID(real train, real test);
- ``diversity`` / ``multimodality`` (per-class diversity) of the synthetic set; references:
  the same on the real test clips;
- ``accuracy``: the evaluator's recognition accuracy on the synthetic clips (does a
  generated "kick" look like a kick?); reference: its accuracy on the real test clips.

All pairings use a fixed seed, so the same inputs give the same numbers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import KinemicError
from ..har.data import ClipBank
from ..har.metrics import accuracy, per_class_accuracy
from ..har.sets import build_har_sets, synthetic_bank
from ..har.train import TrainConfig, extract_features, load_recogniser, predict, save_recogniser, train_recogniser
from ..models.stgcn import STGCN
from ..runtime.atomic import atomic_write_text
from ..runtime.checkpoints import state_exists
from ..runtime.config_files import save_resolved_config
from ..runtime.provenance import collect_provenance
from ..store import MotionStore
from .metrics import diversity, fid, multimodality

__all__ = ["Evaluator", "ensure_evaluator", "generative_metrics"]


class Evaluator:
    """A trained evaluator ST-GCN with the facts needed to use it honestly."""

    def __init__(self, folder: Path, model: STGCN, cfg: TrainConfig, meta: dict):
        self.folder, self.model, self.cfg, self.meta = folder, model, cfg, meta
        self.class_names: list[str] = meta["class_names"]
        self.collection: str = meta["collection"]
        self.protocol: str | None = meta.get("protocol")

    def features(self, bank: ClipBank) -> np.ndarray:
        return extract_features(self.model, bank, self.cfg, self.model.skeleton)

    def predict(self, bank: ClipBank) -> np.ndarray:
        return predict(self.model, bank, self.cfg, self.model.skeleton).argmax(axis=1)


def ensure_evaluator(folder: Path, store: MotionStore, collection: str, *, protocol: str | None = None,
                     cfg: TrainConfig = TrainConfig(), seed: int = 0) -> Evaluator:
    """Load the evaluator cached in ``folder`` or train it on all real training clips first."""
    folder = Path(folder)
    base = folder / "evaluator"
    if not state_exists(base):
        sets = build_har_sets(store, collection, train="gt", protocol=protocol, val_per_class=0)
        _, model, history = train_recogniser(sets.train, None, skeleton=sets.skeleton, num_classes=len(sets.class_names),
                                             cfg=cfg, seed=seed, description="train evaluator")
        test_acc = accuracy(predict(model, sets.test, cfg, sets.skeleton).argmax(1), sets.test.labels)
        meta = {"collection": collection, "protocol": protocol, "train_clips": len(sets.train),
                "test_split": sets.test_split, "test_accuracy": test_acc, "seed": seed}
        save_recogniser(base, model, cfg=cfg, class_names=sets.class_names, extra=meta)
        config = {"collection": collection, "protocol": protocol, "seed": seed, "training": cfg.as_dict()}
        save_resolved_config(folder / "config.json", {**config, "provenance": collect_provenance(
            "evaluate (evaluator)", config, inputs=[str(store.path)], seed=seed), "history": history["epochs"]})
    model, train_cfg, meta = load_recogniser(base, device=cfg.device)
    if meta.get("collection") != collection:
        raise KinemicError(f"--evaluator {folder}: trained on collection {meta.get('collection')!r}, not {collection!r}")
    with store.collection(collection) as coll:
        if list(coll.class_names) != list(meta["class_names"]):
            raise KinemicError(f"--evaluator {folder}: its classes differ from collection {collection!r}'s; use a new folder")
    return Evaluator(folder, model, train_cfg, meta)


def _real_banks(evaluator: Evaluator, store: MotionStore) -> tuple[ClipBank, ClipBank]:
    sets = build_har_sets(store, evaluator.collection, train="gt", protocol=evaluator.protocol, val_per_class=0)
    return sets.train, sets.test


def real_reference(evaluator: Evaluator, store: MotionStore, *, seed: int = 0) -> dict:
    """Real-vs-real reference values (cached in the evaluator folder)."""
    cache = evaluator.folder / "reference.json"
    if cache.exists():
        return json.loads(cache.read_text())
    train, test = _real_banks(evaluator, store)
    f_train, f_test = evaluator.features(train), evaluator.features(test)
    ref = {
        "fid_train_vs_test": fid(f_train, f_test),
        "diversity_test": diversity(f_test, seed=seed),
        "multimodality_test": multimodality(f_test, test.labels, seed=seed),
        "accuracy_test": accuracy(evaluator.predict(test), test.labels),
        "test_clips": len(test),
        "train_clips": len(train),
    }
    atomic_write_text(cache, json.dumps(ref, indent=1))
    return ref


def generative_metrics(evaluator: Evaluator, store: MotionStore, synthetic: str, *, seed: int = 0,
                       per_class: int | None = None, features: dict | None = None) -> dict:
    """FID / diversity / multimodality / accuracy of ``synthetic`` beside the real references.

    Pass a dict as ``features`` to receive the feature arrays (``synth``, ``synth_labels``,
    ``test``, ``test_labels``) for plots.
    """
    t0 = time.perf_counter()
    names = evaluator.class_names
    if not store.has(synthetic):
        raise KinemicError(f"--synthetic {synthetic!r}: no such collection in {store.path}")
    with store.collection(synthetic) as coll:  # classes with clips (a filtered set may lack some)
        present = [names.index(coll.class_names[k]) for k in np.unique(coll.labels) if coll.class_names[k] in names]
    synth = synthetic_bank(store, synthetic, class_names=names, class_ids=sorted(set(present)),
                            skeleton=evaluator.model.skeleton, persons=evaluator.model.config["persons"],
                            per_class=per_class, seed=seed)
    # synthetic_bank numbers classes 0..k-1 over the present ones; map back to evaluator ids
    ids = np.array(sorted(set(present)))
    synth_labels = ids[synth.labels]
    _, test = _real_banks(evaluator, store)
    f_synth, f_test = evaluator.features(synth), evaluator.features(test)
    pred = evaluator.predict(synth)
    per_cls = per_class_accuracy(pred, synth_labels, len(names))
    result = {
        "synthetic": synthetic,
        "clips": len(synth),
        "classes": [names[i] for i in ids],
        "fid": fid(f_synth, f_test),
        "diversity": diversity(f_synth, seed=seed),
        "multimodality": multimodality(f_synth, synth_labels, seed=seed),
        "accuracy": accuracy(pred, synth_labels),
        "per_class_accuracy": {names[i]: float(per_cls[i]) for i in ids},
        "reference": real_reference(evaluator, store, seed=seed),
        "evaluator": str(evaluator.folder),
        "seconds": time.perf_counter() - t0,
    }
    if features is not None:
        features.update(synth=f_synth, synth_labels=synth_labels, test=f_test, test_labels=test.labels)
    return result
