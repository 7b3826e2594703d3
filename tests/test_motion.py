"""Generator features: both feature spaces round-trip real demo-world clips; canonical; normaliser."""

from __future__ import annotations

import numpy as np
import pytest

from datasets_plugins.demo import DemoAdapter, DemoT2MAdapter
from kinemic_cli.errors import KinemicError
from kinemic_cli.motion.features import (
    HumanML3DFeatures,
    RootRelativeFeatures,
    canonicalise,
    create_feature_space,
    rotate_y,
)
from kinemic_cli.motion.normaliser import Normaliser
from kinemic_cli.plugins import PrepareRequest
from kinemic_cli.skeletons import NTU25, SMPL22, convert_joints

MAX_JOINT_ERROR_M = 1e-4  # the round trip is exact up to float32 rounding


def _demo_joints(adapter, n: int) -> list[np.ndarray]:
    return [clip.frames[:, 0] for clip in adapter.open(PrepareRequest(limit=n)).items]


@pytest.fixture(scope="module")
def clips():
    return _demo_joints(DemoT2MAdapter(), 6) + _demo_joints(DemoAdapter(), 6)


@pytest.mark.parametrize("space", [RootRelativeFeatures(SMPL22), HumanML3DFeatures(SMPL22)], ids=lambda s: s.name)
def test_round_trip_on_demo_clips(space, clips):
    for joints in clips:
        features = space.from_joints(joints)
        assert features.shape == (len(joints), space.dim) and features.dtype == np.float32
        back = space.to_joints(features)
        # hml263 (like HumanML3D's recovery) starts from the smoothed facing of frame 0, so the
        # clip comes back turned about the vertical by that small offset: compare canonical forms
        error = np.abs(canonicalise(back, SMPL22) - canonicalise(joints, SMPL22)).max()
        assert error < MAX_JOINT_ERROR_M, f"{space.name}: max joint error {error:.2e} m"
        np.testing.assert_allclose(space.from_joints(back), features, atol=1e-4)


def test_rootrel_works_for_ntu25(clips):
    joints = convert_joints(clips[0], "smpl22", "ntu25")
    space = create_feature_space("rootrel", NTU25)
    assert space.dim == 4 + 3 * 24
    back = space.to_joints(space.from_joints(joints))
    assert np.abs(back - canonicalise(joints, NTU25)).max() < MAX_JOINT_ERROR_M


def test_features_ignore_where_the_camera_was(clips):
    joints = clips[0]
    moved = rotate_y(joints, 1.1) + np.array([2.0, 0.4, -3.0])
    for space in (RootRelativeFeatures(SMPL22), HumanML3DFeatures(SMPL22)):
        np.testing.assert_allclose(space.from_joints(moved), space.from_joints(joints), atol=1e-4)


