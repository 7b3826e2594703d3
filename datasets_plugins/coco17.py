"""The COCO-17 keypoint skeleton (2D + score), registered as ``coco17``.

Why here: the annotation pickles that pyskl and mmaction2 publish for NTU and Kinetics
(HRNet 2D poses) use the 17 COCO keypoints; importing them needs the skeleton.  The tree
is rooted at the nose, as in those tools' graph layout (no neck or pelvis joint exists).
"""

from __future__ import annotations

from kinemic_cli.skeletons import Skeleton, register_skeleton

__all__ = ["COCO17"]

COCO17 = register_skeleton(Skeleton(
    name="coco17",
    joint_names=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    mirror_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    fps=30.0,
    channels=3,
    is_2d=True,
    landmarks={
        "root": 0, "head": 0, "left_hip": 11, "right_hip": 12, "left_shoulder": 5, "right_shoulder": 6,
        "left_ankle": 15, "right_ankle": 16,
    },
))
