"""Few-shot splits: drawn from the training side only, reproducibly from (seed, shots, class).

Each class gets its own random stream seeded by ``(seed, shots, label)``, so the shots of
one class do not change when other classes are added or removed, and the same call always
returns the same clips.  The split is stored in the store as
``fewshot/k{shots}-s{seed}/train`` beside the collection and later read by ``adapt``,
``generate`` and ``train-har`` through :func:`fewshot_split_name`.
"""

from __future__ import annotations

import numpy as np

from ..errors import KinemicError
from .collection import Collection
from .index import MotionStore

__all__ = ["fewshot_split_name", "training_split_name", "draw_fewshot", "make_fewshot_split"]


def fewshot_split_name(shots: int, seed: int) -> str:
    return f"fewshot/k{shots}-s{seed}/train"


def training_split_name(collection: Collection, protocol: str | None = None) -> str:
    """The training side of a protocol (``xsub/train``); the collection's first protocol by default."""
    names = collection.split_names()
    if protocol is not None:
        name = f"{protocol}/train"
        if name not in names:
            raise KinemicError(f"collection {collection.name!r} has no split {name!r}; splits: {', '.join(names)}")
        return name
    for proto in collection.attrs.get("protocols", []):
        if f"{proto}/train" in names:
            return f"{proto}/train"
    for candidate in ("xsub/train", "train"):
        if candidate in names:
            return candidate
    raise KinemicError(
        f"collection {collection.name!r} has no training split to draw shots from; splits: {', '.join(names) or 'none'}"
    )


def draw_fewshot(labels: np.ndarray, candidates: np.ndarray, *, shots: int, seed: int,
                 classes: list[int] | None = None) -> np.ndarray:
    """Indices of ``shots`` clips per class among ``candidates`` (sorted ascending)."""
    if shots < 1:
        raise KinemicError(f"--shots must be at least 1, got {shots}")
    labels = np.asarray(labels)
    candidates = np.sort(np.asarray(candidates, dtype=np.int64))
    wanted = sorted(set(int(c) for c in (classes if classes is not None else labels[candidates])))
    picked = []
    for label in wanted:
        pool = candidates[labels[candidates] == label]
        if pool.size == 0:
            raise KinemicError(f"class {label} has no clip in the training split")
        rng = np.random.default_rng([int(seed), int(shots), int(label)])
        k = min(shots, pool.size)
        picked.append(np.sort(rng.choice(pool, size=k, replace=False)))
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)


def make_fewshot_split(store: MotionStore, collection: str, *, shots: int, seed: int,
                       protocol: str | None = None, classes: list[int] | None = None,
                       record: bool = True) -> tuple[str, np.ndarray]:
    """Draw and store the few-shot split; returns ``(split_name, indices)``.

    Asking again with the same arguments is a no-op; a different draw under the same
    name (e.g. other ``classes``) is refused rather than silently replacing it.
    ``record=False`` only draws (the draw is deterministic): torchrun's processes other
    than rank 0 use it, because rank 0 alone writes the store.
    """
    coll = store.collection(collection)
    train = coll.split(training_split_name(coll, protocol))
    indices = draw_fewshot(coll.labels, train, shots=shots, seed=seed, classes=classes)
    name = fewshot_split_name(shots, seed)
    coll.close()
    if record:
        store.add_split(collection, name, indices)
    return name, indices
