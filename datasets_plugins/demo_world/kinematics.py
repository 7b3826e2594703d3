"""Forward kinematics on ``smpl22``: body proportions, pose channels, joint positions.

A pose is a set of named *channels* (one value per frame, radians or metres), each with a
neutral standing value.  Channels are chosen so that motions are easy to author and
impossible to break: a limb is moved by swinging its bone (elevation from hanging, azimuth
around the body, twist), a knee or elbow by one flexion angle, the trunk by bend / side
bend / twist spread over the spine joints.  Every channel is turned into a rotation about
a joint of the kinematic tree and joint positions come from chaining rotations with fixed
bone offsets, so bone lengths are constant by construction whatever a motion asks for.

Conventions (as HumanML3D): Y up, the body faces +Z at yaw 0, its left side is +X.
Legs and feet are posed in the *heading* frame (yaw only) rather than the pelvis frame, so
leaning the trunk never swings the legs; arms are posed in the chest (``spine3``) frame.
Feet are put on the floor afterwards: the root height is chosen so the lowest foot joint
sits at ``FOOT_CLEARANCE`` (plus the ``air`` channel while jumping), and the root slides
horizontally so that *anchored* feet stay where they stood (squats push the hips back
instead of the feet forward).

Everything is vectorised over frames: one call costs a few hundred numpy operations on
``[T, 3, 3]`` arrays whatever the clip length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CHANNELS",
    "FOOT_CLEARANCE",
    "VELOCITY_CHANNELS",
    "Body",
    "bone_lengths",
    "forward_kinematics",
    "rest_channels",
    "sample_body",
]

FOOT_CLEARANCE = 0.03  # height of the smpl22 foot joint (ball of the foot) over the floor, metres

# Offsets of each joint from its parent in the neutral pose (limbs hanging straight down),
# for a body about 1.72 m tall.  Rows follow SMPL22.joint_names.
_REST_OFFSETS = np.array(
    [
        [0.0, 0.0, 0.0],  # pelvis (root; placed by the root trajectory)
        [0.09, -0.08, -0.01],  # left_hip
        [-0.09, -0.08, -0.01],  # right_hip
        [0.0, 0.11, -0.01],  # spine1
        [0.0, -0.40, 0.0],  # left_knee   (thigh)
        [0.0, -0.40, 0.0],  # right_knee
        [0.0, 0.13, 0.01],  # spine2
        [0.0, -0.41, 0.0],  # left_ankle  (shank)
        [0.0, -0.41, 0.0],  # right_ankle
        [0.0, 0.06, 0.01],  # spine3
        [0.0, -0.055, 0.12],  # left_foot
        [0.0, -0.055, 0.12],  # right_foot
        [0.0, 0.21, -0.02],  # neck
        [0.08, 0.12, -0.01],  # left_collar
        [-0.08, 0.12, -0.01],  # right_collar
        [0.0, 0.10, 0.04],  # head
        [0.11, 0.03, -0.01],  # left_shoulder
        [-0.11, 0.03, -0.01],  # right_shoulder
        [0.0, -0.27, 0.0],  # left_elbow  (upper arm)
        [0.0, -0.27, 0.0],  # right_elbow
        [0.0, -0.25, 0.0],  # left_wrist  (forearm)
        [0.0, -0.25, 0.0],  # right_wrist
    ]
)

# Which proportion scale stretches which offset (besides the global height scale).
_SEGMENT_OF_JOINT = {
    1: "hips", 2: "hips", 3: "torso", 6: "torso", 9: "torso", 12: "torso", 15: "torso",
    13: "shoulders", 14: "shoulders", 16: "shoulders", 17: "shoulders",
    4: "legs", 5: "legs", 7: "legs", 8: "legs", 10: "feet", 11: "feet",
    18: "arms", 19: "arms", 20: "arms", 21: "arms",
}

_D = np.pi / 180.0

# Channel name -> neutral standing value.  Arm channels: ``elev`` lifts the arm away from
# hanging (90 deg horizontal, 180 overhead), ``azim`` says where to (0 forward, 90 to the
# side, negative across the body), ``twist`` turns the elbow's bending plane (0: the
# forearm folds forward from a hanging arm; +90 on a side-raised arm: it folds upward).
# Leg channels alike; ``ankle`` is the foot's pitch against the floor (positive: toes down).
# ``anchor_l``/``anchor_r`` (0..1) say which feet are planted.  ``air`` lifts the whole body.
CHANNELS: dict[str, float] = {
    "pelvis_roll": 0.0,
    "spine_bend": 2.0 * _D,
    "spine_side": 0.0,
    "spine_twist": 0.0,
    "neck_nod": 0.0,
    "neck_turn": 0.0,
    "air": 0.0,
    **{f"{s}_{k}": v for s in "lr" for k, v in (
        ("arm_elev", 8.0 * _D), ("arm_azim", 45.0 * _D), ("arm_twist", 0.0), ("elbow", 12.0 * _D),
        ("leg_elev", 0.0), ("leg_azim", 0.0), ("knee", 3.0 * _D), ("ankle", 0.0),
        ("anchor", 1.0),
    )},
}

# Channels that are rates, integrated over time into the root trajectory (heading frame):
# turning speed (rad/s, positive turns left) and walking speed forward / to the left (m/s).
VELOCITY_CHANNELS: dict[str, float] = {"yaw_rate": 0.0, "fwd_speed": 0.0, "side_speed": 0.0}


@dataclass(frozen=True)
class Body:
    """Proportions of one performer: a height scale and per-segment length scales."""

    height: float = 1.0
    legs: float = 1.0
    torso: float = 1.0
    arms: float = 1.0
    shoulders: float = 1.0
    hips: float = 1.0
    feet: float = 1.0

    def offsets(self) -> np.ndarray:
        """``[22, 3]`` parent-relative joint offsets of this body in the neutral pose."""
        out = _REST_OFFSETS * self.height
        for j, seg in _SEGMENT_OF_JOINT.items():
            out[j] = out[j] * getattr(self, seg)
        return out


def sample_body(rng: np.random.Generator, *, spread: float = 1.0, height_mean: float = 1.0,
                limb_bias: float = 0.0) -> Body:
    """Draw proportions: ``spread`` widens every distribution, ``limb_bias`` lengthens arms
    and shortens legs (a systematic difference between two populations of performers)."""
    g = lambda sd: float(np.clip(rng.normal(0.0, sd * spread), -2.5 * sd * spread, 2.5 * sd * spread))
    return Body(
        height=height_mean * (1.0 + g(0.045)),
        legs=1.0 - 0.5 * limb_bias + g(0.03),
        torso=1.0 + g(0.03),
        arms=1.0 + limb_bias + g(0.03),
        shoulders=1.0 + g(0.05),
        hips=1.0 + g(0.06),
        feet=1.0 + g(0.05),
    )


def rest_channels(frames: int) -> dict[str, np.ndarray]:
    """Every pose and velocity channel at its neutral value for ``frames`` frames."""
    out = {k: np.full(frames, v) for k, v in CHANNELS.items()}
    out.update({k: np.full(frames, v) for k, v in VELOCITY_CHANNELS.items()})
    return out


def _rx(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _ry(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rz(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _apply(rot: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """``[T, 3, 3] @ [3]`` or ``[T, 3]`` -> ``[T, 3]``."""
    return np.einsum("tij,...j->ti", rot, vec) if vec.ndim == 1 else np.einsum("tij,tj->ti", rot, vec)


def _limb_swing(elev: np.ndarray, azim: np.ndarray, twist: np.ndarray, side: float) -> np.ndarray:
    """Rotation of a hanging limb: bend plane first (twist), then lift forward, then turn
    the lift toward ``azim``.  ``side`` is +1 for left limbs, -1 for right ones (mirror)."""
    return _ry(side * azim) @ _rx(-elev) @ _ry(side * (twist - azim))


def yaw_and_root_track(ch: dict[str, np.ndarray], fps: float, yaw0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Integrate the velocity channels: heading ``[T]`` and horizontal root track ``[T, 2]`` (x, z)."""
    dt = 1.0 / fps
    yaw = yaw0 + np.concatenate([[0.0], np.cumsum(ch["yaw_rate"][:-1] * dt)])
    vx = ch["fwd_speed"] * np.sin(yaw) + ch["side_speed"] * np.cos(yaw)
    vz = ch["fwd_speed"] * np.cos(yaw) - ch["side_speed"] * np.sin(yaw)
    track = np.stack([np.concatenate([[0.0], np.cumsum(vx[:-1] * dt)]), np.concatenate([[0.0], np.cumsum(vz[:-1] * dt)])], -1)
    return yaw, track


