"""Features -> joints in torch, batched and differentiable, for losses on decoded motion.

The generator predicts normalised features (``x0``); a loss on the *joints* those features
decode to (how fast each joint moves, where the feet are) needs the decoding inside the
autograd graph.  :func:`joints_from_features` is the batched torch twin of each feature
space's ``to_joints`` (:mod:`.features`): the root's heading and floor path are integrated
with ``cumsum`` from the per-frame yaw rate and planar velocity, and the body-relative
joints are turned into the world frame.  It agrees with ``to_joints`` to float precision
(tested), so losses and metrics speak of the same motion.

Padding at the end of a clip does not disturb the real frames (integration runs forward).
"""

from __future__ import annotations

import torch

from ..errors import KinemicError
from .features import FeatureSpace, HumanML3DFeatures, RootRelativeFeatures
from .normaliser import Normaliser

__all__ = ["rotate_y_torch", "joints_from_features", "FeatureDecoder"]


def rotate_y_torch(v: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate ``[..., 3]`` about +Y by ``angle`` (broadcast over ``...``), as ``motion.features.rotate_y``."""
    c, s = torch.cos(angle), torch.sin(angle)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return torch.stack([c * x + s * z, y, -s * x + c * z], dim=-1)


def _integrate(steps: torch.Tensor) -> torch.Tensor:
    """``[B, T, ...]`` -> running sum of the steps BEFORE each frame (0 at frame 0)."""
    return torch.cumsum(torch.cat([torch.zeros_like(steps[:, :1]), steps[:, :-1]], dim=1), dim=1)


def joints_from_features(space: FeatureSpace, features: torch.Tensor) -> torch.Tensor:
    """Un-normalised features ``[B, T, F]`` -> joints ``[B, T, J, 3]`` (the space's canonical frame)."""
    if features.dim() != 3 or features.shape[-1] != space.dim:
        raise KinemicError(f"expected features [B, T, {space.dim}] ({space.name}), got {tuple(features.shape)}")
    b, n = features.shape[:2]
    zero = torch.zeros_like(features[..., 0])
    if isinstance(space, RootRelativeFeatures):
        heading = _integrate(features[..., 0])
        velocity = torch.stack([features[..., 1], zero, features[..., 2]], dim=-1)
        root_floor = _integrate(rotate_y_torch(velocity, heading))
        local = features[..., 4:].reshape(b, n, -1, 3)
        root = space.skeleton.root
        root_local = torch.stack([zero, features[..., 3], zero], dim=-1)[:, :, None]
        local = torch.cat([local[:, :, :root], root_local, local[:, :, root:]], dim=2)
        return rotate_y_torch(local, heading[..., None]) + root_floor[:, :, None]
    if isinstance(space, HumanML3DFeatures):
        heading = -2.0 * _integrate(features[..., 0])
        velocity = torch.stack([features[..., 1], zero, features[..., 2]], dim=-1)
        # HumanML3D's root velocity of frame t is turned by frame t+1's heading
        moved = rotate_y_torch(velocity[:, :-1], heading[:, 1:])
        root_floor = torch.cat([torch.zeros_like(velocity[:, :1]), torch.cumsum(moved, dim=1)], dim=1)
        ric = features[..., 4:67].reshape(b, n, 21, 3)
        world = rotate_y_torch(ric, heading[..., None]) + root_floor[:, :, None]
        root = torch.stack([root_floor[..., 0], features[..., 3], root_floor[..., 2]], dim=-1)
        return torch.cat([root[:, :, None], world], dim=2)
    raise KinemicError(f"no differentiable decoder for feature space {space.name!r}")


class FeatureDecoder:
    """Normalised features ``[B, T, F]`` -> joints ``[B, T, J, 3]`` for one prior (its space and normaliser)."""

    def __init__(self, space: FeatureSpace, normaliser: Normaliser):
        self.space = space
        self.mean = torch.as_tensor(normaliser.mean, dtype=torch.float32)
        self.std = torch.as_tensor(normaliser.std, dtype=torch.float32)

    def __call__(self, normalised: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean.to(normalised.device), self.std.to(normalised.device)
        return joints_from_features(self.space, normalised * std + mean)
