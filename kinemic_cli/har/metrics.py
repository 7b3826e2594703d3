"""Numbers about recognisers (accuracy, per-class recall, confusion, mean ± std over seeds), plain numpy."""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "per_class_accuracy", "confusion_matrix", "mean_std"]


def accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    pred, target = np.asarray(pred), np.asarray(target)
    return float((pred == target).mean()) if target.size else float("nan")


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """``(K, K)`` counts: rows = true class, columns = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(target, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return cm


def per_class_accuracy(pred: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """``(K,)`` recall of each class (NaN for a class absent from ``target``)."""
    cm = confusion_matrix(pred, target, num_classes)
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


def mean_std(values) -> dict:
    """``{"mean", "std", "n", "values"}``; std is the sample std (ddof=1), 0 for one value."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "n": 0, "values": []}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size),
            "values": [float(x) for x in v]}
