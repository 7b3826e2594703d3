"""Skeletons as data, and the registry that names them.

A :class:`Skeleton` is a plain description (joint names, parent list, mirror pairs,
channel count, native fps, named landmarks) so that models, renderers and normalisers
never hard-code joint indices of one dataset.  Plugins register new skeletons with
:func:`register_skeleton`; a custom skeleton can also be read from YAML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import KinemicError

__all__ = ["Skeleton", "register_skeleton", "get_skeleton", "list_skeletons", "skeleton_from_yaml"]


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
    from ..runtime.config_files import read_yaml_mapping

    return Skeleton.from_dict(read_yaml_mapping(path, what="skeleton file"), source=str(path))