def test_hml263_layout_follows_humanml3d(clips):
    """Walking straight ahead along +Z: forward root velocity, no turning, contacts 0/1, rotations orthonormal."""
    joints = canonicalise(clips[0], SMPL22)
    walk = joints[:1].repeat(20, axis=0) + np.linspace(0, 1.0, 20)[:, None, None] * np.array([0.0, 0.0, 1.0])
    f = HumanML3DFeatures(SMPL22).from_joints(walk)
    np.testing.assert_allclose(f[:-1, 0], 0.0, atol=1e-6)  # no rotation
    np.testing.assert_allclose(f[:-1, 2], 1.0 / 19, atol=1e-5)  # +Z velocity in the root frame
    np.testing.assert_allclose(f[:, 1], 0.0, atol=1e-5)
    np.testing.assert_allclose(f[:, 3], walk[:, 0, 1] - walk[..., 1].min(), atol=1e-5)  # root height over the floor
    assert set(np.unique(f[:, 259:263])) <= {0.0, 1.0}
    rot = f[0, 67:193].reshape(21, 2, 3)  # column 0 and column 1 of each rotation matrix
    np.testing.assert_allclose(np.linalg.norm(rot, axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose((rot[:, 0] * rot[:, 1]).sum(-1), 0.0, atol=1e-5)
    # a body turning steadily towards +X (heading increases) gives HumanML3D's negative
    # half-angle rate (away from the ends, where the 4-sigma facing filter sees a straight line)
    turn = np.stack([rotate_y(joints[0], a) for a in np.linspace(0, 2.39, 240)])
    g = HumanML3DFeatures(SMPL22).from_joints(turn)
    np.testing.assert_allclose(g[81:159, 0], -0.01 / 2, atol=1e-5)


def test_wrong_shapes_and_unknown_spaces_are_refused():
    with pytest.raises(KinemicError, match="smpl22"):
        HumanML3DFeatures(NTU25)
    with pytest.raises(KinemicError, match="known: rootrel, hml263"):
        create_feature_space("quaternions", SMPL22)
    with pytest.raises(KinemicError, match=r"\[T, 22, 3\]"):
        RootRelativeFeatures(SMPL22).from_joints(np.zeros((5, 25, 3)))


def test_normaliser_streams_statistics_and_round_trips():
    rng = np.random.default_rng(0)
    data = rng.normal(loc=3.0, scale=[1.0, 2.0, 0.0], size=(1000, 3))
    norm = Normaliser.fit(data.sum(0), (data ** 2).sum(0), len(data))
    np.testing.assert_allclose(norm.mean, data.mean(0), atol=1e-6)
    assert norm.std[2] > 0  # a constant feature gets the floor, not a division by zero
    x = rng.normal(size=(7, 3)).astype(np.float32)
    np.testing.assert_allclose(norm.denormalise(norm.normalise(x)), x, atol=1e-5)


def test_gaussian_smoothing_equals_scipys_filter():
    """HumanML3D smooths the facing with scipy's gaussian_filter1d; ours is the same filter without scipy."""
    from scipy.ndimage import gaussian_filter1d

    from kinemic_cli.motion.features import gaussian_smooth

    x = np.random.default_rng(0).normal(size=(97, 2))
    for sigma in (0.7, 3.0, 20.0):
        expected = gaussian_filter1d(x, sigma, axis=0, mode="nearest")
        np.testing.assert_allclose(gaussian_smooth(x, sigma), expected, atol=1e-12)
    assert np.array_equal(gaussian_smooth(x, 0), x)


def test_hml263_uses_the_smoothed_facing(clips):
    """A body that twists left and right every second keeps one smoothed facing (sigma 20
    frames): the stored yaw rate is a small fraction of the raw per-frame twist."""
    pose = canonicalise(clips[0], SMPL22)[0]
    twist = 0.3 * np.sin(2 * np.pi * np.arange(120) / 20)
    joints = np.stack([rotate_y(pose, a) for a in twist])
    raw_rate = np.abs(np.diff(twist)).mean() / 2
    stored_rate = np.abs(HumanML3DFeatures(SMPL22).from_joints(joints)[:-1, 0]).mean()
    assert stored_rate < 0.05 * raw_rate


def _rest_pose() -> np.ndarray:
    """HumanML3D's rest directions laid out with 0.1 m bones: facing +Z, arms hanging down."""
    from kinemic_cli.motion.features import _HML_REST_DIRECTIONS

    pose = np.zeros((22, 3))
    for j, parent in enumerate(SMPL22.parents):
        if parent >= 0:
            pose[j] = pose[parent] + 0.1 * _HML_REST_DIRECTIONS[j]
    return pose + np.array([0.0, 1.0, 0.0])


def _rotations(features: np.ndarray) -> np.ndarray:
    six = features[:, 67:193].reshape(len(features), 21, 2, 3)
    third = np.cross(six[:, :, 0], six[:, :, 1])
    return np.stack([six[:, :, 0], six[:, :, 1], third], axis=-1)  # columns -> [T, 21, 3, 3]


def test_hml263_inverse_kinematics_recovers_known_rotations():
    """The rest pose gives identity everywhere; raising the left upper arm sideways (+X) gives
    the shoulder-to-elbow bone's joint a 90 degree rotation about Z, and the forearm none."""
    rest = _rest_pose()
    f = HumanML3DFeatures(SMPL22).from_joints(np.repeat(rest[None], 3, axis=0))
    np.testing.assert_allclose(_rotations(f), np.broadcast_to(np.eye(3), (3, 21, 3, 3)), atol=1e-6)
    raised = rest.copy()
    raised[18] = raised[16] + np.array([0.1, 0.0, 0.0])  # left elbow out to the side
    raised[20] = raised[18] + np.array([0.1, 0.0, 0.0])  # left wrist further out
    g = _rotations(HumanML3DFeatures(SMPL22).from_joints(np.repeat(raised[None], 3, axis=0)))
    rz90 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(g[:, 18 - 1], np.broadcast_to(rz90, (3, 3, 3)), atol=1e-6)
    np.testing.assert_allclose(g[:, 20 - 1], np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-6)


def test_hml263_rotations_rebuild_every_bone_direction(clips):
    """Forward kinematics of the rotation block (from the root's facing, along HumanML3D's
    chains) points every bone where the clip's bone points: the inverse kinematics is exact."""
    from kinemic_cli.motion.features import _HML_CHAINS, _HML_REST_DIRECTIONS, hml_root_heading

    joints = canonicalise(clips[0], SMPL22)
    f = HumanML3DFeatures(SMPL22).from_joints(joints)
    local = _rotations(f.astype(np.float64))
    heading = np.unwrap(hml_root_heading(joints))
    c, s = np.cos(-heading), np.sin(-heading)
    root = np.zeros((len(joints), 3, 3))
    root[:, 0, 0], root[:, 0, 2], root[:, 1, 1], root[:, 2, 0], root[:, 2, 2] = c, s, 1.0, -s, c
    for chain in _HML_CHAINS:
        rotation = root
        for parent, child in zip(chain[:-1], chain[1:]):
            rotation = rotation @ local[:, child - 1]
            bone = joints[:, child] - joints[:, parent]
            expected = bone / np.linalg.norm(bone, axis=-1, keepdims=True)
            np.testing.assert_allclose(rotation @ _HML_REST_DIRECTIONS[child], expected, atol=2e-5)


def test_hml263_root_frame_follows_humanml3ds_facing_quirk():
    """HumanML3D's inverse kinematics reads the facing joints under swapped hip names: its
    across vector is the shoulder line minus the hip line.  Hips 0.24 m apart facing +Z,
    shoulders 0.34 m apart turned 0.3 rad: its root faces atan2(0.1005, 0.0848) = 0.870 rad,
    where hips plus shoulders would say atan2(0.1005, 0.5648) = 0.176 rad."""
    from kinemic_cli.motion.features import heading_angles, hml_root_heading

    pose = _rest_pose()
    pose[1], pose[2] = pose[0] + [0.12, 0, 0], pose[0] - [0.12, 0, 0]
    line = rotate_y(np.array([0.17, 0.0, 0.0]), 0.3)
    pose[16], pose[17] = pose[9] + line, pose[9] - line
    twisted = np.repeat(pose[None], 5, axis=0)
    np.testing.assert_allclose(hml_root_heading(twisted), np.arctan2(0.3400 * np.sin(0.3), 0.34 * np.cos(0.3) - 0.24),
                               atol=1e-9)
    np.testing.assert_allclose(hml_root_heading(twisted), 0.870, atol=1e-3)
    np.testing.assert_allclose(heading_angles(twisted, SMPL22), 0.176, atol=1e-3)
