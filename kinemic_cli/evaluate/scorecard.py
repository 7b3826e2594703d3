"""The generator scorecard: is a generated collection worth training on?  Per class, in minutes.

A full uplift table costs hours (several recognisers over several seeds); the scorecard
answers the questions behind it in minutes, so that every generator change can be steered
by it first (issue: "a fast scorecard first, full tables second").  For each class of a
generated collection, and overall:

- **speed**: mean joint speed (m/s for metric skeletons) after the recognisers'
  pre-normalisation (root at the origin of the first frame, facing fixed), i.e. the
  clip's own motion without camera placement, measured after a light temporal low-pass
  (Gaussian, sigma 50 ms: 95 % of a 1 Hz movement's speed passes, 82 % at 2 Hz); ``speed_ratio`` = generated / the real training-side clips of
  the class, ``speed_ratio_shots`` = generated / the shots (what a user has).  A generator
  whose clips barely move teaches a recogniser static poses.  The low-pass is there
  because sensor skeletons jitter: on the demo world it takes a third off the raw speed of
  real "wave" clips (0.31 -> 0.21 m/s) and leaves generated clips almost unchanged, so a
  raw ratio partly compares jitter.  The raw figures are reported beside it (``*_raw``);
- **judge accuracy**: how many clips a recogniser of the shots alone (a ``train-har`` run
  of the same shots, e.g. ``--train augment``) recognises as their class;
- **evaluator accuracy**: the same for the evaluator trained on all real training clips
  (the benchmark's view), and the classes its clips are read as (**confusions**: a class
  whose clips are all read as another has collapsed onto it);
- **shot distance**: the median distance of the clips to the nearest shot of their class,
  beside the same figure for the real training-side clips that are not shots
  (``shot_distance_ratio`` = generated / real; :mod:`.shot_distance`): near 0, the generator
  hands the shots back; near 1, its clips are as new as other real performances are;
- overall FID and diversity in the evaluator's feature space (:mod:`.evaluator`).

Nothing here reads a test clip except the evaluator's FID reference (the real test set the
benchmark always compares against); the judge and the shots are the user's own data.
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import KinemicError
from ..har.data import load_clip_bank, prenormalise
from ..motion.features import gaussian_smooth
from ..skeletons import Skeleton
from ..store import Collection, MotionStore
from ..store.splits import FewShotSplit, training_split_name
from .shot_distance import motion_signature, nearest_shot_distances

__all__ = ["mean_joint_speed", "class_speeds", "scorecard", "MOTION_SMOOTHING_S"]

#: the low-pass before speeds are measured: removes sensor jitter, keeps any human movement
MOTION_SMOOTHING_S = 0.05


def mean_joint_speed(frames: np.ndarray, skeleton: Skeleton, fps: float, *,
                     smoothing_s: float = MOTION_SMOOTHING_S) -> float:
    """Mean over frames and joints of ``|x[t+1] - x[t]| * fps`` for the first person, pre-normalised,
    after a Gaussian low-pass of ``smoothing_s`` seconds (0: raw)."""
    joints = prenormalise(np.asarray(frames, np.float32), skeleton)[:, 0]
    if skeleton.is_2d:
        joints = joints[..., :2]
    if len(joints) < 2:
        return 0.0
    if smoothing_s > 0:
        joints = gaussian_smooth(joints.reshape(len(joints), -1), smoothing_s * fps).reshape(joints.shape)
    return float(np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean() * fps)


def class_speeds(coll: Collection, indices: np.ndarray | None = None, *,
                 smoothing_s: float = MOTION_SMOOTHING_S) -> dict[str, list[float]]:
    """Per class name, the mean joint speed of each clip (of ``indices``, default all)."""
    out: dict[str, list[float]] = {}
    for i in range(len(coll)) if indices is None else indices:
        name = coll.class_names[int(coll.labels[int(i)])]
        out.setdefault(name, []).append(mean_joint_speed(coll.frames(int(i)), coll.skeleton, coll.fps,
                                                         smoothing_s=smoothing_s))
    return out


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 1e-9 else float("nan")


def _predictions(coll: Collection, names: list[str], model_skeleton: Skeleton, persons: int, predict) -> dict:
    """Per generated class: recogniser predictions (class names) of its clips."""
    known = [k for k, n in enumerate(coll.class_names) if n in names]
    rows = np.flatnonzero(np.isin(coll.labels, known))
    if not rows.size:
        return {}
    bank = load_clip_bank(coll, rows, label_map={k: names.index(coll.class_names[k]) for k in known},
                          skeleton=model_skeleton, persons=persons, origin="synth")
    pred = predict(bank)
    out: dict[str, list[str]] = {}
    for label, p in zip(bank.labels, pred):
        out.setdefault(names[int(label)], []).append(names[int(p)])
    return out


def _accuracy_and_confusions(predicted: dict[str, list[str]], top: int = 2) -> dict[str, dict]:
    out = {}
    for name, preds in predicted.items():
        values, counts = np.unique(preds, return_counts=True)
        others = sorted(((int(c), str(v)) for v, c in zip(values, counts) if v != name), reverse=True)[:top]
        out[name] = {"accuracy": float(np.mean([p == name for p in preds])),
                     "read_as": [{"class": v, "clips": c} for c, v in others]}
    return out


def scorecard(store: MotionStore, synthetic: str, *, real: str | None = None, protocol: str | None = None,
              evaluator=None, judge=None, seed: int = 0) -> dict:
    """Per-class and overall numbers of ``synthetic`` (see the module docstring).

    ``real``: the real collection (default: the one the synthetic set's shots come from);
    ``evaluator``: an :class:`~.evaluator.Evaluator` (adds evaluator accuracy, confusions,
    FID, diversity); ``judge``: a :class:`~kinemic_cli.generate.filter.Judge` of the shots.
    """
    started = time.perf_counter()
    if not store.has(synthetic):
        raise KinemicError(f"--synthetic {synthetic!r}: no such collection in {store.path}")
    with store.collection(synthetic) as coll:
        fewshot = FewShotSplit.from_dict(coll.attrs.get("fewshot"))
        real = real or (fewshot.collection if fewshot else None)
        if not real:
            raise KinemicError(f"--synthetic {synthetic!r} records no few-shot split; name its real collection "
                               "with --dataset")
        generated_speed = class_speeds(coll)
        generated_raw = class_speeds(coll, smoothing_s=0)
        judged = _predictions(coll, judge.class_names, judge.models[0][0].skeleton,
                              judge.models[0][0].config["persons"],
                              lambda bank: judge.probabilities(bank).argmax(axis=1)) if judge is not None else {}
        evaluated = _predictions(coll, evaluator.class_names, evaluator.model.skeleton,
                                 evaluator.model.config["persons"], evaluator.predict) if evaluator is not None else {}
        clips = len(coll)
        synthetic_skeleton = coll.skeleton.name
    if judge is not None and judge.fewshot is not None and fewshot is not None:
        judge.fewshot.require_same(fewshot, what=f"--synthetic {synthetic!r}")
    with store.collection(real) as real_coll:
        train_side = np.asarray(real_coll.split(training_split_name(real_coll, protocol)))
        real_speed = class_speeds(real_coll, train_side)
        real_raw = class_speeds(real_coll, train_side, smoothing_s=0)
        shots = (fewshot.indices_in(real_coll)
                 if fewshot and fewshot.collection == real else np.zeros(0, np.int64))
        shot_speed = class_speeds(real_coll, shots)
        if shots.size and real_coll.skeleton.name == synthetic_skeleton:
            signatures: dict[str, list[np.ndarray]] = {}
            for i in shots:
                signatures.setdefault(real_coll.class_names[int(real_coll.labels[int(i)])], []).append(
                    motion_signature(real_coll.frames(int(i)), real_coll.skeleton))
            others = np.setdiff1d(train_side, shots)
            real_distance = nearest_shot_distances(real_coll, others, signatures)
        else:
            signatures, real_distance = {}, {}
    if signatures:
        with store.collection(synthetic) as coll:
            generated_distance = nearest_shot_distances(coll, range(len(coll)), signatures)
    else:
        generated_distance = {}
    judge_scores = _accuracy_and_confusions(judged)
    evaluator_scores = _accuracy_and_confusions(evaluated)

    per_class = {}
    for name, speeds in generated_speed.items():
        gen, ref = float(np.mean(speeds)), float(np.mean(real_speed.get(name, [np.nan])))
        shot = float(np.mean(shot_speed.get(name, [np.nan])))
        row = {"clips": len(speeds), "speed": gen, "speed_real": ref, "speed_ratio": _ratio(gen, ref),
               "speed_shots": shot, "speed_ratio_shots": _ratio(gen, shot)}
        gen_raw, ref_raw = float(np.mean(generated_raw[name])), float(np.mean(real_raw.get(name, [np.nan])))
        row.update(speed_raw=gen_raw, speed_real_raw=ref_raw, speed_ratio_raw=_ratio(gen_raw, ref_raw))
        if name in generated_distance and name in real_distance:
            gen_d, ref_d = float(np.median(generated_distance[name])), float(np.median(real_distance[name]))
            row.update(shot_distance=gen_d, shot_distance_real=ref_d, shot_distance_ratio=_ratio(gen_d, ref_d))
        if name in judge_scores:
            row["judge_accuracy"] = judge_scores[name]["accuracy"]
            row["judge_read_as"] = judge_scores[name]["read_as"]
        if name in evaluator_scores:
            row["evaluator_accuracy"] = evaluator_scores[name]["accuracy"]
            row["evaluator_read_as"] = evaluator_scores[name]["read_as"]
        per_class[name] = row

    def clip_weighted(key: str) -> float | None:
        values = [(r[key], r["clips"]) for r in per_class.values() if key in r]
        return float(sum(v * n for v, n in values) / sum(n for _, n in values)) if values else None

    ratios = [r["speed_ratio"] for r in per_class.values() if np.isfinite(r["speed_ratio"])]
    raw_ratios = [r["speed_ratio_raw"] for r in per_class.values() if np.isfinite(r["speed_ratio_raw"])]
    overall = {
        "clips": clips,
        "classes": len(per_class),
        "speed_ratio_mean": float(np.mean(ratios)) if ratios else float("nan"),
        "speed_ratio_min": float(np.min(ratios)) if ratios else float("nan"),
        "speed_ratio_max": float(np.max(ratios)) if ratios else float("nan"),
        "classes_within_0.8_1.2": int(sum(0.8 <= r <= 1.2 for r in ratios)),
        "speed_ratio_raw_mean": float(np.mean(raw_ratios)) if raw_ratios else float("nan"),
        "judge_accuracy": clip_weighted("judge_accuracy"),
        "evaluator_accuracy": clip_weighted("evaluator_accuracy"),
    }
    if generated_distance and real_distance:
        gen_all = np.concatenate([generated_distance[n] for n in generated_distance if n in real_distance])
        real_all = np.concatenate([real_distance[n] for n in real_distance if n in generated_distance])
        overall.update(shot_distance=float(np.median(gen_all)), shot_distance_real=float(np.median(real_all)),
                       shot_distance_ratio=_ratio(float(np.median(gen_all)), float(np.median(real_all))))
    confusions = sorted(((c["clips"], name, c["class"]) for name, r in per_class.items()
                         for c in r.get("evaluator_read_as", r.get("judge_read_as", []))), reverse=True)
    result = {"synthetic": synthetic, "real": real, "fewshot_split": fewshot.split if fewshot else None,
              "overall": overall, "per_class": per_class,
              "confusions": [{"class": a, "read_as": b, "clips": n} for n, a, b in confusions[:10]]}
    if evaluator is not None:
        from .evaluator import generative_metrics

        generative = generative_metrics(evaluator, store, synthetic, seed=seed)
        overall.update(fid=generative["fid"], diversity=generative["diversity"],
                       fid_real_reference=generative["reference"]["fid_train_vs_test"],
                       diversity_real_reference=generative["reference"]["diversity_test"],
                       evaluator_accuracy_real_reference=generative["reference"]["accuracy_test"])
    result["seconds"] = time.perf_counter() - started
    return result
