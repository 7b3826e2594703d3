"""How far a clip lies from the nearest shot of its class: are generated clips new, or the shots again?

Why: a generator can make every clip recognisable by staying next to the ten shots it was
given (``generate --shot-guidance`` does it at its last steps), and such clips teach a
recogniser little more than the shots themselves.  The scorecard therefore reports, per class,
the median distance of the generated clips to their nearest shot beside the same figure for
the real training-side clips that are not shots: how far the *other* performances of the
class lie from the shots.  A ratio near 0 means copies; near 1, clips as far from the shots
as new real performances are (closeness in the wrong direction is not ruled out: read it
with the accuracy columns).

The distance compares body motion, not placement: each clip is pre-normalised as the
recognisers see it (:func:`~kinemic_cli.har.data.prenormalise`), the first person's joints
are made relative to the root in every frame, resampled to :data:`SIGNATURE_FRAMES` frames
(so pace is compared as a share of the clip, as the recognisers' fixed-length sampling does),
and the distance is the root mean square of the per-joint Euclidean differences, in the
skeleton's units (metres for metric 3D skeletons).
"""

from __future__ import annotations

import numpy as np

from ..har.data import prenormalise
from ..motion.resample import resample_time
from ..skeletons import Skeleton
from ..store import Collection

__all__ = ["SIGNATURE_FRAMES", "motion_signature", "clip_distance", "nearest_shot_distances"]

#: frames every clip is resampled to before two clips are compared
SIGNATURE_FRAMES = 32


def motion_signature(frames: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """``[SIGNATURE_FRAMES, J, C]`` float64: the first person's root-relative joints, pre-normalised."""
    joints = prenormalise(np.asarray(frames, np.float32), skeleton)[:, 0]
    if skeleton.is_2d:
        joints = joints[..., :2]
    joints = resample_time(joints, SIGNATURE_FRAMES).astype(np.float64)
    root = skeleton.landmark("root")
    return joints - joints[:, root : root + 1]


def clip_distance(a: np.ndarray, b: np.ndarray) -> float:
    """RMS over frames and joints of the Euclidean distance between two signatures."""
    return float(np.sqrt(((a - b) ** 2).sum(axis=-1).mean()))


def nearest_shot_distances(coll: Collection, indices, shots: dict[str, list[np.ndarray]]) -> dict[str, list[float]]:
    """Per class name, each clip's distance (of ``indices`` in ``coll``) to the nearest signature in
    ``shots[name]``; classes without shots are left out."""
    out: dict[str, list[float]] = {}
    for i in indices:
        name = coll.class_names[int(coll.labels[int(i)])]
        if not shots.get(name):
            continue
        signature = motion_signature(coll.frames(int(i)), coll.skeleton)
        out.setdefault(name, []).append(min(clip_distance(signature, s) for s in shots[name]))
    return out
