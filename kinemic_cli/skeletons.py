"""Skeletons as data, and linear joint maps between them.

A :class:`Skeleton` is a plain description (joint names, parent list, mirror pairs,
channel count, native fps, named landmarks) so that models, renderers and normalisers
never hard-code joint indices of one dataset.  Plugins register new skeletons with
:func:`register_skeleton`; a custom skeleton can also be read from YAML.

Joint maps are linear: every target joint is a weighted sum of source joints.  Linear
maps cover interpolation (spine points between Kinect joints) and extrapolation (hand
tips along the forearm: ``1.6 * wrist - 0.6 * elbow``) alike, apply to whole clips with
one einsum, and are easy to inspect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import KinemicError

__all__ = [
    "Skeleton",
    "register_skeleton",
    "get_skeleton",
    "list_skeletons",
    "skeleton_from_yaml",
    "JointMap",
    "register_joint_map",
    "get_joint_map",
    "convert_joints",
    "project_to_image",
    "SMPL22",
    "NTU25",
    "OPENPOSE18",
]


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree and the facts about it that code needs.

    ``landmarks`` names the joints that normalisers look for (``root``, ``left_hip``,
    ``right_hip``, ``left_shoulder``, ``right_shoulder``, ``neck``); ``channels`` is 3 for
    3D positions and 3 for 2D + score (``is_2d`` tells the two apart).  Y is up for 3D
    skeletons.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    mirror_pairs: tuple[tuple[int, int], ...]
    fps: float
    channels: int = 3
    is_2d: bool = False
    landmarks: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        if len(self.parents) != n:
            raise KinemicError(f"skeleton {self.name!r}: {n} joint names but {len(self.parents)} parents")
        roots = [j for j, p in enumerate(self.parents) if p < 0]
        if len(roots) != 1:
            raise KinemicError(f"skeleton {self.name!r}: needs exactly one root joint, found {len(roots)}")
        for j, p in enumerate(self.parents):
            if p >= n:
                raise KinemicError(f"skeleton {self.name!r}: parent {p} of joint {j} out of range")
        for a, b in self.mirror_pairs:
            if not (0 <= a < n and 0 <= b < n):
                raise KinemicError(f"skeleton {self.name!r}: mirror pair ({a}, {b}) out of range")
        for key, j in self.landmarks.items():
            if not 0 <= j < n:
                raise KinemicError(f"skeleton {self.name!r}: landmark {key!r}={j} out of range")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def root(self) -> int:
        return self.parents.index(-1)

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(child, parent) pairs: the edges of the graph convolution."""
        return [(j, p) for j, p in enumerate(self.parents) if p >= 0]

    def mirror_permutation(self) -> np.ndarray:
        """Index array that swaps left and right joints."""
        perm = np.arange(self.num_joints)
        for a, b in self.mirror_pairs:
            perm[a], perm[b] = b, a
        return perm

    def landmark(self, key: str) -> int:
        try:
            return self.landmarks[key]
        except KeyError:
            raise KinemicError(f"skeleton {self.name!r} has no landmark {key!r}") from None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "joint_names": list(self.joint_names),
            "parents": list(self.parents),
            "mirror_pairs": [list(p) for p in self.mirror_pairs],
            "fps": self.fps,
            "channels": self.channels,
            "is_2d": self.is_2d,
            "landmarks": dict(self.landmarks),
        }

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "skeleton") -> "Skeleton":
        known = {"name", "joint_names", "parents", "mirror_pairs", "fps", "channels", "is_2d", "landmarks"}
        unknown = set(data) - known
        if unknown:
            raise KinemicError(f"{source}: unknown skeleton keys {sorted(unknown)}")
        missing = {"name", "joint_names", "parents", "fps"} - set(data)
        if missing:
            raise KinemicError(f"{source}: skeleton is missing {sorted(missing)}")
        try:
            return cls(
                name=str(data["name"]),
                joint_names=tuple(str(n) for n in data["joint_names"]),
                parents=tuple(int(p) for p in data["parents"]),
                mirror_pairs=tuple((int(a), int(b)) for a, b in data.get("mirror_pairs", [])),
                fps=float(data["fps"]),
                channels=int(data.get("channels", 3)),
                is_2d=bool(data.get("is_2d", False)),
                landmarks={str(k): int(v) for k, v in dict(data.get("landmarks", {})).items()},
            )
        except (TypeError, ValueError) as exc:
            raise KinemicError(f"{source}: malformed skeleton ({exc})") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


