"""Skeleton definitions and joint maps."""

from __future__ import annotations

import numpy as np
import pytest

from kinemic_cli.errors import KinemicError
from kinemic_cli.skeletons import (
    NTU25,
    OPENPOSE18,
    SMPL22,
    Skeleton,
    convert_joints,
    get_joint_map,
    get_skeleton,
    project_to_image,
    skeleton_from_yaml,
)


@pytest.mark.parametrize("skel", [SMPL22, NTU25, OPENPOSE18])
def test_builtin_skeletons_are_trees_with_consistent_mirrors(skel: Skeleton):
    assert len(skel.bones) == skel.num_joints - 1
    # every joint reaches the root
    for j in range(skel.num_joints):
        seen, k = set(), j
        while skel.parents[k] >= 0:
            assert k not in seen
            seen.add(k)
            k = skel.parents[k]
        assert k == skel.root
    perm = skel.mirror_permutation()
    assert sorted(perm) == list(range(skel.num_joints)) and np.all(perm[perm] == np.arange(skel.num_joints))
    for a, b in skel.mirror_pairs:  # one joint of each pair is on the left, the other on the right
        assert {_side(skel.joint_names[a]), _side(skel.joint_names[b])} == {"left", "right"}


def _side(name: str) -> str:
    low = name.lower()
    if "left" in low or (name[0] == "L" and name[1].isupper()):
        return "left"
    if "right" in low or (name[0] == "R" and name[1].isupper()):
        return "right"
    return "mid"


def test_ntu_parents_and_smpl_parents_match_the_formats():
    assert NTU25.parents == (-1, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 1, 7, 7, 11, 11)
    assert SMPL22.parents == (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
    assert get_skeleton("openpose18").is_2d


def _tpose_smpl() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(7, 22, 3)).astype(np.float32)


def test_joint_maps_shape_translation_and_identity_joints():
    clip = _tpose_smpl()
    ntu = convert_joints(clip, "smpl22", "ntu25")
    assert ntu.shape == (7, 25, 3)
    # shared joints are copied exactly
    np.testing.assert_allclose(ntu[:, NTU25.joint_names.index("WristLeft")], clip[:, SMPL22.joint_names.index("left_wrist")])
    # hand tips lie beyond the wrist along the forearm
    w, e = clip[:, 20], clip[:, 18]
    tip = ntu[:, NTU25.joint_names.index("HandTipLeft")]
    np.testing.assert_allclose(tip, w + 0.6 * (w - e), rtol=1e-5, atol=1e-5)
    # maps commute with translation
    shift = np.array([1.0, -2.0, 0.5], np.float32)
    np.testing.assert_allclose(convert_joints(clip + shift, "smpl22", "ntu25"), ntu + shift, atol=1e-5)
    back = convert_joints(ntu, "ntu25", "smpl22")
    for name in ("pelvis", "left_knee", "right_wrist", "head", "neck"):
        j = SMPL22.joint_names.index(name)
        np.testing.assert_allclose(back[:, j], clip[:, j], atol=1e-5)
    assert convert_joints(clip, "smpl22", "smpl22") is clip


def test_unknown_map_and_skeleton_errors_list_known_ones():
    with pytest.raises(KinemicError, match="known maps"):
        get_joint_map("openpose18", "ntu25")
    with pytest.raises(KinemicError, match="known: "):
        get_skeleton("nope")


def test_projection_to_openpose_is_in_the_image():
    clip = _tpose_smpl() * 0.3 + np.array([0, 1.0, 0], np.float32)
    img = project_to_image(clip, yaw_degrees=30)
    assert img.shape == (7, 18, 3)
    assert np.all(img[..., 2] == 1) and np.all((img[..., :2] > -0.5) & (img[..., :2] < 1.5))
    # y is down in the image: a head above the ankles is drawn higher (smaller y)
    stand = np.zeros((1, 22, 3), np.float32)
    stand[0, SMPL22.joint_names.index("head"), 1] = 1.7
    stand[0, SMPL22.joint_names.index("left_ankle"), 1] = 0.05
    img = project_to_image(stand)
    assert img[0, OPENPOSE18.joint_names.index("Nose"), 1] < img[0, OPENPOSE18.joint_names.index("LAnkle"), 1]


def test_custom_skeleton_from_yaml(tmp_path):
    path = tmp_path / "sk.yaml"
    path.write_text("name: stick3\njoint_names: [a, b, c]\nparents: [-1, 0, 1]\nfps: 25\n")
    sk = skeleton_from_yaml(path)
    assert sk.num_joints == 3 and sk.bones == [(1, 0), (2, 1)]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\njoint_names: [a, b]\nparents: [-1, 0]\nfps: 25\ncolour: red\n")
    with pytest.raises(KinemicError, match="unknown skeleton keys"):
        skeleton_from_yaml(bad)
    two_roots = tmp_path / "roots.yaml"
    two_roots.write_text("name: x\njoint_names: [a, b]\nparents: [-1, -1]\nfps: 25\n")
    with pytest.raises(KinemicError, match="exactly one root"):
        skeleton_from_yaml(two_roots)
