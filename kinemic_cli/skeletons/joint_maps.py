"""Linear joint maps between skeletons, and the projection of ``smpl22`` joints to ``openpose18`` images.

Joint maps are linear: every target joint is a weighted sum of source joints.  Linear
maps cover interpolation (spine points between Kinect joints) and extrapolation (hand
tips along the forearm: ``1.6 * wrist - 0.6 * elbow``) alike, apply to whole clips with
one einsum, and are easy to inspect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import KinemicError
from .builtin import OPENPOSE18, SMPL22
from .skeleton import get_skeleton

__all__ = ["JointMap", "register_joint_map", "get_joint_map", "convert_joints", "project_to_image"]

@dataclass(frozen=True)
class JointMap:
    """``target = weights @ source`` per frame; ``weights`` is [J_target, J_source]."""

    source: str
    target: str
    weights: np.ndarray

    def apply(self, frames: np.ndarray) -> np.ndarray:
        """Map ``[..., J_source, C]`` positions to ``[..., J_target, C]``."""
        frames = np.asarray(frames)
        if frames.shape[-2] != self.weights.shape[1]:
            raise KinemicError(
                f"joint map {self.source}->{self.target} expects {self.weights.shape[1]} joints, got {frames.shape[-2]}"
            )
        out = np.einsum("ts,...sc->...tc", self.weights, frames.astype(np.float64))
        return out.astype(frames.dtype, copy=False)


_JOINT_MAPS: dict[tuple[str, str], JointMap] = {}


def register_joint_map(source: str, target: str, recipe: dict[str, dict[str, float]]) -> JointMap:
    """Register a map from a recipe ``{target_joint: {source_joint: weight, ...}}``.

    Every target joint must appear; weights of one target joint must sum to 1 so the map
    commutes with translation (checked).
    """
    src, dst = get_skeleton(source), get_skeleton(target)
    weights = np.zeros((dst.num_joints, src.num_joints))
    missing = [n for n in dst.joint_names if n not in recipe]
    if missing:
        raise KinemicError(f"joint map {source}->{target}: no recipe for {missing}")
    for t_name, parts in recipe.items():
        t = dst.joint_names.index(t_name)
        for s_name, w in parts.items():
            weights[t, src.joint_names.index(s_name)] += w
        if abs(weights[t].sum() - 1.0) > 1e-9:
            raise KinemicError(f"joint map {source}->{target}: weights of {t_name} sum to {weights[t].sum()}")
    jm = JointMap(source, target, weights)
    _JOINT_MAPS[(source, target)] = jm
    return jm


def get_joint_map(source: str, target: str) -> JointMap:
    try:
        return _JOINT_MAPS[(source, target)]
    except KeyError:
        known = ", ".join(f"{a}->{b}" for a, b in sorted(_JOINT_MAPS)) or "none"
        raise KinemicError(f"no joint map from {source!r} to {target!r}; known maps: {known}") from None


def convert_joints(frames: np.ndarray, source: str, target: str) -> np.ndarray:
    """Convert ``[..., J, C]`` positions between skeletons (identity if equal)."""
    if source == target:
        return frames
    return get_joint_map(source, target).apply(frames)


def _lerp(a: str, b: str, t: float) -> dict[str, float]:
    return {a: 1.0 - t, b: t} if a != b else {a: 1.0}


def _extrapolate(end: str, base: str, t: float) -> dict[str, float]:
    """A point beyond ``end`` along the segment base->end, ``t`` segment lengths further."""
    return {end: 1.0 + t, base: -t}


register_joint_map(
    "ntu25",
    "smpl22",
    {
        "pelvis": {"SpineBase": 1.0},
        "left_hip": {"HipLeft": 1.0},
        "right_hip": {"HipRight": 1.0},
        "spine1": _lerp("SpineBase", "SpineMid", 0.5),
        "left_knee": {"KneeLeft": 1.0},
        "right_knee": {"KneeRight": 1.0},
        "spine2": {"SpineMid": 1.0},
        "left_ankle": {"AnkleLeft": 1.0},
        "right_ankle": {"AnkleRight": 1.0},
        "spine3": _lerp("SpineMid", "SpineShoulder", 0.6),
        "left_foot": {"FootLeft": 1.0},
        "right_foot": {"FootRight": 1.0},
        "neck": {"Neck": 1.0},
        "left_collar": _lerp("SpineShoulder", "ShoulderLeft", 0.45),
        "right_collar": _lerp("SpineShoulder", "ShoulderRight", 0.45),
        "head": {"Head": 1.0},
        "left_shoulder": {"ShoulderLeft": 1.0},
        "right_shoulder": {"ShoulderRight": 1.0},
        "left_elbow": {"ElbowLeft": 1.0},
        "right_elbow": {"ElbowRight": 1.0},
        "left_wrist": {"WristLeft": 1.0},
        "right_wrist": {"WristRight": 1.0},
    },
)

register_joint_map(
    "smpl22",
    "ntu25",
    {
        "SpineBase": {"pelvis": 1.0},
        "SpineMid": {"spine2": 1.0},
        "Neck": {"neck": 1.0},
        "Head": {"head": 1.0},
        "ShoulderLeft": {"left_shoulder": 1.0},
        "ElbowLeft": {"left_elbow": 1.0},
        "WristLeft": {"left_wrist": 1.0},
        "HandLeft": _extrapolate("left_wrist", "left_elbow", 0.3),
        "ShoulderRight": {"right_shoulder": 1.0},
        "ElbowRight": {"right_elbow": 1.0},
        "WristRight": {"right_wrist": 1.0},
        "HandRight": _extrapolate("right_wrist", "right_elbow", 0.3),
        "HipLeft": {"left_hip": 1.0},
        "KneeLeft": {"left_knee": 1.0},
        "AnkleLeft": {"left_ankle": 1.0},
        "FootLeft": {"left_foot": 1.0},
        "HipRight": {"right_hip": 1.0},
        "KneeRight": {"right_knee": 1.0},
        "AnkleRight": {"right_ankle": 1.0},
        "FootRight": {"right_foot": 1.0},
        "SpineShoulder": _lerp("spine3", "neck", 0.5),
        "HandTipLeft": _extrapolate("left_wrist", "left_elbow", 0.6),
        "ThumbLeft": _extrapolate("left_wrist", "left_elbow", 0.45),
        "HandTipRight": _extrapolate("right_wrist", "right_elbow", 0.6),
        "ThumbRight": _extrapolate("right_wrist", "right_elbow", 0.45),
    },
)


# smpl22 -> openpose18 happens in 3D first (face points from head/neck/shoulders), then a
# pinhole projection; eyes and ears sit beside the head along the shoulder line.
_SMPL_TO_OPENPOSE_3D = {
    "Nose": {"head": 1.0},
    "Neck": {"neck": 1.0},
    "RShoulder": {"right_shoulder": 1.0},
    "RElbow": {"right_elbow": 1.0},
    "RWrist": {"right_wrist": 1.0},
    "LShoulder": {"left_shoulder": 1.0},
    "LElbow": {"left_elbow": 1.0},
    "LWrist": {"left_wrist": 1.0},
    "RHip": {"right_hip": 1.0},
    "RKnee": {"right_knee": 1.0},
    "RAnkle": {"right_ankle": 1.0},
    "LHip": {"left_hip": 1.0},
    "LKnee": {"left_knee": 1.0},
    "LAnkle": {"left_ankle": 1.0},
    "REye": {"head": 1.05, "neck": -0.05, "right_shoulder": 0.1, "left_shoulder": -0.1},
    "LEye": {"head": 1.05, "neck": -0.05, "left_shoulder": 0.1, "right_shoulder": -0.1},
    "REar": {"head": 1.0, "right_shoulder": 0.2, "left_shoulder": -0.2},
    "LEar": {"head": 1.0, "left_shoulder": 0.2, "right_shoulder": -0.2},
}


def _openpose_weights() -> np.ndarray:
    src, dst = SMPL22, OPENPOSE18
    w = np.zeros((dst.num_joints, src.num_joints))
    for t_name, parts in _SMPL_TO_OPENPOSE_3D.items():
        for s_name, v in parts.items():
            w[dst.joint_names.index(t_name), src.joint_names.index(s_name)] += v
    return w


def project_to_image(
    joints: np.ndarray,
    *,
    yaw_degrees: float = 0.0,
    distance: float = 4.0,
    height: float = 1.0,
    focal: float = 1.2,
) -> np.ndarray:
    """Project 3D ``smpl22`` joints ``[..., 22, 3]`` to ``openpose18`` ``[..., 18, 3]``.

    A pinhole camera ``distance`` metres in front of the origin at ``height``, turned by
    ``yaw_degrees`` about Y, looking at the body.  Output channels are (x, y, score) with
    x, y normalised to roughly 0..1 image coordinates (y down) as in Kinetics-skeleton,
    and score 1 for every joint.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.shape[-2:] != (22, 3):
        raise KinemicError(f"project_to_image expects smpl22 joints [..., 22, 3], got {joints.shape}")
    pts = np.einsum("ts,...sc->...tc", _openpose_weights(), joints)
    a = np.deg2rad(yaw_degrees)
    rot = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    cam = pts @ rot.T
    cam = cam - np.array([0.0, height, distance])  # camera on +z, looking along -z at the body
    depth = np.maximum(-cam[..., 2], 1e-3)
    x = 0.5 + focal * cam[..., 0] / depth / 2.0
    y = 0.5 - focal * cam[..., 1] / depth / 2.0
    score = np.ones_like(x)
    return np.stack([x, y, score], axis=-1).astype(np.float32)
