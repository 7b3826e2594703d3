"""Mining that looks at motion, not only at words: a kinematic gate on the soft positives.

Text mining picks source windows whose *captions* are close to a class name, and the paper
names the limit itself: caption similarity is not kinematic similarity.  On the demo world
"salute" and "cheer up" mine applause ("A person applauds"), whose windows then train the
student to clap under the salute condition, and the generated salutes collapse onto clap.

The gate scores every mined window against the shots of its class by how they *move*:

- :func:`motion_profile` describes a clip by which joints move and how much (mean speed
  and range of each joint relative to the root, after a 0.2 s moving average that removes
  sensor jitter) and where the joints are on average (the pose), each block unit-length;
- descriptors are standardised with the mean and spread of the shots' descriptors (what all
  human clips share would otherwise make every cosine ~1);
- a window's **kinematic score** is its best cosine to the shots of its class.

Windows scoring below ``--kinematic-gate`` get weight 0: the batch sampler does not draw
them, and a class left with no window trains on its shots alone (no window loss, no
contrastive positive).  The gate needs nothing but the shots, so it is honest.  0 (the
default) keeps the paper's behaviour; the mining report shows both scores either way.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..motion.features import canonicalise
from ..skeletons import Skeleton

__all__ = ["motion_profile", "motion_speed", "WindowMotion", "ProfileSpace", "class_motion_scores", "kinematic_scores",
           "kinematic_scores_and_margins", "pace_factors", "PACE_LIMITS"]

SMOOTHING_SECONDS = 0.2
#: the most a mined window is sped up or slowed down to the shots' pace (a window mined for
#: the wrong motion, e.g. a slow "pick up" for a fast one, is not stretched without bound)
PACE_LIMITS = (0.5, 2.0)


def _moving_average(x: np.ndarray, frames: int) -> np.ndarray:
    if frames <= 1 or len(x) <= frames:
        return x
    c = np.cumsum(np.concatenate([np.zeros_like(x[:1]), x]), axis=0)
    return (c[frames:] - c[:-frames]) / frames


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _smoothed_relative(joints: np.ndarray, skeleton: Skeleton, fps: float) -> np.ndarray:
    """Joints relative to the root's floor point, canonicalised, after a 0.2 s moving average."""
    j = canonicalise(np.asarray(joints, np.float64), skeleton)
    root = j[:, skeleton.root : skeleton.root + 1].copy()
    root[..., 1] = 0.0  # keep height: a squat lowers the body
    return _moving_average(j - root, max(1, int(round(SMOOTHING_SECONDS * fps))))


def _speed_of(rel: np.ndarray, fps: float) -> float:
    if len(rel) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean() * fps)


def _profile_of(rel: np.ndarray, fps: float) -> np.ndarray:
    if len(rel) > 1:
        speed = np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean(axis=0) * fps
    else:
        speed = np.zeros(rel.shape[1])
    extent = rel.std(axis=0).sum(axis=-1)
    pose = rel.mean(axis=0).ravel()
    return np.concatenate([_unit(speed), _unit(extent), _unit(pose - pose.mean())])


def motion_speed(joints: np.ndarray, skeleton: Skeleton, fps: float) -> float:
    """Mean joint speed of a clip ``[T, J, 3]`` relative to the root, after the 0.2 s moving average.

    The moving average is stronger than the scorecard's low-pass on purpose: it compares
    the *pace* of jittery tracked shots with clean source windows, and sensor jitter would
    otherwise count as motion on one side only.
    """
    return _speed_of(_smoothed_relative(joints, skeleton, fps), fps)


def motion_profile(joints: np.ndarray, skeleton: Skeleton, fps: float) -> np.ndarray:
    """A clip ``[T, J, 3]`` -> ``[2 J + 3 J]``: per-joint speed and range (root-relative), and mean pose."""
    return _profile_of(_smoothed_relative(joints, skeleton, fps), fps)


class WindowMotion:
    """Mined windows described once each: motion profile and speed, read and prepared on first use.

    Scoring the caption pool and pacing the windows kept from it need the same windows;
    keeping their descriptions (a few hundred floats each, not their frames) means each is
    read from the store and prepared once.  ``window_joints(candidate)`` gives a candidate
    window's joints on the prior's skeleton and fps.
    """

    def __init__(self, window_joints: Callable[[int], np.ndarray], skeleton: Skeleton, fps: float):
        self.window_joints, self.skeleton, self.fps = window_joints, skeleton, float(fps)
        self._described: dict[int, tuple[np.ndarray, float]] = {}

    def _describe(self, candidate: int) -> tuple[np.ndarray, float]:
        candidate = int(candidate)
        if candidate not in self._described:
            rel = _smoothed_relative(self.window_joints(candidate), self.skeleton, self.fps)
            self._described[candidate] = (_profile_of(rel, self.fps), _speed_of(rel, self.fps))
        return self._described[candidate]

    def profile(self, candidate: int) -> np.ndarray:
        return self._describe(candidate)[0]

    def speed(self, candidate: int) -> float:
        return self._describe(candidate)[1]


