"""Prompt adherence of a prior on the demo world: is the primitive asked for the one generated?

    python bench/prior_quality.py --prior builtin:demo --store STORE [--prompts-per-primitive 8] [--epochs 8]

1. A primitive classifier (ST-GCN, ``stgcn-tiny``) is trained on the real primitive
   windows of the ``demo-t2m`` training split (each chained clip's segments, labelled by
   primitive); its accuracy on the windows of the held-out ``test`` split is the reference.
2. Prompts: for every primitive, the partial captions of ``test``-split windows of that
   primitive (real paraphrases the prior never saw), each generated at its window's length.
3. Adherence = share of generated clips the classifier labels with the primitive the
   prompt names; the same for a prior of the same size with untrained (random) weights,
   which should sit near 1 / #primitives (``--no-untrained`` skips it).
4. Speed ratio = mean joint speed of the generated clips of a primitive / that of the real
   windows their prompts came from (the scorecard's speed,
   :func:`kinemic_cli.evaluate.scorecard.mean_joint_speed`); a prior that under-animates
   scores well below 1.  Reported per primitive and as the mean over primitives.
5. A GIF of six prompts (``--gif``) to look at.

``--guidance 1,2.5`` measures several guidance scales with one classifier.

The numbers are results on the demo world, nothing more.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import numpy as np
import torch


def primitive_windows(coll, split: str):
    """(windows [T, 1, J, 3], primitive ids, captions) of every segment of the split's clips."""
    from datasets_plugins.demo_world.source import parse_segments

    names = list(coll.class_names)
    segments = coll.meta("segments")
    clips, labels, captions = [], [], []
    for i in coll.split(split):
        frames = coll.frames(int(i))
        partial = {(c.start, c.end): c.text for c in coll.captions(int(i))
                   if not (c.start == 0 and (c.end is None or c.end >= len(frames)))}
        for name, start, end in parse_segments(str(segments[int(i)])):
            clips.append(frames[start:end])
            labels.append(names.index(name))
            captions.append(partial.get((start, end)))
    return clips, np.array(labels), captions


