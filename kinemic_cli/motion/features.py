"""Joints <-> per-frame feature vectors for the generator.

The generator never sees raw joint positions: a clip filmed from another camera, standing
elsewhere or facing another way is the same motion, so features are *canonical*:

- the floor is at height 0 (the lowest foot/ankle height of the clip), Y is up;
- the root starts at the origin of the floor plane, facing +Z;
- per frame, joints are expressed in the root's heading frame (rotation about Y only),
  and the root's own motion is stored as velocities (yaw rate and planar velocity in the
  heading frame) plus its height, so the path is recovered by integration.

Two feature spaces implement :class:`FeatureSpace`:

``rootrel`` (any 3D skeleton, ``4 + 3 (J - 1)`` values per frame)
    ``[0]`` yaw change to the next frame (radians), ``[1:3]`` planar root velocity to the
    next frame in the heading frame, ``[3]`` root height, then every non-root joint's
    position relative to the root's floor point, in the heading frame.

``hml263`` (``smpl22`` only, 263 values per frame)
    The HumanML3D vector, so HumanML3D corpora and MDM checkpoints work as they are:
    ``[0]`` root angular velocity about Y (half-angle, as HumanML3D stores it), ``[1:3]``
    root linear velocity XZ, ``[3]`` root height, ``[4:67]`` 21 root-relative heading-
    normalised joints, ``[67:193]`` 21 local joint rotations in continuous 6D, ``[193:259]``
    22 local joint velocities, ``[259:263]`` foot contacts.  Computed as HumanML3D's
    processing computes it: the root's frame is its facing (with that code's hip/shoulder
    quirk, see :func:`hml_root_heading`) smoothed over time, and the rotation block is its
    inverse kinematics.  On HumanML3D's own sample clip (012314: its joints in, its stored
    vector to compare) every block agrees to a median 1e-5 standard deviations and a
    maximum of 0.06 on frames 1..T-2 (the first and last frames differ by how that file
    was recovered).  Joints are recovered from the root and ``ric`` blocks (HumanML3D's
    "recover from ric").  HumanML3D first retargets every clip to one reference body
    ("uniform skeleton"); given that body's bone lengths, so does this space
    (:func:`uniform_skeleton`).

Both keep the clip's length ``T`` (velocities are forward differences; the last frame
repeats the one before), and both round-trip: ``to_joints(from_joints(x))`` equals ``x``
after the canonicalising rigid motion (tested to 1e-4 m).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..errors import KinemicError
from ..skeletons import SMPL22, Skeleton

__all__ = [
    "FeatureSpace",
    "RootRelativeFeatures",
    "HumanML3DFeatures",
    "create_feature_space",
    "canonicalise",
    "heading_angles",
    "rotate_y",
    "FEATURE_SPACES",
    "bone_lengths",
    "uniform_skeleton",
    "hml_root_heading",
    "gaussian_smooth",
]


def rotate_y(v: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate vectors ``[..., 3]`` about +Y by ``angle`` (right-handed; broadcast over ``...``)."""
    c, s = np.cos(angle), np.sin(angle)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([c * x + s * z, y, -s * x + c * z], axis=-1)


def heading_angles(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Per-frame yaw ``[T]`` of the body: angle about Y from +Z to the facing direction.

    The facing direction is perpendicular (in the floor plane) to the left->right axis of
    the hips and shoulders together, as HumanML3D computes it.
    """
    lm = skeleton.landmark
    across = (joints[:, lm("right_hip")] - joints[:, lm("left_hip")]) + (
        joints[:, lm("right_shoulder")] - joints[:, lm("left_shoulder")]
    )
    # forward = up x across  (up = +Y): (across_z, 0, -across_x)
    fx, fz = across[:, 2], -across[:, 0]
    return np.arctan2(fx, fz)


#: HumanML3D smooths the facing direction over time before it turns it into the root's rotation
HML_FACING_SIGMA = 20.0


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter along axis 0 with edge padding: ``scipy.ndimage.gaussian_filter1d(x, sigma, axis=0,
    mode="nearest")`` (radius 4 sigma), written out so the features need no scipy."""
    radius = int(4.0 * sigma + 0.5)
    if sigma <= 0 or len(x) == 0:
        return np.asarray(x, np.float64)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    x = np.asarray(x, np.float64)
    padded = np.concatenate([np.repeat(x[:1], radius, axis=0), x, np.repeat(x[-1:], radius, axis=0)])
    out = np.zeros_like(x)
    for k, w in enumerate(kernel):
        out += w * padded[k : k + len(x)]
    return out


def hml_root_heading(joints: np.ndarray, sigma: float = HML_FACING_SIGMA) -> np.ndarray:
    """The yaw ``[T]`` HumanML3D gives the root of an ``smpl22`` clip (the frame of every
    other block of its vector), reproduced as its processing computes it.

    Its inverse kinematics unpacks the facing joints (right hip, left hip, right shoulder,
    left shoulder) under swapped hip names, so the across-body vector it uses is
    ``(left hip - right hip) + (right shoulder - left shoulder)``: the shoulder line minus
    the hip line, not their sum.  The forward direction (up x across) is then smoothed over
    time (Gaussian, sigma 20 frames, edges repeated) and normalised.  Matching this is what
    makes recomputed vectors agree with the stored ones (a twisting torso turns this
    heading, not the hips+shoulders one).
    """
    across = (joints[:, 1] - joints[:, 2]) + (joints[:, 17] - joints[:, 16])
    across = across / np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), 1e-12)
    forward = np.stack([across[:, 2], -across[:, 0]], axis=-1)  # up x across, (x, z)
    forward = gaussian_smooth(forward, sigma)
    return np.arctan2(forward[:, 0], forward[:, 1])