class ProfileSpace:
    """Motion profiles standardised by the shots' own spread; cosine similarity in that space."""

    def __init__(self, shot_profiles: np.ndarray):
        shot_profiles = np.asarray(shot_profiles, np.float64)
        self.mean = shot_profiles.mean(axis=0)
        self.scale = shot_profiles.std(axis=0) + 1e-6

    def embed(self, profiles: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(profiles) - self.mean) / self.scale
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-9)


def class_motion_scores(candidates: Sequence[int], shot_joints: Sequence[np.ndarray], shot_classes: np.ndarray,
                        windows: WindowMotion, *, num_classes: int, skeleton: Skeleton, fps: float) -> np.ndarray:
    """``[len(candidates), K]``: each candidate window's best cosine to the shots of every class.

    ``shot_classes[i]`` is the mining class row of shot ``i``; ``windows`` describes the
    candidate windows (same skeleton and fps as the shots).  A class without shots scores -1
    (nothing is like it).
    """
    shots = np.stack([motion_profile(j, skeleton, fps) for j in shot_joints])
    space = ProfileSpace(shots)
    shot_embedded = space.embed(shots)
    shot_classes = np.asarray(shot_classes)
    table = np.full((len(candidates), num_classes), -1.0, np.float32)
    for row, candidate in enumerate(candidates):
        cosines = shot_embedded @ space.embed(windows.profile(candidate))[0]
        for k in range(num_classes):
            own = cosines[shot_classes == k]
            if len(own):
                table[row, k] = float(own.max())
    return table


def kinematic_scores(neighbours: np.ndarray, shot_joints: Sequence[np.ndarray], shot_classes: np.ndarray,
                     windows: WindowMotion, *, skeleton: Skeleton, fps: float) -> np.ndarray:
    """``[K, k]``: each mined window's best cosine to the shots of its class (``neighbours [K, k]``)."""
    scores, _ = kinematic_scores_and_margins(neighbours, shot_joints, shot_classes, windows,
                                             skeleton=skeleton, fps=fps)
    return scores


def kinematic_scores_and_margins(neighbours: np.ndarray, shot_joints: Sequence[np.ndarray], shot_classes: np.ndarray,
                                 windows: WindowMotion, *, skeleton: Skeleton,
                                 fps: float) -> tuple[np.ndarray, np.ndarray]:
    """``[K, k]`` scores as :func:`kinematic_scores` and ``[K, k]`` **margins**: how much closer each
    window moves to the shots of its own class than to those of the nearest other class.

    The margin is what tells a clapping window mined for "salute" (caption neighbours, both
    hand movements) from a raised-hand one: the first moves like the *clap* shots (negative
    margin), the second like the salute shots.  With one class the margin is the score.
    A candidate mined for several classes is described once.
    """
    unique, inverse = np.unique(np.asarray(neighbours, np.int64), return_inverse=True)
    table = class_motion_scores(unique, shot_joints, shot_classes, windows, num_classes=neighbours.shape[0],
                                skeleton=skeleton, fps=fps)
    rows = inverse.reshape(neighbours.shape)
    classes = np.arange(neighbours.shape[0])[:, None]
    scores = table[rows, classes]
    if neighbours.shape[0] == 1:
        return scores, scores.copy()
    others = table[rows].copy()  # [K, k, K]
    others[classes, np.arange(neighbours.shape[1])[None, :], classes] = -np.inf
    return scores, (scores - others.max(axis=2)).astype(np.float32)


def pace_factors(neighbours: np.ndarray, shot_joints: Sequence[np.ndarray], shot_classes: np.ndarray,
                 windows: WindowMotion, *, skeleton: Skeleton, fps: float,
                 limits: tuple[float, float] = PACE_LIMITS) -> np.ndarray:
    """``[K, k]``: how much faster each mined window must play to move at its class's pace.

    The factor is the mean :func:`motion_speed` of the shots of the class over the window's,
    clipped to ``limits``.  Mined source windows move slower than the target's shots (on the
    demo world by 1.0-1.7x for most classes and up to 4x for windows of the wrong motion):
    their window loss would otherwise teach the student the source's pace under the target's
    label.  A class without shots, or a still window, gets 1.
    """
    shot_speed = np.array([motion_speed(j, skeleton, fps) for j in shot_joints])
    factors = np.ones(neighbours.shape, np.float32)
    for k in range(neighbours.shape[0]):
        own = shot_speed[np.asarray(shot_classes) == k]
        if not len(own):
            continue
        for j, candidate in enumerate(neighbours[k]):
            speed = windows.speed(candidate)
            if speed > 1e-6:
                factors[k, j] = float(np.clip(own.mean() / speed, *limits))
    return factors