def forward_kinematics(body: Body, ch: dict[str, np.ndarray], *, fps: float = 20.0, yaw0: float = 0.0) -> np.ndarray:
    """Joint positions ``[T, 22, 3]`` (float64, metres) of ``body`` following channels ``ch``.

    Missing channels take their neutral value.  The root starts over the origin facing
    ``yaw0``; it then moves with the velocity channels and the foot anchoring.
    """
    T = len(next(iter(ch.values())))
    full = rest_channels(T)
    full.update({k: np.asarray(v, dtype=np.float64) for k, v in ch.items()})
    ch = full
    off = body.offsets()
    yaw, track = yaw_and_root_track(ch, fps, yaw0)
    heading = _ry(yaw)
    pos = np.zeros((T, 22, 3))

    # trunk: 40% of the bend happens at the hips (pelvis tilt), the rest along the spine
    bend, side, twist = ch["spine_bend"], ch["spine_side"], ch["spine_twist"]
    pelvis = heading @ _rx(0.4 * bend) @ _rz(ch["pelvis_roll"] + 0.2 * side)
    spine_local = _rx(0.2 * bend) @ _rz(0.27 * side) @ _ry(twist / 3.0)
    pos[:, 1] = _apply(pelvis, off[1])
    pos[:, 2] = _apply(pelvis, off[2])
    pos[:, 3] = _apply(pelvis, off[3])
    g3 = pelvis @ spine_local
    pos[:, 6] = pos[:, 3] + _apply(g3, off[6])
    g6 = g3 @ spine_local
    pos[:, 9] = pos[:, 6] + _apply(g6, off[9])
    chest = g6 @ spine_local
    pos[:, 12] = pos[:, 9] + _apply(chest, off[12])
    neck = chest @ _rx(ch["neck_nod"]) @ _ry(ch["neck_turn"])
    pos[:, 15] = pos[:, 12] + _apply(neck, off[15])

    for s, sign, collar, shoulder, elbow, wrist in (("l", 1.0, 13, 16, 18, 20), ("r", -1.0, 14, 17, 19, 21)):
        elev = ch[f"{s}_arm_elev"]
        # the shoulder girdle lifts a little when the arm goes above the horizontal
        shrug = 0.22 * np.clip(elev - np.pi / 2, 0.0, None)
        pos[:, collar] = pos[:, 9] + _apply(chest, off[collar])
        g_collar = chest @ _rz(sign * shrug)
        pos[:, shoulder] = pos[:, collar] + _apply(g_collar, off[shoulder])
        g_upper = chest @ _limb_swing(elev, ch[f"{s}_arm_azim"], ch[f"{s}_arm_twist"], sign)
        pos[:, elbow] = pos[:, shoulder] + _apply(g_upper, off[elbow])
        g_fore = g_upper @ _rx(-ch[f"{s}_elbow"])
        pos[:, wrist] = pos[:, elbow] + _apply(g_fore, off[wrist])

    for s, sign, hip, knee, ankle, foot in (("l", 1.0, 1, 4, 7, 10), ("r", -1.0, 2, 5, 8, 11)):
        azim = ch[f"{s}_leg_azim"]
        g_thigh = heading @ _limb_swing(ch[f"{s}_leg_elev"], azim, np.zeros(T), sign)
        pos[:, knee] = pos[:, hip] + _apply(g_thigh, off[knee])
        g_shank = g_thigh @ _rx(ch[f"{s}_knee"])
        pos[:, ankle] = pos[:, knee] + _apply(g_shank, off[ankle])
        g_foot = heading @ _rx(ch[f"{s}_ankle"])
        pos[:, foot] = pos[:, ankle] + _apply(g_foot, off[foot])

    # feet on the floor: anchored feet keep their neutral place under the body
    rest = _neutral_ankles(body)
    w = np.stack([ch["l_anchor"], ch["r_anchor"]], -1).clip(0.0, 1.0)  # [T, 2]
    wsum = w.sum(-1, keepdims=True)
    local_ankles = np.einsum("tji,tkj->tki", heading, pos[:, [7, 8]])  # into the heading frame
    drift = ((rest[None] - local_ankles) * w[..., None]).sum(1) / np.maximum(wsum, 1e-6)
    drift *= np.minimum(wsum, 1.0)
    drift[:, 1] = 0.0
    shift = _apply(heading, drift)
    shift[:, 0] += track[:, 0]
    shift[:, 2] += track[:, 1]
    lowest = pos[:, [7, 8, 10, 11], 1].min(-1)
    shift[:, 1] = FOOT_CLEARANCE - lowest + ch["air"]
    return pos + shift[:, None, :]


def _neutral_ankles(body: Body) -> np.ndarray:
    """Ankle positions ``[2, 3]`` relative to the root in the neutral pose (heading frame)."""
    off = body.offsets()
    legs = off[[4, 4]] + off[[7, 7]]
    return off[[1, 2]] + legs


def bone_lengths(joints: np.ndarray, parents: tuple[int, ...]) -> np.ndarray:
    """``[..., J, 3]`` positions -> ``[..., J-1]`` lengths of the (child, parent) bones."""
    idx = [j for j, p in enumerate(parents) if p >= 0]
    par = [parents[j] for j in idx]
    return np.linalg.norm(joints[..., idx, :] - joints[..., par, :], axis=-1)