def _floor_height(joints: np.ndarray, skeleton: Skeleton) -> float:
    feet = [skeleton.landmarks[k] for k in ("left_foot", "right_foot", "left_ankle", "right_ankle")
            if k in skeleton.landmarks]
    pool = joints[:, feet, 1] if feet else joints[..., 1]
    return float(pool.min())


def canonicalise(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """The clip moved so that the floor is y=0 and frame 0's root is at the origin facing +Z."""
    joints = np.asarray(joints, dtype=np.float64)
    root = skeleton.root
    out = joints.copy()
    out[..., 1] -= _floor_height(joints, skeleton)
    out[..., [0, 2]] -= joints[0, root, [0, 2]]
    return rotate_y(out, -heading_angles(joints[:1], skeleton)[0])


def _forward_difference(x: np.ndarray) -> np.ndarray:
    """``x[t+1] - x[t]`` with the last frame repeating the one before (zero for 1 frame)."""
    d = np.zeros_like(x)
    if len(x) > 1:
        d[:-1] = x[1:] - x[:-1]
        d[-1] = d[-2]
    return d


def _check_joints(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (skeleton.num_joints, 3):
        raise KinemicError(f"expected joints [T, {skeleton.num_joints}, 3] for skeleton {skeleton.name!r}, "
                           f"got {tuple(joints.shape)}")
    if skeleton.is_2d:
        raise KinemicError(f"skeleton {skeleton.name!r} is 2D; the generator's features need 3D joints")
    return joints


class FeatureSpace:
    """joints ``[T, J, 3]`` <-> features ``[T, F]`` for one skeleton (see the module docstring)."""

    name: ClassVar[str] = ""

    def __init__(self, skeleton: Skeleton):
        self.skeleton = skeleton

    @property
    def dim(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def from_joints(self, joints: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def to_joints(self, features: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"name": self.name, "skeleton": self.skeleton.name}


class RootRelativeFeatures(FeatureSpace):
    """``rootrel``: root yaw rate, planar velocity and height + heading-frame joint offsets."""

    name = "rootrel"

    @property
    def dim(self) -> int:
        return 4 + 3 * (self.skeleton.num_joints - 1)

    def from_joints(self, joints: np.ndarray) -> np.ndarray:
        joints = canonicalise(_check_joints(joints, self.skeleton), self.skeleton)
        root = self.skeleton.root
        heading = np.unwrap(heading_angles(joints, self.skeleton))
        root_floor = joints[:, root] * np.array([1.0, 0.0, 1.0])
        local = rotate_y(joints - root_floor[:, None], -heading[:, None])
        planar_velocity = rotate_y(_forward_difference(root_floor), -heading)
        others = np.delete(local, root, axis=1).reshape(len(joints), -1)
        out = np.concatenate([_forward_difference(heading)[:, None], planar_velocity[:, [0, 2]],
                              joints[:, root, 1:2], others], axis=1)
        return out.astype(np.float32)

    def to_joints(self, features: np.ndarray) -> np.ndarray:
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != self.dim:
            raise KinemicError(f"expected features [T, {self.dim}] ({self.name}, {self.skeleton.name}), got {f.shape}")
        n, root = len(f), self.skeleton.root
        heading = np.concatenate([[0.0], np.cumsum(f[:-1, 0])])
        velocity = np.stack([f[:, 1], np.zeros(n), f[:, 2]], axis=1)
        world_velocity = rotate_y(velocity, heading)
        root_floor = np.concatenate([np.zeros((1, 3)), np.cumsum(world_velocity[:-1], axis=0)])
        local = f[:, 4:].reshape(n, -1, 3)
        local = np.insert(local, root, np.stack([np.zeros(n), f[:, 3], np.zeros(n)], axis=1), axis=1)
        joints = rotate_y(local, heading[:, None]) + root_floor[:, None]
        return joints.astype(np.float32)


# HumanML3D's rest-pose bone directions for smpl22 (the direction of each joint from its
# parent in the T-pose; the root's entry is unused) and its kinematic chains.
_HML_REST_DIRECTIONS = np.array([
    [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
    [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
    [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
], dtype=np.float64)
#: HumanML3D's kinematic chains (each starts at the root or at spine3)
_HML_CHAINS = ((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15), (9, 14, 17, 19, 21), (9, 13, 16, 18, 20))
_FOOT_CONTACT_THRESHOLD = 0.002  # squared displacement per frame (HumanML3D's velfactor)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` turning unit vectors ``a`` onto ``b`` (shortest arc)."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-9)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-9)
    v = np.cross(a, b)
    c = np.sum(a * b, axis=-1)[..., None, None]
    vx = np.zeros(v.shape[:-1] + (3, 3))
    vx[..., 0, 1], vx[..., 0, 2], vx[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    vx[..., 1, 0], vx[..., 2, 0], vx[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    eye = np.broadcast_to(np.eye(3), vx.shape)
    return eye + vx + vx @ vx / np.maximum(1.0 + c, 1e-6)


def bone_lengths(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Length of the bone ending at each joint ``[J]`` (0 for the root), on the first frame."""
    first = np.asarray(joints, np.float64)[0]
    return np.array([np.linalg.norm(first[j] - first[p]) if p >= 0 else 0.0 for j, p in enumerate(skeleton.parents)])


def uniform_skeleton(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """HumanML3D's "uniform skeleton": the clip retargeted to one reference body (``smpl22``).

    Every bone keeps its direction and takes the reference length (``lengths``, per end
    joint); the root's path is scaled by the ratio of the reference's lower-leg length
    (knee and ankle bones of the right leg) to the clip's on its first frame.  HumanML3D
    does this to every clip before computing its vector, so a prior trained on it has only
    seen that body; its processed joints all carry the reference lengths, which is where
    :func:`bone_lengths` reads them from.
    """
    joints = np.asarray(joints, np.float64)
    own = bone_lengths(joints, SMPL22)
    leg = (5, 8)
    scale = float(sum(lengths[j] for j in leg) / max(sum(own[j] for j in leg), 1e-9))
    out = np.empty_like(joints)
    out[:, 0] = joints[:, 0] * scale
    for chain in _HML_CHAINS:
        for parent, child in zip(chain[:-1], chain[1:]):
            bone = joints[:, child] - joints[:, parent]
            unit = bone / np.maximum(np.linalg.norm(bone, axis=-1, keepdims=True), 1e-12)
            out[:, child] = out[:, parent] + lengths[child] * unit
    return out


class HumanML3DFeatures(FeatureSpace):
    """``hml263``: the HumanML3D 263-d vector of an ``smpl22`` clip (see the module docstring)."""

    name = "hml263"

    def __init__(self, skeleton: Skeleton, bone_lengths: np.ndarray | None = None):
        """``bone_lengths`` (22, per end joint): retarget every clip to that body first, as
        HumanML3D does (:func:`uniform_skeleton`); ``None`` keeps each clip's own body."""
        if skeleton.name != "smpl22" or skeleton.num_joints != 22:
            raise KinemicError(f"the hml263 feature space needs the smpl22 skeleton, not {skeleton.name!r}")
        super().__init__(skeleton)
        if bone_lengths is not None:
            bone_lengths = np.asarray(bone_lengths, np.float64)
            if bone_lengths.shape != (22,) or not np.all(np.isfinite(bone_lengths)) or np.any(bone_lengths[1:] <= 0):
                raise KinemicError(f"hml263 bone lengths must be 22 finite lengths > 0 (the root's is 0), "
                                   f"got shape {bone_lengths.shape}")
        self.bone_lengths = bone_lengths

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.bone_lengths is not None:
            out["bone_lengths"] = [float(v) for v in self.bone_lengths]
        return out

    @property
    def dim(self) -> int:
        return 263

    def from_joints(self, joints: np.ndarray) -> np.ndarray:
        joints = _check_joints(joints, self.skeleton)
        if self.bone_lengths is not None:
            joints = uniform_skeleton(joints, self.bone_lengths)
        joints = canonicalise(joints, self.skeleton)
        n = len(joints)
        heading = np.unwrap(hml_root_heading(joints))
        # HumanML3D stores the half-angle of the rotation that turns the body to face +Z,
        # i.e. minus half the heading change; its root velocity uses the next frame's heading.
        next_heading = np.concatenate([heading[1:], heading[-1:]])
        root_floor = joints[:, 0] * np.array([1.0, 0.0, 1.0])
        ric = rotate_y(joints - root_floor[:, None], -heading[:, None])
        root_velocity = rotate_y(_forward_difference(root_floor), -next_heading)
        local_velocity = rotate_y(_forward_difference(joints), -heading[:, None])
        rot6d = self._local_rotations_6d(joints, heading)
        step = _forward_difference(joints)
        contacts = []
        for foot in ((7, 10), (8, 11)):
            moving = (step[:, foot] ** 2).sum(-1)
            contacts.append((moving < _FOOT_CONTACT_THRESHOLD).astype(np.float64))
        out = np.concatenate([
            -_forward_difference(heading)[:, None] / 2.0, root_velocity[:, [0, 2]], joints[:, 0, 1:2],
            ric[:, 1:].reshape(n, -1), rot6d.reshape(n, -1), local_velocity.reshape(n, -1),
            np.concatenate(contacts, axis=1),
        ], axis=1)
        return out.astype(np.float32)

    @staticmethod
    def _local_rotations_6d(joints: np.ndarray, heading: np.ndarray) -> np.ndarray:
        """HumanML3D's inverse kinematics: local rotations ``[T, 21, 6]`` of joints 1..21.

        Along each kinematic chain (``_HML_CHAINS``) a bone's *global* rotation is the
        shortest arc from its rest direction (``_HML_REST_DIRECTIONS``) to where it points;
        the local rotation stored for the bone's end joint is that global rotation seen
        from the previous bone's global rotation (the root's yaw rotation for a chain's
        first bone, also for the arms, which start at spine3).  Swing only: a twist about
        a bone cannot be seen from joint positions.  6D = the matrix's first two columns.
        """
        n = len(joints)
        c, s = np.cos(-heading), np.sin(-heading)  # the root rotation turns the body to face +Z
        root = np.zeros((n, 3, 3))
        root[:, 0, 0], root[:, 0, 2], root[:, 1, 1], root[:, 2, 0], root[:, 2, 2] = c, s, 1.0, -s, c
        local = np.broadcast_to(np.eye(3), (n, 22, 3, 3)).copy()
        for chain in _HML_CHAINS:
            previous = root
            for parent, child in zip(chain[:-1], chain[1:]):
                bone = joints[:, child] - joints[:, parent]
                rest = np.broadcast_to(_HML_REST_DIRECTIONS[child], bone.shape)
                global_rot = _rotation_between(rest, bone)
                local[:, child] = np.swapaxes(previous, -1, -2) @ global_rot
                previous = global_rot
        return np.swapaxes(local[:, 1:, :, :2], -1, -2).reshape(n, 21, 6)  # column 0, then column 1

    def to_joints(self, features: np.ndarray) -> np.ndarray:
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != 263:
            raise KinemicError(f"expected HumanML3D features [T, 263], got {f.shape}")
        n = len(f)
        heading = -2.0 * np.concatenate([[0.0], np.cumsum(f[:-1, 0])])
        velocity = np.stack([f[:, 1], np.zeros(n), f[:, 2]], axis=1)
        root_floor = np.zeros((n, 3))
        if n > 1:
            root_floor[1:] = np.cumsum(rotate_y(velocity[:-1], heading[1:]), axis=0)
        ric = f[:, 4:67].reshape(n, 21, 3)
        world = rotate_y(ric, heading[:, None]) + root_floor[:, None]
        root = np.stack([root_floor[:, 0], f[:, 3], root_floor[:, 2]], axis=1)
        return np.concatenate([root[:, None], world], axis=1).astype(np.float32)


FEATURE_SPACES: dict[str, type[FeatureSpace]] = {
    RootRelativeFeatures.name: RootRelativeFeatures,
    HumanML3DFeatures.name: HumanML3DFeatures,
}


def create_feature_space(spec: str | dict, skeleton: Skeleton) -> FeatureSpace:
    """``rootrel`` or ``hml263`` for ``skeleton``, by name or by a :meth:`FeatureSpace.to_dict`
    (which may carry ``bone_lengths`` for ``hml263``); an unknown name lists the known ones."""
    name = spec.get("name") if isinstance(spec, dict) else spec
    if name not in FEATURE_SPACES:
        raise KinemicError(f"unknown feature space {name!r}; known: {', '.join(FEATURE_SPACES)}")
    if isinstance(spec, dict) and spec.get("bone_lengths") is not None:
        if name != HumanML3DFeatures.name:
            raise KinemicError(f"feature space {name!r} takes no bone_lengths")
        return HumanML3DFeatures(skeleton, bone_lengths=np.asarray(spec["bone_lengths"], np.float64))
    return FEATURE_SPACES[name](skeleton)