SMPL22 = Skeleton(
    name="smpl22",
    joint_names=(
        "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
        "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
        "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    ),
    parents=(-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19),
    mirror_pairs=((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21)),
    fps=20.0,
    landmarks={
        "root": 0, "left_hip": 1, "right_hip": 2, "neck": 12, "head": 15,
        "left_shoulder": 16, "right_shoulder": 17, "spine": 6,
        "left_foot": 10, "right_foot": 11, "left_ankle": 7, "right_ankle": 8,
    },
)

NTU25 = Skeleton(
    name="ntu25",
    joint_names=(
        "SpineBase", "SpineMid", "Neck", "Head", "ShoulderLeft", "ElbowLeft", "WristLeft",
        "HandLeft", "ShoulderRight", "ElbowRight", "WristRight", "HandRight", "HipLeft",
        "KneeLeft", "AnkleLeft", "FootLeft", "HipRight", "KneeRight", "AnkleRight",
        "FootRight", "SpineShoulder", "HandTipLeft", "ThumbLeft", "HandTipRight", "ThumbRight",
    ),
    parents=(-1, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 1, 7, 7, 11, 11),
    mirror_pairs=(
        (4, 8), (5, 9), (6, 10), (7, 11), (12, 16), (13, 17), (14, 18), (15, 19), (21, 23), (22, 24),
    ),
    fps=30.0,
    landmarks={
        "root": 0, "left_hip": 12, "right_hip": 16, "neck": 2, "head": 3,
        "left_shoulder": 4, "right_shoulder": 8, "spine": 1,
        "left_foot": 15, "right_foot": 19, "left_ankle": 14, "right_ankle": 18,
    },
)

OPENPOSE18 = Skeleton(
    name="openpose18",
    joint_names=(
        "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
        "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    ),
    parents=(1, -1, 1, 2, 3, 1, 5, 6, 1, 8, 9, 1, 11, 12, 0, 0, 14, 15),
    mirror_pairs=((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17)),
    fps=30.0,
    channels=3,
    is_2d=True,
    landmarks={
        "root": 1, "neck": 1, "head": 0, "left_hip": 11, "right_hip": 8,
        "left_shoulder": 5, "right_shoulder": 2, "left_ankle": 13, "right_ankle": 10,
    },
)

_SKELETONS: dict[str, Skeleton] = {}


def register_skeleton(skeleton: Skeleton, *, replace: bool = False) -> Skeleton:
    """Make a skeleton known by name (plugins call this at import time)."""
    existing = _SKELETONS.get(skeleton.name)
    if existing is not None and existing != skeleton and not replace:
        raise KinemicError(f"a different skeleton named {skeleton.name!r} is already registered")
    _SKELETONS[skeleton.name] = skeleton
    return skeleton


def get_skeleton(name: str) -> Skeleton:
    try:
        return _SKELETONS[name]
    except KeyError:
        raise KinemicError(f"unknown skeleton {name!r}; known: {', '.join(sorted(_SKELETONS))}") from None


def list_skeletons() -> list[str]:
    return sorted(_SKELETONS)


def skeleton_from_yaml(path: str | Path) -> Skeleton:
    """Read a custom skeleton (keys as :meth:`Skeleton.to_dict`) from a YAML file."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise KinemicError(f"{path}: skeleton file not found") from None
    except yaml.YAMLError as exc:
        raise KinemicError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise KinemicError(f"{path}: a skeleton file must hold a mapping")
    return Skeleton.from_dict(data, source=str(path))


for _s in (SMPL22, NTU25, OPENPOSE18):
    register_skeleton(_s)


# --------------------------------------------------------------------------- joint maps


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
