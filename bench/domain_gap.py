"""Can a prior (or an adapted student) reconstruct the target's clips?  The domain-gap probe.

    python bench/domain_gap.py --prior builtin:demo --store STORE [--model ADAPT_RUN] [--t 1,5,20]

A denoiser that has learnt a kind of motion returns a lightly noised clip of it almost
unchanged; one that has not "corrects" it towards what it knows.  For each set of real clips
below, every clip is noised to diffusion step ``t`` (fixed noise per clip), denoised in one
step (the x0 prediction) and compared with the clean clip in the model's normalised
features; the pose block (joint positions relative to the root, de-normalised) is reported
as an RMS error in cm:

- ``source``: held-out captioned windows of the source corpus (their own captions): the
  prior's home ground, the reference;
- ``source + tilt`` / ``+ shear`` / ``+ scale``: the same windows under one geometric variation
  each (the recogniser's augmentation: up to 10 degrees of tilt, shear 0.15, per-axis scale
  0.15): how narrow the learnt pose manifold is;
- ``target``: clips of the target collection's test split (8 per class), conditioned on
  their class caption (``--model``: on the adapted model's class text and action, and also
  its own shots).

With ``--evaluator RUN`` (an ``evaluate`` evaluator folder) the target rows also say how many
of the one-step reconstructions the evaluator still recognises as their class.
Figures are measurements on the stores given, nothing more.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def _noised_x0(denoise, add_noise, features: np.ndarray, t: int, seed: int, **condition) -> np.ndarray:
    x0 = torch.from_numpy(np.asarray(features, np.float32))[None]
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    xt = add_noise(x0, torch.tensor([t]), noise)
    with torch.no_grad():
        return denoise(xt, torch.tensor([t]), mask=None, **condition)[0].float().numpy()


def _text_conditions(text: np.ndarray) -> list[dict]:
    """One prior condition (caption embedding, no action) per row of ``text [N, E]``."""
    return [{"text": torch.from_numpy(text[k : k + 1]).float(), "action": None} for k in range(len(text))]


def _pose_error_cm(prior, pred: np.ndarray, clean: np.ndarray) -> float:
    """RMS error of the root-relative joint positions in cm (both feature spaces store them right after the
    4 root values), so priors with different normalisers compare."""
    block = slice(4, 4 + 3 * (prior.skeleton.num_joints - 1))
    a, b = prior.normaliser.denormalise(pred)[:, block], prior.normaliser.denormalise(clean)[:, block]
    return float(np.sqrt(np.mean((a - b) ** 2)) * 100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prior", default="builtin:demo")
    p.add_argument("--store", required=True)
    p.add_argument("--source", default="demo-t2m")
    p.add_argument("--target", default="demo", help="target collection (its test split is read)")
    p.add_argument("--model", default=None, help="an adapt run folder: probe the student instead of the prior")
    p.add_argument("--evaluator", default=None, help="evaluator folder: also read the target reconstructions")
    p.add_argument("--t", default="1,5,20", help="diffusion steps to noise to (comma-separated)")
    p.add_argument("--windows", type=int, default=64, help="source windows per row")
    p.add_argument("--per-class", type=int, default=8, help="target test clips per class")
    p.add_argument("--by-class", action="store_true",
                   help="with --evaluator: also print each class's accuracy at every t (which classes are lost where)")
    args = p.parse_args()
    if args.by_class and not args.evaluator:
        p.error("--by-class needs --evaluator")

    from prior_quality import primitive_windows

    from kinemic_cli.adapt.data import load_fewshot_clips
    from kinemic_cli.har.sets import test_split_name
    from kinemic_cli.motion.geometric_augment import AugmentConfig, augment_clip
    from kinemic_cli.prior.bundle import load_prior
    from kinemic_cli.store import MotionStore
    from kinemic_cli.store.splits import training_split_name

    started = time.perf_counter()
    store = MotionStore(args.store)
    steps = [int(v) for v in args.t.split(",")]
    student = None
    if args.model:
        from kinemic_cli.adapt.student import load_adapted

        student = load_adapted(args.model, with_text_encoder=False)
        prior = student.prior
    else:
        prior = load_prior(args.prior)
    prior.model.eval()
    rows: list[tuple[str, list[np.ndarray], list[dict], np.ndarray | None]] = []

    if student is None:
        with store.collection(args.source) as coll:
            clips, _, captions = primitive_windows(coll, "test")
        rng = np.random.default_rng(0)
        pick = [i for i in rng.permutation(len(clips)) if captions[i]][: args.windows]
        conditions = _text_conditions(prior.encode_text([captions[i] for i in pick]))
        variations = {"": None, " + tilt": AugmentConfig(rotate_deg=30, scale=0, shear=0, time_scale=0, warp_strength=0),
                      " + shear": AugmentConfig(rotate_deg=0, scale=0, shear=0.15, time_scale=0, warp_strength=0),
                      " + scale": AugmentConfig(rotate_deg=0, scale=0.15, shear=0, time_scale=0, warp_strength=0)}
        for suffix, cfg in variations.items():
            vary = np.random.default_rng(1)
            feats = []
            for i in pick:
                joints = np.asarray(clips[i][:, 0], np.float32)
                if cfg is not None:
                    joints = augment_clip(joints[:, None], vary, cfg)[:, 0]
                feats.append(prior.to_features(joints)[: prior.max_frames])
            rows.append((f"source{suffix}", feats, conditions, None))

    with store.collection(args.target) as coll:
        protocol = training_split_name(coll).split("/")[0]
        test = np.asarray(coll.split(test_split_name(coll.split_names(), protocol)))
        rng = np.random.default_rng(0)
        chosen = []
        for label in np.unique(coll.labels[test]):
            of_class = test[coll.labels[test] == label]
            chosen += list(rng.choice(of_class, min(args.per_class, len(of_class)), replace=False))
        target = load_fewshot_clips(coll, np.asarray(chosen), prior_skeleton=prior.skeleton, prior_fps=prior.fps,
                                    max_frames=prior.max_frames, to_features=prior.to_features,
                                    stored=prior.stored_features)
        names = list(coll.class_names)
    if student is None:
        conditions = _text_conditions(prior.encode_text([f"a person {names[int(label)]}" for label in target.labels]))
        rows.append(("target (class caption)", target.features, conditions, target.labels))
    else:
        from kinemic_cli.generate.run import _shot_features

        own = _shot_features(student, store)  # the student's shots, per label, as it saw them
        shots_features = [f for label in sorted(own) for f in own[label]]
        shots_labels = np.array([label for label in sorted(own) for _ in own[label]])
        class_of = {label: k for k, label in enumerate(student.target_labels)}

        def conditioned(labels):
            return [{"text": torch.from_numpy(np.asarray(student.class_text[class_of[int(lab)]][0], np.float32))[None],
                     "action": torch.tensor([class_of[int(lab)]])} for lab in labels]

        kept = [k for k, lab in enumerate(target.labels) if int(lab) in class_of]
        rows.append(("target (test clips)", [target.features[k] for k in kept], conditioned(target.labels[kept]),
                     target.labels[kept]))
        rows.append(("target (the shots)", shots_features, conditioned(shots_labels), shots_labels))

    evaluator = None
    if args.evaluator:
        from pathlib import Path

        from kinemic_cli.evaluate.evaluator import ensure_evaluator
        from kinemic_cli.har.train import TrainConfig

        evaluator = ensure_evaluator(Path(args.evaluator), store, args.target, cfg=TrainConfig(model="stgcn-tiny"))

    model = student.model if student is not None else prior.model
    header = f"{'clips':26s} " + " ".join(f"{'t=' + str(t):>9s}" for t in steps)
    print(f"pose error (RMS, cm) of the one-step x0 prediction, {'student ' + args.model if student else 'prior ' + args.prior}")
    print(header + ("   evaluator accuracy at t (clean first)" if evaluator is not None else ""))
    for name, feats, conditions, labels in rows:
        errors, recognised = [], []
        for t in steps:
            preds = [_noised_x0(model, prior.add_noise, f, t, seed=k, **c) for k, (f, c) in enumerate(zip(feats, conditions))]
            errors.append(np.mean([_pose_error_cm(prior, pr, f) for pr, f in zip(preds, feats)]))
            if evaluator is not None and labels is not None:
                recognised.append(_recognised(evaluator, prior, preds, labels))
        line = f"{name:26s} " + " ".join(f"{e:9.2f}" for e in errors)
        if recognised:
            clean = _recognised(evaluator, prior, feats, labels)
            line += f"   {clean.mean():.0%} -> " + " ".join(f"{r.mean():.0%}" for r in recognised)
        print(line, flush=True)
        if recognised and args.by_class:
            for label in np.unique(labels):
                of = np.asarray(labels) == label
                print(f"    {names[int(label)]:22s} {clean[of].mean():4.0%} -> "
                      + " ".join(f"{r[of].mean():4.0%}" for r in recognised), flush=True)
    print(f"({time.perf_counter() - started:.0f} s)")


def _recognised(evaluator, prior, features, labels) -> np.ndarray:
    """Per clip: does the evaluator read it as its label (bool array, same order)."""
    from kinemic_cli.har.data import ClipBank, prenormalise
    from kinemic_cli.skeletons.joint_maps import convert_joints

    def joints(f):
        j = np.asarray(prior.to_joints(f), np.float32)
        if prior.skeleton.name != evaluator.model.skeleton.name:
            j = convert_joints(j, prior.skeleton.name, evaluator.model.skeleton.name)
        return j[:, None]

    clips = [prenormalise(joints(f), evaluator.model.skeleton) for f in features]
    bank = ClipBank.from_clips(clips, [int(v) for v in labels], "synth")
    return np.asarray(evaluator.predict(bank) == np.asarray(labels))


if __name__ == "__main__":
    main()
