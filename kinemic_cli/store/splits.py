"""Few-shot splits: drawn from the training side only, reproducibly from (seed, shots, class).

Each class gets its own random stream seeded by ``(seed, shots, label)``, so the shots of
one class do not change when other classes are added or removed, and the same call always
returns the same clips.  The split is stored in the store as
``fewshot/k{shots}-s{seed}/train`` beside the collection and later read by ``adapt``,
``generate`` and ``train-har`` through :func:`fewshot_split_name`.

The split is ONE identity end to end (:class:`FewShotSplit`: the collection and the sample
ids of its members): the adapted model records it, generated collections carry it, a
recogniser records the shots it saw, and ``train-har`` / ``filter`` refuse a synthetic set
made from other shots (:meth:`FewShotSplit.require_same`), because a generator adapted on
clips the recogniser treats as unseen would make every table dishonest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import KinemicError
from .collection import Collection
from .index import MotionStore

__all__ = ["fewshot_split_name", "training_split_name", "draw_fewshot", "make_fewshot_split", "FewShotSplit",
           "fewshot_identity"]


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


@dataclass(frozen=True)
class FewShotSplit:
    """Which real clips were the shots: the collection, the split's name and its members' sample ids."""

    collection: str
    split: str
    shots: int
    seed: int
    sample_ids: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"collection": self.collection, "split": self.split, "shots": self.shots, "seed": self.seed,
                "sample_ids": list(self.sample_ids)}

    @classmethod
    def from_dict(cls, data: dict | None) -> "FewShotSplit | None":
        if not isinstance(data, dict) or "sample_ids" not in data:
            return None
        return cls(str(data["collection"]), str(data["split"]), int(data["shots"]), int(data["seed"]),
                   tuple(sorted(str(s) for s in data["sample_ids"])))

    def indices_in(self, collection: Collection) -> np.ndarray:
        """The clip indices (ascending) of these shots in ``collection``, by sample id."""
        return np.flatnonzero(np.isin(collection.sample_ids.astype(str), list(self.sample_ids)))

    def describe(self) -> str:
        return f"{self.split} of {self.collection!r} (--shots {self.shots} --fewshot-seed {self.seed})"

    def require_same(self, other: "FewShotSplit | dict | None", *, what: str) -> None:
        """Refuse (one line naming both) when ``what`` was made from other shots than these."""
        theirs = other if isinstance(other, FewShotSplit) or other is None else FewShotSplit.from_dict(other)
        if theirs is None:
            raise KinemicError(f"{what} records no few-shot split (made by an older kinemic, or not from an adapted "
                               f"model); it cannot be checked against the shots {self.describe()}")
        if (theirs.collection, theirs.sample_ids) != (self.collection, self.sample_ids):
            raise KinemicError(f"{what} was made from the shots {theirs.describe()}, but this run uses "
                               f"{self.describe()}: use the same --shots and --fewshot-seed in adapt, train-har "
                               "and filter")


def fewshot_identity(store: MotionStore, collection: str, split: str, indices: np.ndarray, *, shots: int,
                     seed: int) -> FewShotSplit:
    """The :class:`FewShotSplit` of a drawn split (its members by sample id)."""
    with store.collection(collection) as coll:
        ids = tuple(sorted(str(coll.sample_ids[int(i)]) for i in indices))
    return FewShotSplit(collection, split, int(shots), int(seed), ids)
