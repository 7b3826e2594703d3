"""What speed ratio would a perfect generator score on the demo world?  Tracking jitter, measured.

The scorecard's speed ratio compares generated clips with real tracked clips after a
50 ms low-pass.  Real tracked clips jitter, and the low-pass does not remove all of it, so
a generator that reproduced each performance exactly but without the tracker's jitter
would score below 1.  The demo world can say by how much, because it can draw the very
same performances without jitter (the ``noise`` option of ``prepare --dataset demo``):
this prints, per class, the scorecard's speed of each performance with and without
jitter and their ratio, i.e. the speed ratio of a perfect jitter-free generator.  The
0.2 s moving-average speed that ``adapt --pace-match`` compares is printed beside it.

    python bench/speed_ceiling.py --world-seed 0 --subjects 8
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    from datasets_plugins.demo_world.target import CAMERA_YAWS_DEG, TARGET_CLASSES, TargetSpec, target_clip
    from kinemic_cli.adapt.kinematic import motion_speed
    from kinemic_cli.evaluate.scorecard import mean_joint_speed
    from kinemic_cli.skeletons import get_skeleton

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world-seed", type=int, default=0)
    p.add_argument("--subjects", type=int, default=8, help="performers per class (each seen from every camera)")
    args = p.parse_args()
    skeleton, fps = get_skeleton("smpl22"), 20.0
    started = time.perf_counter()
    clean_spec, tracked_spec = TargetSpec(seed=args.world_seed, noise=0.0), TargetSpec(seed=args.world_seed, noise=1.0)
    print(f"demo world seed {args.world_seed}: {args.subjects} subjects x {len(CAMERA_YAWS_DEG)} cameras per class")
    print(f"{'class':15s} {'tracked':>8s} {'clean':>8s} {'ceiling':>8s} {'pace ceiling':>13s}")
    ceilings, paces = [], []
    for c, cls in enumerate(TARGET_CLASSES):
        tracked, clean, tracked_pace, clean_pace = [], [], [], []
        for subject in range(args.subjects):
            for camera in range(len(CAMERA_YAWS_DEG)):
                a = target_clip(clean_spec, subject, c, camera, 0)["frames"]
                b = target_clip(tracked_spec, subject, c, camera, 0)["frames"]
                clean.append(mean_joint_speed(a[:, None], skeleton, fps))
                tracked.append(mean_joint_speed(b[:, None], skeleton, fps))
                clean_pace.append(motion_speed(a, skeleton, fps))
                tracked_pace.append(motion_speed(b, skeleton, fps))
        ceiling = float(np.mean(clean) / np.mean(tracked))
        pace = float(np.mean(clean_pace) / np.mean(tracked_pace))
        ceilings.append(ceiling)
        paces.append(pace)
        print(f"{cls.name:15s} {np.mean(tracked):8.3f} {np.mean(clean):8.3f} {ceiling:8.2f} {pace:13.2f}")
    print(f"{'mean':15s} {'':8s} {'':8s} {np.mean(ceilings):8.2f} {np.mean(paces):13.2f}")
    print(f"classes whose ceiling is below 0.8: {sum(c < 0.8 for c in ceilings)} of {len(ceilings)}"
          f"  ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
