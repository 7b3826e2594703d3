"""Why does a synthetic set help or hurt?  Motion speed and class confusions, per collection.

Prints, for each named collection of the store:

- ``speed``: the mean per-joint displacement per second after the recognisers'
  pre-normalisation (root-centred, facing fixed), mean +- std over clips.  Generated sets
  that move much less than the real target clips train a recogniser on near-static poses;
- with ``--evaluator`` (the folder ``kinemic evaluate`` trained and cached): for each class,
  how many of its clips the evaluator recognises, and the classes it mistakes them for
  most.  A class whose clips are all read as another class is a collapsed class.

    python bench/synthetic_diagnostics.py --store runs/uplift/kinemic.h5 demo demo-t2m demo-synth-kinemic \\
        --evaluator runs/uplift/evaluator --dataset demo
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def motion_speed(frames: np.ndarray, skeleton) -> float:
    from kinemic_cli.har.data import prenormalise

    joints = prenormalise(np.asarray(frames, np.float32), skeleton)[:, 0]
    return float(np.abs(np.diff(joints, axis=0)).sum(-1).mean()) if len(joints) > 1 else 0.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("collections", nargs="+")
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--evaluator", type=Path, default=None, help="evaluator folder of `kinemic evaluate`")
    p.add_argument("--dataset", default=None, help="the evaluator's real collection (with --evaluator)")
    p.add_argument("--top", type=int, default=2, help="confused classes shown per class")
    args = p.parse_args()

    from kinemic_cli.store import MotionStore

    store = MotionStore(args.store)
    evaluator = None
    if args.evaluator:
        from kinemic_cli.evaluate.evaluator import ensure_evaluator

        if not args.dataset:
            raise SystemExit("--evaluator needs --dataset (the collection it was trained on)")
        evaluator = ensure_evaluator(args.evaluator, store, args.dataset)
    for name in args.collections:
        with store.collection(name) as coll:
            speeds = [motion_speed(coll.frames(i), coll.skeleton) * coll.fps for i in range(len(coll))]
            print(f"{name}: {len(coll)} clips, speed {np.mean(speeds):.3f} ± {np.std(speeds):.3f}")
            if evaluator is None or coll.kind == "t2m":
                continue
            _confusions(coll, evaluator, args.top)


def _confusions(coll, evaluator, top: int) -> None:
    from kinemic_cli.har.data import load_clip_bank

    names = evaluator.class_names
    known = [k for k, n in enumerate(coll.class_names) if n in names]
    rows = np.flatnonzero(np.isin(coll.labels, known))
    if not rows.size:
        print("  (no clips of the evaluator's classes)")
        return
    bank = load_clip_bank(coll, rows, label_map={k: names.index(coll.class_names[k]) for k in known},
                          skeleton=evaluator.model.skeleton, persons=evaluator.model.config["persons"], origin="synth")
    pred = evaluator.predict(bank)
    print(f"  recognised as their class: {100 * np.mean(pred == bank.labels):.1f} %")
    for label in np.unique(bank.labels):
        mine = pred[bank.labels == label]
        values, counts = np.unique(mine, return_counts=True)
        order = np.argsort(-counts)[:top]
        common = ", ".join(f"{names[values[i]]} {counts[i]}" for i in order)
        print(f"  {names[label]:16s} {int((mine == label).sum()):4d}/{len(mine):<4d} read as: {common}")


if __name__ == "__main__":
    main()