def prenormalised(clips, skeleton):
    from kinemic_cli.har.data import prenormalise

    return [prenormalise(c, skeleton) for c in clips]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prior", default="builtin:demo")
    p.add_argument("--store", required=True)
    p.add_argument("--source", default="demo-t2m")
    p.add_argument("--prompts-per-primitive", type=int, default=8)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--sampler", default="ddpm")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--guidance", default="2.5", help="one scale or a comma-separated list")
    p.add_argument("--no-untrained", action="store_true", help="skip the untrained-prior reference")
    p.add_argument("--gif", default=None)
    p.add_argument("--json", default=None, help="also write the figures here")
    args = p.parse_args()

    from kinemic_cli.evaluate.scorecard import mean_joint_speed
    from kinemic_cli.generate.plan import PlannedClip
    from kinemic_cli.generate.sampler import DiffusionClipSampler, SamplingOptions
    from kinemic_cli.har.data import ClipBank
    from kinemic_cli.har.metrics import accuracy
    from kinemic_cli.har.train import TrainConfig, predict, train_recogniser
    from kinemic_cli.models.denoiser import MotionDenoiser
    from kinemic_cli.prior.bundle import load_prior
    from kinemic_cli.store import MotionStore

    started = time.perf_counter()
    store = MotionStore(args.store)
    coll = store.collection(args.source)
    names = list(coll.class_names)
    skeleton = coll.skeleton
    train_clips, train_labels, _ = primitive_windows(coll, "train")
    test_clips, test_labels, test_captions = primitive_windows(coll, "test")
    cfg = TrainConfig(model="stgcn-tiny", epochs=args.epochs, clip_len=32, min_epoch_clips=0)
    train_bank = ClipBank.from_clips(prenormalised(train_clips, skeleton), train_labels, "real")
    test_bank = ClipBank.from_clips(prenormalised(test_clips, skeleton), test_labels, "real")
    classifier, _, _ = train_recogniser(train_bank, None, skeleton=skeleton, num_classes=len(names), cfg=cfg, seed=0,
                                        description="primitive classifier")
    reference = accuracy(predict(classifier, test_bank, cfg, skeleton).argmax(1), test_labels)
    print(f"primitive classifier: {len(train_clips)} training windows, accuracy on {len(test_clips)} held-out real "
          f"windows {reference:.1%}")

    by_primitive = defaultdict(list)
    for clip, label, caption in zip(test_clips, test_labels, test_captions):
        if caption and len(by_primitive[label]) < args.prompts_per_primitive:
            by_primitive[label].append((caption, len(clip), clip))
    prompts = [(label, caption, length) for label in sorted(by_primitive) for caption, length, _ in by_primitive[label]]
    real_speed = {label: np.mean([mean_joint_speed(c, skeleton, coll.fps) for _, _, c in items])
                  for label, items in by_primitive.items()}

    prior = load_prior(args.prior)
    results = {}
    runs = [("trained", float(g)) for g in str(args.guidance).split(",")]
    if not args.no_untrained:
        runs.append(("untrained", float(str(args.guidance).split(",")[0])))
    for kind, guidance in runs:
        model = prior.model
        if kind == "untrained":
            torch.manual_seed(0)
            model = MotionDenoiser(prior.model.config).eval()
        sampler = DiffusionClipSampler(model, prior, options=SamplingOptions(args.sampler, args.steps, guidance),
                                       skeleton=skeleton, fps=coll.fps, class_names=["prompt"])
        generated = []
        for k, (label, caption, length) in enumerate(prompts):
            item = PlannedClip(label=0, index=k, length=min(length, prior.max_frames), seed=1000 + k, text=caption)
            generated.append(sampler.sample([item])[0][:, None])
        bank = ClipBank.from_clips(prenormalised(generated, skeleton), [p[0] for p in prompts], "synthetic")
        predicted = predict(classifier, bank, cfg, skeleton).argmax(1)
        hits = predicted == bank.labels
        per_primitive = {names[label]: float(hits[[i for i, p in enumerate(prompts) if p[0] == label]].mean())
                         for label in sorted(by_primitive)}
        speeds = np.array([mean_joint_speed(g, skeleton, coll.fps) for g in generated])
        ratio = {names[label]: float(speeds[[i for i, p in enumerate(prompts) if p[0] == label]].mean()
                                     / max(real_speed[label], 1e-9)) for label in sorted(by_primitive)}
        key = kind if len(runs) == 2 and kind == "untrained" else f"{kind} g{guidance:g}"
        results[key] = {"guidance": guidance, "adherence": float(hits.mean()), "per_primitive": per_primitive,
                        "speed_ratio": float(np.mean(list(ratio.values()))), "speed_ratio_per_primitive": ratio}
        print(f"{kind:9} prior, guidance {guidance:g}: adherence {hits.mean():.1%} over {len(prompts)} prompts "
              f"({len(by_primitive)} primitives; chance {1 / len(names):.1%}); speed ratio "
              f"{np.mean(list(ratio.values())):.2f} (min {min(ratio.values()):.2f})")
        if kind == "trained":
            print("  adherence per primitive: " + ", ".join(f"{n} {v:.0%}" for n, v in per_primitive.items()))
            print("  speed ratio per primitive: " + ", ".join(f"{n} {v:.2f}" for n, v in ratio.items()))
            if args.gif:
                from kinemic_cli.motion.render import render_clips_gif

                chosen = [next(i for i, p in enumerate(prompts) if p[0] == label) for label in sorted(by_primitive)[:6]]
                render_clips_gif([generated[i] for i in chosen], skeleton, args.gif,
                                 titles=[prompts[i][1][:22] for i in chosen], fps=coll.fps, columns=3)
                print(f"  rendered {args.gif}")
    summary = {"prior": args.prior, "classifier_reference_accuracy": reference, "prompts": len(prompts),
               "sampler": args.sampler, "results": results,
               "seconds": round(time.perf_counter() - started, 1)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    print(f"done in {summary['seconds']}s")


if __name__ == "__main__":
    main()
