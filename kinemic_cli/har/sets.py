"""Which clips a recogniser trains, selects and is tested on — honest by construction.

For a dataset collection and a protocol (``xsub``):

- test: ``<protocol>/test`` if the collection has it, else ``<protocol>/val`` (NTU naming);
  never read before training ends, never used for selection.
- shots (``real``): :func:`kinemic_cli.store.splits.make_fewshot_split` with ``--fewshot-seed``
  (the same draw ``prepare --shots`` and ``adapt`` use), restricted to the chosen classes.
- validation (for model selection): ``val_per_class`` clips per class carved from the
  *training* side, excluding the shots, drawn reproducibly from (fewshot seed, shots,
  class).  The same clips for every setting of one (shots, fewshot seed), so settings are
  compared on equal terms; they are also removed from ``gt`` training.  Note these are
  extra labelled clips beyond the k shots: results report the last epoch too, and the
  last epoch is the headline.
- ``gt``: every training-side clip of the chosen classes except the validation carve.
- ``synth``: a synthetic collection's clips, labels matched to the dataset's class names by
  name; ``mixed`` = shots + synth; ``augment`` = shots + geometric copies of them.
  ``augment_shots`` adds those copies in ``real`` and ``mixed`` too (``mixed`` + copies is
  the generator *on top of* classic augmentation, the recipe a user would actually run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import KinemicError
from ..skeletons import Skeleton
from ..store import MotionStore
from ..store.splits import FewShotSplit, fewshot_identity, make_fewshot_split, training_split_name
from .augment import AugmentConfig, augment_bank, augment_each
from .data import ClipBank, load_clip_bank
from .modes import FEWSHOT_MODES, TRAIN_MODES

__all__ = ["TRAIN_MODES", "HarSets", "build_har_sets", "resolve_classes", "test_split_name", "carve_validation"]



@dataclass
class HarSets:
    class_names: list[str]
    class_ids: list[int]  # dataset label ids, in recogniser order
    skeleton: Skeleton
    persons: int
    train: ClipBank
    val: ClipBank | None
    test: ClipBank
    test_split: str
    indices: dict[str, list[int]] = field(default_factory=dict)  # shots / val / test / gt (dataset indices)
    fewshot: FewShotSplit | None = None  # the shots these sets contain (None for gt)

    def counts(self) -> dict:
        origins, n = np.unique(self.train.origin.astype(str), return_counts=True)
        return {"train": {str(o): int(k) for o, k in zip(origins, n)}, "val": len(self.val) if self.val else 0,
                "test": len(self.test)}


def test_split_name(split_names: list[str], protocol: str) -> str:
    """``<protocol>/test`` if present else ``<protocol>/val``; a bare ``test``/``val`` without protocol."""
    prefix = f"{protocol}/" if protocol else ""
    for name in (f"{prefix}test", f"{prefix}val"):
        if name in split_names:
            return name
    raise KinemicError(f"protocol {protocol!r} has no test split ({protocol}/test or {protocol}/val); "
                       f"splits: {', '.join(split_names)}")


def resolve_classes(class_names: list[str], spec: str | list[str] | None) -> list[int]:
    """``--classes`` (names or ids, comma-separated) -> sorted dataset label ids; all if unset."""
    if spec is None or spec == "" or spec == []:
        return list(range(len(class_names)))
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if str(s).strip()]
    ids = []
    for item in items:
        if item in class_names:
            ids.append(class_names.index(item))
        elif item.isdigit() and int(item) < len(class_names):
            ids.append(int(item))
        else:
            raise KinemicError(f"--classes: {item!r} is neither a class name nor an id < {len(class_names)}")
    return sorted(set(ids))


def carve_validation(labels: np.ndarray, train_side: np.ndarray, exclude: np.ndarray, class_ids: list[int], *,
                     per_class: int, seed: int, shots: int) -> np.ndarray:
    """``per_class`` training-side clips per class, not in ``exclude`` (sorted dataset indices)."""
    pool_all = np.setdiff1d(train_side, exclude)
    picked = []
    for label in class_ids:
        pool = pool_all[labels[pool_all] == label]
        rng = np.random.default_rng([int(seed), int(shots), int(label), 7])  # 7: the validation stream
        k = min(per_class, pool.size)
        if k:
            picked.append(np.sort(rng.choice(pool, size=k, replace=False)))
    return np.sort(np.concatenate(picked)).astype(np.int64) if picked else np.zeros(0, np.int64)


def synthetic_bank(store: MotionStore, name: str, *, class_names: list[str], class_ids: list[int],
                   skeleton: Skeleton, persons: int, per_class: int | None, seed: int,
                   allow_missing: bool = False, fewshot: FewShotSplit | None = None) -> ClipBank:
    """The synthetic clips of the chosen classes, labels matched by name.

    ``fewshot``: the shots of the run; a collection generated from other shots is refused.

    ``allow_missing`` (``mixed``): classes the collection has no clips of train on their real
    shots alone, so a user may generate for some classes only; ``synth`` cannot, because a class
    with no training clip at all cannot be learnt.
    """
    if not store.has(name):
        raise KinemicError(f"--synthetic {name!r}: no such collection in {store.path}")
    with store.collection(name) as coll:
        if fewshot is not None:
            fewshot.require_same(coll.attrs.get("fewshot"), what=f"--synthetic {name!r}")
        wanted = {class_names[c]: k for k, c in enumerate(class_ids)}
        unknown = sorted(set(coll.class_names) - set(class_names))
        if unknown:
            raise KinemicError(f"--synthetic {name!r}: classes {unknown} are not classes of the dataset "
                               f"({', '.join(class_names)}); labels are matched by name")
        label_map = {i: wanted[n] for i, n in enumerate(coll.class_names) if n in wanted}
        keep = np.flatnonzero(np.isin(coll.labels, list(label_map)))
        if per_class is not None:
            rng = np.random.default_rng([int(seed), 11])
            keep = np.sort(np.concatenate([rng.permutation(keep[coll.labels[keep] == lab])[:per_class] for lab in label_map]))
        present = {label_map[int(lab)] for lab in np.unique(coll.labels[keep])}
        missing = [class_names[class_ids[k]] for k in range(len(class_ids)) if k not in present]
        if missing and (not allow_missing or not keep.size):
            raise KinemicError(f"--synthetic {name!r} has no clips of classes {missing} (--train mixed allows that: "
                               "those classes then train on their real shots only)")
        return load_clip_bank(coll, keep, label_map=label_map, skeleton=skeleton, persons=persons, origin="synth")


def build_har_sets(store: MotionStore, collection: str, *, train: str, protocol: str | None = None, shots: int = 10,
                   fewshot_seed: int = 42, classes=None, synthetic: str | None = None,
                   synthetic_per_class: int | None = None, val_per_class: int = 5, augment_copies: int = 5,
                   augment_config: AugmentConfig = AugmentConfig(), augment_shots: bool = False,
                   augment_synthetic: bool = False,
                   persons: int | None = None, record_split: bool = True) -> HarSets:
    """Load the train / validation / test clips of one setting (see the module docstring).

    ``record_split=False`` draws the few-shot split without storing it (torchrun's
    processes other than rank 0, which alone writes the store).
    """
    if train not in TRAIN_MODES:
        raise KinemicError(f"--train {train!r}: expected one of {', '.join(TRAIN_MODES)}")
    if augment_shots and train not in ("real", "mixed", "augment"):
        raise KinemicError(f"--augment-shots: --train {train} has no few-shot clips to augment (real, mixed, augment)")
    if train in ("synth", "mixed") and not synthetic:
        raise KinemicError(f"--train {train} needs --synthetic COLLECTION (generated clips in the store)")
    if not store.has(collection):
        raise KinemicError(f"--collection {collection!r}: not in {store.path} (run `kinemic prepare` first)")
    with store.collection(collection) as coll:
        train_name = training_split_name(coll, protocol)
        proto = train_name.rsplit("/", 1)[0] if "/" in train_name else ""
        test_name = test_split_name(coll.split_names(), proto)
        class_names, labels = list(coll.class_names), np.asarray(coll.labels)
        class_ids = resolve_classes(class_names, classes)
        skeleton, n_persons = coll.skeleton, int(persons or coll.persons)
        train_side = np.asarray(coll.split(train_name))
        test_idx = np.asarray(coll.split(test_name))
    overlap = np.intersect1d(train_side, test_idx)
    if overlap.size:
        raise KinemicError(f"collection {collection!r}: {overlap.size} clips are in both {train_name} and {test_name}")
    split_name, all_shots = make_fewshot_split(store, collection, shots=shots, seed=fewshot_seed,
                                               protocol=proto or None, record=record_split)
    fewshot = (fewshot_identity(store, collection, split_name, all_shots, shots=shots, seed=fewshot_seed)
               if train in FEWSHOT_MODES else None)
    shot_idx = all_shots[np.isin(labels[all_shots], class_ids)]
    val_idx = carve_validation(labels, train_side, shot_idx, class_ids, per_class=val_per_class, seed=fewshot_seed,
                               shots=shots)
    test_idx = test_idx[np.isin(labels[test_idx], class_ids)]
    label_map = {c: k for k, c in enumerate(class_ids)}
    names = [class_names[c] for c in class_ids]
    load = dict(label_map=label_map, skeleton=skeleton, persons=n_persons)
    indices = {"shots": shot_idx.tolist(), "val": val_idx.tolist(), "test": test_idx.tolist()}
    with store.collection(collection) as coll:
        banks = []
        if train == "gt":
            gt_idx = np.setdiff1d(train_side[np.isin(labels[train_side], class_ids)], val_idx)
            indices["gt"] = gt_idx.tolist()
            banks.append(load_clip_bank(coll, gt_idx, origin="real", **load))
        elif train in ("real", "mixed", "augment"):
            shots_bank = load_clip_bank(coll, shot_idx, origin="real", **load)
            if train == "augment" or augment_shots:
                shots_bank = augment_bank(shots_bank, augment_copies, np.random.default_rng([fewshot_seed, shots, 5]),
                                          augment_config, is_2d=skeleton.is_2d)
            banks.append(shots_bank)
        if train in ("synth", "mixed"):
            synth = synthetic_bank(store, synthetic, class_names=class_names, class_ids=class_ids,
                                   skeleton=skeleton, persons=n_persons, per_class=synthetic_per_class,
                                   seed=fewshot_seed, allow_missing=train == "mixed", fewshot=fewshot)
            if augment_synthetic:
                synth = augment_each(synth, np.random.default_rng([fewshot_seed, shots, 7]), augment_config,
                                     is_2d=skeleton.is_2d)
            banks.append(synth)
        val = load_clip_bank(coll, val_idx, origin="real", **load) if val_idx.size else None
        test = load_clip_bank(coll, test_idx, origin="real", **load)
    return HarSets(class_names=names, class_ids=class_ids, skeleton=skeleton, persons=n_persons,
                   train=ClipBank.concat(banks), val=val, test=test, test_split=test_name, indices=indices,
                   fewshot=fewshot)
