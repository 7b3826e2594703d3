"""The skeletons kinemic knows out of the box: ``smpl22`` (HumanML3D), ``ntu25`` (Kinect v2), ``openpose18``.

Joint orders and parents follow the releases (``shared/reference/FORMATS.md``); the
landmarks name the joints that pre-normalisation and features look for.
"""

from __future__ import annotations

from .skeleton import Skeleton, register_skeleton

__all__ = ["SMPL22", "NTU25", "OPENPOSE18"]

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

for _skeleton in (SMPL22, NTU25, OPENPOSE18):
    register_skeleton(_skeleton)
